"""Figures as interactive plotly divs for the HTML report.

Every string handed to plotly is HTML-escaped first: plotly renders names, titles and
hover text as a small HTML subset (and decodes entities), so escaping makes `<script>` in
a task name show as text. Hover text goes through `hovertext` (never `hovertemplate`, which
would interpret `%{…}` in names). plotly's JSON encoder escapes `<`, `>` and `/`, so no
string can close the <script> element it is embedded in.
"""
from __future__ import annotations

from html import escape as _escape
from typing import Any

from bench.report.model import Figure, Series

CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d",
                                                                                "select2d"]}

def escape(text: str) -> str:
    """Escape for plotly's text: <, > and & only (plotly shows &quot; literally)."""
    return _escape(str(text), quote=False)


AXIS = {"gridcolor": "#e6e6e6", "linecolor": "#999", "zeroline": False, "showline": True}


def _trace(s: Series) -> dict[str, Any]:
    pts = sorted(s.points, key=lambda p: p.x) if s.style == "line" else list(s.points)
    trace: dict[str, Any] = {
        "type": "scatter", "name": escape(s.name), "x": [p.x for p in pts],
        "y": [p.y for p in pts],
        "hovertext": ["<br>".join(escape(line) for line in p.hover) for p in pts],
        "hoverinfo": "text"}
    if s.style == "line":
        trace.update(mode="lines", line={"color": s.color, "dash": "dash", "width": 1.5},
                     hoverinfo="skip")
    elif s.style == "ring":
        trace.update(mode="markers", marker={"symbol": "circle-open", "size": 17,
                                             "color": s.color, "line": {"width": 2}})
    else:
        trace.update(mode="markers", marker={"size": 10, "color": s.color, "opacity": 0.85,
                                             "symbol": s.symbol,
                                             "line": {"color": "white", "width": 1}})
        errs = [p.err if p.err is not None and p.err == p.err else 0.0 for p in pts]
        if any(errs):
            trace["error_y"] = {"type": "data", "array": errs, "visible": True,
                                "color": s.color, "thickness": 1.2}
    return trace


def figure_dict(fig: Figure) -> dict[str, Any]:
    """The plotly figure (as a dict) for `fig`."""
    return {"data": [_trace(s) for s in fig.series if s.points],
            "layout": {"title": {"text": escape(fig.title), "x": 0.01, "xanchor": "left",
                                 "font": {"size": 14}}, "height": 430,
                       "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
                       "xaxis": {"title": {"text": escape(fig.x_label)},
                                 "type": "log" if fig.log_x else "linear", **AXIS},
                       "yaxis": {"title": {"text": escape(fig.y_label)}, **AXIS},
                       "hovermode": "closest", "paper_bgcolor": "white",
                       "plot_bgcolor": "white", "showlegend": True,
                       "legend": {"font": {"size": 11}}}}


def to_div(fig: Figure, include_js: bool) -> str:
    """An HTML <div> drawing `fig`; with `include_js` it also inlines plotly.js (once!)."""
    import plotly.io as pio

    return pio.to_html(figure_dict(fig), include_plotlyjs=include_js, full_html=False,
                       validate=False, config=CONFIG, include_mathjax=False)
