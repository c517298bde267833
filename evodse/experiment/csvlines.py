"""evaluations.csv's lines from columns of cells, formatted here or in a second process.

A cell block is one entry per CSV column, all of the block's rows: a numeric array (floats
written with Python's ``repr``, integers as they are, booleans as 1/0) or a coded column
``(codes, texts)`` (each row's cell is ``texts[code]``). Formatting is the cost of a big run's
CSV: about one ``repr`` per float cell, 0.4 us each. :class:`Formatter` moves that work to a
second process (``python -m evodse.experiment.csvlines``), so the search keeps its own core.
Blocks go there as ``.npy`` arrays with a JSON header and come back as UTF-8 text files, never
as pickles, which a thread of the run's process appends to their target (by ``os.sendfile``:
the copy holds no interpreter lock, so the search does not wait for it). The process imports
only evodse (never the user's script, as a multiprocessing child would), and only the run's own
process writes the run's files, so a formatter left behind by a killed run cannot touch a
resumed run's files.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import BinaryIO

import numpy as np

Cells = Sequence["np.ndarray | tuple[np.ndarray, Sequence[str]]"]
_SIZE = struct.Struct("<Q")  # the length of an encoded block's JSON header


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


# --- the wire format (data only) ------------------------------------------------------------------


def encode(cells: Cells, out: BinaryIO) -> None:
    """Write a cell block to ``out``: a JSON list (each coded column's texts, null for the
    others), then each column's array in ``.npy`` format (codes in the smallest unsigned type
    that holds them)."""
    head = json.dumps([list(c[1]) if isinstance(c, tuple) else None for c in cells]).encode()
    out.write(_SIZE.pack(len(head)) + head)
    for c in cells:
        if isinstance(c, tuple):
            codes = np.asarray(c[0])
            array = codes.astype(np.min_scalar_type(max(len(c[1]) - 1, 0)), copy=False)
            if not np.array_equal(array, codes):  # a code outside the texts: sent as it is
                array = codes
        else:
            array = np.asarray(c)
        np.save(out, array, allow_pickle=False)


def decode(data: BinaryIO) -> list:
    """The cell block :func:`encode` wrote."""
    (n,) = _SIZE.unpack(data.read(_SIZE.size))
    out: list = []
    for texts in json.loads(data.read(n)):
        array = np.load(data, allow_pickle=False)
        out.append(array if texts is None else (array, texts))
    return out


# --- the second process ---------------------------------------------------------------------------


class Block:
    """A cell block whose lines the second process formats and this process's reply reader
    appends to ``target`` (:meth:`wait`)."""

    def __init__(
        self, cells: Cells, target: Path, future: Future[float], formatter: Formatter
    ) -> None:
        self.cells = cells
        self.rows = len(cells[0])
        self.target = target
        self._future = future
        self._formatter = formatter

    def done(self) -> bool:
        return self._future.done()

    def wait(self) -> float:
        """Wait until the block's lines are in ``target``; returns the seconds formatting and
        appending them took. When the second process failed, they are formatted and
        appended here (the rows are never lost, and a real formatting error is raised here),
        and the process takes no more blocks."""
        try:
            return self._future.result()
        except Exception:  # formatting again here raises a real error again
            self._formatter.failed = True
            text, seconds = timed_lines(self.cells)
            start = time.perf_counter()
            with self.target.open("ab") as fh:
                fh.write(text.encode("utf-8"))
            return seconds + time.perf_counter() - start


def append_file(source: Path, target: Path) -> None:
    """Append ``source``'s bytes to ``target``, in the kernel where it can (``os.sendfile``:
    the copy holds no interpreter lock); a failed append leaves ``target`` as it was."""
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(target, os.O_WRONLY)
        try:
            start = os.lseek(dst, 0, os.SEEK_END)
            try:
                _copy(src, dst, os.fstat(src).st_size)
            except BaseException:
                os.ftruncate(dst, start)
                raise
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy(src: int, dst: int, size: int) -> None:
    sent = 0
    if hasattr(os, "sendfile"):
        try:
            while sent < size:
                n = os.sendfile(dst, src, sent, size - sent)
                if n == 0:
                    raise OSError(f"{size - sent} bytes short")
                sent += n
            return
        except OSError as exc:  # a system whose sendfile writes only to sockets
            if sent or exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK):
                raise
    os.lseek(src, 0, os.SEEK_SET)
    while chunk := os.read(src, 1 << 20):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view) :]


class Formatter:
    """One second process formatting cell blocks in order, started at the first block; once it
    has failed (:attr:`failed`), ``submit`` returns None and blocks are formatted here.

    A block travels as files in a private temporary folder (``N.block`` there, ``N.csv``
    back), announced by one line on the process's stdin and stdout: a pipe that carried the
    data itself would make each side wait for the other's interpreter lock on every 64 KiB.
    A thread of this process appends each reply to its block's target file, in order, so the
    copy does not hold up the search. The process removes the folder when its stdin ends (the
    run finished or was killed)."""

    def __init__(self) -> None:
        self.failed = False
        self._process: subprocess.Popen | None = None
        self._folder: Path | None = None
        self._sent = 0  # blocks sent
        self._waiting: deque[tuple[Future[float], Path, Path]] = deque()  # (future, reply, target)
        self._lock = threading.Lock()  # the reply reader resolves what submit queues
        self._closing = False  # close() was called: the process ends, none starts again

    def submit(self, cells: Cells, target: Path) -> Block | None:
        """The block, whose lines are to be appended to ``target`` after those of the blocks
        submitted before it (None: format it here). Nothing else may write ``target`` until
        they are (:meth:`Block.wait`)."""
        future: Future[float] = Future()
        try:
            if self._process is None and not (self.failed or self._closing):
                self._start()
            with self._lock:  # the reader fails what is waiting when the process ends
                if self.failed or self._closing:
                    return None
                n, self._sent = self._sent, self._sent + 1
                request = self._folder / f"{n}.block"
                self._waiting.append((future, self._folder / f"{n}.csv", Path(target)))
            with request.with_suffix(".part").open("wb") as fh:
                encode(cells, fh)
            os.replace(request.with_suffix(".part"), request)
            self._process.stdin.write(f"{n}\n".encode())
            self._process.stdin.flush()
        except OSError:  # cannot start or reach the process (its reader fails ``future``)
            self.failed = True
            if self._process is None:
                return None
        return Block(cells, Path(target), future, self)

    def _start(self) -> None:
        # the same evodse as this process, whatever its working directory and sys.path
        root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": root if not path else os.pathsep.join([root, path])}
        self._folder = Path(tempfile.mkdtemp(prefix="evodse-csv-"))
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(self._folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        threading.Thread(
            target=self._read_replies, args=(self._process.stdout,), daemon=True
        ).start()

    def _read_replies(self, stream: BinaryIO) -> None:
        """Append the waiting blocks' replies to their targets and resolve them, in order;
        after a failed append, or at the process's end, fail the rest (their blocks are
        formatted and appended by :meth:`Block.wait`, in order)."""
        broken = False
        for line in stream:
            seconds = float(line)
            with self._lock:
                future, reply, target = self._waiting.popleft()
                broken = broken or self.failed
            if broken:
                future.set_exception(OSError("an earlier block failed"))
                continue
            try:
                start = time.perf_counter()
                append_file(reply, target)
                reply.unlink()
            except OSError as exc:
                broken = self.failed = True
                future.set_exception(exc)
            else:
                future.set_result(seconds + time.perf_counter() - start)
        with self._lock:
            self.failed = self.failed or not self._closing
            while self._waiting:
                self._waiting.popleft()[0].set_exception(OSError("the CSV formatter ended"))

    def close(self) -> None:
        """Stop the process (at once when blocks are still waiting: nobody will take them)
        and remove its folder; blocks are formatted here from now on."""
        with self._lock:
            self._closing = True
            waiting = bool(self._waiting)
        if self._process is not None:
            if waiting:
                self._process.kill()
            with contextlib.suppress(OSError):  # a broken pipe: the process has ended
                self._process.stdin.close()
            self._process.wait()
            shutil.rmtree(self._folder, ignore_errors=True)


def serve(folder: Path, requests: BinaryIO, replies: BinaryIO) -> None:
    """The second process: for each block number read from ``requests``, format
    ``folder/N.block`` into ``folder/N.csv`` and reply with its formatting seconds, in order;
    at the end of ``requests``, remove ``folder``. It ignores Ctrl-C: the run's process
    finishes its file on one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for line in requests:
            request = folder / f"{int(line)}.block"
            with request.open("rb") as fh:
                text, seconds = timed_lines(decode(fh))
            request.unlink()
            reply = request.with_suffix(".csv")
            reply.with_suffix(".part").write_text(text, encoding="utf-8")
            os.replace(reply.with_suffix(".part"), reply)
            replies.write(f"{seconds!r}\n".encode())
            replies.flush()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
