"""torch_cnn_model.py - backprop's layer kinds against PyTorch's.

Usage:
  torch_cnn_model.py predict MODEL INPUTS PRED [SPEC]
      MODEL (safetensors, read by hand) loaded into the torch.nn.Sequential
      its spec describes must give PRED (`backprop predict`'s outputs, one
      row per sample) on INPUTS to 1e-5. The spec comes from the file's
      __metadata__.net, whose layers.N tensors go to the Sequential's
      module of layer N; or, for a file without one (a state dict), from
      SPEC, its tensors N.weight and N.bias going to module N.
  torch_cnn_model.py adam BEFORE AFTER INPUTS LABELS STEPS LR
      STEPS full-batch steps of torch.optim.Adam (lr LR, PyTorch's default
      betas and eps) on the cross-entropy of INPUTS' rows and LABELS from
      the weights of BEFORE must give the weights of AFTER to 1e-5
      (relative to the largest weight of each tensor). Adam's step
      g / (sqrt(v) + eps) turns the rounding of a gradient near eps into a
      change of the step itself, so a weight whose sqrt(v hat) was in
      (0, GFLOOR) after some step (in torch's run) is held to 1e-3 instead,
      which still tells a missing or wrong step (LR) from rounding; they
      must be under a tenth of the weights.
  torch_cnn_model.py save SPEC MODEL SEED
      A Sequential of SPEC with torch's own initialization (seeded) has its
      state_dict written to MODEL as safetensors, no metadata.

INPUTS is a CSV of raw inputs (no header, no label) or an IDX image file
(bytes scaled by 1/255, as backprop reads them); LABELS one class per line.
A dense layer after a spatial one reads it through nn.Flatten. The spec is
backprop's: `1x8x9,conv:4:3:relu:same,maxpool:2,5:relu,3:softmax`.
Exit status: 0 on agreement, 1 on a difference.
"""
import json
import struct
import sys

import numpy as np
import torch

TOL = 1e-5
TOL_NEAR = 1e-3  # the weights whose gradient was near Adam's eps
GFLOOR = 1e-6    # below it, a gradient is near eps


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
        assert t["dtype"] == "F32", (name, t["dtype"])
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return header.get("__metadata__", {}), tensors


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def act_module(act):
    if act.startswith("leaky_relu"):
        return torch.nn.LeakyReLU(float(act.split("=")[1]) if "=" in act else 0.01)
    return {"identity": None, "relu": torch.nn.ReLU(), "sigmoid": torch.nn.Sigmoid(),
            "tanh": torch.nn.Tanh(), "softmax": torch.nn.Softmax(dim=1)}[act]


def build(spec):
    """The Sequential of spec, the module index of each of our layers'
    tensors (None for a pool), and the input shape (C, H, W) or (I,)."""
    entries = spec.split(",")
    shape = tuple(int(v) for v in entries[0].split("x"))
    cur = shape
    modules, where = [], []
    for entry in entries[1:]:
        f = entry.split(":")
        opts = {}
        words = []
        for w in f:
            if "=" in w and not w.startswith("leaky_relu"):
                k, v = w.split("=")
                opts[k] = int(v)
            else:
                words.append(w)
        if words[0] in ("maxpool", "avgpool"):
            k = int(words[1])
            s = opts.get("stride", k)
            cls = torch.nn.MaxPool2d if words[0] == "maxpool" else torch.nn.AvgPool2d
            where.append(None)
            modules.append(cls(k, stride=s))
            cur = (cur[0], (cur[1] - k) // s + 1, (cur[2] - k) // s + 1)
            continue
        acts = [w for w in words[1:] if w not in ("same", "nobias")]
        if words[0] == "conv":
            out, k = int(words[1]), int(words[2])
            acts = acts[2:]
            pad = (k - 1) // 2 if "same" in words else opts.get("pad", 0)
            s = opts.get("stride", 1)
            layer = torch.nn.Conv2d(cur[0], out, k, stride=s, padding=pad,
                                    bias="nobias" not in words)
            cur = (out, (cur[1] + 2 * pad - k) // s + 1, (cur[2] + 2 * pad - k) // s + 1)
        else:
            if len(cur) == 3:
                modules.append(torch.nn.Flatten())
                cur = (cur[0] * cur[1] * cur[2],)
            out = int(words[0])
            layer = torch.nn.Linear(cur[0], out, bias="nobias" not in words)
            cur = (out,)
        where.append(len(modules))
        modules.append(layer)
        act = act_module(acts[0] if acts else "identity")
        if act is not None:
            modules.append(act)
    return torch.nn.Sequential(*modules), where, shape


def load(model_path, spec=None):
    meta, tensors = read_safetensors(model_path)
    spec = meta.get("net", spec)
    net, where, shape = build(spec)
    if "net" in meta:  # layers.N.* -> the module of layer N
        state = {}
        for name, t in tensors.items():
            _, n, kind = name.split(".")
            state[f"{where[int(n)]}.{kind}"] = t
    else:
        state = tensors
    net.load_state_dict(state, strict=True)
    return net, where, shape, spec


def read_inputs(path, shape):
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"\x00\x00\x08\x03":  # IDX images
        with open(path, "rb") as f:
            blob = f.read()
        n, h, w = struct.unpack(">III", blob[4:16])
        x = np.frombuffer(blob[16:], dtype=np.uint8).astype(np.float32) * np.float32(1.0 / 255.0)
        x = x.reshape(n, h * w)
    else:
        x = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float32)
    return torch.from_numpy(x.reshape((x.shape[0],) + shape).copy())


def predict(model_path, inputs, preds, spec=None):
    net, _, shape, spec = load(model_path, spec)
    x = read_inputs(inputs, shape)
    want = np.loadtxt(preds, delimiter=",", ndmin=2, dtype=np.float64)
    with torch.no_grad():
        got = net(x).double().numpy()
    if got.shape != want.shape:
        print(f"FAIL: torch gives shape {got.shape}, backprop {want.shape}")
        return 1
    # Relative to the value, absolute below 1.
    worst = float((np.abs(got - want) / np.maximum(np.abs(want), 1.0)).max())
    print(f"{len(got)} samples, net {spec}: largest difference {worst:.3g} "
          f"(torch {torch.__version__})")
    return 0 if worst <= TOL else 1


def adam(before, after, inputs, labels, steps, lr):
    net, where, shape, spec = load(before)
    if isinstance(net[-1], torch.nn.Softmax):  # cross-entropy on the logits
        net = net[:-1]
    x = read_inputs(inputs, shape)
    y = torch.from_numpy(np.loadtxt(labels, ndmin=1, dtype=np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=lr, foreach=False)
    loss_fn = torch.nn.CrossEntropyLoss()
    params = dict(net.named_parameters())
    small = {name: torch.zeros_like(p, dtype=torch.bool) for name, p in params.items()}
    for t in range(1, steps + 1):
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()
        for name, p in params.items():  # sqrt(v hat) in (0, GFLOOR)
            root = (opt.state[p]["exp_avg_sq"] / (1 - 0.999 ** t)).sqrt()
            small[name] |= (root > 0) & (root < GFLOOR)
    _, want = read_safetensors(after)
    _, start = read_safetensors(before)
    state = net.state_dict()
    worst = worst_near = moved = 0.0
    near = total = bad = 0
    for name in sorted(want):
        _, n, kind = name.split(".")
        key = f"{where[int(n)]}.{kind}"
        got, ref = state[key].double(), want[name].double()
        scale = max(float(ref.abs().max()), 1e-30)
        diff = (got - ref).abs() / scale
        loose = small[key]
        d_firm = float(diff[~loose].max()) if (~loose).any() else 0.0
        d_loose = float(diff[loose].max()) if loose.any() else 0.0
        moved = max(moved, float((start[name].double() - ref).abs().max()) / scale)
        print(f"{name:18s} {str(list(ref.shape)):16s} largest relative difference {d_firm:.3g}"
              + (f"; {int(loose.sum())} with a gradient near eps: {d_loose:.3g}"
                 if loose.any() else ""))
        worst, worst_near = max(worst, d_firm), max(worst_near, d_loose)
        near += int(loose.sum())
        total += ref.numel()
        bad += d_firm > TOL or d_loose > TOL_NEAR
    print(f"{steps} Adam steps, net {spec}: largest difference {worst:.3g} "
          f"({worst_near:.3g} over the {near} of {total} weights with a gradient near eps); "
          f"the steps moved the weights by up to {moved:.3g}")
    if moved <= 100 * TOL:
        print("FAIL: the steps hardly moved the weights; the check would mean nothing")
        return 1
    if near > total // 10:
        print("FAIL: over a tenth of the weights have a gradient near Adam's eps")
        return 1
    return 1 if bad else 0


def save(spec, model_path, seed):
    torch.manual_seed(seed)
    net = build(spec)[0]
    write_safetensors(model_path, net.state_dict())
    return 0


def main():
    torch.set_num_threads(1)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "predict":
        return predict(*args)
    if cmd == "adam":
        return adam(args[0], args[1], args[2], args[3], int(args[4]), float(args[5]))
    if cmd == "save":
        return save(args[0], args[1], int(args[2]))
    print(f"unknown command {cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
