"""The nightly regression gate: baselines, noise-aware comparison, markdown/JSON summaries.

    bench baseline RUN_DIR [RUN_DIR ...] --out results/baselines/nightly.json
    bench compare results/baselines/nightly.json results/nightly/<run_id> --fail-on quality

Modules: `settings` (defaults and the suite's `[compare]` table), `summarize` (records ->
per-cell metric summaries), `bootstrap` (CI half-widths from predictions), `baseline` (the
baseline JSON), `classify` (improved/unchanged/regressed/missing/new), `render` (markdown,
JSON), `commands` (the CLI entry points). Stdlib only at import time: `bench validate`
imports `COMPARE_KEYS` and `validate_compare` from here. See docs/nightly.md.
"""
from __future__ import annotations

from bench.compare.classify import Change, Comparison
from bench.compare.commands import baseline_main, compare_paths, main
from bench.compare.render import to_json, to_markdown
from bench.compare.settings import COMPARE_KEYS, FAMILIES, Settings, validate_compare

__all__ = ["COMPARE_KEYS", "FAMILIES", "Change", "Comparison", "Settings", "baseline_main",
           "compare_paths", "main", "to_json", "to_markdown", "validate_compare"]
