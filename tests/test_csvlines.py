"""evaluations.csv's lines: the column-at-a-time formatter writes what the csv module writes,
and the second process that formats big appends survives Ctrl-C and loses no rows when it dies."""

from __future__ import annotations

import csv
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


def test_the_second_process_ignores_ctrl_c_and_its_death_loses_no_rows():
    block = cells()
    formatter = csvlines.Formatter()
    try:
        first = formatter.submit(block)
        assert first is not None and first.result()[0].decode() == reference(block)
        assert not formatter.failed  # formatted there
        pid = formatter._process.pid
        os.kill(pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        assert formatter.submit(block).result()[0].decode() == reference(block)
        assert not formatter.failed and formatter._process.poll() is None  # still there
        os.kill(pid, signal.SIGKILL)
        dead = formatter.submit(block)  # may be taken before the death is seen
        assert dead is None or dead.result()[0].decode() == reference(block)  # formatted here then
        assert formatter.failed and formatter.submit(block) is None  # no second process now
    finally:
        formatter.close()


def test_close_stops_the_second_process():
    formatter = csvlines.Formatter()
    assert formatter.submit(cells()).result()[0].decode() == reference(cells())
    process = formatter._process
    formatter.close()
    assert process.poll() is not None
