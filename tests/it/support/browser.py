#!/usr/bin/python3
"""Look at a page the way a person does, in headless Debian chromium.

    browser.py URL SCREENSHOT.png WIDTH HEIGHT RRGGBB...

Prints one JSON object: {"dom": the DOM after load (main document), "pixels": {"RRGGBB":
how many screenshot pixels have exactly that colour}}. The screenshot stays where the caller
put it (a temporary folder, never the repository). Exits 2 when chromium is missing.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("browser.py: chromium is not installed (apt-get install chromium; .ci/run does)")


def run(browser, profile, args):
    # --no-sandbox: the tests run as root in CI, where chromium's own sandbox refuses to
    # start. The page's iframe sandbox (what the test checks) is a different mechanism.
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
        "--user-data-dir=" + profile, "--virtual-time-budget=5000",
    ] + args
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if done.returncode != 0:
        sys.exit("browser.py: chromium failed: " + done.stderr.decode(errors="replace")[-2000:])
    return done.stdout


def pixels(png):
    """Decodes an 8-bit, non-interlaced RGB/RGBA PNG (what chromium writes) into RGB triples."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, kind = 8, b"", 0, 0, 0
    while pos < len(png):
        length, tag = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if tag == b"IHDR":
            width, height, depth, kind, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and kind in (2, 6) and interlace == 0, (depth, kind, interlace)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp = 3 if kind == 2 else 4
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(height):
        start = y * (stride + 1)
        filt, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        out.extend("%02x%02x%02x" % tuple(line[i:i + 3]) for i in range(0, stride, bpp))
        prev = line
    return out


def main():
    url, shot, width, height = sys.argv[1:5]
    colours = [c.lower() for c in sys.argv[5:]]
    browser = chromium()
    with tempfile.TemporaryDirectory() as profile:
        dom = run(browser, profile, ["--dump-dom", url]).decode("utf-8", "replace")
        run(browser, profile, ["--window-size=%s,%s" % (width, height),
                               "--screenshot=" + os.path.abspath(shot), url])
    with open(shot, "rb") as f:
        seen = pixels(f.read())
    counts = {c: 0 for c in colours}
    for p in seen:
        if p in counts:
            counts[p] += 1
    print(json.dumps({"dom": dom, "pixels": counts}))


if __name__ == "__main__":
    main()
