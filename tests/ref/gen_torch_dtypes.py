#!/usr/bin/env python3
"""gen_torch_dtypes.py - safetensors files written from PyTorch in F32, F64,
F16 and BF16, for tests/io/test_torch_dtypes.c.

A seeded nn.Sequential(Linear(3, 4), Tanh(), Linear(4, 2)) has its state
dict converted to each dtype and saved with safetensors.torch.save_file (the
stand-in in tests/ref/shim when the safetensors package is absent: the tensor
bytes are torch's own either way). The header holds each file's bytes and
the weights torch reads back as float32 (tensor.to(torch.float32)), which
backprop's conversion must equal exactly.

Regenerate from the repository root with:
    python3 tests/ref/gen_torch_dtypes.py      (writes tests/ref/torch_dtypes.h)
Needs torch (Debian: python3-torch).
"""
import os
import sys
import tempfile

import torch

try:
    from safetensors.torch import save_file
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim"))
    from safetensors.torch import save_file

DTYPES = [("F32", torch.float32), ("F64", torch.float64), ("F16", torch.float16),
          ("BF16", torch.bfloat16)]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                             "torch_dtypes.h")
    torch.manual_seed(20261206)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    with torch.no_grad():  # some values that F16 and BF16 round, one F16 subnormal
        model[0].weight[0, 0] = 1.0 / 3.0
        model[0].weight[0, 1] = 3e-6
        model[2].bias[1] = -1234.5678
    text = f"""/*
 * torch_dtypes.h - a 3,4:tanh,2:identity nn.Sequential saved by
 * tests/ref/gen_torch_dtypes.py with torch {torch.__version__} in four dtypes. Do not
 * edit; regenerate from the repository root with
 *     python3 tests/ref/gen_torch_dtypes.py
 * TORCH_DTYPE_FILE_x: the file's bytes; TORCH_DTYPE_F32_x: its tensors read
 * back as float32 by torch, in the order 0.weight, 0.bias, 2.weight, 2.bias.
 */
#ifndef BP_TESTS_TORCH_DTYPES_H
#define BP_TESTS_TORCH_DTYPES_H

#define TORCH_DTYPES_SPEC "3,4:tanh,2:identity"
"""
    with tempfile.TemporaryDirectory() as tmp:
        for name, dtype in DTYPES:
            state = {k: v.to(dtype) for k, v in model.state_dict().items()}
            path = os.path.join(tmp, "m.safetensors")
            save_file(state, path)
            blob = open(path, "rb").read()
            text += f"static const unsigned char TORCH_DTYPE_FILE_{name}[] = {{"
            text += ", ".join(str(b) for b in blob) + "};\n"
            vals = torch.cat([state[k].to(torch.float32).flatten()
                              for k in ("0.weight", "0.bias", "2.weight", "2.bias")])
            text += f"static const float TORCH_DTYPE_F32_{name}[] = {{"
            text += ", ".join(f"{v:.9e}f" for v in vals.tolist()) + "};\n"
    text += "\n#endif\n"
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
