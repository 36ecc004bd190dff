"""fashion.py - Fashion-MNIST for the Python peers, read the way backprop
reads it: Debian's dataset-fashion-mnist files (or $BACKPROP_DATA), pixels
scaled to [0, 1] as float32, labels as int64."""
import gzip
import os

import numpy as np


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split="train"):
    root = os.environ.get("BACKPROP_DATA", "/usr/share/datasets/fashion-mnist")
    prefix = "train" if split == "train" else "t10k"
    x = _idx(os.path.join(root, prefix + "-images-idx3-ubyte.gz"))
    y = _idx(os.path.join(root, prefix + "-labels-idx1-ubyte.gz"))
    x = x.reshape(x.shape[0], -1).astype(np.float32) / np.float32(255)
    return x, y.astype(np.int64)
