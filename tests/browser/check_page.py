"""check_page.py - checks on a report rendered by headless Chromium.

  check_page.py shot PNG          the screenshot is not blank: enough pixels
                                  differ from the background, in enough colours
  check_page.py dom DUMP IDS      the probe the test added to the page found,
                                  in each section named in IDS (comma list),
                                  at least one SVG laid out with a non-zero
                                  size and drawn elements inside

Only the standard library (zlib for the PNG). Exits 1 with a message on
failure.
"""
import json
import re
import struct
import sys
import zlib


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def png_pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s: not a PNG file" % path)
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                fail("%s: expected 8-bit RGB or RGBA, found depth %d type %d" % (path, depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for r in range(height):
        f = raw[r * (stride + 1)]
        line = bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def check_shot(path):
    width, height, bpp, rows = png_pixels(path)
    colours, inked = set(), 0
    for line in rows[::2]:
        for x in range(0, width * bpp, bpp * 2):
            px = line[x:x + 3]
            colours.add(px)
            if px != b"\xff\xff\xff":
                inked += 1
    sampled = len(rows[::2]) * len(range(0, width * bpp, bpp * 2))
    share = inked / sampled
    print("screenshot %dx%d: %.1f%% of sampled pixels drawn, %d colours" % (width, height, 100 * share, len(colours)))
    if share < 0.02 or len(colours) < 16:
        fail("%s looks blank: %.2f%% drawn, %d colours" % (path, 100 * share, len(colours)))


def check_dom(path, ids):
    text = open(path, encoding="utf-8").read()
    m = re.search(r'<pre id="probe">(.*?)</pre>', text, re.S)
    if not m:
        fail("%s: the probe did not run (no <pre id=\"probe\">)" % path)
    found = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    for sid in ids.split(","):
        sec = found.get(sid)
        if not sec:
            fail("section '%s' missing from the rendered page" % sid)
        if sec["svgs"] < 1:
            fail("section '%s' has no SVG" % sid)
        if sec["minw"] < 50 or sec["minh"] < 50:
            fail("section '%s': an SVG is laid out %dx%d" % (sid, sec["minw"], sec["minh"]))
        if sec["shapes"] < 10:
            fail("section '%s': its SVGs hold only %d drawn elements" % (sid, sec["shapes"]))
        print("section %-10s %d svg, smallest %dx%d, %d elements" % (sid, sec["svgs"], sec["minw"], sec["minh"], sec["shapes"]))


if len(sys.argv) == 3 and sys.argv[1] == "shot":
    check_shot(sys.argv[2])
elif len(sys.argv) == 4 and sys.argv[1] == "dom":
    check_dom(sys.argv[2], sys.argv[3])
else:
    fail("usage: check_page.py shot PNG | dom DUMP IDS")
