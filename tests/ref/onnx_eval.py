"""Check an ONNX file written by `backprop export` and run it without backprop.

Usage: onnx_eval.py MODEL.onnx INPUTS.csv PREDICTIONS.csv

The model must pass onnx's checker (full check, with shape inference), use
opset 13 or later, and have one float input of shape [batch, width] or
[batch, C, H, W] and one float output of shape [batch, width], with a named
batch dimension. The graph is then evaluated node by node with NumPy in
float32, by the operators' definitions in the ONNX specification, on the
rows of INPUTS.csv (raw inputs, no header; an image's in C, H, W order), and the
result is compared with PREDICTIONS.csv (`backprop predict` on the same
rows): the largest difference must be at most 1e-5 (relative above 1).
Prints the largest difference; exits 1 on any disagreement.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

TOL = 1e-5


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def softmax(x, axis):
    # ONNX Softmax-13: exp(x - max) / sum(exp(x - max)) along `axis`.
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def windows(x, k, s):
    """The k x k windows of x (N, C, H, W) at stride s, without padding:
    (ky, kx, slice of shape (N, C, Ho, Wo)) for each place in the window."""
    ho = (x.shape[2] - k) // s + 1
    wo = (x.shape[3] - k) // s + 1
    for ky in range(k):
        for kx in range(k):
            yield ky, kx, x[:, :, ky:ky + s * (ho - 1) + 1:s, kx:kx + s * (wo - 1) + 1:s]


def square(a, name, n, default):
    v = list(a.get(name, [default] * n))
    if len(v) != n or len(set(v)) != 1:
        fail("%s %s: expected %d equal values" % (name, v, n))
    return v[0]


def conv(x, w, b, a):
    # Conv-11: cross-correlation of the zero-padded input with each filter.
    if a.get("group", 1) != 1 or square(a, "dilations", 2, 1) != 1:
        fail("Conv: group 1 and dilations 1 expected")
    k = w.shape[2]
    if square(a, "kernel_shape", 2, k) != k:
        fail("Conv: kernel_shape differs from the weights'")
    p = square(a, "pads", 4, 0)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    y = None
    for ky, kx, part in windows(xp, k, square(a, "strides", 2, 1)):
        t = np.einsum("nchw,oc->nohw", part, w[:, :, ky, kx]).astype(np.float32)
        y = t if y is None else y + t
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def pool(x, a, reduce):
    # MaxPool-12 / AveragePool-11 without padding, ceil_mode 0.
    if square(a, "pads", 4, 0) != 0 or a.get("ceil_mode", 0) != 0:
        fail("pools: no pads and ceil_mode 0 expected")
    k = square(a, "kernel_shape", 2, None)
    parts = [part for _, _, part in windows(x, k, square(a, "strides", 2, 1))]
    if reduce == "max":
        return np.max(np.stack(parts), axis=0)
    return (np.sum(np.stack(parts), axis=0, dtype=np.float32) / np.float32(k * k)).astype(np.float32)


def run_node(node, env):
    a = attrs(node)
    x = [env[name] for name in node.input]
    op = node.op_type
    if op == "Sub":
        return x[0] - x[1]
    if op == "Mul":
        return x[0] * x[1]
    if op == "Add":
        return x[0] + x[1]
    if op == "MatMul":
        return x[0] @ x[1]
    if op == "Gemm":
        A = x[0].T if a.get("transA", 0) else x[0]
        B = x[1].T if a.get("transB", 0) else x[1]
        y = np.float32(a.get("alpha", 1.0)) * (A @ B)
        if len(x) > 2:
            y = y + np.float32(a.get("beta", 1.0)) * x[2]
        return y
    if op == "Relu":
        return np.maximum(x[0], np.float32(0))
    if op == "LeakyRelu":
        alpha = np.float32(a.get("alpha", 0.01))
        return np.where(x[0] >= 0, x[0], alpha * x[0])
    if op == "Sigmoid":
        return np.float32(1) / (np.float32(1) + np.exp(-x[0]))
    if op == "Tanh":
        return np.tanh(x[0])
    if op == "Softmax":
        return softmax(x[0], a.get("axis", -1))
    if op == "Identity":
        return x[0]
    if op == "Conv":
        return conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
    if op == "MaxPool":
        return pool(x[0], a, "max")
    if op == "AveragePool":
        return pool(x[0], a, "mean")
    if op == "BatchNormalization":
        # the inference form: per channel (axis 1) over [N, C] or [N, C, H, W]
        if len(x) != 5 or a.get("training_mode", 0):
            fail("BatchNormalization: the inference form (five inputs) expected")
        shape = (1, -1) + (1,) * (x[0].ndim - 2)
        scale, bias, mean, var = (v.reshape(shape) for v in x[1:])
        eps = np.float32(a.get("epsilon", 1e-5))
        return ((x[0] - mean) / np.sqrt(var + eps) * scale + bias).astype(np.float32)
    if op == "Flatten":
        if a.get("axis", 1) != 1:
            fail("Flatten: axis 1 expected")
        return x[0].reshape(x[0].shape[0], -1)
    fail("unexpected op %s in node %s" % (op, node.name))


def main():
    path, inputs_csv, pred_csv = sys.argv[1:4]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)

    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", opsets.get("ai.onnx", 0)) < 13:
        fail("opset %s, expected 13 or later" % opsets)
    g = model.graph
    if len(g.input) != 1 or len(g.output) != 1:
        fail("%d inputs and %d outputs, expected one each" % (len(g.input), len(g.output)))
    for v, ranks in ((g.input[0], (2, 4)), (g.output[0], (2,))):
        t = v.type.tensor_type
        dims = t.shape.dim
        if t.elem_type != onnx.TensorProto.FLOAT or len(dims) not in ranks:
            fail("%s is not a float tensor of rank %s" % (v.name, " or ".join(map(str, ranks))))
        if not dims[0].dim_param or any(d.dim_value <= 0 for d in dims[1:]):
            fail("%s: expected [batch, sizes...], found %s" % (v.name, dims))
    in_dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim[1:]]
    out_dims = inferred.graph.output[0].type.tensor_type.shape.dim
    width = g.output[0].type.tensor_type.shape.dim[1].dim_value

    x = np.loadtxt(inputs_csv, delimiter=",", dtype=np.float32, ndmin=2)
    want = np.loadtxt(pred_csv, delimiter=",", dtype=np.float32, ndmin=2)
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for t in env.values():
        if t.dtype != np.float32:
            fail("an initializer is %s, expected float32" % t.dtype)
    if int(np.prod(in_dims)) != x.shape[1]:
        fail("the graph takes %s per row, the rows hold %d" % (in_dims, x.shape[1]))
    env[g.input[0].name] = x.reshape([x.shape[0]] + in_dims)
    ops = []
    for node in g.node:
        y = run_node(node, env)
        if y.dtype != np.float32:
            fail("node %s computed %s, expected float32" % (node.name, y.dtype))
        env[node.output[0]] = y
        ops.append(node.op_type)
    got = env[g.output[0].name]
    if got.shape != want.shape or got.shape[1] != width:
        fail("outputs of shape %s, backprop gave %s" % (got.shape, want.shape))
    if len(out_dims) == 2 and out_dims[1].dim_value not in (0, width):
        fail("shape inference gives output width %d" % out_dims[1].dim_value)
    diff = np.abs(got.astype(np.float64) - want) / np.maximum(1.0, np.abs(want))
    worst = float(diff.max())
    print("%s: %s; %d rows, largest difference %.3g" % (path, " ".join(ops), x.shape[0], worst))
    if not worst <= TOL:
        fail("the graph and backprop differ by %.3g (row %d)" % (worst, int(diff.max(axis=1).argmax())))


main()
