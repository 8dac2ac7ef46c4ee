"""Property: any malformed or random suite exits 2 with a message, never a traceback."""
from __future__ import annotations

import tomllib

from hypothesis import HealthCheck, given, settings, strategies as st

from bench import suite as suite_mod
from bench.errors import BenchError
from suite_helpers import MINI

KEYS = ["suite", "models", "tasks", "train", "tune", "methods", "compare", "name", "seeds",
        "ref", "use", "lr", "r", "low", "high", "log", "choices", "epochs", "trials",
        "batch_size", "full", "lora", "prompt", "method", "metric", "kind", "dtype"]
scalars = st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=8),
                    st.booleans(), st.sampled_from(KEYS))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12)


def _toml(value) -> str:
    """Serialise a value as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # inf/nan spell the same in TOML
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"


def _check(tmp_path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text)
    try:
        suite_mod.load(str(path))
    except BenchError as err:
        assert str(err) and getattr(err, "exit_code", None) == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_random_suites_never_traceback(tmp_path, doc):
    text = "\n".join(f'"{k}" = {_toml(v)}' for k, v in doc.items())
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        pass
    _check(tmp_path, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["train", "tune", "suite", "methods.lora", "methods.full",
                        "tasks", "methods.prompt"]),
       st.sampled_from(KEYS), values)
def test_mutated_valid_suite_never_tracebacks(tmp_path, section, key, value):
    text = MINI + "\n[methods.full]\n[methods.lora]\n[methods.prompt]\n"
    target = f"[{section}]"
    line = f'"{key}" = {_toml(value)}'
    text = text.replace(target, target + "\n" + line, 1) if target in text else (
        text + f"\n{target}\n{line}\n")
    _check(tmp_path, text)


@settings(max_examples=100, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_garbage_bytes_never_traceback(tmp_path, blob):
    path = tmp_path / "g.toml"
    path.write_bytes(blob)
    try:
        suite_mod.load(str(path))
    except BenchError as err:
        assert err.exit_code == 2
