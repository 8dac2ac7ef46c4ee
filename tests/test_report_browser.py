"""The HTML report in a real browser: headless Chromium renders the plots, and names
carrying <script> or event-handler markup stay text (nothing injected runs).

Needs Debian's `chromium` (installed by .ci/run); skipped without it.
"""
from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import METHODS, make_records, write_run

from bench.report import build

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium "
                                 "(apt-get install -y chromium)")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000"]
TASK = "<script>document.title='pwned'</script>"
BREAKOUT = "</script><script>document.title='pwned2'</script>"
METHOD = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">'q"


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / "profile"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, timeout=180, check=True)


def png_pixels(path: Path) -> np.ndarray:
    """RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium writes), decoded here."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and ctype in (2, 6) and interlace == 0
    bpp = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width * bpp + 1)
    out = np.zeros((height, width * bpp), np.int32)
    prev = np.zeros(width * bpp, np.int32)
    for y in range(height):
        kind, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 1:
            row = np.cumsum(row.reshape(-1, bpp), axis=0).reshape(-1) % 256
        elif kind == 2:
            row = (row + prev) % 256
        elif kind in (3, 4):
            row = _sequential(kind, row, prev, bpp)
        out[y] = prev = row
    return out.reshape(height, width, bpp)


def _sequential(kind: int, row: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    cur = row.tolist()
    up = prev.tolist()
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        c = up[i - bpp] if i >= bpp else 0
        if kind == 3:
            cur[i] = (cur[i] + (a + up[i]) // 2) % 256
        else:
            p = a + up[i] - c
            pa, pb, pc = abs(p - a), abs(p - up[i]), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (up[i] if pb <= pc else c)
            cur[i] = (cur[i] + pred) % 256
    return np.array(cur, np.int32)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("browser")
    methods = {"full": METHODS["full"], "lora": METHODS["lora"], METHOD: (50_000, 0.8)}
    recs = make_records(tasks=["sst2", TASK, BREAKOUT], methods=methods, seeds=[0, 1],
                        trials=3)
    write_run(tmp / "run", recs)
    (html,) = build([tmp / "run"], ["html"], tmp / "out")
    return tmp, html


def test_plots_render_and_injected_scripts_do_not_run(page):
    tmp, html = page
    dom = chromium(tmp, "--dump-dom", html.as_uri()).stdout.decode("utf-8", "replace")
    assert re.search(r"<title>bench report: unit</title>", dom)
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert "data-pwned" not in re.search(r"<body[^>]*>", dom).group(0)  # onerror never ran
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # shown as text
    plots = dom.split('class="plotly-graph-div')[1:]
    assert len(plots) >= 12 and len(plots) == html.read_text().count("Plotly.newPlot(")
    for chunk in plots:
        svg = chunk.split("</noscript>")[0] if "<noscript>" in chunk else chunk
        assert 'class="main-svg"' in svg
        assert len(re.findall(r'<path class="point"', svg)) >= 3  # markers were drawn
    # hover text holding the injected markup is data in the DOM, never an element
    assert "<img src=\"x\"" not in dom and "<img src=x" not in dom


def test_screenshot_is_not_blank(page):
    tmp, html = page
    shot = tmp / "shot.png"
    chromium(tmp, "--window-size=1000,1400", f"--screenshot={shot}", html.as_uri())
    px = png_pixels(shot)[..., :3]
    assert px.shape[:2] == (1400, 1000)
    ink = (px < 235).any(axis=2).mean()
    assert ink > 0.02, f"only {ink:.1%} of the page is not white"
    colours = {tuple(c) for c in px.reshape(-1, 3)[::7].tolist()}
    assert len(colours) > 50  # text, table shading, coloured markers
    blue = (np.abs(px - np.array([31, 119, 180])).sum(axis=2) < 30).sum()
    assert blue > 20  # markers in the first palette colour (full fine-tuning)
