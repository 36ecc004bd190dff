"""torch_bn_model.py - backprop's batchnorm, dropout and activation layers
in a model file against PyTorch's modules.

Usage:
  torch_bn_model.py check MODEL INPUTS PRED
      MODEL (safetensors, read by hand: F32 tensors and the I64
      num_batches_tracked) is loaded with a strict load_state_dict into the
      torch.nn.Sequential its __metadata__.net describes, every
      layers.N.NAME going to the module of layer N as N.NAME does; in
      evaluation mode it must give PRED (`backprop predict`'s outputs, one
      row per sample) on INPUTS to 1e-5.
  torch_bn_model.py save SPEC MODEL INPUTS PRED
      A Sequential of SPEC (torch's own initialization, seeded, the batch
      norms' weights and biases drawn too) runs three training-mode passes
      over INPUTS, so that its running statistics move; its state_dict goes
      to MODEL as safetensors without metadata (module indexes counting the
      Flatten and the activations) and its evaluation-mode outputs on INPUTS
      to PRED.

INPUTS is a CSV of raw inputs (no header, no label). The spec is backprop's.
Exit status: 0 on agreement, 1 on a difference.
"""
import json
import struct
import sys

import numpy as np
import torch

TOL = 1e-5
ACTS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
        "softmax": lambda: torch.nn.Softmax(dim=1), "identity": None}


def act_module(word):
    if word.startswith("leaky_relu"):
        return torch.nn.LeakyReLU(float(word.split("=")[1]) if "=" in word else 0.01)
    make = ACTS[word]
    return make() if make else None


def build(spec):
    """The Sequential of a spec, and each backprop layer's module index."""
    entries = spec.split(",")
    shape = [int(v) for v in entries[0].split("x")]
    in_shape = list(shape)
    mods, index = [], []
    for e in entries[1:]:
        f = e.split(":")
        if f[0] == "conv":
            out, k = int(f[1]), int(f[2])
            pad, stride, bias, act = 0, 1, True, "identity"
            for o in f[3:]:
                if o == "same":
                    pad = (k - 1) // 2
                elif o.startswith("pad="):
                    pad = int(o[4:])
                elif o.startswith("stride="):
                    stride = int(o[7:])
                elif o == "nobias":
                    bias = False
                else:
                    act = o
            index.append(len(mods))
            mods.append(torch.nn.Conv2d(shape[0], out, k, stride=stride, padding=pad, bias=bias))
            side = lambda s: (s + 2 * pad - k) // stride + 1
            shape = [out, side(shape[1]), side(shape[2])]
            if act_module(act):
                mods.append(act_module(act))
        elif f[0] in ("maxpool", "avgpool"):
            k = int(f[1])
            s = int(f[2][7:]) if len(f) > 2 else k
            index.append(len(mods))
            mods.append((torch.nn.MaxPool2d if f[0] == "maxpool" else torch.nn.AvgPool2d)(k, s))
            shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
        elif f[0] == "batchnorm":
            opts = dict(o.split("=") for o in f[1:])
            kw = {"momentum": float(opts.get("momentum", 0.1)), "eps": float(opts.get("eps", 1e-5))}
            index.append(len(mods))
            mods.append(torch.nn.BatchNorm2d(shape[0], **kw) if len(shape) == 3
                        else torch.nn.BatchNorm1d(shape[0], **kw))
        elif f[0] == "dropout":
            index.append(len(mods))
            mods.append(torch.nn.Dropout(float(f[1])))
        elif f[0][0].isdigit():
            if len(shape) == 3:
                mods.append(torch.nn.Flatten())
                shape = [shape[0] * shape[1] * shape[2]]
            width = int(f[0])
            index.append(len(mods))
            mods.append(torch.nn.Linear(shape[0], width, bias="nobias" not in f))
            shape = [width]
            for o in f[1:]:
                if o != "nobias" and act_module(o):
                    mods.append(act_module(o))
        else:
            index.append(len(mods))
            mods.append(act_module(e) or torch.nn.Identity())
    return torch.nn.Sequential(*mods), index, in_shape


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[t["dtype"]]
        arr = np.frombuffer(data[begin:end], dtype=dtype).reshape(t["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return header.get("__metadata__", {}), tensors


def write_safetensors(path, tensors):
    header, chunks, at = {}, [], 0
    for name, t in tensors.items():
        arr = t.detach().numpy()
        raw = arr.astype("<i8" if arr.dtype == np.int64 else "<f4").tobytes()
        header[name] = {"dtype": "I64" if arr.dtype == np.int64 else "F32",
                        "shape": list(arr.shape), "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def inputs(path, in_shape):
    x = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
    return torch.from_numpy(x.reshape([len(x)] + in_shape))


def compare(got, want, what):
    diff = float(np.max(np.abs(got - want)))
    print("%s: largest difference %.3g" % (what, diff))
    return diff <= TOL


def main():
    cmd = sys.argv[1]
    if cmd == "check":
        meta, tensors = read_safetensors(sys.argv[2])
        net, index, in_shape = build(meta["net"])
        sd = {}
        for name, t in tensors.items():
            _, n, rest = name.split(".", 2)
            sd["%d.%s" % (index[int(n)], rest)] = t
        net.load_state_dict(sd, strict=True)
        net.eval()
        with torch.no_grad():
            y = net(inputs(sys.argv[3], in_shape)).numpy()
        want = np.loadtxt(sys.argv[4], delimiter=",", dtype=np.float64, ndmin=2)
        return 0 if compare(y, want, "check " + sys.argv[2]) else 1
    if cmd == "save":
        torch.manual_seed(3)
        net, _, in_shape = build(sys.argv[2])
        with torch.no_grad():
            for m in net:
                if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
        x = inputs(sys.argv[4], in_shape)
        net.train()
        with torch.no_grad():
            for k in range(3):
                net(x[k * 16:(k + 1) * 16] if len(x) >= 48 else x)
        write_safetensors(sys.argv[3], net.state_dict())
        net.eval()
        with torch.no_grad():
            np.savetxt(sys.argv[5], net(x).numpy(), delimiter=",", fmt="%.9g")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
