"""The report's document model: sections made of text, tables and figures.

Sections are built from records once and rendered twice (HTML and markdown), so nothing
here knows about either format. Every string is plain text; the renderers escape it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text; `kind="note"` renders it as a muted remark."""

    text: str
    kind: Literal["p", "note", "warn"] = "p"


@dataclass(frozen=True)
class Table:
    """A table of preformatted strings; `bold` holds (row, column) positions to emphasise."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    bold: frozenset[tuple[int, int]] = frozenset()
    caption: str = ""
    numeric: tuple[bool, ...] = ()  # per column: right-align (numbers)


@dataclass(frozen=True)
class Point:
    """One marker; `hover` lines are shown on hover (plotly) or as an SVG <title>."""

    x: float
    y: float
    err: float | None = None
    hover: tuple[str, ...] = ()


@dataclass(frozen=True)
class Series:
    """Points drawn alike: `markers`, a `line` through them in x order, or `ring`s around them."""

    name: str
    points: tuple[Point, ...]
    color: str = "#1f77b4"
    style: Literal["markers", "line", "ring"] = "markers"
    symbol: Literal["circle", "square", "diamond", "triangle-up"] = "circle"


@dataclass(frozen=True)
class Figure:
    """A scatter plot. `key` is a stable, file-name-safe identifier within the report."""

    key: str
    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    log_x: bool = True
    caption: str = ""

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


@dataclass(frozen=True)
class Pre:
    """Preformatted text (e.g. the suite file), shown verbatim."""

    text: str


@dataclass(frozen=True)
class Details:
    """Blocks hidden behind a summary line (HTML <details>; markdown shows them inline)."""

    summary: str
    blocks: tuple["Block", ...]


Block = Union[Text, Table, Figure, Pre, Details]


@dataclass(frozen=True)
class Section:
    """One titled part of the report. `id` is an HTML anchor (letters, digits, dashes)."""

    id: str
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
