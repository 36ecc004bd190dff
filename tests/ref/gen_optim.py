#!/usr/bin/env python3
"""gen_optim.py - reference weights for the optimizer tests, from PyTorch.

Builds a 3 -> 4 (tanh) -> 2 (identity) MLP in float32 with initial weights,
inputs and targets drawn from a seeded NumPy generator, then for each
optimizer configuration runs STEPS full-batch steps of MSE loss with
torch.optim (zero_grad, forward, loss, backward, step) and records the loss
before every step and the weights after the last one. The result is a C
header, tests/ref/optim_ref.h, read by tests/train/test_optim.c.

Regenerate from the repository root with:
    python3 tests/ref/gen_optim.py            (writes tests/ref/optim_ref.h)
    python3 tests/ref/gen_optim.py OUT.h      (writes OUT.h)
Needs torch and numpy (Debian: python3-torch python3-numpy).
"""
import os
import sys

import numpy as np
import torch

SEED = 20240607
STEPS = 10
B, I, H, O = 8, 3, 4, 2

# name, backprop optimizer, lr, and the options beyond the kind's defaults.
# The torch optimizer is derived from these in make_optimizer().
CONFIGS = [
    ("gd", "gd", 0.05, {}),
    ("gd_wd", "gd", 0.05, {"weight_decay": 0.01}),
    ("sgd_momentum", "sgd", 0.05, {"momentum": 0.9}),
    ("sgd_nesterov", "sgd", 0.05, {"momentum": 0.9, "nesterov": 1}),
    ("sgd_wd", "sgd", 0.05, {"momentum": 0.9, "weight_decay": 0.01}),
    ("rmsprop", "rmsprop", 0.01, {"alpha": 0.99, "eps": 1e-8}),
    ("rmsprop_wd", "rmsprop", 0.01, {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.01}),
    ("adam", "adam", 0.01, {}),
    ("adam_wd", "adam", 0.01, {"weight_decay": 0.01}),
    ("adam_betas", "adam", 0.01, {"beta1": 0.8, "beta2": 0.95, "eps": 1e-6}),
    ("adamw", "adamw", 0.01, {"weight_decay": 0.01}),
]

# The kinds' defaults, as bp_optim_defaults gives them (PyTorch's).
DEFAULTS = {"momentum": 0.0, "nesterov": 0, "alpha": 0.99, "beta1": 0.9,
            "beta2": 0.999, "eps": 1e-8}


def full_options(kind, opts):
    o = dict(DEFAULTS)
    o["weight_decay"] = 0.01 if kind == "adamw" else 0.0
    o.update(opts)
    return o


def make_optimizer(kind, lr, o, params):
    if kind in ("gd", "sgd"):
        return torch.optim.SGD(params, lr=lr, momentum=o["momentum"],
                               nesterov=bool(o["nesterov"]),
                               weight_decay=o["weight_decay"], foreach=False)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=o["alpha"], eps=o["eps"],
                                   weight_decay=o["weight_decay"], foreach=False)
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, betas=(o["beta1"], o["beta2"]), eps=o["eps"],
               weight_decay=o["weight_decay"], foreach=False)


def initial_data():
    rng = np.random.default_rng(SEED)
    f32 = np.float32
    return {
        "w1": (0.6 * rng.standard_normal((H, I))).astype(f32),
        "b1": (0.2 * rng.standard_normal(H)).astype(f32),
        "w2": (0.6 * rng.standard_normal((O, H))).astype(f32),
        "b2": (0.2 * rng.standard_normal(O)).astype(f32),
        "x": rng.standard_normal((B, I)).astype(f32),
        "t": (0.5 * rng.standard_normal((B, O))).astype(f32),
    }


def run(kind, lr, o, d):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(I, H), torch.nn.Tanh(),
                              torch.nn.Linear(H, O))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(d["w1"]))
        net[0].bias.copy_(torch.from_numpy(d["b1"]))
        net[2].weight.copy_(torch.from_numpy(d["w2"]))
        net[2].bias.copy_(torch.from_numpy(d["b2"]))
    x = torch.from_numpy(d["x"])
    t = torch.from_numpy(d["t"])
    opt = make_optimizer(kind, lr, o, net.parameters())
    loss_fn = torch.nn.MSELoss()
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_fn(net(x), t)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    out = {
        "loss": np.array(losses, dtype=np.float32),
        "w1": net[0].weight.detach().numpy().copy(),
        "b1": net[0].bias.detach().numpy().copy(),
        "w2": net[2].weight.detach().numpy().copy(),
        "b2": net[2].bias.detach().numpy().copy(),
    }
    for k, v in out.items():
        assert v.dtype == np.float32 and np.all(np.isfinite(v)), k
    return out


def c_float(v):
    s = "%.9g" % float(v)
    if not any(c in s for c in ".e"):
        s += ".0"
    return s + "f"


def c_floats(a, indent, start=0):
    """A C initializer of float32 values, wrapped at 90 columns; start is
    the column at which the opening brace goes."""
    vals = [c_float(v) for v in np.asarray(a, dtype=np.float32).ravel()]
    lines, line = [], "{"
    for k, v in enumerate(vals):
        item = v + ("}" if k == len(vals) - 1 else ",")
        width = len(line) + 1 + len(item) + (start if not lines else 0)
        if width > 88 and line != "{":
            lines.append(line)
            line = indent + item
        else:
            line += ("" if line == "{" else " ") + item
    lines.append(line)
    return "\n".join(lines)


def c_double(v):
    return repr(float(v))


def generate():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    d = initial_data()
    w = []
    w.append("/*\n")
    w.append(" * optim_ref.h - reference weights after %d optimizer steps, generated by\n" % STEPS)
    w.append(" * tests/ref/gen_optim.py with torch %s and numpy %s. Do not edit;\n"
             % (torch.__version__, np.__version__))
    w.append(" * regenerate from the repository root with\n")
    w.append(" *     python3 tests/ref/gen_optim.py\n")
    w.append(" *\n")
    w.append(" * The network is %d,%d:tanh,%d:identity (weights [O, I] row-major, as\n" % (I, H, O))
    w.append(" * nn.Linear stores them), trained full-batch on the %d rows below with\n" % B)
    w.append(" * MSE loss (mean over all B*O elements). loss[k] is the loss before step\n")
    w.append(" * k + 1; w1, b1, w2, b2 are the weights after the last step.\n")
    w.append(" */\n")
    w.append("#ifndef BP_TESTS_OPTIM_REF_H\n#define BP_TESTS_OPTIM_REF_H\n\n")
    w.append("#define OPTIM_REF_SPEC \"%d,%d:tanh,%d:identity\"\n" % (I, H, O))
    w.append("#define OPTIM_REF_STEPS %d\n" % STEPS)
    w.append("#define OPTIM_REF_B %d\n#define OPTIM_REF_I %d\n" % (B, I))
    w.append("#define OPTIM_REF_H %d\n#define OPTIM_REF_O %d\n\n" % (H, O))
    for name, shape in (("w1", "[%d * %d]" % (H, I)), ("b1", "[%d]" % H),
                        ("w2", "[%d * %d]" % (O, H)), ("b2", "[%d]" % O),
                        ("x", "[%d * %d]" % (B, I)), ("t", "[%d * %d]" % (B, O))):
        head = "static const float optim_ref_%s%s = " % (name, shape)
        w.append(head + c_floats(d[name], "    ", len(head)) + ";\n")
    w.append("\n")
    w.append("typedef struct optim_ref_case {\n")
    w.append("    const char *name;\n")
    w.append("    const char *optim;   /* bp_optim_parse name */\n")
    w.append("    double lr, momentum;\n")
    w.append("    int nesterov;\n")
    w.append("    double alpha, beta1, beta2, eps, weight_decay;\n")
    w.append("    float loss[OPTIM_REF_STEPS];\n")
    w.append("    float w1[OPTIM_REF_H * OPTIM_REF_I], b1[OPTIM_REF_H];\n")
    w.append("    float w2[OPTIM_REF_O * OPTIM_REF_H], b2[OPTIM_REF_O];\n")
    w.append("} optim_ref_case;\n\n")
    w.append("static const optim_ref_case optim_ref_cases[] = {\n")
    for name, kind, lr, opts in CONFIGS:
        o = full_options(kind, opts)
        r = run(kind, lr, o, d)
        w.append("    {\"%s\", \"%s\", %s, %s, %d, %s, %s, %s, %s, %s,\n"
                 % (name, kind, c_double(lr), c_double(o["momentum"]), o["nesterov"],
                    c_double(o["alpha"]), c_double(o["beta1"]), c_double(o["beta2"]),
                    c_double(o["eps"]), c_double(o["weight_decay"])))
        w.append("     %s,\n" % c_floats(r["loss"], "      ", 5))
        w.append("     %s,\n" % c_floats(r["w1"], "      ", 5))
        w.append("     %s,\n" % c_floats(r["b1"], "      ", 5))
        w.append("     %s,\n" % c_floats(r["w2"], "      ", 5))
        w.append("     %s},\n" % c_floats(r["b2"], "      ", 5))
    w.append("};\n\n#endif /* BP_TESTS_OPTIM_REF_H */\n")
    return "".join(w)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "optim_ref.h")
    text = generate()
    with open(path, "w") as f:
        f.write(text)
    print("wrote %s (%d configurations)" % (path, len(CONFIGS)))


if __name__ == "__main__":
    main()
