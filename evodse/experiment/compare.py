"""Runs side by side: one hypervolume normalization for every run a table compares.

A run's own ``hypervolume`` (``summary.json``) is normalized by its first feasible front, so
values of different runs do not compare. Tables of several runs (``seeds.csv``, ``sweep.csv``)
give instead each run's hypervolume under one normalization common to the runs compared: the
feasible non-dominated designs of all of them together
(:func:`evodse.search.indicators.compare_fronts`). Only runs of the same workloads and
objectives compare; a table mixing several such groups normalizes each group on its own.
``hypervolume.json`` beside the table records each group's normalization and runs.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.runfiles import PARETO, csv_text, write_atomic_many
from evodse.search.indicators import compare_fronts

HYPERVOLUME_JSON = "hypervolume.json"
SEEDS_CSV = "seeds.csv"


@dataclass(frozen=True)
class Compared:
    """Each run's hypervolume under its group's common normalization, and the record of the
    normalizations (``hypervolume.json``)."""

    hypervolume: list[float]
    record: dict[str, Any]

    def json_text(self) -> str:
        """The content of ``hypervolume.json``."""
        return json.dumps(self.record, indent=2, allow_nan=False) + "\n"

    def describe(self) -> str:
        """One line saying how the values were normalized."""
        groups = self.record["groups"]
        if len(groups) == 1:
            n = len(groups[0]["runs"])
            return (
                f"hypervolume normalized over the feasible non-dominated designs of all {n} runs "
                f"together ({HYPERVOLUME_JSON})"
            )
        return (
            f"hypervolume normalized within each of {len(groups)} groups of runs with the same "
            f"workloads and objectives ({HYPERVOLUME_JSON})"
        )


def _group_key(summary: Mapping[str, Any]) -> str:
    objectives = [(o["column"], o["sense"]) for o in summary["objectives"]]
    return json.dumps([list(summary["workloads"]), objectives])


def compare(runs: Sequence[tuple[str, Mapping[str, Any], np.ndarray]]) -> Compared:
    """``runs``: (run directory label, summary, front objective values) per run, the front as
    true values in the order of ``summary["objectives"]``."""
    groups: dict[str, list[int]] = {}
    for i, (_, summary, _) in enumerate(runs):
        groups.setdefault(_group_key(summary), []).append(i)
    values = [0.0] * len(runs)
    record = []
    for key, members in groups.items():
        workloads, objectives = json.loads(key)
        maximize = [sense == "max" for _, sense in objectives]
        norm, hv = compare_fronts([runs[i][2] for i in members], maximize)
        for i, v in zip(members, hv, strict=True):
            values[i] = v
        entry: dict[str, Any] = {
            "workloads": workloads,
            "objectives": [column for column, _ in objectives],
            "runs": [runs[i][0] for i in members],
            "normalization": None if norm is None else norm.as_reference(),
        }
        record.append(entry)
    note = (
        "hypervolume of each run's front under its group's common normalization; a run's own "
        "summary.json hypervolume is normalized by its first feasible front and does not "
        "compare across runs"
    )
    return Compared(hypervolume=values, record={"note": note, "groups": record})


def read_front(run_dir: Path, summary: Mapping[str, Any]) -> np.ndarray:
    """The objective values of a finished run's ``pareto.csv`` (columns of ``summary``)."""
    path = Path(run_dir) / PARETO
    columns = [o["column"] for o in summary["objectives"]]
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read ({exc})", source=str(path)) from None
    header = rows[0] if rows else []
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError("missing objective column", source=str(path), key=missing[0])
    at = [header.index(c) for c in columns]
    try:
        return np.asarray([[float(r[j]) for j in at] for r in rows[1:]], dtype=float).reshape(
            -1, len(columns)
        )
    except (ValueError, IndexError):
        raise InputError("expected numbers in every row", source=str(path)) from None


def compare_results(results: Sequence[Any]) -> Compared:
    """:func:`compare` of several :class:`~evodse.experiment.runner.RunResult`."""
    return compare([(r.out_dir.name, r.summary, r.F) for r in results])


def seeds_table(results: Sequence[Any]) -> tuple[list[str], list[list[Any]], Compared]:
    """``seeds.csv`` of several seeds' :class:`~evodse.experiment.runner.RunResult`: columns,
    rows (hypervolume under the seeds' common normalization) and the comparison."""
    compared = compare_results(results)
    columns = ["seed", "evaluations", "front_size", "hypervolume", "wall_time_s", "run_dir"]
    rows = [
        [
            r.seed,
            r.summary["evaluations"],
            r.summary["front_size"],
            repr(hv),
            repr(float(r.summary["wall_time_s"])),
            str(r.out_dir.name),
        ]
        for r, hv in zip(results, compared.hypervolume, strict=True)
    ]
    return columns, rows, compared


def write_seeds(out: Path, results: Sequence[Any]) -> Compared:
    """Write ``out/seeds.csv`` and ``out/hypervolume.json`` for several seeds' results."""
    columns, rows, compared = seeds_table(results)
    write_atomic_many(
        {
            Path(out) / HYPERVOLUME_JSON: compared.json_text(),
            Path(out) / SEEDS_CSV: csv_text(columns, rows),
        }
    )
    return compared
