# test_loss_ref.sh - tests/ref/loss_ref.h (PyTorch's losses on logits, read
# by tests/nn/test_loss_torch.c) is what this machine's torch gives now:
# gen_loss.py is run again and every number compared, to 1e-12 relative.
# Skipped with a message where torch is absent.
# Usage: sh test_loss_ref.sh PATH_TO_backprop (unused)
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_python "torch, numpy" "python3-torch and python3-numpy" "python3-torch python3-numpy"
"$PY" "$HERE/gen_loss.py" "$TMP/loss_ref.h" || fail "gen_loss.py failed"
"$PY" - "$HERE/loss_ref.h" "$TMP/loss_ref.h" <<'PYEOF' || fail "tests/ref/loss_ref.h is stale: regenerate it with tests/ref/gen_loss.py"
import re
import sys

def numbers(path):
    text = "".join(l for l in open(path) if l.startswith(("static const", "#define LOSS_REF")))
    return [float(v) for v in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text)]

a, b = numbers(sys.argv[1]), numbers(sys.argv[2])
bad = len(a) != len(b) or any(abs(x - y) > 1e-12 * max(1.0, abs(y)) for x, y in zip(a, b))
print(f"{len(a)} numbers compared")
sys.exit(1 if bad or not a else 0)
PYEOF
echo "loss_ref.h matches PyTorch"
