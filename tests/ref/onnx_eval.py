"""Check an ONNX file written by `backprop export` and run it without backprop.

Usage: onnx_eval.py MODEL.onnx INPUTS.csv PREDICTIONS.csv

The model must pass onnx's checker (full check, with shape inference), use
opset 13 or later, and have one float input and one float output of shape
[batch, width] with a named batch dimension. The graph is then evaluated node
by node with NumPy in float32, by the operators' definitions in the ONNX
specification, on the rows of INPUTS.csv (raw inputs, no header), and the
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
    for v in (g.input[0], g.output[0]):
        t = v.type.tensor_type
        dims = t.shape.dim
        if t.elem_type != onnx.TensorProto.FLOAT or len(dims) != 2:
            fail("%s is not a float tensor of rank 2" % v.name)
        if not dims[0].dim_param or dims[1].dim_value <= 0:
            fail("%s: expected [batch, width], found %s" % (v.name, dims))
    out_dims = inferred.graph.output[0].type.tensor_type.shape.dim
    width = g.output[0].type.tensor_type.shape.dim[1].dim_value

    x = np.loadtxt(inputs_csv, delimiter=",", dtype=np.float32, ndmin=2)
    want = np.loadtxt(pred_csv, delimiter=",", dtype=np.float32, ndmin=2)
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for t in env.values():
        if t.dtype != np.float32:
            fail("an initializer is %s, expected float32" % t.dtype)
    env[g.input[0].name] = x
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
