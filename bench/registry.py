"""Lazy plug-in registries: an explicit dict of name -> "module:attr" strings.

Registering a plug-in is one line in such a dict; nothing is imported until the plug-in
is used, so `bench --help` and `bench validate` stay fast and torch-free.
"""
from __future__ import annotations

import importlib
from typing import Any, Iterator, Mapping

from bench.errors import UsageError, did_you_mean


class Registry(Mapping[str, Any]):
    """A read-only mapping name -> object that imports "module:attr" targets on first use."""

    def __init__(self, kind: str, entries: Mapping[str, str]):
        self.kind = kind
        self._entries = dict(entries)
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._entries:
            raise UsageError(f"unknown {self.kind} {name!r}: {self.suggest(name)}")
        if name not in self._loaded:
            module, _, attr = self._entries[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), attr)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def target(self, name: str) -> str:
        """The "module:attr" string registered for `name`."""
        return self._entries[name]

    def suggest(self, name: str) -> str:
        """A did-you-mean hint for an unknown `name`."""
        return did_you_mean(name, self._entries)
