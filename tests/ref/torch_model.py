"""Load a backprop safetensors model into PyTorch and compare predictions.

Usage: torch_model.py MODEL.safetensors INPUTS.csv PREDICTIONS.csv

MODEL is read by hand from the safetensors layout (8-byte little-endian
header length, JSON header, raw data), each layers.N.weight [O, I] and
layers.N.bias [O] goes into a torch.nn.Linear, the activations come from
the spec in __metadata__.net, and the network's outputs on INPUTS (one
sample per row, already scaled, no header) must equal PREDICTIONS (one row
of outputs per sample, as `backprop predict` writes them) to 1e-5, relative
to the value or absolute below 1.
Exit status: 0 on agreement, 1 on a difference, 77 when torch is missing.
"""
import json
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError as e:  # the caller reports the skip
    print(f"SKIP: {e}")
    sys.exit(77)


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return header["__metadata__"], tensors


def build(spec, tensors):
    acts = {
        "identity": None, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid,
        "tanh": torch.nn.Tanh, "softmax": lambda: torch.nn.Softmax(dim=1),
    }
    entries = spec.split(",")
    width = int(entries[0])
    layers = []
    for i, entry in enumerate(entries[1:]):
        fields = entry.split(":")
        out = int(fields[0])
        act = fields[1] if len(fields) > 1 and fields[1] not in ("nobias", "bias") else "identity"
        bias = "nobias" not in fields
        lin = torch.nn.Linear(width, out, bias=bias)
        with torch.no_grad():
            lin.weight.copy_(tensors[f"layers.{i}.weight"])
            if bias:
                lin.bias.copy_(tensors[f"layers.{i}.bias"])
        layers.append(lin)
        if act.startswith("leaky_relu"):
            slope = float(act.split("=")[1]) if "=" in act else 0.01
            layers.append(torch.nn.LeakyReLU(slope))
        elif acts[act] is not None:
            layers.append(acts[act]())
        width = out
    return torch.nn.Sequential(*layers)


def main():
    model_path, inputs_path, preds_path = sys.argv[1:4]
    meta, tensors = load(model_path)
    net = build(meta["net"], tensors)
    x = torch.from_numpy(np.loadtxt(inputs_path, delimiter=",", ndmin=2, dtype=np.float32))
    want = np.loadtxt(preds_path, delimiter=",", ndmin=2, dtype=np.float64)
    with torch.no_grad():
        got = net(x).double().numpy()
    if got.shape != want.shape:
        print(f"FAIL: torch gives shape {got.shape}, backprop {want.shape}")
        return 1
    # Relative to the value, absolute below 1: outputs near zero carry the
    # rounding of sums of larger terms, summed in another order by torch.
    diff = np.abs(got - want) / np.maximum(np.abs(want), 1.0)
    worst = float(diff.max())
    print(f"{len(got)} samples, {got.shape[1]} outputs, net {meta['net']}: "
          f"largest relative difference {worst:.3g} (torch {torch.__version__})")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
