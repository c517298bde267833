"""evaluations.csv's lines from columns of cells, formatted here or in a second process.

A cell block is one entry per CSV column, all of the block's rows: a numeric array (floats
written with Python's ``repr``, integers as they are, booleans as 1/0) or a coded column
``(codes, texts)`` (each row's cell is ``texts[code]``). Formatting is the cost of a big run's
CSV: about one ``repr`` per float cell, 0.4 us each. :class:`Formatter` moves that work to a
second process (the search keeps its own core), which returns the text; only the run's own
process writes files, so a formatter left behind by a killed run cannot touch a resumed run's
files.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

Cells = Sequence["np.ndarray | tuple[np.ndarray, Sequence[str]]"]


def lines(cells: Cells) -> str:
    """The CSV lines (each ending in a newline) of a cell block; ``""`` for no rows."""
    columns = [_texts(c) for c in cells]
    if not columns or not columns[0]:
        return ""
    return "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"


def timed_lines(cells: Cells) -> tuple[str, float]:
    """:func:`lines` and the wall seconds it took."""
    start = time.perf_counter()
    text = lines(cells)
    return text, time.perf_counter() - start


def _texts(cell: np.ndarray | tuple[np.ndarray, Sequence[str]]) -> list[str]:
    """One column's cells: floats as repr, integers, booleans as 1/0, coded texts."""
    if isinstance(cell, tuple):
        codes, texts = cell
        return np.asarray(texts, dtype=object)[codes].tolist()
    if cell.dtype == bool:
        return np.where(cell, "1", "0").tolist()
    if cell.dtype.kind in "iu":
        return list(map(str, cell.tolist()))
    return list(map(repr, cell.astype(np.float64).tolist()))


class Block:
    """A cell block's text to come from the second process (:meth:`result`)."""

    def __init__(self, cells: Cells, future: Future[tuple[str, float]], formatter: Formatter):
        self.cells = cells
        self.rows = len(cells[0])
        self._future = future
        self._formatter = formatter

    def done(self) -> bool:
        return self._future.done()

    def result(self) -> tuple[str, float]:
        """:func:`timed_lines` of the block; formatted here when the second process failed
        (the rows are never lost, and a real formatting error is raised here), which then
        takes no more blocks."""
        try:
            return self._future.result()
        except Exception:  # formatting again here raises a real error again
            self._formatter.failed = True
            return timed_lines(self.cells)


class Formatter:
    """One second process formatting cell blocks (:func:`timed_lines`), started at the first
    block. Unavailable (``submit`` returns None) in a daemonic process, which may not start one
    (a pool worker of some executors), and once the process has failed (:attr:`failed`)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.failed = multiprocessing.current_process().daemon

    def submit(self, cells: Cells) -> Block | None:
        """The block's text, to come (None: format it here)."""
        if self.failed:
            return None
        try:
            if self._pool is None:
                # spawn, not fork: the run's process may hold threads (a Dask client's)
                self._pool = ProcessPoolExecutor(
                    1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_ignore_interrupts,
                )
            return Block(cells, self._pool.submit(timed_lines, cells), self)
        except (BrokenProcessPool, OSError, RuntimeError):
            self.failed = True
            return None

    def close(self) -> None:
        """Stop the process (after its current block)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _ignore_interrupts() -> None:
    """The second process ignores Ctrl-C: the run's process finishes its file on one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
