"""A minimal stand-in for the safetensors package, for the tests only.

Used by tests/ref/test_pytorch_doc.sh where the real package (not packaged
for Debian) is absent: safe_open(...).metadata()/keys()/get_tensor() and
safetensors.torch.load_file/save_file on the documented format (8-byte
little-endian header length, JSON header, raw little-endian data).
"""
import json
import struct

import torch as _torch

DTYPES = {"F32": _torch.float32, "F64": _torch.float64, "F16": _torch.float16,
          "BF16": _torch.bfloat16}


class safe_open:
    def __init__(self, path, framework="pt", device="cpu"):
        with open(path, "rb") as f:
            blob = f.read()
        (n,) = struct.unpack("<Q", blob[:8])
        self._header = json.loads(blob[8:8 + n])
        self._data = blob[8 + n:]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def metadata(self):
        return self._header.get("__metadata__")

    def keys(self):
        return [k for k in self._header if k != "__metadata__"]

    def get_tensor(self, name):
        t = self._header[name]
        begin, end = t["data_offsets"]
        raw = bytearray(self._data[begin:end])
        return _torch.frombuffer(raw, dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).clone()
