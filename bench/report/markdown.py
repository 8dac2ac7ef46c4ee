"""Sections → GitHub markdown, with each figure written as an SVG file beside it.

Figures are drawn by `bench.report.svg` (pure Python) rather than plotly's static export,
which needs kaleido and a Chrome install. Text is escaped so names render literally: HTML
tags become entities, and markdown syntax characters are backslash-escaped.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from bench.report import svg
from bench.report.model import Block, Details, Figure, Pre, Section, Table, Text

FIG_DIR = "figures"
# Escaped anywhere: code, emphasis, links, table cells, strikethrough. `_` only at a word
# edge (GitHub ignores intra-word underscores, and snake_case stays readable in CI logs).
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_LINE_START = re.compile(r"^([#+=-])")  # headings and lists at the start of a line
_MD_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")  # "1." would start a numbered list


def md(text: str, line_start: bool = True) -> str:
    """Plain text made inert in markdown: no HTML, no emphasis, no links, no table breaks.

    `line_start=False` for table cells, where "#", "+" or "1." cannot start a block.
    """
    text = _MD_SPECIAL.sub(r"\\\1", escape(str(text), quote=False).replace("\n", " "))
    if line_start:
        text = _MD_ORDERED.sub(r"\1\\\2", _MD_LINE_START.sub(r"\\\1", text))
    return text


def table(t: Table) -> str:
    num = t.numeric or (False,) * len(t.columns)
    head = "| " + " | ".join(md(c, False) or " " for c in t.columns) + " |"
    rule = "|" + "|".join("---:" if n else "---" for n in num) + "|"
    rows = []
    for i, row in enumerate(t.rows):
        cells = [f"**{md(v, False)}**" if (i, j) in t.bold else md(v, False)
                 for j, v in enumerate(row)]
        rows.append("| " + " | ".join(cells) + " |")
    out = [f"### {md(t.title)}", "", head, rule, *rows] if t.title else [head, rule, *rows]
    if t.caption:
        out += ["", f"_{md(t.caption)}_"]
    return "\n".join(out)


def pre(text: str) -> str:
    """A fenced block whose fence is longer than any backtick run inside (can't be closed)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


class _Writer:
    def __init__(self, fig_dir: Path) -> None:
        self.fig_dir = fig_dir
        self.written: list[Path] = []

    def figure(self, fig: Figure) -> str:
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        path = self.fig_dir / f"{len(self.written) + 1:02d}-{fig.key}.svg"
        path.write_text(svg.render(fig), encoding="utf-8")
        self.written.append(path)
        out = f"![{md(fig.title)}]({FIG_DIR}/{path.name})"
        return out + (f"\n\n_{md(fig.caption)}_" if fig.caption else "")

    def block(self, b: Block) -> str:
        if isinstance(b, Text):
            return f"> **Warning:** {md(b.text)}" if b.kind == "warn" else md(b.text)
        if isinstance(b, Table):
            return table(b)
        if isinstance(b, Figure):
            return self.figure(b)
        if isinstance(b, Pre):
            return pre(b.text)
        if isinstance(b, Details):
            return "\n\n".join([f"**{md(b.summary)}**", *(self.block(x) for x in b.blocks)])
        raise TypeError(f"unknown block {type(b).__name__}")


def render(title: str, sections: list[Section], out_dir: Path) -> tuple[str, list[Path]]:
    """(markdown text, SVG files written under out_dir/figures)."""
    from bench import __version__

    for stale in (out_dir / FIG_DIR).glob("[0-9][0-9]-*.svg"):
        stale.unlink()  # figures of an earlier report here; the numbering may have shifted
    writer = _Writer(out_dir / FIG_DIR)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"# {md(title)}", "", f"_generated {now} by bench {md(__version__)}_"]
    for s in sections:
        parts += ["", f"## {md(s.title)}", ""]
        parts.append("\n\n".join(writer.block(b) for b in s.blocks))
    return "\n".join(parts) + "\n", writer.written
