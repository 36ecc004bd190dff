#!/usr/bin/env python3
"""run.py - `make bench`: backprop and its peers side by side in one run.

Runs, on this machine and in this order: the library's own figures
(bench_core: sgemm peak, kernels, the MLP step's phases, batch and width
growth), backprop training the Fashion-MNIST MLP through its CLI, the same
training in PyTorch (1 and 2 threads, the faster kept), in NumPy and in
FANN, the small CNN in backprop's CLI and in PyTorch (1 and 2 threads,
10 epochs, 1 with --quick), then the lessons' tiny network in backprop's
CLI and in PyTorch.
Prints a table of workload, peer, throughput, ratio and peak resident
memory, then each target with the figures it was judged on. A peer that
is not installed is skipped with a message. Only ratios measured in one
run mean anything on a shared machine.

Usage: python3 bench/run.py BUILD_DIR [--quick]
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"
MLP = "784,256:relu,128:relu,10:softmax"
FLOP_PER_SAMPLE = 2 * 2 * (784 * 256 + 256 * 128 + 128 * 10) + 2 * (256 * 128 + 128 * 10)
CNN = "1x28x28,conv:32:3:relu:same,maxpool:2,conv:64:3:relu:same,maxpool:2,128:relu,10:softmax"
# Multiply-adds per sample of the CNN's forward pass (conv1, conv2, two dense
# layers); a training step does each three times (forward, weight slopes,
# input slopes) but for the first layer's input slopes.
CNN_MACS = (32 * 9 * 784, 64 * 288 * 196, 3136 * 128, 128 * 10)
CNN_FLOP_PER_SAMPLE = 2 * (3 * sum(CNN_MACS) - CNN_MACS[0])


def run(cmd, env=None):
    """stdout of cmd and its peak RSS in MB (GNU time), or (None, None)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        if p.returncode != 0:
            print("bench: %s failed (exit %d): %s" % (" ".join(cmd), p.returncode,
                                                      p.stderr.strip()[-400:]), file=sys.stderr)
            return None, None
        lines = [l for l in open(tf.name).read().split() if l.isdigit()]
        return p.stdout, (int(lines[-1]) / 1024.0 if lines else float("nan"))


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


def has_python(mods):
    return os.path.exists(PY) and subprocess.run(
        [PY, "-c", "import " + ", ".join(mods)], capture_output=True).returncode == 0


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-bench"
    quick = "--quick" in sys.argv
    epochs = "1" if quick else "3"
    bp = os.path.join(build, "backprop")
    rows, results = [], {}

    # The library's own figures.
    out, _ = run([os.path.join(build, "bench_core")] + (["--quick"] if quick else []))
    core = json_lines(out or "")
    peak = next((c["gflops"] for c in core if c["bench"] == "peak"), float("nan"))

    # backprop, as a user runs it.
    with tempfile.TemporaryDirectory() as tmp:
        out, rss = run([bp, "train", "--data", "fashion-mnist", "--net", MLP, "--optimizer", "sgd",
                        "--momentum", "0.9", "--lr", "0.05", "--schedule", "constant",
                        "--batch", "128", "--epochs", epochs, "--json",
                        "--out", os.path.join(tmp, "m.safetensors")])
    if out:
        d = json.loads(out)
        results["backprop"] = {"samples_per_s": max(e["samples_per_s"] for e in d["epochs"]),
                               "peak_rss_mb": rss, "startup": d.get("startup_seconds"),
                               "threads": d.get("threads"), "gemm": d.get("gemm")}
    # The peers.
    if has_python(["torch", "numpy"]):
        best = None
        for threads in ("1", "2"):
            out, rss = run([PY, os.path.join(HERE, "torch_mlp.py"), "--threads", threads,
                            "--epochs", epochs])
            if out:
                d = json.loads(out)
                d["peak_rss_mb"] = rss
                results["pytorch %s thread%s" % (threads, "s" if threads == "2" else "")] = d
                if best is None or d["samples_per_s"] > best["samples_per_s"]:
                    best = d
        results["pytorch"] = best
    else:
        print("bench: SKIP PyTorch: python3-torch is not installed (apt-get install python3-torch)")
    if has_python(["numpy"]):
        out, rss = run([PY, os.path.join(HERE, "numpy_mlp.py"), "--epochs", epochs])
        if out:
            results["numpy"] = dict(json.loads(out), peak_rss_mb=rss)
    else:
        print("bench: SKIP NumPy: python3-numpy is not installed (apt-get install python3-numpy)")
    fann = os.path.join(build, "bench_fann")
    if os.path.exists(fann):
        out, rss = run([fann, "2000" if quick else "6000"])
        if out:
            results["fann"] = dict(json.loads(out), peak_rss_mb=rss)
    else:
        print("bench: SKIP FANN: libfann-dev is not installed (apt-get install libfann-dev)")

    # The small CNN: backprop's CLI against PyTorch on the same network and
    # recipe (Adam 0.001, constant, batch 128), the test set scored each epoch.
    cnn_epochs = "1" if quick else "10"
    with tempfile.TemporaryDirectory() as tmp:
        out, rss = run([bp, "train", "--data", "fashion-mnist", "--test", "fashion-mnist:test",
                        "--net", CNN, "--optimizer", "adam", "--lr", "0.001",
                        "--schedule", "constant", "--batch", "128", "--epochs", cnn_epochs,
                        "--json", "--out", os.path.join(tmp, "cnn.safetensors")])
    if out:
        d = json.loads(out)
        results["cnn backprop"] = {
            "samples_per_s": max(e["samples_per_s"] for e in d["epochs"]),
            "best_accuracy": max(e.get("test_accuracy", 0.0) for e in d["epochs"]),
            "peak_rss_mb": rss, "epochs": len(d["epochs"])}
    if has_python(["torch", "numpy"]):
        for threads in ("1", "2"):
            out, rss = run([PY, os.path.join(HERE, "torch_cnn.py"), "--threads", threads,
                            "--epochs", cnn_epochs])
            got = json_lines(out or "")
            if got:
                r = dict(got[-1], peak_rss_mb=rss)
                r["best_accuracy"] = max(e["test_accuracy"] for e in r["epochs"])
                results["cnn pytorch %s" % threads] = r
                best = results.get("cnn pytorch")
                if best is None or r["samples_per_s"] > best["samples_per_s"]:
                    results["cnn pytorch"] = r
    else:
        print("bench: SKIP PyTorch CNN: python3-torch is not installed (apt-get install python3-torch)")

    # The lessons' tiny network, full-batch gradient descent. A run of
    # backprop takes a tenth of a second, so the machine's noise moves it by
    # half from run to run: each side keeps its best of several fresh runs.
    tiny_epochs = 20000 if quick else 200000
    tiny_runs, torch_runs = (2, 1) if quick else (5, 3)
    for _ in range(tiny_runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            out, rss = run([bp, "train", "--data", os.path.join(ROOT, "examples", "lesson-data.csv"),
                            "--init", os.path.join(ROOT, "examples", "lesson.json"),
                            "--optimizer", "gd", "--lr", "0.001", "--schedule", "constant",
                            "--batch", "0", "--epochs", str(tiny_epochs),
                            "--out", os.path.join(tmp, "tiny.safetensors")])
            wall = time.perf_counter() - t0
        if out is not None:
            best = results.get("tiny backprop")
            if not best or tiny_epochs / wall > best["steps_per_s"]:
                results["tiny backprop"] = {"steps_per_s": tiny_epochs / wall, "peak_rss_mb": rss,
                                            "lines": len(out.splitlines())}
    if has_python(["torch"]):
        for _ in range(torch_runs):
            out, rss = run([PY, os.path.join(HERE, "torch_mlp.py"), "--tiny", "--steps",
                            "5000" if quick else "20000", "--threads", "1"])
            if out:
                got = dict(json.loads(out), peak_rss_mb=rss)
                best = results.get("tiny pytorch")
                if not best or got["steps_per_s"] > best["steps_per_s"]:
                    results["tiny pytorch"] = got

    # The table.
    print("\n%-28s %-22s %16s %9s %12s" % ("workload", "peer", "samples/s", "ratio", "peak RSS MB"))
    ours = results.get("backprop", {}).get("samples_per_s")
    for key, label in (("backprop", "backprop"), ("pytorch 1 thread", "pytorch 1 thread"),
                       ("pytorch 2 threads", "pytorch 2 threads"), ("numpy", "numpy"),
                       ("fann", "fann (%s)" % results.get("fann", {}).get("peer", "").split()[-1])):
        r = results.get(key)
        if r:
            print("%-28s %-22s %16.0f %8.2fx %12.1f" % (
                "fashion-mnist mlp b128", label, r["samples_per_s"],
                ours / r["samples_per_s"] if ours else float("nan"), r["peak_rss_mb"]))
    cb = results.get("cnn backprop")
    for key, label in (("cnn backprop", "backprop"), ("cnn pytorch 1", "pytorch 1 thread"),
                       ("cnn pytorch 2", "pytorch 2 threads")):
        r = results.get(key)
        if r:
            print("%-28s %-22s %16.0f %8.2fx %12.1f  best test acc %.4f" % (
                "fashion-mnist cnn b128", label, r["samples_per_s"],
                cb["samples_per_s"] / r["samples_per_s"] if cb else float("nan"),
                r["peak_rss_mb"], r["best_accuracy"]))
    tb, tp = results.get("tiny backprop"), results.get("tiny pytorch")
    if tb:
        print("%-28s %-22s %13.0f/s* %8.2fx %12.1f" % ("lesson 2-2-1 full batch", "backprop",
                                                      tb["steps_per_s"], 1.0, tb["peak_rss_mb"]))
    if tp:
        print("%-28s %-22s %13.0f/s* %8.2fx %12.1f" % ("lesson 2-2-1 full batch", "pytorch",
              tp["steps_per_s"], tb["steps_per_s"] / tp["steps_per_s"] if tb else float("nan"),
              tp["peak_rss_mb"]))
    print("(* steps per second, the best of %d runs for backprop (through its CLI, process start "
          "included) and of %d for PyTorch)\n" % (tiny_runs, torch_runs))

    print("%-26s %10s %10s %10s" % ("kernel GFLOP/s", "builtin", "backend", "openblas"))
    for c in core:
        if c["bench"] == "kernel":
            print("%-26s %10.1f %10.1f %10s" % (c["shape"], c["builtin"], c["backend"],
                                              "%.1f" % c["openblas"] if "openblas" in c else "-"))
    print("\ntime per sample of a training step (us)")
    print("  batch: " + "  ".join("%d:%.2f" % (c["batch"], c["us_per_sample"])
                                  for c in core if c["bench"] == "batch"))
    print("  width: " + "  ".join("%d:%.2f" % (c["width"], c["us_per_sample"])
                                  for c in core if c["bench"] == "width"))
    ph = next((c for c in core if c["bench"] == "phases"), None)
    if ph:
        print("\nwhere the MLP's step goes (batch 128, the fastest of each phase, us)")
        print("  forward %.1f  loss %.1f  backward %.1f  optimizer %.1f  = step %.1f" %
              (ph["forward_us"], ph["loss_us"], ph["backward_us"], ph["optimizer_us"],
               ph["step_us"]))
        print("  its 8 products alone, at the backend's speed above: %.1f (%.0f%% of the step)" %
              (ph["products_us"], 100 * ph["products_us"] / ph["step_us"]))

    # The targets.
    print("\ntargets")
    verdicts = []

    def target(name, ok, detail):
        verdicts.append(ok)
        print("  %-4s %-44s %s" % ("MET" if ok else "MISS", name, detail))

    b = results.get("backprop")
    if b:
        gf = b["samples_per_s"] * FLOP_PER_SAMPLE / 1e9
        for peer, want in (("pytorch", 3.0), ("numpy", 3.0), ("fann", 50.0)):
            if results.get(peer):
                ratio = b["samples_per_s"] / results[peer]["samples_per_s"]
                target("MLP throughput >= %gx %s" % (want, peer), ratio >= want, "%.2fx" % ratio)
        if results.get("pytorch"):
            share = b["peak_rss_mb"] / results["pytorch"]["peak_rss_mb"]
            target("peak RSS <= 25% of PyTorch's", share <= 0.25,
                   "%.0f MB vs %.0f MB (%.0f%%)" % (b["peak_rss_mb"], results["pytorch"]["peak_rss_mb"],
                                                  100 * share))
        if b.get("startup") is not None:
            target("start-up to first batch <= 0.5 s", b["startup"] <= 0.5, "%.3f s" % b["startup"])
        print("  info training step %.1f GFLOP/s = %.0f%% of the sgemm peak %.1f GFLOP/s "
              "(%s, %s threads)" % (gf, 100 * gf / peak, peak, b.get("gemm"), b.get("threads")))
    cp = results.get("cnn pytorch")
    if cb:
        if cp:
            ratio = cb["samples_per_s"] / cp["samples_per_s"]
            target("CNN throughput >= 2.5x pytorch", ratio >= 2.5, "%.2fx" % ratio)
            share = cb["peak_rss_mb"] / cp["peak_rss_mb"]
            target("CNN peak RSS <= 25% of PyTorch's", share <= 0.25,
                   "%.0f MB vs %.0f MB (%.0f%%)" % (cb["peak_rss_mb"], cp["peak_rss_mb"],
                                                  100 * share))
        if not quick:
            target("CNN test accuracy >= 0.915 in 10 epochs", cb["best_accuracy"] >= 0.915,
                   "%.4f (best epoch of %d)" % (cb["best_accuracy"], cb["epochs"]))
        gf = cb["samples_per_s"] * CNN_FLOP_PER_SAMPLE / 1e9
        print("  info CNN training step %.1f GFLOP/s = %.0f%% of the sgemm peak %.1f GFLOP/s "
              "(%.1f MFLOP a sample)" % (gf, 100 * gf / peak, peak, CNN_FLOP_PER_SAMPLE / 1e6))
    # The built-in kernel against OpenBLAS over the MLP's products, each
    # weighted by its multiply-adds (the time one step of each would take).
    kernels = [c for c in core if c["bench"] == "kernel" and "openblas" in c]
    if kernels:
        def seconds(key):
            total = 0.0
            for c in kernels:
                m, n, k = (int(v) for v in c["shape"].split()[1].split("x"))
                total += 2.0 * m * n * k / (c[key] * 1e9)
            return total
        share = seconds("openblas") / seconds("builtin")
        target("built-in kernel >= 50% of OpenBLAS", share >= 0.5,
               "%.0f%% over the MLP's products" % (100 * share))
    if tb and tp:
        ratio = tb["steps_per_s"] / tp["steps_per_s"]
        target("tiny net steps/s >= 1000x PyTorch", ratio >= 1000, "%.0fx (%d output lines)" %
               (ratio, tb["lines"]))
    print("\n%d of %d targets met" % (sum(verdicts), len(verdicts)))


if __name__ == "__main__":
    main()
