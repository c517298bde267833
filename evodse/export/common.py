"""What every export target shares: the files it returns and the CSV of its layers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The dataflows a systolic-array tool can run (SCALE-Sim, the ZigZag twin, the Timeloop spec).
SYSTOLIC = ("ws", "os", "is")


@dataclass(frozen=True)
class ExportFiles:
    """One target's files (name -> text), what it cannot express, and how to run it."""

    files: dict[str, str]
    not_expressed: list[str]
    run: list[str] = field(default_factory=list)


def layers_header() -> list[str]:
    """The first columns of every target's ``layers.csv``."""
    return ["index", "layer", "op"]


def csv_rows(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV text with a header; floats that are whole numbers written as integers."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([int(v) if isinstance(v, float) and v.is_integer() else v for v in row])
    return buf.getvalue()
