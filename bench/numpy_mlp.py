#!/usr/bin/env python3
"""numpy_mlp.py - the benchmark's NumPy peer: the same training loop as
torch_mlp.py written with NumPy arrays (float32 throughout): forward,
softmax + cross-entropy, backpropagation by hand, SGD with momentum 0.9,
batch 128, reshuffled every epoch. NumPy's matrix products run on the BLAS
it is linked with (OpenBLAS on Debian, on its own threads). Prints one JSON
line like torch_mlp.py.

    python3 bench/numpy_mlp.py [--epochs E]
"""
import argparse
import json
import resource
import time

import numpy as np

import fashion


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args()
    x, y = fashion.load("train")
    rng = np.random.default_rng(1)
    sizes = [784, 256, 128, 10]
    W = [(rng.standard_normal((o, i)) * np.sqrt(2.0 / i)).astype(np.float32)
         for i, o in zip(sizes[:-1], sizes[1:])]
    b = [np.zeros(o, np.float32) for o in sizes[1:]]
    vW = [np.zeros_like(w) for w in W]
    vb = [np.zeros_like(v) for v in b]
    lr, mu = np.float32(0.05), np.float32(0.9)
    n, best, last = x.shape[0], 0.0, float("nan")
    for _ in range(args.epochs):
        perm = rng.permutation(n)
        start = time.perf_counter()
        for s in range(0, n, args.batch):
            idx = perm[s:s + args.batch]
            xb, yb = x[idx], y[idx]
            B = xb.shape[0]
            acts = [xb]
            for l in range(3):
                z = acts[-1] @ W[l].T + b[l]
                acts.append(np.maximum(z, 0, out=z) if l < 2 else z)
            z = acts[-1]
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            last = float(-np.log(p[np.arange(B), yb] + 1e-30).mean())
            dz = p
            dz[np.arange(B), yb] -= 1
            dz /= np.float32(B)
            for l in (2, 1, 0):
                gW = dz.T @ acts[l]
                gb = dz.sum(axis=0)
                if l > 0:
                    dz = (dz @ W[l]) * (acts[l] > 0)
                vW[l] *= mu
                vW[l] += gW
                vb[l] *= mu
                vb[l] += gb
                W[l] -= lr * vW[l]
                b[l] -= lr * vb[l]
        best = max(best, n / (time.perf_counter() - start))
    print(json.dumps({"peer": "numpy %s" % np.__version__, "samples_per_s": best, "loss": last,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
