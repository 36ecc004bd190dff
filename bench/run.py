#!/usr/bin/env python3
"""run.py - `make bench`: backprop and its peers side by side in one run.

Runs, on this machine and in this order: the library's own figures
(bench_core: sgemm peak, kernels, the MLP step's phases, batch and width
growth; with the MLP, its products alone again on the thread count the CLI's
epoch ran on, for the products-only bound), backprop training the
Fashion-MNIST MLP through its CLI, the same training in PyTorch (1 and 2 threads,
fp32 and bf16 autocast), in NumPy and in FANN, the small CNN and the same
CNN with a batch norm after each convolution in backprop's CLI and in
PyTorch (1 and 2 threads, 10 epochs; the CNN also in bf16 autocast, 2
epochs), then the lessons' tiny network in backprop's CLI and in PyTorch.
backprop's bf16 rows run where its `train --help` offers --precision.
--quick trains one epoch, PyTorch's CNN epochs on the first 12,800 images.
Prints a table of workload, peer, throughput, ratio and peak resident
memory, then each target with the figures it was judged on. A peer that
is not installed is skipped with a message. Only ratios measured in one
run mean anything on a shared machine.

Usage: python3 bench/run.py BUILD_DIR [--quick] [--only=PART,...]
(PART: core, mlp, cnn, tiny; all by default)
"""
import json
import os
import resource
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
# The tiny network's per-step rate: runs of TINY_LONG epochs less runs of
# TINY_BASE, each the best of TINY_RUNS (--quick: TINY_LONG_QUICK).
TINY_LONG, TINY_LONG_QUICK, TINY_BASE, TINY_RUNS = 201000, 21000, 1000, 3
BN_CNN = ("1x28x28,conv:32:3:same,batchnorm,relu,maxpool:2,conv:64:3:same,batchnorm,relu,"
          "maxpool:2,128:relu,10:softmax")
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
    """The JSON objects of text's lines that hold one; a line that does not
    parse is reported and left out."""
    got = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                got.append(json.loads(line))
            except ValueError:
                print("bench: left out a line that is not JSON: %s" % line, file=sys.stderr)
    return got


def has_python(mods):
    return os.path.exists(PY) and subprocess.run(
        [PY, "-c", "import " + ", ".join(mods)], capture_output=True).returncode == 0


def cpu_line():
    """The CPU's model, family and bf16 features, for the figures' record."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = cpu_flags()
    return "%s (family %s model %s), %d CPUs, avx512_bf16 %s, amx_bf16 %s" % (
        info.get("model name", "?"), info.get("cpu family", "?"), info.get("model", "?"),
        os.cpu_count() or 0, "yes" if "avx512_bf16" in flags else "no",
        "yes" if "amx_bf16" in flags else "no")


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (empty where unreadable)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_precision(bp):
    """Whether backprop's train offers --precision (bf16 training)."""
    p = subprocess.run([bp, "train", "--help"], capture_output=True, text=True)
    return "--precision" in p.stdout + p.stderr


def keep_best(results, key, r):
    """Keep r under key if it trains faster than what key holds."""
    if results.get(key) is None or r["samples_per_s"] > results[key]["samples_per_s"]:
        results[key] = r


def backprop_train(bp, net, args, epochs, test):
    """Train net through backprop's CLI: its best epoch's figures, or None."""
    with tempfile.TemporaryDirectory() as tmp:
        out, rss = run([bp, "train", "--data", "fashion-mnist", "--net", net] +
                       (["--test", "fashion-mnist:test"] if test else []) + args +
                       ["--batch", "128", "--epochs", epochs, "--json",
                        "--out", os.path.join(tmp, "m.safetensors")])
    if not out:
        return None
    d = json.loads(out)
    r = {"samples_per_s": max(e["samples_per_s"] for e in d["epochs"]), "peak_rss_mb": rss,
         "startup": d.get("startup_seconds"), "threads": d.get("threads"),
         "gemm": d.get("gemm"), "epochs": len(d["epochs"])}
    if test:
        r["best_accuracy"] = max(e.get("test_accuracy", 0.0) for e in d["epochs"])
        r["last_accuracy"] = d["epochs"][-1].get("test_accuracy", 0.0)
    return r


def torch_cnn(results, name, extra, epochs, quick):
    """PyTorch's CNN peer at 1 and 2 threads under results[name + " N"],
    the faster also under results[name]."""
    for threads in ("1", "2"):
        out, rss = run([PY, os.path.join(HERE, "torch_cnn.py"), "--threads", threads,
                        "--epochs", epochs] + extra + (["--rows", "12800"] if quick else []))
        got = json_lines(out or "")
        if got:
            r = dict(got[-1], peak_rss_mb=rss)
            r["best_accuracy"] = max(e["test_accuracy"] for e in r["epochs"])
            results["%s %s" % (name, threads)] = r
            keep_best(results, name, r)


def bench_mlp(results, bp, build, quick, bf16):
    """The Fashion-MNIST MLP: backprop (fp32, bf16) and its peers."""
    epochs = "1" if quick else "3"
    # backprop, as a user runs it; the test set scored after each epoch
    # (untimed) so that bf16's accuracy can be held against fp32's.
    sgd = ["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05", "--schedule", "constant"]
    results["backprop"] = backprop_train(bp, MLP, sgd, epochs, True)
    if bf16:
        results["backprop bf16"] = backprop_train(bp, MLP, sgd + ["--precision", "bf16"],
                                                  epochs, True)
    # The peers: PyTorch's best fp32 thread setting is "pytorch", its best
    # of all settings (fp32 or bf16 autocast, 1 or 2 threads) "pytorch any".
    if has_python(["torch", "numpy"]):
        for precision in ("fp32", "bf16"):
            for threads in ("1", "2"):
                out, rss = run([PY, os.path.join(HERE, "torch_mlp.py"), "--threads", threads,
                                "--epochs", epochs, "--precision", precision])
                if out:
                    d = json.loads(out)
                    d["peak_rss_mb"] = rss
                    results["pytorch %s %s" % (precision, threads)] = d
                    if precision == "fp32":
                        keep_best(results, "pytorch", d)
                    keep_best(results, "pytorch any", d)
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


def bench_cnn(results, bp, quick, bf16):
    """The small CNN and the CNN with batch norms: backprop and PyTorch."""
    # The small CNN, and the same with a batch norm after each convolution:
    # backprop's CLI against PyTorch on the same network and recipe (Adam
    # 0.001, constant, batch 128), the test set scored each epoch. The bf16
    # rows measure speed alone, over 2 epochs.
    cnn_epochs = "1" if quick else "10"
    bf16_epochs = "1" if quick else "2"
    adam = ["--optimizer", "adam", "--lr", "0.001", "--schedule", "constant"]
    results["cnn backprop"] = backprop_train(bp, CNN, adam, cnn_epochs, True)
    results["bn backprop"] = backprop_train(bp, BN_CNN, adam, cnn_epochs, True)
    if bf16:
        results["cnn backprop bf16"] = backprop_train(bp, CNN, adam + ["--precision", "bf16"],
                                                      bf16_epochs, True)
    if has_python(["torch", "numpy"]):
        torch_cnn(results, "cnn pytorch", [], cnn_epochs, quick)
        torch_cnn(results, "bn pytorch", ["--batchnorm"], cnn_epochs, quick)
        torch_cnn(results, "cnn pytorch bf16", ["--precision", "bf16"], bf16_epochs, quick)
        for threads in ("1", "2"):
            for key in ("cnn pytorch %s" % threads, "cnn pytorch bf16 %s" % threads):
                if results.get(key):
                    keep_best(results, "cnn pytorch any", results[key])
    else:
        print("bench: SKIP PyTorch CNN: python3-torch is not installed (apt-get install python3-torch)")


def bench_tiny(results, bp, quick):
    """The lessons' 2-2-1 network: backprop's CLI and PyTorch, per step."""
    # The lessons' tiny network, full-batch gradient descent, its per-step
    # rate as the target defines it: the wall time of a run of TINY_LONG
    # epochs less that of a run of TINY_BASE, each the best of TINY_RUNS,
    # which leaves out the process's start and the model's writing;
    # backprop's fresh runs of the CLI and PyTorch's runs in one process
    # take turns, so that both sides' bests come from the same minutes of
    # a shared machine. backprop's model goes to a RAM-backed folder where
    # there is one: a disk's fsync takes 1-10 ms, varying with the
    # neighbours' writes, against the 20-40 ms the difference measures.
    # The CPU time of the same runs is kept beside the wall time, to tell
    # the machine's load from the code.
    long_, base = (TINY_LONG_QUICK, TINY_BASE) if quick else (TINY_LONG, TINY_BASE)
    load = os.getloadavg()[0]
    ram = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    have_torch = has_python(["torch"])
    ours = {k: [] for k in ("long_walls", "base_walls", "long_cpus", "base_cpus")}
    peer = {k: [] for k in ours}
    rss, lines, peer_rss = float("nan"), 0, float("nan")
    for _ in range(TINY_RUNS):
        for epochs, kind in ((base, "base"), (long_, "long")):
            with tempfile.TemporaryDirectory(dir=ram) as tmp:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                out, got = run([bp, "train", "--data",
                                os.path.join(ROOT, "examples", "lesson-data.csv"),
                                "--init", os.path.join(ROOT, "examples", "lesson.json"),
                                "--optimizer", "gd", "--lr", "0.001", "--schedule", "constant",
                                "--batch", "0", "--epochs", str(epochs),
                                "--out", os.path.join(tmp, "tiny.safetensors")])
                wall = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if out is None:
                continue
            ours[kind + "_walls"].append(wall)
            ours[kind + "_cpus"].append(after.ru_utime + after.ru_stime - before.ru_utime -
                                        before.ru_stime)
            if kind == "long":
                rss, lines = got, len(out.splitlines())
        if have_torch:
            out, got = run([PY, os.path.join(HERE, "torch_mlp.py"), "--tiny", "--steps",
                            str(long_), "--base", str(base), "--runs", "1", "--threads", "1"])
            if out:
                d = json.loads(out)
                for k in peer:
                    peer[k] += d[k]
                peer_rss = got

    def rates(d):
        """Steps a second by wall and by CPU time, from the bests."""
        got = {}
        for what, key in (("walls", "steps_per_s"), ("cpus", "cpu_steps_per_s")):
            extra = min(d["long_" + what]) - min(d["base_" + what])
            got[key] = (long_ - base) / extra if extra > 0 else float("nan")
        return got
    if ours["long_walls"] and ours["base_walls"]:
        results["tiny backprop"] = dict(ours, peak_rss_mb=rss, lines=lines, **rates(ours))
    if peer["long_walls"] and peer["base_walls"]:
        results["tiny pytorch"] = dict(peer, peak_rss_mb=peer_rss, **rates(peer))
    if results.get("tiny backprop"):
        results["tiny backprop"]["load"] = (load, os.getloadavg()[0])
    return long_, base

def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-bench"
    quick = "--quick" in sys.argv
    only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
    parts = set(",".join(only).split(",")) if only else {"core", "mlp", "cnn", "tiny"}
    bp = os.path.join(build, "backprop")
    results = {}
    print("cpu: " + cpu_line())
    bf16 = has_precision(bp)
    if not bf16:
        print("bench: SKIP backprop bf16: this build's `backprop train --help` offers no "
              "--precision")

    core, peak = [], float("nan")
    if "core" in parts:
        out, _ = run([os.path.join(build, "bench_core")] + (["--quick"] if quick else []))
        core = json_lines(out or "")
        peak = next((c["gflops"] for c in core if c["bench"] == "peak"), float("nan"))
    if "mlp" in parts:
        bench_mlp(results, bp, build, quick, bf16)
        # The MLP's products alone on the threads the CLI's epoch ran on
        # (the tool picks its count by measured speed), for the bound.
        step_bin = os.path.join(build, "bench_core")
        for key, run_key, extra in (("products", "backprop", []),
                                    ("products bf16", "backprop bf16", ["--bf16"])):
            threads = (results.get(run_key) or {}).get("threads")
            if threads and os.path.exists(step_bin):
                out, _ = run([step_bin, "--step"] + extra, env={"OMP_NUM_THREADS": str(threads)})
                results[key] = next(
                    (c for c in json_lines(out or "") if c["bench"] == "phases"), None)
    if "cnn" in parts:
        bench_cnn(results, bp, quick, bf16)
    long_, base = bench_tiny(results, bp, quick) if "tiny" in parts else (0, 0)

    # The table: each row's ratio is backprop's samples/s in the row's
    # precision (fp32 where backprop has no bf16 row) over the row's.
    print("\n%-28s %-24s %14s %9s %12s" % ("workload", "peer", "samples/s", "ratio",
                                           "peak RSS MB"))
    fann = "fann (%s)" % (results.get("fann") or {}).get("peer", "-").split()[-1]
    table = (
        ("fashion-mnist mlp b128", "", (
            ("backprop", "backprop", ""), ("backprop bf16", "backprop bf16", "bf16"),
            ("pytorch fp32 1", "pytorch 1 thread", ""), ("pytorch fp32 2", "pytorch 2 threads", ""),
            ("pytorch bf16 1", "pytorch bf16 1 thread", "bf16"),
            ("pytorch bf16 2", "pytorch bf16 2 threads", "bf16"),
            ("numpy", "numpy", ""), ("fann", fann, ""))),
        ("fashion-mnist cnn b128", "cnn ", (
            ("cnn backprop", "backprop", ""), ("cnn backprop bf16", "backprop bf16", "bf16"),
            ("cnn pytorch 1", "pytorch 1 thread", ""), ("cnn pytorch 2", "pytorch 2 threads", ""),
            ("cnn pytorch bf16 1", "pytorch bf16 1 thread", "bf16"),
            ("cnn pytorch bf16 2", "pytorch bf16 2 threads", "bf16"))),
        ("fashion-mnist cnn+bn b128", "bn ", (
            ("bn backprop", "backprop", ""), ("bn pytorch 1", "pytorch 1 thread", ""),
            ("bn pytorch 2", "pytorch 2 threads", ""))))
    for workload, prefix, lines in table:
        for key, label, precision in lines:
            r = results.get(key)
            if not r:
                continue
            ours = results.get(prefix + "backprop" + (" bf16" if precision else ""))
            ours = ours or results.get(prefix + "backprop")
            acc = (" best test acc %.4f" % r["best_accuracy"]) if "best_accuracy" in r else ""
            print("%-28s %-24s %14.0f %8.2fx %12.1f %s" % (
                workload, label, r["samples_per_s"],
                ours["samples_per_s"] / r["samples_per_s"] if ours else float("nan"),
                r["peak_rss_mb"], acc))
    tb, tp = results.get("tiny backprop"), results.get("tiny pytorch")
    if tb:
        print("%-28s %-24s %11.0f/s* %8.2fx %12.1f" % ("lesson 2-2-1 full batch", "backprop",
                                                      tb["steps_per_s"], 1.0, tb["peak_rss_mb"]))
    if tp:
        print("%-28s %-24s %11.0f/s* %8.2fx %12.1f" % ("lesson 2-2-1 full batch", "pytorch",
              tp["steps_per_s"], tb["steps_per_s"] / tp["steps_per_s"] if tb else float("nan"),
              tp["peak_rss_mb"]))
    if tb or tp:
        print("(* steps per second: the wall time of a run of %d epochs less that of a run of %d, "
              "each the best of %d;\n   backprop through its CLI, PyTorch in one process)" %
              (long_, base, TINY_RUNS))
        if tb:
            print("   load average %.1f before, %.1f after" % tb["load"])
        if tb and tp:
            print("   by CPU time instead of wall time: backprop %.0f/s, pytorch %.0f/s, %.0fx" %
                  (tb["cpu_steps_per_s"], tp["cpu_steps_per_s"],
                   tb["cpu_steps_per_s"] / tp["cpu_steps_per_s"]))
            print("   the walls, ms (long runs | short runs): backprop %s | %s; pytorch %s | %s" % (
                " ".join("%.1f" % (1e3 * w) for w in tb["long_walls"]),
                " ".join("%.1f" % (1e3 * w) for w in tb["base_walls"]),
                " ".join("%.0f" % (1e3 * w) for w in tp["long_walls"]),
                " ".join("%.1f" % (1e3 * w) for w in tp["base_walls"])))
    print()

    if core:
        # "onednn thr": oneDNN's sgemm threaded by oneDNN itself, one call,
        # against "backend", the network's row blocks on the same threads
        print("%-26s %10s %10s %10s %10s" % ("kernel GFLOP/s", "builtin", "backend", "onednn thr",
                                             "openblas"))
        for c in core:
            if c["bench"] == "kernel":
                print("%-26s %10.1f %10.1f %10s %10s" % (
                    c["shape"], c["builtin"], c["backend"],
                    "%.1f" % c["onednn_threads"] if "onednn_threads" in c else "-",
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
        # 3x: the first speed targets; 2.5x fp32: the bf16 round's
        for peer, want in (("pytorch", 3.0), ("pytorch", 2.5), ("numpy", 3.0), ("fann", 50.0)):
            if results.get(peer):
                ratio = b["samples_per_s"] / results[peer]["samples_per_s"]
                theirs = results[peer].get("threads")
                target("MLP throughput >= %gx %s" % (want, peer), ratio >= want,
                       "%.2fx (backprop on %s thread(s)%s)" % (
                           ratio, b["threads"],
                           "; %s's best: %d" % (peer, theirs) if theirs else ""))
        if results.get("pytorch"):
            share = b["peak_rss_mb"] / results["pytorch"]["peak_rss_mb"]
            target("peak RSS <= 25% of PyTorch's", share <= 0.25,
                   "%.0f MB vs %.0f MB (%.0f%%)" % (b["peak_rss_mb"], results["pytorch"]["peak_rss_mb"],
                                                  100 * share))
        if b.get("startup") is not None:
            target("start-up to first batch <= 0.5 s", b["startup"] <= 0.5, "%.3f s" % b["startup"])
        # The epoch through the CLI against a step of the eight products
        # alone on as many threads, both from this run: 128 samples per
        # products_us. The target is fp32's; bf16's fraction is printed.
        for key, run_key, label in (("products", "backprop", None),
                                    ("products bf16", "backprop bf16", "bf16")):
            sp, rb = results.get(key), results.get(run_key)
            if not (sp and rb and sp["products_us"] > 0):
                continue
            bound = 128 / (1e-6 * sp["products_us"])
            share = rb["samples_per_s"] / bound
            detail = "%.0f%% (%.0f samples/s against 128 / %.1f us = %.0f, %s thread%s%s)" % (
                100 * share, rb["samples_per_s"], sp["products_us"], bound, sp["threads"],
                "s" if sp["threads"] > 1 else "",
                "; %s" % sp["products_kernel"] if sp.get("products_kernel") else "")
            if label:
                print("  info MLP %s epoch at %s of its products-only bound" % (label, detail))
            else:
                target("MLP epoch >= 75% of the products-only bound", share >= 0.75, detail)
        if core:
            print("  info training step %.1f GFLOP/s = %.0f%% of the sgemm peak %.1f GFLOP/s "
                  "(%s, %s threads)" % (gf, 100 * gf / peak, peak, b.get("gemm"),
                                        b.get("threads")))
    bb, pa = results.get("backprop bf16"), results.get("pytorch any")
    if bb and pa:
        flags = cpu_flags()
        want = 3.0 if "amx_bf16" in flags else 2.0
        ratio = bb["samples_per_s"] / pa["samples_per_s"]
        target("MLP bf16 >= %gx pytorch's best of all" % want, ratio >= want,
               "%.2fx (pytorch's best: %s, %d thread%s; %s)" % (
                   ratio, pa.get("precision", "fp32"), pa["threads"],
                   "s" if pa["threads"] > 1 else "",
                   "amx_bf16" if "amx_bf16" in flags else "avx512_bf16 without amx_bf16"))
    elif b and not bb:
        # Not a miss: bf16 never runs emulated, and this machine (or its
        # oneDNN cap, or the build) runs none
        print("  %-4s %-44s backprop ran no bf16 here (%s)" % (
            "n/a", "MLP bf16 targets", "the CPU has neither avx512_bf16 nor amx_bf16"
            if not {"avx512_bf16", "amx_bf16"} & cpu_flags()
            else "see the bf16 row's message above"))
    if bb and b and not quick:
        gap = b["last_accuracy"] - bb["last_accuracy"]
        target("MLP bf16 accuracy within 0.005 of fp32", abs(gap) <= 0.005,
               "%.4f against %.4f after %d epochs" % (bb["last_accuracy"], b["last_accuracy"],
                                                       bb["epochs"]))
    cb, cp = results.get("cnn backprop"), results.get("cnn pytorch")
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
        if core:
            print("  info CNN training step %.1f GFLOP/s = %.0f%% of the sgemm peak %.1f GFLOP/s "
                  "(%.1f MFLOP a sample)" % (gf, 100 * gf / peak, peak, CNN_FLOP_PER_SAMPLE / 1e6))
    cbb, cpb = results.get("cnn backprop bf16"), results.get("cnn pytorch bf16")
    if cbb and cpb:
        print("  info CNN bf16 %.2fx pytorch's bf16 autocast, %.2fx its best of all settings" %
              (cbb["samples_per_s"] / cpb["samples_per_s"],
               cbb["samples_per_s"] / results["cnn pytorch any"]["samples_per_s"]))
    nb, np_ = results.get("bn backprop"), results.get("bn pytorch")
    if nb:
        if np_:
            ratio = nb["samples_per_s"] / np_["samples_per_s"]
            target("CNN+BN throughput >= 2.5x pytorch", ratio >= 2.5,
                   "%.2fx (pytorch's best: %d thread%s)" % (ratio, np_["threads"],
                                                            "s" if np_["threads"] > 1 else ""))
            print("  info CNN+BN peak RSS %.0f MB vs %.0f MB (%.0f%%)" % (
                nb["peak_rss_mb"], np_["peak_rss_mb"],
                100 * nb["peak_rss_mb"] / np_["peak_rss_mb"]))
        if not quick:
            target("CNN+BN test accuracy >= 0.915 in 10 epochs", nb["best_accuracy"] >= 0.915,
                   "%.4f (best epoch of %d)" % (nb["best_accuracy"], nb["epochs"]))
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
        if quick:  # 20,000 epochs are 2 ms of backprop's CPU time, under a start-up's noise
            print("  info tiny net %.0fx PyTorch (--quick: too short to judge)" % ratio)
        else:
            target("tiny net steps/s >= 1000x PyTorch", ratio >= 1000,
                   "%.0fx (%d output lines)" % (ratio, tb["lines"]))
    print("\n%d of %d targets met" % (sum(verdicts), len(verdicts)))


if __name__ == "__main__":
    main()
