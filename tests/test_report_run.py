"""`bench report` on records a real (tiny) `bench run` wrote: every section is filled."""
from __future__ import annotations

import os
import re

import pytest
from run_helpers import tiny_suite

from bench.cli import main

METHODS = """[methods.full]
lr = { low = 1e-4, high = 1e-2, log = true }
[methods.lora]
lr = { low = 1e-3, high = 3e-2, log = true }
r = [2, 4]
[methods.bitfit]
lr = { low = 1e-3, high = 3e-2, log = true }
"""


@pytest.mark.slow
def test_report_of_a_real_run_fills_every_section(tmp_path, capsys):
    suite = tiny_suite(tmp_path, methods=METHODS, trials=3, seeds="[0, 1]")
    assert main(["run", suite, "-q"]) == 0
    run = os.path.realpath(tmp_path / "results" / "tiny" / "latest")
    capsys.readouterr()
    assert main(["report", run, "--out", str(tmp_path / "rep")]) == 0
    printed = capsys.readouterr().out
    assert "report.html" in printed and "report.md" in printed
    md = (tmp_path / "rep" / "report.md").read_text()
    for title in ("## Run", "## Accuracy vs trainable parameters", "## Results table",
                  "## Cost", "## Fairness", "## Uncertainty", "## Tuning insight"):
        assert title in md
    for method in ("| full |", "| lora (r=2) |", "| lora (r=4) |", "| bitfit |"):
        assert method in md
    assert re.search(r"\| toy \| lora \(r=2\) \| full \| 2 \| 40 \| [+−]\d", md)  # a bootstrap ran
    assert "not computed" not in md
    assert "| toy | bitfit | 3 | 3 | 3 | 0 | 0 | 0 | 2 / 2 |" in md
    assert re.search(r"\| toy \| full \| \d+ \| lr=[0-9.e-]+ \|", md)
    html = (tmp_path / "rep" / "report.html").read_text()
    assert html.count("plotly.js v") == 1 and html.count("Plotly.newPlot(") >= 4
    assert len(list((tmp_path / "rep" / "figures").glob("*.svg"))) >= 4
