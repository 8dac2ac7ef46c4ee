"""Sections → one self-contained HTML file (inline CSS, plotly.js inlined once, no network).

Every string from records, suites, models or datasets is escaped here (`html.escape`) or,
for figures, in `bench.report.plots`. Each figure also carries a static SVG inside
<noscript>, so the report is readable with JavaScript disabled.
"""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from importlib import resources
from string import Template

from bench.report import plots, svg
from bench.report.model import Block, Details, Figure, Pre, Section, Table, Text


def _template(name: str) -> str:
    return resources.files("bench.report").joinpath("templates", name).read_text("utf-8")


class _Writer:
    """Renders blocks; remembers whether plotly.js has been inlined yet."""

    def __init__(self) -> None:
        self.js_done = False

    def figure(self, fig: Figure) -> str:
        div = plots.to_div(fig, include_js=not self.js_done)
        self.js_done = True
        cap = f"<figcaption>{escape(fig.caption)}</figcaption>" if fig.caption else ""
        return (f'<figure id="fig-{escape(fig.key)}">{div}<noscript>{svg.render(fig)}'
                f"</noscript>{cap}</figure>")

    def table(self, t: Table) -> str:
        num = t.numeric or (False,) * len(t.columns)
        cls = [' class="num"' if n else "" for n in num]
        head = "".join(f"<th{c}>{escape(h)}</th>" for h, c in zip(t.columns, cls))
        body = []
        for i, row in enumerate(t.rows):
            cells = []
            for j, v in enumerate(row):
                text = f"<b>{escape(v)}</b>" if (i, j) in t.bold else escape(v)
                cells.append(f"<td{cls[j] if j < len(cls) else ''}>{text}</td>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        cap = f'<p class="caption">{escape(t.caption)}</p>' if t.caption else ""
        title = f"<h3>{escape(t.title)}</h3>" if t.title else ""
        thead = f"<thead><tr>{head}</tr></thead>" if any(t.columns) else ""
        return (f'{title}<div class="scroll"><table>{thead}'
                f"<tbody>{''.join(body)}</tbody></table></div>{cap}")

    def block(self, b: Block) -> str:
        if isinstance(b, Text):
            return f'<p class="{b.kind}">{escape(b.text)}</p>'
        if isinstance(b, Table):
            return self.table(b)
        if isinstance(b, Figure):
            return self.figure(b)
        if isinstance(b, Pre):
            return f"<pre>{escape(b.text)}</pre>"
        if isinstance(b, Details):
            return (f"<details><summary>{escape(b.summary)}</summary>"
                    f"{self.blocks(b.blocks)}</details>")
        raise TypeError(f"unknown block {type(b).__name__}")

    def blocks(self, blocks: tuple[Block, ...]) -> str:
        """Blocks in order; consecutive figures share a responsive grid."""
        out: list[str] = []
        figs: list[str] = []
        for b in blocks:
            if isinstance(b, Figure):
                figs.append(self.figure(b))
                continue
            if figs:
                out.append(f'<div class="figs">{"".join(figs)}</div>')
                figs = []
            out.append(self.block(b))
        if figs:
            out.append(f'<div class="figs">{"".join(figs)}</div>')
        return "\n".join(out)


def render(title: str, sections: list[Section]) -> str:
    """The whole report page."""
    from bench import __version__

    writer = _Writer()
    body = "\n".join(f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>\n'
                     f"{writer.blocks(s.blocks)}</section>" for s in sections)
    nav = "".join(f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>'
                  for s in sections)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Template(_template("page.html")).substitute(
        title=escape(title), css=_template("report.css"), nav=nav, body=body,
        generated=escape(f"generated {now} by bench {__version__}"))
