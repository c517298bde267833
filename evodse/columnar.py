"""``evaluations.npz``: evaluations.csv's columns as arrays, for reading large runs fast.

evaluations.csv stays the contract; this file beside it holds the same table as the CSV's
reader (:class:`evodse.plots.rundata.Table`) parses it: one array per column, float64 where
every cell of the column is a number, else its text. A hardware column is stored as its few
distinct values (``c<k>.values``) and one small integer per row (``c<k>.codes``), every other
column whole (``c<k>``). Data only: an uncompressed ``.npz`` read with ``allow_pickle=False``.

:func:`read` trusts the file only when it describes the CSV beside it: the same header, the
expected number of rows, the CSV's size in bytes and the SHA-256 of its last ``TAIL_BYTES``
bytes (the last rows); otherwise (a file missing, stale, torn or corrupt) it returns None and
the caller reads the CSV. Hashing the whole CSV would cost about as much as parsing it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from evodse.errors import InputError

FILE = "evaluations.npz"
FORMAT = "evodse-evaluations-columns"
VERSION = 1
TAIL_BYTES = 1 << 20

_Column = np.ndarray | tuple[np.ndarray, np.ndarray]  # whole, or (codes, values)


def path_for(csv_path: Path) -> Path:
    """The columnar file beside ``csv_path``."""
    return Path(csv_path).with_name(FILE)


def csv_fingerprint(csv_path: Path) -> tuple[int, str]:
    """The CSV's size in bytes and the SHA-256 of its last ``TAIL_BYTES`` bytes."""
    with Path(csv_path).open("rb") as fh:
        size = fh.seek(0, io.SEEK_END)
        fh.seek(max(size - TAIL_BYTES, 0))
        return size, hashlib.sha256(fh.read()).hexdigest()


def csv_header(csv_path: Path) -> list[str]:
    """The CSV's first row."""
    with Path(csv_path).open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), [])


def write(
    csv_path: Path,
    header: Sequence[str],
    columns: Sequence[_Column],
    *,
    complete_csv: Callable[[], None] | None = None,
) -> None:
    """Write the columnar file of the CSV ``csv_path`` (streamed to a temporary name, then
    renamed into place: a crash never leaves a torn file under its name). The columns are
    written first, then ``complete_csv`` is called (a CSV still being written is finished by
    it meanwhile), then the complete CSV's fingerprint."""
    n = len(columns[0]) if columns else 0
    arrays: dict[str, np.ndarray] = {
        "format": np.asarray(FORMAT),
        "version": np.asarray(VERSION),
        "header": np.asarray(list(header), dtype=str),
        "rows": np.asarray(n, dtype=np.int64),
    }
    for k, column in enumerate(columns):
        if isinstance(column, tuple):
            arrays[f"c{k}.codes"], arrays[f"c{k}.values"] = column
        else:
            arrays[f"c{k}"] = column
    target = path_for(csv_path)
    partial = target.with_name(f".{FILE}.partial")
    try:
        with partial.open("wb") as fh:  # the permissions open() gives, or the replaced file's
            if target.exists():
                os.fchmod(fh.fileno(), target.stat().st_mode & 0o777)
            # np.savez's file, its members in this order: no pickle (allow_pickle=False)
            with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED) as npz:
                _members(npz, arrays)
                if complete_csv is not None:
                    complete_csv()
                size, tail = csv_fingerprint(csv_path)
                _members(
                    npz,
                    {
                        "csv_bytes": np.asarray(size, dtype=np.int64),
                        "csv_tail_sha256": np.asarray(tail),
                    },
                )
            fh.flush()
            os.fsync(fh.fileno())
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _members(npz: zipfile.ZipFile, arrays: Mapping[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        with npz.open(f"{name}.npy", mode="w", force_zip64=True) as member:
            npy_format.write_array(member, np.asanyarray(array), allow_pickle=False)


_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError)


class Columns(Mapping[str, np.ndarray]):
    """The columns of a checked columnar file by name, each read from the file on first access
    (a plot reads about half of them). A column that passed :func:`read`'s checks but cannot
    be read after all (its data damaged) is an :class:`~evodse.errors.InputError`."""

    def __init__(self, path: Path, header: Sequence[str], rows: int):
        self.path = Path(path)
        self.rows = rows
        self._index = {name: k for k, name in enumerate(header)}  # a repeated name: the last

    def __getitem__(self, name: str) -> np.ndarray:
        k = self._index[name]
        try:
            with np.load(self.path, allow_pickle=False) as npz:
                column = _column(npz, k)
        except _UNREADABLE:
            column = None
        if column is None or column.shape != (self.rows,):
            raise InputError(
                "damaged: this column cannot be read; delete the file to read "
                f"{self.path.with_name('evaluations.csv').name} instead",
                source=str(self.path),
                key=name,
            )
        return column

    def __contains__(self, name: object) -> bool:
        return name in self._index  # without reading the column

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def read(csv_path: Path, rows: int | None) -> Columns | None:
    """The columns of ``csv_path`` from its columnar file, or None when that file is missing,
    unreadable or does not describe the CSV (see the module docstring); ``rows``: the number
    of rows expected (summary.json's ``evaluations``), None when unknown. Every column's
    array header (shape, type) is checked here, its data when it is first read."""
    target = path_for(csv_path)
    if not target.is_file():
        return None
    try:
        with np.load(target, allow_pickle=False) as npz:
            if str(npz["format"]) != FORMAT or int(npz["version"]) != VERSION:
                return None
            header = [str(h) for h in npz["header"]]
            n = int(npz["rows"])
            if (rows is not None and n != rows) or header != csv_header(csv_path):
                return None
            if (int(npz["csv_bytes"]), str(npz["csv_tail_sha256"])) != csv_fingerprint(csv_path):
                return None
            if not all(_member_ok(npz, k, n) for k in range(len(header))):
                return None
    except _UNREADABLE:
        return None
    return Columns(target, header, n)


def _member_ok(npz: Any, k: int, n: int) -> bool:
    """Whether column ``k`` is stored as a whole column of ``n`` numbers or texts, or as ``n``
    integer codes and a 1-D array of values (array headers only, no data read)."""
    if f"c{k}" in npz.files:
        shape, kind = _array_header(npz, f"c{k}")
        return shape == (n,) and kind in "fU"
    codes, codes_kind = _array_header(npz, f"c{k}.codes")
    values, values_kind = _array_header(npz, f"c{k}.values")
    return codes == (n,) and codes_kind in "iu" and len(values) == 1 and values_kind in "fU"


def _array_header(npz: Any, name: str) -> tuple[tuple[int, ...], str]:
    """The shape and dtype kind of member ``name`` of an open ``.npz``, from its header."""
    with npz.zip.open(f"{name}.npy") as fh:
        major, _ = npy_format.read_magic(fh)
        read_header = (
            npy_format.read_array_header_1_0 if major == 1 else npy_format.read_array_header_2_0
        )
        shape, _, dtype = read_header(fh)
    return shape, dtype.kind


def _column(npz: Any, k: int) -> np.ndarray | None:
    """Column ``k`` of an open ``.npz`` (None when its codes are out of range)."""
    if f"c{k}" in npz.files:
        return npz[f"c{k}"]
    codes, values = npz[f"c{k}.codes"], npz[f"c{k}.values"]
    if ((codes < 0) | (codes >= len(values))).any():
        return None
    return values[codes]


def parsed_column(codes: np.ndarray, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """A hardware column as (codes, values): numbers when every text used parses as one (as
    the CSV reader parses a column), else the texts."""
    texts_array = np.asarray(list(texts), dtype=str)
    used = np.zeros(len(texts_array), dtype=bool)
    used[codes] = True
    try:
        values = np.full(len(texts_array), np.nan)
        values[used] = np.asarray(texts_array[used], dtype=float)
    except ValueError:
        values = texts_array
    dtype = np.uint8 if len(texts_array) <= 256 else np.int64
    return codes.astype(dtype), values
