"""The report's sections, in reading order.

A section is a function `(ReportData) -> Section | None` (None: nothing to say for these
runs, e.g. a multi-task section on single-task records). Adding one is one function in a
module here plus one entry in `SECTIONS`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from bench.report.aggregate import ReportData
from bench.report.model import Figure, Section
from bench.report.sections.cost import cost_section
from bench.report.sections.fairness import fairness_section
from bench.report.sections.header import header_section
from bench.report.sections.regimes import regimes_section
from bench.report.sections.results import table_section, tradeoff_section
from bench.report.sections.tuning import tuning_section
from bench.report.sections.uncertainty import uncertainty_section

SectionFn = Callable[[ReportData], "Section | None"]

SECTIONS: list[SectionFn] = [
    header_section,
    tradeoff_section,
    table_section,
    cost_section,
    fairness_section,
    uncertainty_section,
    regimes_section,
    tuning_section,
]


def build_sections(data: ReportData) -> list[Section]:
    """Every section that has something to say, in `SECTIONS` order, empty plots dropped."""
    out = []
    for fn in SECTIONS:
        section = fn(data)
        if section is not None:
            blocks = tuple(b for b in section.blocks if not (isinstance(b, Figure) and b.empty))
            out.append(replace(section, blocks=blocks))
    return out
