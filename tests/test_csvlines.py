"""evaluations.csv's lines: the column-at-a-time formatter writes what the csv module writes,
and the second process that formats big appends survives Ctrl-C and loses no rows when it dies."""

from __future__ import annotations

import csv
import errno
import io
import os
import signal

import numpy as np
import pytest

from evodse.experiment import csvlines


def cells() -> list:
    rng = np.random.default_rng(3)
    n = 7
    floats = rng.random(n) * 10.0 ** rng.integers(-12, 12, n)
    floats[:3] = [np.inf, 0.1 + 0.2, 1e16]
    return [
        np.arange(n, dtype=np.int64),
        rng.random(n) < 0.5,
        floats,
        np.float32(2.5) * np.ones(n, dtype=np.float32),
        (rng.integers(0, 3, n), ["ws", "os", ""]),
    ]


def reference(block: list) -> str:
    """The block through ``csv.writer`` a cell at a time (floats as repr, booleans as 1/0)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    ints, flags, floats, singles, (codes, texts) = block
    for r in range(len(ints)):
        writer.writerow(
            [
                int(ints[r]),
                int(flags[r]),
                repr(float(floats[r])),
                repr(float(singles[r])),
                texts[codes[r]],
            ]
        )
    return out.getvalue()


def test_lines_are_what_the_csv_module_writes():
    block = cells()
    assert csvlines.lines(block) == reference(block)
    assert (
        csvlines.lines([c[:0] if not isinstance(c, tuple) else (c[0][:0], c[1]) for c in block])
        == ""
    )
    text, seconds = csvlines.timed_lines(block)
    assert text == reference(block) and seconds >= 0.0


def test_the_wire_format_is_data_and_round_trips():
    block = cells()
    buf = io.BytesIO()
    csvlines.encode(block, buf)
    buf.seek(0)
    assert csvlines.lines(csvlines.decode(buf)) == csvlines.lines(block)
    with pytest.raises(ValueError, match="pickle"):  # object arrays would need pickle
        csvlines.encode([np.asarray([{"a": 1}], dtype=object)], io.BytesIO())


def submitted(formatter: csvlines.Formatter, block: list, target) -> str | None:
    """The text ``block`` added to ``target`` once submitted and waited for (None: the
    formatter took no block)."""
    before = target.read_text() if target.exists() else ""
    taken = formatter.submit(block, target)
    if taken is None:
        return None
    taken.wait()
    return target.read_text()[len(before) :]


def test_the_second_process_ignores_ctrl_c_and_its_death_loses_no_rows(tmp_path):
    block = cells()
    target = tmp_path / "out.csv"
    target.write_text("header\n")
    formatter = csvlines.Formatter()
    try:
        assert submitted(formatter, block, target) == reference(block)
        assert not formatter.failed  # formatted there
        pid = formatter._process.pid
        os.kill(pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        assert submitted(formatter, block, target) == reference(block)
        assert not formatter.failed and formatter._process.poll() is None  # still there
        os.kill(pid, signal.SIGKILL)
        dead = submitted(formatter, block, target)  # may be taken before the death is seen
        assert dead is None or dead == reference(block)  # formatted here then
        assert formatter.failed and formatter.submit(block, target) is None  # none there now
    finally:
        formatter.close()
    assert target.read_text() == "header\n" + reference(block) * (3 if dead else 2)


def test_blocks_land_in_order_and_a_failed_append_loses_nothing(tmp_path, monkeypatch):
    """Blocks are appended in the order submitted; when an append fails (here: the target
    vanished for the second block), that block and every later one is formatted and appended
    by Block.wait, in order, and no more go to the second process."""
    blocks = [[np.arange(k * 10, k * 10 + 3)] for k in range(4)]
    target = tmp_path / "out.csv"
    target.write_text("")
    real = csvlines.append_file
    calls = []

    def flaky(source, into):
        calls.append(source)
        if len(calls) == 2:
            raise FileNotFoundError(into)
        real(source, into)

    monkeypatch.setattr(csvlines, "append_file", flaky)
    formatter = csvlines.Formatter()
    try:
        taken = [formatter.submit(b, target) for b in blocks]
        assert all(t is not None for t in taken)
        for t in taken:
            t.wait()
        assert formatter.failed and formatter.submit(blocks[0], target) is None
    finally:
        formatter.close()
    assert len(calls) == 2  # the later blocks never reached the thread's append
    assert target.read_text() == "".join(csvlines.lines(b) for b in blocks)


def test_append_file_appends_and_leaves_the_target_whole_on_failure(tmp_path, monkeypatch):
    source, target = tmp_path / "a", tmp_path / "b"
    source.write_bytes(b"x" * 100_000)
    target.write_bytes(b"head")
    csvlines.append_file(source, target)
    assert target.read_bytes() == b"head" + b"x" * 100_000

    def short(dst, src, offset, count):  # the copy stops part way
        os.write(dst, b"y" * 10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "sendfile", short)
    with pytest.raises(OSError, match="No space"):
        csvlines.append_file(source, target)
    assert target.read_bytes() == b"head" + b"x" * 100_000  # truncated back


def test_append_file_copies_where_sendfile_takes_only_sockets(tmp_path, monkeypatch):
    source, target = tmp_path / "a", tmp_path / "b"
    source.write_bytes(bytes(range(256)) * 5000)
    target.write_bytes(b"")

    def sockets_only(*args):
        raise OSError(errno.ENOTSOCK, "Socket operation on non-socket")

    monkeypatch.setattr(os, "sendfile", sockets_only)
    csvlines.append_file(source, target)
    assert target.read_bytes() == source.read_bytes()


def test_close_stops_the_second_process(tmp_path):
    target = tmp_path / "out.csv"
    formatter = csvlines.Formatter()
    assert submitted(formatter, cells(), target) == reference(cells())
    process = formatter._process
    formatter.close()
    assert process.poll() is not None
