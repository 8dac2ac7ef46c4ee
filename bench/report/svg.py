"""A small SVG scatter writer: figures for the markdown report and the HTML's no-JS view.

Pure Python, no browser needed (plotly's static export needs kaleido and Chrome). Draws a
log- or linear-x scatter with error bars, frontier lines and rings, ticks, a legend, and
each point's hover lines as an SVG <title> (a tooltip in browsers). All text is escaped.
"""
from __future__ import annotations

import math
from html import escape
from typing import Callable

from bench.report.model import Figure, Series

W, H = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 40, 55  # margins; the legend sits in the right one


def _ticks_linear(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo or abs(hi) or 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _ticks_log(lo: float, hi: float) -> list[float]:
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1,) if b - a > 2 else (1, 2, 5)
    return [m * 10.0 ** e for e in range(a, b + 1) for m in mults if lo <= m * 10.0 ** e <= hi]


def tick_label(v: float) -> str:
    """Compact tick text: 10K, 2.5M, 1e-04, 0.5."""
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:g}B"
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e4:
        return f"{v / 1e3:g}K"
    if 0 < a < 1e-2:
        return f"{v:.0e}"
    return f"{v:.4g}"


def _domain(vals: list[float], log: bool) -> tuple[float, float]:
    lo, hi = min(vals), max(vals)
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    pad = (hi - lo) * 0.08 or (abs(hi) * 0.1 if hi else 1.0)
    lo, hi = lo - pad, hi + pad
    return (10 ** lo, 10 ** hi) if log else (lo, hi)


def _scale(lo: float, hi: float, a: float, b: float, log: bool) -> Callable[[float], float]:
    f = math.log10 if log else (lambda v: v)
    flo, fhi = f(lo), f(hi)
    return lambda v: a + (f(v) - flo) / ((fhi - flo) or 1.0) * (b - a)


def render(fig: Figure) -> str:
    """The figure as a standalone SVG document."""
    pts = [p for s in fig.series for p in s.points if not fig.log_x or p.x > 0]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{escape(fig.title)}</text>']
    if not pts:
        out.append(f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">no data</text></svg>')
        return "\n".join(out)
    ys = [p.y for p in pts] + [p.y + s * (p.err or 0) for p in pts for s in (-1, 1)]
    xlo, xhi = _domain([p.x for p in pts], fig.log_x)
    ylo, yhi = _domain(ys, False)
    sx = _scale(xlo, xhi, LEFT, W - RIGHT, fig.log_x)
    sy = _scale(ylo, yhi, H - BOTTOM, TOP, False)
    out += _axes(fig, xlo, xhi, ylo, yhi, sx, sy)
    for s in fig.series:
        out += _series(s, sx, sy, fig.log_x)
    out += _legend(fig.series)
    out.append("</svg>")
    return "\n".join(out)


def _axes(fig: Figure, xlo: float, xhi: float, ylo: float, yhi: float,
          sx: Callable[[float], float], sy: Callable[[float], float]) -> list[str]:
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP
    out = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="#fafafa" '
           'stroke="#999"/>']
    xt = _ticks_log(xlo, xhi) if fig.log_x else _ticks_linear(xlo, xhi)
    for v in xt:
        x = sx(v)
        out.append(f'<line x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y0}" stroke="#e4e4e4"/>'
                   f'<text x="{x:.1f}" y="{y0 + 16}" text-anchor="middle">{tick_label(v)}</text>')
    for v in _ticks_linear(ylo, yhi):
        y = sy(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{tick_label(v)}</text>')
    out.append(f'<text x="{(x0 + x1) / 2}" y="{H - 12}" text-anchor="middle">'
               f'{escape(fig.x_label)}</text>')
    out.append(f'<text transform="translate(16 {(y0 + y1) / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(fig.y_label)}</text>')
    return out


def _series(s: Series, sx: Callable[[float], float], sy: Callable[[float], float],
            log_x: bool) -> list[str]:
    pts = [p for p in s.points if not log_x or p.x > 0]
    color = escape(s.color)
    if s.style == "line":
        path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in sorted(pts, key=lambda p: p.x))
        return [f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5" '
                'stroke-dasharray="5,3"/>']
    out = []
    for p in pts:
        x, y = sx(p.x), sy(p.y)
        tip = f"<title>{escape(chr(10).join(p.hover))}</title>" if p.hover else ""
        if p.err:
            out.append(f'<line x1="{x:.1f}" y1="{sy(p.y - p.err):.1f}" x2="{x:.1f}" '
                       f'y2="{sy(p.y + p.err):.1f}" stroke="{color}"/>')
        if s.style == "ring":
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="none" '
                       f'stroke="{color}" stroke-width="1.5"/>')
        else:
            out.append(marker(s.symbol, x, y, color, tip))
    return out


def marker(symbol: str, x: float, y: float, color: str, tip: str = "", r: float = 5) -> str:
    """One filled marker of class "point": circle, square, diamond or triangle-up."""
    attrs = f'class="point" fill="{color}" fill-opacity="0.85" stroke="white"'
    if symbol == "circle":
        return f'<circle {attrs} cx="{x:.1f}" cy="{y:.1f}" r="{r}">{tip}</circle>'
    corners = {"square": ((-1, -1), (1, -1), (1, 1), (-1, 1)),
               "diamond": ((0, -1.3), (1.3, 0), (0, 1.3), (-1.3, 0)),
               "triangle-up": ((0, -1.3), (1.2, 1), (-1.2, 1))}[symbol]
    pts = " ".join(f"{x + dx * r:.1f},{y + dy * r:.1f}" for dx, dy in corners)
    return f'<polygon {attrs} points="{pts}">{tip}</polygon>'



def _legend(series: tuple[Series, ...]) -> list[str]:
    out, x = [], W - RIGHT + 14
    for i, s in enumerate(series[:20]):
        y = TOP + 10 + i * 18
        color = escape(s.color)
        mark = (f'<circle cx="{x + 5}" cy="{y}" r="6" fill="none" stroke="{color}"/>'
                if s.style == "ring" else
                f'<line x1="{x - 2}" y1="{y}" x2="{x + 12}" y2="{y}" stroke="{color}" '
                'stroke-dasharray="5,3"/>' if s.style == "line" else
                marker(s.symbol, x + 5, y, color))
        name = s.name if len(s.name) <= 24 else s.name[:23] + "…"
        out.append(f'{mark}<text x="{x + 18}" y="{y + 4}">{escape(name)}</text>')
    if len(series) > 20:
        out.append(f'<text x="{x}" y="{TOP + 10 + 20 * 18}">… {len(series) - 20} more</text>')
    return out
