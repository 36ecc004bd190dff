#!/usr/bin/env python3
"""torch_cnn.py - the benchmark's PyTorch peer for the small CNN on
Fashion-MNIST, backprop's 1x28x28,conv:32:3:relu:same,maxpool:2,
conv:64:3:relu:same,maxpool:2,128:relu,10:softmax: Conv2d(1,32,3,pad 1),
ReLU, MaxPool2d(2), Conv2d(32,64,3,pad 1), ReLU, MaxPool2d(2), Flatten,
Linear(3136,128), ReLU, Linear(128,10), CrossEntropyLoss, Adam lr 0.001,
batch 128, float32. With --batchnorm, a BatchNorm2d follows each Conv2d
(backprop's 1x28x28,conv:32:3:same,batchnorm,relu,maxpool:2,
conv:64:3:same,batchnorm,relu,maxpool:2,128:relu,10:softmax). With
--precision bf16 the forward pass and the loss run under
torch.autocast("cpu", dtype=torch.bfloat16): bf16 products and
convolutions, fp32 master weights, gradients and optimizer state. The
images are read as torch_mlp.py reads them (pixels scaled to [0, 1]) and
held in memory as (N, 1, 28, 28) tensors, reshuffled every epoch with
torch.randperm; --rows N trains on the first N only. Only the training
loop of each epoch is timed; the test set is scored after it, untimed.

Prints one JSON line: the best epoch's samples/s, each epoch's samples/s,
loss and test accuracy, the final loss and test accuracy, the peak
resident memory. Without PyTorch (or NumPy) it prints a "bench: SKIP"
line, no JSON, and exits 0.

    python3 bench/torch_cnn.py [--threads N] [--epochs E] [--batchnorm]
                               [--precision fp32|bf16] [--rows N]
"""
import argparse
import json
import resource
import sys
import time

try:
    import torch

    import fashion
except ImportError as e:
    torch = None
    MISSING = e.name or "torch"


def images(split):
    """A Fashion-MNIST part as (N, 1, 28, 28) float32 and int64 tensors."""
    x, y = fashion.load(split)
    return torch.from_numpy(x).reshape(-1, 1, 28, 28), torch.from_numpy(y)


def cnn(batchnorm):
    """The small CNN, with a BatchNorm2d after each Conv2d if batchnorm."""
    nn = torch.nn

    def norm(c):
        return [nn.BatchNorm2d(c)] if batchnorm else []
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), *norm(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), *norm(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10))


def accuracy(model, x, y, bf16, batch=1000):
    """The share of x's images whose largest output is their label."""
    right = 0
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for b in range(0, x.shape[0], batch):
            right += (model(x[b:b + batch]).argmax(1) == y[b:b + batch]).sum().item()
    model.train()
    return right / x.shape[0]


def train(args):
    x, y = images("train")
    if args.rows:
        x, y = x[:args.rows], y[:args.rows]
    tx, ty = images("test")
    bf16 = args.precision == "bf16"
    torch.manual_seed(1)
    model = cnn(args.batchnorm)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    lossf = torch.nn.CrossEntropyLoss()
    n, best, last, epochs = x.shape[0], 0.0, float("nan"), []
    for e in range(args.epochs):
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
        last = loss.item()
        acc = accuracy(model, tx, ty, bf16)
        best = max(best, n / seconds)
        epochs.append({"epoch": e + 1, "samples_per_s": n / seconds, "seconds": seconds,
                       "loss": last, "test_accuracy": acc})
    return {"samples_per_s": best, "loss": last,
            "test_accuracy": epochs[-1]["test_accuracy"] if epochs else float("nan"),
            "epochs": epochs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--batchnorm", action="store_true")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--rows", type=int, default=0)
    args = ap.parse_args()
    if torch is None:
        print("bench: SKIP PyTorch CNN: %s is not installed (apt-get install python3-%s)"
              % (MISSING, MISSING))
        return 0
    if args.threads < 1 or args.epochs < 1 or args.batch < 1 or args.rows < 0:
        ap.error("--threads, --epochs and --batch must be at least 1, --rows at least 0")
    torch.set_num_threads(args.threads)
    out = train(args)
    out.update({"peer": "pytorch %s" % torch.__version__, "threads": args.threads,
                "batch": args.batch, "batchnorm": args.batchnorm,
                "precision": args.precision,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
