"""compare.py - the largest difference between the weights of two model
files (safetensors, float32; int64 counts compared exactly), relative to the largest weight of the tensor.

Usage: python3 compare.py A.safetensors B.safetensors TOLERANCE
Prints each tensor's relative difference; exits 1 when one exceeds the
tolerance (0 demands equal bits), or when the files' tensors differ in
name or shape. Reads the files with the standard library alone.
"""
import json
import struct
import sys


def tensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] == "I64":  # a count (num_batches_tracked): compared exactly
            lo, hi = t["data_offsets"]
            raw = data[base + lo:base + hi]
            out[name] = (t["shape"], raw, struct.unpack("<%dq" % (len(raw) // 8), raw))
            continue
        if t["dtype"] != "F32":
            sys.exit("%s: tensor %s has dtype %s, expected F32" % (path, name, t["dtype"]))
        lo, hi = t["data_offsets"]
        raw = data[base + lo:base + hi]
        out[name] = (t["shape"], raw, struct.unpack("<%df" % (len(raw) // 4), raw))
    return out


def main():
    a_path, b_path, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    a, b = tensors(a_path), tensors(b_path)
    if sorted(a) != sorted(b):
        sys.exit("the files hold different tensors: %s and %s" % (sorted(a), sorted(b)))
    worst = 0.0
    for name in sorted(a):
        (sa, ra, va), (sb, rb, vb) = a[name], b[name]
        if sa != sb:
            sys.exit("tensor %s: shape %s against %s" % (name, sa, sb))
        scale = max((abs(x) for x in vb), default=0.0) or 1.0
        diff = max(abs(x - y) for x, y in zip(va, vb)) / scale
        same = ra == rb
        print("%-20s max relative difference %.3g%s" % (name, diff, " (same bits)" if same else ""))
        if (tol == 0.0 and not same) or diff > tol:
            worst = max(worst, diff if diff > 0 else float("inf"))
    if worst > 0.0:
        print("FAIL: difference above %g" % tol)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
