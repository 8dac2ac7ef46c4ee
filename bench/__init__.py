"""bench: compare fine-tuning methods on the same tasks with the same tuning budget.

Importing the package is cheap: torch and friends are imported only where training or
metering actually happens (see tests/test_startup.py).
"""
from __future__ import annotations

__version__ = "0.1.0"
