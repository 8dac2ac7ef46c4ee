"""Number formatting for report cells: parameter counts, bytes, durations, metrics.

Every function takes a possibly-missing value (None or NaN) and returns "—" for it, so
tables show unmeasured quantities uniformly.
"""
from __future__ import annotations

import math
from typing import Any

MISSING = "—"


def missing(value: Any) -> bool:
    """True for None, NaN and non-numbers (what the tables show as "—")."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def _compact(v: float, units: tuple[tuple[float, str], ...], plain: str) -> str:
    """`v` in the largest unit it reaches once rounded to 3 digits (1023.7 KiB → 1 MiB)."""
    for div, suffix in units:
        if abs(v) >= div * 0.9995:
            x = v / div
            return (f"{x:.3g}" if abs(x) < 999.5 else f"{x:.0f}") + suffix  # no 1e+03
    return plain


def count(value: Any) -> str:
    """A count in compact form: 950, 12.3K, 4.56M, 1.1B."""
    if missing(value):
        return MISSING
    v = float(value)
    return _compact(v, ((1e9, "B"), (1e6, "M"), (1e3, "K")), f"{v:.0f}")


def nbytes(value: Any) -> str:
    """Bytes in binary units: 512 B, 3.1 MiB, 2 GiB."""
    if missing(value):
        return MISSING
    v = float(value)
    return _compact(v, ((2**30, " GiB"), (2**20, " MiB"), (2**10, " KiB")), f"{v:.0f} B")


def seconds(value: Any) -> str:
    """A duration: 0.42 s, 12.3 s, 4.5 min, 2.1 h."""
    if missing(value):
        return MISSING
    v = float(value)
    if abs(v) >= 3600:
        return f"{v / 3600:.3g} h"
    if abs(v) >= 60:
        return f"{v / 60:.3g} min"
    return f"{v:.3g} s"


def number(value: Any, digits: int = 3) -> str:
    """A plain number with `digits` significant digits; 1000 and up as a compact count."""
    if missing(value):
        return MISSING
    if abs(float(value)) >= 1000:
        return count(value)
    return f"{float(value):.{digits}g}"


def percent(value: Any) -> str:
    """A percentage already in percent units: 100%, 0.271%."""
    if missing(value):
        return MISSING
    return f"{float(value):.3g}%"


def metric(mean: Any, std: Any = None, scale: float = 1.0) -> str:
    """A metric as "mean ± std" (std omitted when missing, e.g. a single seed)."""
    if missing(mean):
        return MISSING
    digits = 1 if scale == 100 else 3
    text = f"{float(mean) * scale:.{digits}f}"
    if not missing(std):
        text += f" ± {float(std) * scale:.{digits}f}"
    return text


def signed(value: Any, scale: float = 1.0) -> str:
    """A difference with an explicit sign: +1.2, −0.4."""
    if missing(value):
        return MISSING
    digits = 1 if scale == 100 else 3
    text = f"{float(value) * scale:+.{digits}f}"
    return text.replace("-", "−")


def params(value: dict[str, Any] | None) -> str:
    """Hyperparameters as "lr=3.2e-04, r=8" (floats in 3 significant digits)."""
    if not value:
        return MISSING
    parts = []
    for key in sorted(value):
        v = value[key]
        shown = f"{v:.3g}" if isinstance(v, float) else str(v)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)
