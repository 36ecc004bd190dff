"""Run a snippet of docs/PYTORCH.md and compare its model with backprop's.

Usage: doc_compare.py SNIPPET.py INPUTS.csv PREDICTIONS.csv
The snippet runs first, in the current folder; then the model it leaves
(`predict(x)` from the first snippet, or `model` from the second) is run on
INPUTS (raw inputs, one sample per row, no header) and must agree with
PREDICTIONS, `backprop predict`'s output: in each row whose last O fields
are numbers, those O values equal the model's outputs, or their softmax
(a predict that prints class probabilities), to 1e-6 (absolute, or
relative above 1). Exit status: 0 on agreement, 1 on a difference.
"""
import sys

import numpy as np
import torch

snippet, inputs, predictions = sys.argv[1:4]
scope = {"__name__": "snippet"}
exec(compile(open(snippet).read(), snippet, "exec"), scope)
x = np.loadtxt(inputs, delimiter=",", ndmin=2, dtype=np.float32)
if "predict" in scope:
    out = scope["predict"](x)
else:
    with torch.no_grad():
        out = scope["model"](torch.as_tensor(x))
out = out.double().numpy()
O = out.shape[1]
rows = []
for line in open(predictions):
    fields = line.strip().split(",")
    try:
        rows.append([float(v) for v in fields[-O:]])
    except ValueError:
        continue  # a header line
got = np.array(rows)
if got.shape != out.shape:
    print(f"backprop gave {got.shape} outputs, the PyTorch model {out.shape}")
    sys.exit(1)
soft = np.exp(out - out.max(axis=1, keepdims=True))
soft /= soft.sum(axis=1, keepdims=True)


def worst(ref):
    return float(np.max(np.abs(got - ref) / np.maximum(1.0, np.abs(ref))))


diff = min(worst(out), worst(soft))
print(f"largest difference {diff:.3g}")
sys.exit(0 if diff <= 1e-6 else 1)
