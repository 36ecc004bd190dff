# test_report_browser.sh - the training report rendered in a real browser:
# headless Chromium opens the page from disk with networking off, takes a
# screenshot that must not be blank, and a probe script added to a copy of
# the page checks that every figure section holds laid-out, non-empty SVG
# (on a convolutional network's page too, its filters included).
# Skipped with a message where Debian's chromium is absent.
# Usage: sh test_report_browser.sh PATH_TO_backprop
. "$(dirname "$0")/../cli/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
    echo "SKIP: chromium is not installed (apt-get install chromium)"
    exit 0
fi
if [ ! -x "$PY" ]; then
    echo "SKIP: /usr/bin/python3 is not installed (apt-get install python3)"
    exit 0
fi
browse() {  # browse ARGS...: headless, offline, a fresh profile
    rm -rf "$TMP/profile"
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$TMP/profile" "$@" 2>>"$TMP/chromium.log"
}

# 28x28 pictures of three classes (a bar across, a bar down, a diagonal),
# with noise from a fixed formula, as CSV.
awk 'BEGIN {
    for (i = 0; i < 784; i++) printf "p%d,", i
    print "label"
    for (s = 0; s < 240; s++) {
        k = s % 3; c = 8 + (s * 7) % 12
        for (i = 0; i < 784; i++) {
            r = int(i / 28); q = i % 28
            on = (k == 0 && r >= c && r < c + 4) || (k == 1 && q >= c && q < c + 4) ||
                 (k == 2 && (r - q) * (r - q) < 5)
            v = (on ? 0.6 : 0.1) + 0.5 * sin(s * 31.7 + i * 1.3)
            printf "%.3f,", v < 0 ? 0 : (v > 1 ? 1 : v)
        }
        print k
    }
}' >"$TMP/pics.csv"
"$BP" train --data "$TMP/pics.csv" --val-split 0.25 --net 784,32:relu,3:softmax --epochs 2 \
    --batch 30 --lr 0.002 --out "$TMP/m.safetensors" --report "$TMP/report.html" --quiet ||
    fail "train --report"

browse --window-size=1280,3000 --screenshot="$TMP/shot.png" "file://$TMP/report.html" ||
    fail "chromium could not take a screenshot (see its log: $(tail -n 5 "$TMP/chromium.log"))"
[ -s "$TMP/shot.png" ] || fail "no screenshot"
"$PY" "$HERE/check_page.py" shot "$TMP/shot.png" || exit 1

# probe PAGE IDS: a copy of PAGE with a script that gathers each section's
# SVGs, their laid-out size and drawn elements, rendered; every section of
# IDS must hold a drawn picture.
probe() {
sed 's|</body>|<pre id="probe"></pre><script>\
var out = {};\
document.querySelectorAll("section").forEach(function (s) {\
  var r = {svgs: 0, minw: 1e9, minh: 1e9, shapes: 0};\
  s.querySelectorAll("svg").forEach(function (g) {\
    var b = g.getBoundingClientRect();\
    r.svgs++; r.minw = Math.min(r.minw, b.width); r.minh = Math.min(r.minh, b.height);\
    r.shapes += g.querySelectorAll("rect,line,polyline,circle,text").length;\
  });\
  if (!r.svgs) { r.minw = 0; r.minh = 0; }\
  out[s.id] = r;\
});\
document.getElementById("probe").textContent = JSON.stringify(out);\
</script></body>|' "$1" >"$TMP/probe.html"
browse --dump-dom "file://$TMP/probe.html" >"$TMP/dom.html" ||
    fail "chromium could not render the page (see its log: $(tail -n 5 "$TMP/chromium.log"))"
"$PY" "$HERE/check_page.py" dom "$TMP/dom.html" "$2" || exit 1
}
probe "$TMP/report.html" curves,lr,confusion,mistakes,norms

# A small convolutional network on the same pictures: its filters drawn.
"$BP" train --data "$TMP/pics.csv" --val-split 0.25 --net 1x28x28,conv:4:5:relu,maxpool:4,3:softmax \
    --epochs 1 --batch 30 --lr 0.01 --out "$TMP/c.safetensors" --report "$TMP/cnn.html" --quiet ||
    fail "train --report of a convolutional network"
probe "$TMP/cnn.html" mistakes,norms,filters
echo "ok"
