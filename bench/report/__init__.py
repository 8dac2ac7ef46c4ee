"""`bench report`: accuracy vs cost of fine-tuning methods, as HTML and markdown.

    bench report RUN_DIR [RUN_DIR ...] [--format html,md] [--out DIR]

Reads every record of the runs, builds the sections listed in
`bench.report.sections.SECTIONS`, and writes `report.html` (self-contained: plotly.js
inlined once, no network) and/or `report.md` with its figures as SVG files in `figures/`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from bench.errors import UsageError

FORMATS = {"html": "html", "md": "md", "markdown": "md"}


def parse_formats(text: str | None) -> list[str]:
    """"html,md" -> ["html", "md"]; unknown names raise UsageError."""
    names = [f.strip().lower() for f in (text or "html,md").split(",") if f.strip()]
    bad = [f for f in names if f not in FORMATS]
    if bad or not names:
        raise UsageError(f"--format: unknown format {', '.join(map(repr, bad)) or 'none'}; "
                         "fix: use html, md or html,md")
    return list(dict.fromkeys(FORMATS[f] for f in names))


def title_of(data: Any) -> str:
    suites = list(dict.fromkeys(s for s in data.frame["suite"] if s))
    return "bench report: " + (", ".join(suites) if suites else "unnamed suite")


def build(runs: Sequence[str | Path], formats: Sequence[str] = ("html", "md"),
          out: str | Path | None = None) -> list[Path]:
    """Write the report of `runs` in `formats` to `out` (default <first run>/report).

    Returns the files written: report.html, report.md and the markdown's SVG figures.
    """
    from bench.report.aggregate import ReportData
    from bench.report.load import load_runs
    from bench.report.sections import build_sections

    dirs, records = load_runs(runs)
    data = ReportData.build(dirs, records)
    sections = build_sections(data)
    out_dir = Path(out) if out else dirs[0] / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    title = title_of(data)
    written: list[Path] = []
    if "html" in formats:
        from bench.report import html

        path = out_dir / "report.html"
        path.write_text(html.render(title, sections), encoding="utf-8")
        written.append(path)
    if "md" in formats:
        from bench.report import markdown

        text, figures = markdown.render(title, sections, out_dir)
        path = out_dir / "report.md"
        path.write_text(text, encoding="utf-8")
        written += [path, *figures]
    return written


def main(args: Any) -> int:
    """The `bench report` command: args.runs, args.format, args.out. Prints what it wrote."""
    paths = build(list(args.runs), parse_formats(getattr(args, "format", None)),
                  getattr(args, "out", None))
    for p in paths:
        if p.suffix != ".svg":
            print(p)
    svgs = [p for p in paths if p.suffix == ".svg"]
    if svgs:
        print(f"{svgs[0].parent}/ ({len(svgs)} SVG figures for the markdown)")
    return 0
