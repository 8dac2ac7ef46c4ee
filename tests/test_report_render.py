"""`bench report` end to end on hand-made runs: files, self-containment, escaping, errors."""
from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_fixtures import METHODS, make_records, write_run

from bench.errors import DataError, UsageError
from bench.report import build, main, parse_formats
from bench.report import sections as sections_mod
from bench.report.model import Section, Text

EVIL = "<script>document.title='pwned'</script>\"q\" | *x* [l](u) `c`"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rep")
    recs = make_records(tasks=["sst2", EVIL], suite='s<b>"uite', trials=3)
    write_run(root / "run", recs)
    (root / "run" / "suite.toml").write_text('[suite]\nname = "</pre><script>x()</script>"\n')
    build([root / "run"], ["html", "md"], root / "out")
    return root / "out"


def test_html_is_self_contained_with_plotly_inlined_once(report):
    html = (report / "report.html").read_text()
    assert html.count("plotly.js v") == 1  # the library banner: inlined exactly once
    assert html.count("Plotly.newPlot(") >= 10
    assert not re.search(r"<script[^>]+src=", html)
    assert "<link" not in html and "@import" not in html
    for section in ("tradeoff", "table", "cost", "fairness", "uncertainty", "tuning", "header"):
        assert f'<section id="{section}">' in html
    assert html.count("<noscript><svg") == html.count("Plotly.newPlot(")


def test_html_escapes_every_injected_string(report):
    html = (report / "report.html").read_text()
    assert "<script>document.title" not in html and "<script>x()" not in html
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert "s&lt;b&gt;&quot;uite" in html and "<b>\"uite" not in html
    assert "&lt;/pre&gt;&lt;script&gt;x()" in html  # the suite file, shown verbatim
    # figure JSON: names entity-escaped for plotly's text, then plotly \u-escapes < > /
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
    assert any("&lt;script&gt;document.title='pwned'&lt;\\u002fscript&gt;" in s
               for s in scripts)
    assert not any(re.search(r"</?script", s, flags=re.I) for s in scripts[1:])


def test_markdown_tables_and_svg_figures(report):
    md = (report / "report.md").read_text()
    for title in ("## Run", "## Accuracy vs trainable parameters", "## Results table",
                  "## Cost", "## Fairness: budget and outcomes",
                  "## Uncertainty: differences to full fine-tuning", "## Tuning insight"):
        assert title in md
    assert "| **full** |" not in md and "| full | 22.7M | 100% | **90.0 ± 1.0** |" in md
    fenced = re.sub(r"```text\n.*?\n```", "", md, flags=re.S)  # code blocks are literal
    assert "<script>" not in fenced and "&lt;script&gt;" in md
    assert '```text\n[suite]\nname = "</pre><script>x()</script>"\n' in md
    assert r"\| \*x\* \[l\](u) \`c\`" in md  # markdown syntax in a name stays literal
    figs = sorted((report / "figures").glob("*.svg"))
    assert len(figs) == md.count("](figures/") >= 10
    for f in figs:
        root = ET.parse(f).getroot()  # well-formed: every name was escaped
        assert root.tag.endswith("svg")
    assert "<script" not in "".join(f.read_text() for f in figs)
    pts = ET.parse(figs[1]).getroot().findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(pts) >= len(METHODS)


def test_main_prints_the_files_and_defaults_to_the_run_folder(tmp_path, capsys):
    run = write_run(tmp_path / "run", make_records(tasks=["sst2"], trials=2))
    args = argparse.Namespace(runs=[str(run)], format="md", out=None)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert str(run / "report" / "report.md") in out and "report.html" not in out
    assert (run / "report" / "figures").is_dir()


def test_several_runs_are_combined(tmp_path):
    a = write_run(tmp_path / "a", make_records(tasks=["sst2"], run_id="a", trials=2))
    b = write_run(tmp_path / "b", make_records(tasks=["rte"], run_id="b", trials=2))
    (md,) = [p for p in build([a, b], ["md"], tmp_path / "o") if p.suffix == ".md"]
    text = md.read_text()
    assert "sst2 (accuracy ×100)" in text and "rte (accuracy ×100)" in text
    assert "| runs | a, b |" in text


def test_bad_paths_and_formats_are_user_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        build([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no records"):
        build([tmp_path / "empty"])
    write_run(tmp_path / "blank", [])
    with pytest.raises(DataError, match="no records"):
        build([tmp_path / "blank"])
    with pytest.raises(UsageError, match="pdf"):
        parse_formats("html,pdf")
    assert parse_formats("markdown, html") == ["md", "html"]


def test_cli_exit_code_for_a_missing_run(tmp_path, capsys):
    from bench.cli import main as cli

    assert cli(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_new_section_is_one_function_and_one_list_entry(tmp_path, monkeypatch):
    def extra(data):
        return Section("extra", "Extra <section>", (Text(f"{len(data.records)} records"),))

    monkeypatch.setattr(sections_mod, "SECTIONS", [*sections_mod.SECTIONS, extra])
    run = write_run(tmp_path / "run", make_records(tasks=["sst2"], trials=2))
    build([run], ["html", "md"], tmp_path / "o")
    assert '<h2>Extra &lt;section&gt;</h2>' in (tmp_path / "o" / "report.html").read_text()
    assert "## Extra &lt;section&gt;" in (tmp_path / "o" / "report.md").read_text()


def test_a_run_with_only_failures_still_reports(tmp_path):
    recs = [r for r in make_records(tasks=["sst2"], trials=2) if r["phase"] == "tune"]
    for r in recs:
        r.update(status="failed", reason="diverged: loss is nan", objective=None, metrics={})
    run = write_run(tmp_path / "run", recs)
    html = Path(build([run], ["html"], tmp_path / "o")[0]).read_text()
    assert "No complete final runs yet" in html and "diverged: loss is nan" in html


@pytest.mark.slow
def test_ten_thousand_trial_records_build_in_seconds(tmp_path):
    import time

    methods = {f"m{i}": (10_000 * 3 ** i, 0.6 + 0.03 * i) for i in range(7)}
    methods["full"] = METHODS["full"]
    recs = make_records(tasks=[f"t{i}" for i in range(10)], methods=methods, trials=125)
    assert len([r for r in recs if r["phase"] == "tune"]) == 10_000
    run = write_run(tmp_path / "run", recs)
    build([run], ["md"], tmp_path / "warm")  # imports (pandas, plotly, optuna) not timed
    start = time.perf_counter()
    build([run], ["html", "md"], tmp_path / "o")
    elapsed = time.perf_counter() - start
    print(f"report over {len(recs)} records: {elapsed:.2f} s")
    assert elapsed < 30  # typically ~3-5 s on a loaded 2-core machine
