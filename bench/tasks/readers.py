"""File readers: one CSV/TSV/JSONL/JSON/Parquet file in, one column-oriented `Table` out.

Readers only parse; what the columns mean (text, label) is checked by bench.tasks.load.
TSVs are read with `csv.QUOTE_NONE` because GLUE's TSVs hold literal quote characters
(`" the witness "` in MRPC) that a quoting reader would swallow, with `utf-8-sig` because
MRPC's files begin with a byte-order mark. Every row keeps the line (or row) number it
came from, so data errors can point at it.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from bench.errors import DataError

# Supported file suffixes -> format (the one place that lists them).
FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet",
}


@dataclass(frozen=True)
class Table:
    """Columns of one file or hub split, with where each row came from."""

    source: str  # a path, or "hub:<path>/<config>[<split>]"
    columns: tuple[str, ...]
    data: Mapping[str, list[Any]]
    where: list[int]  # 1-based line (text files) or row number, per row
    unit: str = "line"

    def __len__(self) -> int:
        return len(self.where)


def file_format(path: str) -> str | None:
    """The format of `path` from its suffix, or None when bench cannot read it."""
    return FORMATS.get(os.path.splitext(path)[1].lower())


def read_table(path: str, *, columns: Sequence[str] | None = None) -> Table:
    """Read `path`; `columns` names the fields of a headerless TSV/CSV (GLUE's CoLA)."""
    fmt = file_format(path)
    if fmt is None:
        raise DataError(f"{path}: cannot read a {os.path.splitext(path)[1] or 'suffixless'} "
                        f"file; fix: use one of {', '.join(FORMATS)}")
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found; fix: check the path (relative paths are "
                        "resolved against the suite's folder) or set BENCH_DATA_DIR")
    if fmt in ("csv", "tsv"):
        return _read_delimited(path, fmt, columns)
    if fmt == "parquet":
        return _read_parquet(path)
    return _read_json(path, fmt)


def _read_delimited(path: str, fmt: str, columns: Sequence[str] | None) -> Table:
    delimiter, quoting = ("\t", csv.QUOTE_NONE) if fmt == "tsv" else (",", csv.QUOTE_MINIMAL)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quoting=quoting)
        header = list(columns) if columns else next(reader, [])
        _check_header(path, header)
        data: dict[str, list[Any]] = {c: [] for c in header}
        where: list[int] = []
        for row in reader:
            if not row:  # blank line (e.g. a trailing newline pair)
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{path}: line {reader.line_num} has {len(row)} fields but the header has "
                    f"{len(header)} ({', '.join(header)}); fix: repair that line "
                    + ("(TSV fields may not contain tabs)" if fmt == "tsv"
                       else "(quote fields that contain commas)"))
            for name, value in zip(header, row):
                data[name].append(value)
            where.append(reader.line_num)
    return Table(path, tuple(header), data, where)


def _check_header(path: str, header: list[str]) -> None:
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise DataError(f"{path}: column name(s) {', '.join(map(repr, dupes))} appear more "
                        "than once in the header; fix: give every column a distinct name")


def _read_json(path: str, fmt: str) -> Table:
    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read()
    if fmt == "json" and text.lstrip().startswith("["):
        try:
            records = list(enumerate(json.loads(text), start=1))
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: not valid JSON ({err}); fix: repair the file") from err
        unit = "record"
    else:
        records, unit = [], "line"
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                raise DataError(f"{path}: line {number} is not valid JSON ({err.msg}); fix: "
                                "write one JSON object per line") from err
    return _from_records(path, records, unit)


def _from_records(path: str, records: list[tuple[int, Any]], unit: str) -> Table:
    columns: dict[str, None] = {}  # first-seen order
    for number, rec in records:
        if not isinstance(rec, dict):
            raise DataError(f"{path}: {unit} {number} is a {type(rec).__name__}, not an "
                            "object; fix: write each example as {\"column\": value, ...}")
        columns.update(dict.fromkeys(rec))
    data = {c: [rec.get(c) for _, rec in records] for c in columns}
    return Table(path, tuple(columns), data, [n for n, _ in records], unit)


def _read_parquet(path: str) -> Table:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for a corrupt/foreign file
        raise DataError(f"{path}: cannot read as Parquet ({err}); fix: re-export the file "
                        "with pandas.DataFrame.to_parquet") from err
    columns = tuple(str(c) for c in frame.columns)
    data = {str(c): frame[c].tolist() for c in frame.columns}
    return Table(path, columns, data, list(range(1, len(frame) + 1)), "row")
