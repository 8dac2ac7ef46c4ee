"""Grid expansion and stable cell ids."""
from __future__ import annotations

import pytest

from bench import grid, suite as suite_mod
from bench.errors import SuiteError
from suite_helpers import MINI, write_suite


def cells_of(tmp_path, methods: str, name="s.toml"):
    s = suite_mod.load(write_suite(tmp_path, MINI + methods, name))
    return s, grid.expand(s)


def test_axes_multiply_cells(tmp_path):
    s, cells = cells_of(tmp_path, "[methods.lora]\nr = [4, 8, 16]\nalpha = [8, 16]\n"
                                  "[methods.full]\n")
    assert len(cells) == 7
    assert {(c.options["r"], c.options["alpha"]) for c in cells if c.method == "lora"} == {
        (r, a) for r in (4, 8, 16) for a in (8, 16)}
    b = grid.budget(s, cells)
    assert b == {"cells": 7, "trials_per_cell": 2, "seeds": 1, "tuning_trials": 14,
                 "final_runs": 7, "trainings": 21}


def test_default_lr_search_comes_from_the_method(tmp_path):
    from bench.methods import METHODS
    from bench.methods._base import info

    _, cells = cells_of(tmp_path, "[methods.prompt]\n[methods.full]\nlr = 3e-5\n")
    prompt, full = cells
    assert (prompt.search["lr"].low, prompt.search["lr"].high) == info(
        "prompt", METHODS["prompt"]).lr
    assert "lr" not in full.search and full.train.lr == 3e-5


def test_train_keys_in_a_method_table_override_train(tmp_path):
    _, cells = cells_of(tmp_path, "[methods.full]\nbatch_size = [8, 32]\nlr = 1e-5\n")
    assert sorted(c.train.batch_size for c in cells) == [8, 32]
    assert all("batch_size" not in c.options for c in cells)


def test_cell_ids_are_stable_and_distinct(tmp_path):
    methods = "[methods.lora]\nr = [4, 8]\n[methods.full]\n"
    _, a = cells_of(tmp_path, methods, "a.toml")
    _, b = cells_of(tmp_path, methods.replace("[methods.full]", "[methods.full]\n"), "b.toml")
    assert [c.cell_id for c in a] == [c.cell_id for c in b]
    assert len({c.cell_id for c in a}) == 3
    # seeds and trial counts are not part of the id; training settings are
    _, c = cells_of(tmp_path, methods.replace("[methods", "[methods", 1), "c.toml")
    s2 = suite_mod.load(write_suite(tmp_path, MINI.replace("seeds = [0]", "seeds = [0, 1]")
                                    .replace("trials = 2", "trials = 5") + methods, "d.toml"))
    assert [x.cell_id for x in grid.expand(s2)] == [x.cell_id for x in a]
    s3 = suite_mod.load(write_suite(tmp_path, MINI.replace("max_length = 32", "max_length = 64")
                                    + methods, "e.toml"))
    assert not {x.cell_id for x in grid.expand(s3)} & {x.cell_id for x in a}


def test_cell_id_is_a_known_value():
    # Guards against accidental changes to the id scheme (which would orphan old studies).
    s = suite_mod.load("suites/nightly.toml")
    ids = [c.cell_id for c in grid.expand(s)]
    assert all(i.startswith("c") and len(i) == 11 for i in ids)
    assert ids == [c.cell_id for c in grid.expand(suite_mod.load("suites/nightly.toml"))]


def test_duplicate_cells_are_an_error(tmp_path):
    with pytest.raises(SuiteError, match="duplicates"):
        suite_mod.load(write_suite(tmp_path, MINI + "[methods.a]\nmethod = 'full'\n"
                                   "[methods.b]\nmethod = 'full'\n"))
