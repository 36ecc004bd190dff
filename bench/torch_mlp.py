#!/usr/bin/env python3
"""torch_mlp.py - the benchmark's PyTorch peer: the Fashion-MNIST MLP
784-256-128-10 (ReLU, softmax + cross-entropy), SGD with momentum 0.9,
batch 128, float32, data in memory as tensors, reshuffled every epoch with
torch.randperm. With --precision bf16 the forward pass and the loss run
under torch.autocast("cpu", dtype=torch.bfloat16): bf16 products, fp32
master weights, gradients and optimizer state. Prints one JSON line: the
best epoch's samples/s, the peak resident memory, and the final loss.

--tiny trains the lessons' 2-2-1 network by full-batch gradient descent
and gives its per-step rate as the target defines it: the wall
time of --steps steps minus that of --base steps, each the best of --runs
runs from the same starting weights (the difference leaves out the
start-up and the first steps' warming).

    python3 bench/torch_mlp.py --threads N [--epochs E] [--precision fp32|bf16]
    python3 bench/torch_mlp.py --tiny [--steps S] [--base B] [--runs R]
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
    bf16 = args.precision == "bf16"
    n, best, last = x.shape[0], 0.0, float("nan")
    for _ in range(args.epochs):
        perm = torch.randperm(n)
        start = time.perf_counter()
        for b in range(0, n, args.batch):
            idx = perm[b:b + args.batch]
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        best = max(best, n / seconds)
        last = loss.item()
    return {"samples_per_s": best, "loss": last, "precision": args.precision}


def tiny_run(steps):
    """Wall and CPU seconds that steps of the 2-2-1 network take, and the
    last loss."""
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
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), t)
        loss.backward()
        opt.step()
    return time.perf_counter() - start, time.process_time() - cpu, loss.item()


def tiny(args):
    """The per-step rate: best walls of the long and the short run, subtracted."""
    long_walls, base_walls, long_cpus, base_cpus = [], [], [], []
    for _ in range(args.runs):
        wall, cpu, _ = tiny_run(args.base)
        base_walls.append(wall)
        base_cpus.append(cpu)
        wall, cpu, loss = tiny_run(args.steps)
        long_walls.append(wall)
        long_cpus.append(cpu)
    steps = args.steps - args.base
    return {"steps_per_s": steps / (min(long_walls) - min(base_walls)),
            "cpu_steps_per_s": steps / (min(long_cpus) - min(base_cpus)), "loss": loss,
            "steps": args.steps, "base": args.base, "long_walls": long_walls,
            "base_walls": base_walls, "long_cpus": long_cpus, "base_cpus": base_cpus}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--steps", type=int, default=201000)
    ap.add_argument("--base", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if args.tiny and not (0 <= args.base < args.steps and args.runs >= 1):
        ap.error("--tiny needs 0 <= --base < --steps and --runs at least 1")
    torch.set_num_threads(args.threads)
    out = tiny(args) if args.tiny else mlp(args)
    out.update({"peer": "pytorch %s" % torch.__version__, "threads": args.threads,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
