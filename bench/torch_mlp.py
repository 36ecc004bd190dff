#!/usr/bin/env python3
"""torch_mlp.py - the benchmark's PyTorch peer: the Fashion-MNIST MLP
784-256-128-10 (ReLU, softmax + cross-entropy), SGD with momentum 0.9,
batch 128, float32, data in memory as tensors, reshuffled every epoch with
torch.randperm. Prints one JSON line: the best epoch's samples/s, the peak
resident memory, and the final loss.

    python3 bench/torch_mlp.py --threads N [--epochs E]
    python3 bench/torch_mlp.py --tiny --steps S     (the lessons' 2-2-1 net)
"""
import argparse
import json
import resource
import time

import numpy as np
import torch

import fashion


def mlp(args):
    x, y = fashion.load("train")
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    n, best, last = x.shape[0], 0.0, float("nan")
    for _ in range(args.epochs):
        perm = torch.randperm(n)
        start = time.perf_counter()
        for b in range(0, n, args.batch):
            idx = perm[b:b + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        best = max(best, n / seconds)
        last = loss.item()
    return {"samples_per_s": best, "loss": last}


def tiny(args):
    x = torch.tensor([[0.0, 3.0], [1.0, 2.0], [-1.0, -2.0], [4.0, 0.0]])
    t = torch.tensor([[1.0], [3.0], [5.0], [7.0]])
    l1 = torch.nn.Linear(2, 2, bias=False)
    l2 = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor([[2.0, 1.0], [1.0, 2.0]]))
        l2.weight.copy_(torch.tensor([[1.0, 1.0]]))
    model = torch.nn.Sequential(l1, torch.nn.ReLU(), l2, torch.nn.ReLU())
    opt = torch.optim.SGD(model.parameters(), lr=0.001)
    lossf = torch.nn.MSELoss()
    start = time.perf_counter()
    for _ in range(args.steps):
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), t)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    return {"steps_per_s": args.steps / seconds, "loss": loss.item()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = tiny(args) if args.tiny else mlp(args)
    out.update({"peer": "pytorch %s" % torch.__version__, "threads": args.threads,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
