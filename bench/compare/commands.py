"""The `bench compare` and `bench baseline` commands, and `compare_paths` for `bench run
--baseline`. The CLI parses arguments; these functions take its namespace and return the
exit code.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from bench.compare import baseline as bl
from bench.compare import settings as st
from bench.compare.classify import Comparison, compare
from bench.compare.render import to_json_text, to_markdown
from bench.errors import DataError, UsageError

FORMATS = ("md", "json")


def _settings(base: Mapping[str, Any], cur: Mapping[str, Any], baseline: str, current: str,
              ) -> st.Settings:
    """The [compare] table of the current run's suite, else the one saved in the baseline."""
    if cur.get("compare") is not None:
        where = cur.get("runs", [{}])[0].get("run_dir", current)
        return st.from_table(cur["compare"], str(Path(where) / "suite.toml"))
    return st.from_table(base.get("compare"), f"{baseline} (compare)")


def _metric_names(*docs: Mapping[str, Any]) -> set[str]:
    return {m for doc in docs for cell in (doc.get("cells") or {}).values()
            for m in cell.get("metrics") or {}}


def compare_paths(baseline: str, current: str, *,
                  tolerance: Iterable[str] | Mapping[str, float] | None = None,
                  fail_on: str | Iterable[str] | None = None) -> Comparison:
    """Compare a baseline (.json or run folder) with a current run folder (or .json).

    tolerance: "family=x" / "metric=x" strings (comma lists allowed) or a dict, over the
    suite's [compare] table and the defaults; fail_on: families that gate ("a,b" or a list).
    """
    base, cur = bl.load_side(baseline), bl.load_side(current)
    names = _metric_names(base, cur)
    settings = st.with_overrides(_settings(base, cur, str(baseline), str(current)),
                                 st.parse_tolerance(tolerance), names, st.parse_fail_on(fail_on))
    result = compare(base, cur, settings, base_source=str(baseline), cur_source=str(current))
    unknown = sorted(set(settings.metrics) - names)
    if unknown:  # a typo in [compare] metrics would otherwise silently do nothing
        note = (f"[compare] metrics names {', '.join(unknown)}, which these results do not "
                f"have; known: {', '.join(sorted(names))}")
        result = replace(result, warnings=(*result.warnings, note))
    return result


def _formats(value: str | None) -> list[str]:
    items = [f.strip() for f in (value or "md").split(",") if f.strip()]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        raise UsageError(f"--format: unknown format {', '.join(bad) or repr(value)}; "
                         f"use md, json or md,json")
    return list(dict.fromkeys(items))


def main(args: Any) -> int:
    """`bench compare BASELINE CURRENT`: print the summary, write files, return 1 on failure."""
    formats = _formats(getattr(args, "format", None))
    cmp = compare_paths(args.baseline, args.current, tolerance=getattr(args, "tolerance", None),
                        fail_on=getattr(args, "fail_on", None))
    texts = {"md": to_markdown(cmp), "json": to_json_text(cmp)}
    out = getattr(args, "out", None)
    if out:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--out {out}: is a file; pass a folder for compare.md/.json")
        folder.mkdir(parents=True, exist_ok=True)
        for fmt, text in texts.items():
            (folder / f"compare.{fmt}").write_text(text, encoding="utf-8")
        print(f"wrote {folder / 'compare.md'} and {folder / 'compare.json'}",
              file=sys.stderr)
    for fmt in formats:
        sys.stdout.write(texts[fmt])
    return cmp.exit_code


def baseline_main(args: Any) -> int:
    """`bench baseline RUN_DIR [RUN_DIR...] --out FILE`: write a baseline JSON."""
    out = getattr(args, "out", None)
    if not out:
        raise UsageError("bench baseline: --out FILE is required, "
                         "e.g. --out results/baselines/nightly.json")
    if str(out).endswith(".jsonl") or Path(out).is_dir():
        raise UsageError(f"--out {out}: give a .json file path for the baseline")
    doc = bl.snapshot(list(args.runs))
    cells = doc["cells"]
    empty = {cid: c["reason"] for cid, c in cells.items() if not c["metrics"]}
    if len(empty) == len(cells):
        raise DataError(f"{', '.join(map(str, args.runs))}: no complete final result to build "
                        f"a baseline from (has the run finished? `bench run` resumes it)")
    path = bl.write(doc, out)
    print(f"wrote {path}: {len(cells) - len(empty)} cells with results from "
          f"{len(doc['runs'])} run(s) on {bl.describe_hardware(doc['hardware'])}", file=sys.stderr)
    for cid, reason in empty.items():
        print(f"warning: cell {cid} has no result ({reason}); it is kept without metrics",
              file=sys.stderr)
    for warning in doc["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
