"""Noise-aware classification of every cell and metric: improved, unchanged, regressed,
missing or new.

A change is real only when it exceeds BOTH the tolerance (absolute for quality metrics,
relative to the baseline for memory/time/energy) AND the measured noise: `noise_k` times
the standard deviation of the difference, the largest of
  - seeds: sqrt(s_b^2/n_b + s_c^2/n_c), the standard error of the difference of seed means;
  - runs: the same with the run-to-run spread, when a side holds several runs;
  - bootstrap: for the primary quality metric, h / 1.96 where h is the 95% half-width of a
    paired bootstrap of current - baseline when both sides kept predictions on the same
    examples, else sqrt(h_b^2 + h_c^2) / 1.96 from each side's own half-width.
A side without an estimate borrows the other side's (one nightly seed against a baseline of
three). With no estimate at all only the tolerance applies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from bench.compare.baseline import describe_hardware, same_hardware
from bench.compare.settings import Settings

STATUSES = ("regressed", "improved", "missing", "new", "unchanged")
Z95 = 1.959964  # a 95% half-width is this many standard deviations


@dataclass(frozen=True)
class Change:
    """One cell's metric (or, with metric None, the whole cell) between the two sides."""

    cell_id: str
    cell: Mapping[str, Any]  # model, task, method, label, options, ...
    status: str  # one of STATUSES
    family: str | None = None
    metric: str | None = None
    direction: str | None = None  # "higher" or "lower" is better
    baseline: Mapping[str, Any] | None = None  # metric summaries (mean, std, n, ...)
    current: Mapping[str, Any] | None = None
    delta: float | None = None  # current - baseline
    relative: float | None = None  # delta / |baseline|
    tolerance: float | None = None  # in the metric's units
    noise: float | None = None  # noise_k x sigma of the difference, in the metric's units
    noise_from: str = ""  # seeds | runs | bootstrap | paired bootstrap (the largest)
    gated: bool = False  # the family (or, for a whole cell, missing cells) can fail the run
    fails: bool = False  # this change makes the exit code 1
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """Everything `bench compare` reports; `exit_code` is 1 when any change fails."""

    baseline: Mapping[str, Any]  # source, suite, hardware, runs, created_at
    current: Mapping[str, Any]
    settings: Settings
    changes: tuple[Change, ...]
    hardware_mismatch: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def with_status(self, status: str) -> list[Change]:
        return [c for c in self.changes if c.status == status]

    @property
    def failures(self) -> list[Change]:
        return [c for c in self.changes if c.fails]

    @property
    def counts(self) -> dict[str, int]:
        return {s: len(self.with_status(s)) for s in STATUSES}

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    @property
    def regressed(self) -> bool:
        """True when the gate fails (a gated regression, or a missing cell if that gates)."""
        return bool(self.failures)

    def markdown(self) -> str:
        from bench.compare.render import to_markdown

        return to_markdown(self)

    def to_json(self) -> dict[str, Any]:
        from bench.compare.render import to_json

        return to_json(self)


def _sd_diff(sa: float | None, na: int, sb: float | None, nb: int) -> float | None:
    """Standard deviation of a difference of two means; a missing side borrows the other."""
    if sa is None and sb is None:
        return None
    sa, sb = (sb if sa is None else sa), (sa if sb is None else sb)
    return math.sqrt(sa * sa / max(na, 1) + sb * sb / max(nb, 1))


def noise_sigma(b: Mapping[str, Any], c: Mapping[str, Any], paired: float | None = None,
                ) -> tuple[float | None, str]:
    """The largest available standard deviation of current - baseline, and its source."""
    found = {
        "seeds": _sd_diff(b.get("std"), b.get("n", 1), c.get("std"), c.get("n", 1)),
        "runs": _sd_diff(b.get("run_spread"), b.get("runs", 1),
                         c.get("run_spread"), c.get("runs", 1)),
    }
    hb, hc = b.get("ci_half"), c.get("ci_half")
    if paired is not None:
        found["paired bootstrap"] = paired / Z95
    elif hb is not None or hc is not None:
        hb, hc = (hc if hb is None else hb), (hb if hc is None else hc)
        found["bootstrap"] = math.hypot(hb, hc) / Z95
    found = {k: v for k, v in found.items() if v is not None}
    if not found:
        return None, ""
    source = max(found, key=found.__getitem__)
    return found[source], source


def paired_half(b: Mapping[str, Any], c: Mapping[str, Any], metric: str) -> float | None:
    """Paired-bootstrap half-width of the primary metric when both sides kept predictions
    on the same examples (same labels in the same order)."""
    from bench.compare.bootstrap import paired_half_width

    bp, cp = b.get("predictions") or {}, c.get("predictions") or {}
    if metric != b.get("primary") or not bp or not cp or bp.get("labels") != cp.get("labels"):
        return None
    return paired_half_width(list(bp["seeds"].values()), list(cp["seeds"].values()),
                             bp["labels"], metric)


def classify_metric(cid: str, cell: Mapping[str, Any], name: str, b: Mapping[str, Any],
                    c: Mapping[str, Any], settings: Settings, paired: float | None = None,
                    ) -> Change:
    """Compare one metric present on both sides (`paired`: see `paired_half`)."""
    family, direction = b["family"], b["direction"]
    delta = c["mean"] - b["mean"]
    tol = settings.tolerance_for(family, name)
    tol_abs = tol if family == "quality" else tol * abs(b["mean"])
    sigma, source = noise_sigma(b, c, paired)
    noise = settings.noise_k * sigma if sigma is not None else 0.0
    gain = delta if direction == "higher" else -delta
    bar = max(tol_abs, noise)
    status = "regressed" if -gain > bar else "improved" if gain > bar else "unchanged"
    within_noise = status == "unchanged" and abs(delta) > tol_abs
    note = f"beyond tolerance but within noise ({settings.noise_k:g} sigma)" if within_noise else ""
    gated = family in settings.fail_on
    return Change(cid, cell, status, family, name, direction, b, c, delta,
                  delta / abs(b["mean"]) if b["mean"] else None, tol_abs, noise, source,
                  gated, gated and status == "regressed", note)


def _cell_changes(cid: str, b: Mapping[str, Any] | None, c: Mapping[str, Any] | None,
                  settings: Settings) -> list[Change]:
    """The changes of one cell id found on either side."""
    cell = {k: v for k, v in (c or b or {}).items() if k not in ("metrics", "reason", "predictions")}
    bm, cm = (b or {}).get("metrics") or {}, (c or {}).get("metrics") or {}
    if bm and not cm:
        why = "not in the current run" if c is None else f"no result now ({c.get('reason')})"
        gated = settings.fail_on_missing
        return [Change(cid, cell, "missing", note=why, gated=gated, fails=gated)]
    if cm and not bm:
        why = "not in the baseline" if b is None else f"no result in the baseline ({b.get('reason')})"
        return [Change(cid, cell, "new", note=why)]
    if not bm and not cm:
        reason = (c or b or {}).get("reason")
        return [Change(cid, cell, "missing", note=f"no result on either side ({reason})")]
    out = []
    for name in dict.fromkeys([*bm, *cm]):
        if name in bm and name in cm:
            paired = paired_half(b, c, name)
            out.append(classify_metric(cid, cell, name, bm[name], cm[name], settings, paired))
        else:
            summary = bm.get(name) or cm[name]
            status = "missing" if name in bm else "new"
            out.append(Change(cid, cell, status, summary["family"], name, summary["direction"],
                              bm.get(name), cm.get(name),
                              note="not measured now" if name in bm else "not in the baseline"))
    return out


def _meta(doc: Mapping[str, Any], source: str) -> dict[str, Any]:
    return {"source": source, **{k: doc.get(k) for k in
                                 ("suite", "hardware", "runs", "created_at", "bench_version")}}


def compare(base: Mapping[str, Any], cur: Mapping[str, Any], settings: Settings, *,
            base_source: str = "baseline", cur_source: str = "current") -> Comparison:
    """Classify every cell and metric of two snapshots (see bench.compare.baseline)."""
    bcells, ccells = base.get("cells") or {}, cur.get("cells") or {}
    changes = [ch for cid in dict.fromkeys([*bcells, *ccells])
               for ch in _cell_changes(cid, bcells.get(cid), ccells.get(cid), settings)]
    order = {s: i for i, s in enumerate(STATUSES)}
    changes.sort(key=lambda ch: (order[ch.status], not ch.fails))  # stable: cell order kept
    bhw, chw = base.get("hardware") or {}, cur.get("hardware") or {}
    mismatch = bool(bhw and chw and not same_hardware(bhw, chw))
    warnings = []
    if mismatch:
        warnings.append(f"HARDWARE MISMATCH: the baseline was measured on {describe_hardware(bhw)}, "
                        f"the current run on {describe_hardware(chw)}. Memory, time and energy are "
                        f"not comparable across machines; rebuild the baseline on this machine "
                        f"(`bench baseline`).")
    if base.get("suite") and cur.get("suite") and base.get("suite") != cur.get("suite"):
        warnings.append(f"suite differs: baseline {base.get('suite')!r}, current {cur.get('suite')!r}")
    warnings += [f"baseline: {w}" for w in base.get("warnings") or []]
    warnings += [f"current: {w}" for w in cur.get("warnings") or []]
    return Comparison(_meta(base, base_source), _meta(cur, cur_source), settings,
                      tuple(changes), mismatch, tuple(warnings))
