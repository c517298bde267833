"""Run directories: the files a run leaves (a public contract), all written atomically.

``config.yaml`` (resolved config), ``evaluations.csv`` (every evaluated design),
``pareto.csv`` (the non-dominated feasible designs of ``evaluations.csv``), ``history.csv``
(``generation, evaluations, hypervolume, front_size, wall_time_s``), ``summary.json`` and
``checkpoint.pkl`` (for ``--resume``). A file is written to a temporary name in the same folder
and renamed over the old one, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import dill
import numpy as np
import yaml

from evodse.search.archive import Archive
from evodse.search.driver import SearchState

CONFIG = "config.yaml"
EVALUATIONS = "evaluations.csv"
PARETO = "pareto.csv"
HISTORY = "history.csv"
SUMMARY = "summary.json"
CHECKPOINT = "checkpoint.pkl"
HISTORY_COLUMNS = ("generation", "evaluations", "hypervolume", "front_size", "wall_time_s")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_text(columns: list[str], rows: list[list[Any]]) -> str:
    """CSV text; floats with full precision (repr), so files round-trip exactly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    return value


def design_columns(state: SearchState) -> list[str]:
    """Columns of evaluations.csv and pareto.csv."""
    problem = state.problem
    hw = list(problem.decision_table(np.zeros((0, problem.n_var), dtype=int)))
    return [
        "id",
        "generation",
        "feasible",
        "cv",
        *hw,
        *problem.objective_columns,
        *_metric_names(state),
    ]


def _metric_names(state: SearchState) -> list[str]:
    """Metric columns not already written as objectives."""
    objectives = set(state.problem.objective_columns)
    return [m for m in state.archive.metric_names() if m not in objectives]


def design_rows(state: SearchState, rows: np.ndarray) -> list[list[Any]]:
    """Rows (archive row ids) of evaluations.csv / pareto.csv."""
    archive: Archive = state.archive
    problem = state.problem
    X = archive.column("X")[rows]
    hw = problem.decision_table(X)
    objectives = archive.column("objectives")[rows]
    metrics = {name: archive.column(name)[rows] for name in _metric_names(state)}
    gen = archive.column("generation")[rows]
    feasible = archive.column("feasible")[rows]
    cv = archive.column("cv")[rows]
    out = []
    for i, row in enumerate(rows):
        out.append(
            [int(row), int(gen[i]), _cell(feasible[i]), _cell(cv[i])]
            + [_cell(hw[k][i]) for k in hw]
            + [_cell(v) for v in objectives[i]]
            + [_cell(metrics[name][i]) for name in metrics]
        )
    return out


def pareto_rows(state: SearchState) -> np.ndarray:
    """Archive row ids of the front, sorted by the first objective then the others."""
    front = state.archive.front
    objectives = state.archive.column("objectives")[front]
    order = np.lexsort(objectives.T[::-1]) if len(front) else np.zeros(0, dtype=int)
    return front[order]


def knee_point(F: np.ndarray) -> int | None:
    """Index of the knee of a front (optimizer space): pymoo's high trade-off points, the one
    nearest the ideal when several; pseudo-weights with equal weights when none stands out."""
    from pymoo.mcdm.high_tradeoff import HighTradeoffPoints
    from pymoo.mcdm.pseudo_weights import PseudoWeights

    if len(F) == 0:
        return None
    if F.shape[1] == 1:  # one objective: the best design
        return int(np.argmin(F[:, 0]))
    if len(F) < 3:
        return 0
    span = F.max(axis=0) - F.min(axis=0)
    Z = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    candidates = HighTradeoffPoints()(Z)
    if candidates is not None and len(candidates):
        candidates = np.asarray(candidates, dtype=int)
        return int(candidates[np.argmin(np.linalg.norm(Z[candidates], axis=1))])
    return int(PseudoWeights(np.full(F.shape[1], 1.0 / F.shape[1])).do(Z))


def _versions() -> dict[str, str]:
    import pymoo

    from evodse import __version__

    return {
        "evodse": __version__,
        "pymoo": pymoo.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def summary(state: SearchState, resolved: dict[str, Any]) -> dict[str, Any]:
    """The content of summary.json."""
    problem = state.problem
    archive = state.archive
    rows = pareto_rows(state)
    columns = problem.objective_columns

    def design(row: int) -> dict[str, Any]:
        x = archive.column("X")[row]
        return {
            "id": int(row),
            **problem.describe(x, name=f"design_{row}"),
            "objectives": {
                c: float(v) for c, v in zip(columns, archive.column("objectives")[row], strict=True)
            },
        }

    best = {}
    for j, obj in enumerate(problem.objective_list):
        if len(rows):
            values = archive.column("objectives")[rows, j]
            pick = rows[np.argmax(values) if obj.maximize else np.argmin(values)]
            best[obj.column] = design(int(pick))
    knee = knee_point(archive.column("F")[rows]) if len(rows) else None
    last = state.history[-1] if state.history else {}
    return {
        "name": resolved["name"],
        "seed": state.seed,
        "algorithm": state.algorithm_name,
        "algorithm_choice": None if state.choice is None else state.choice.as_dict(),
        "workloads": problem.workload_names,
        "objectives": [
            {"column": o.column, "name": o.name, "sense": "max" if o.maximize else "min"}
            for o in problem.objective_list
        ],
        "constraints": problem.constraint_labels,
        "space_size": problem.space_size,
        "evaluations": len(archive),
        "feasible_evaluations": int(archive.column("feasible").sum()) if len(archive) else 0,
        "generations": state.generation,
        "stopped_by": state.stopped_by,
        "front_size": len(rows),
        "hypervolume": last.get("hypervolume", 0.0),
        "hypervolume_reference": state.hypervolume.reference(),
        "best": best,
        "knee": None if knee is None else design(int(rows[knee])),
        "wall_time_s": state.elapsed_s,
        "versions": _versions(),
    }


def write_results(out: Path, state: SearchState, resolved: dict[str, Any]) -> dict[str, Any]:
    """Write every result file of a (finished or interrupted) run; returns the summary."""
    out = Path(out)
    columns = design_columns(state)
    all_rows = np.arange(len(state.archive))
    write_atomic(out / EVALUATIONS, csv_text(columns, design_rows(state, all_rows)))
    write_atomic(out / PARETO, csv_text(columns, design_rows(state, pareto_rows(state))))
    history = [[_cell(h[k]) for k in HISTORY_COLUMNS] for h in state.history]
    write_atomic(out / HISTORY, csv_text(list(HISTORY_COLUMNS), history))
    data = summary(state, resolved)
    write_atomic(out / SUMMARY, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return data


def write_config(out: Path, resolved: dict[str, Any]) -> None:
    write_atomic(Path(out) / CONFIG, yaml.safe_dump(resolved, sort_keys=False))


def save_checkpoint(out: Path, state: SearchState) -> None:
    """Pickle the whole search state (dill: some pymoo operators are closures)."""
    write_atomic(Path(out) / CHECKPOINT, dill.dumps(state))


def load_checkpoint(out: Path) -> SearchState | None:
    path = Path(out) / CHECKPOINT
    if not path.exists():
        return None
    with path.open("rb") as fh:
        return dill.load(fh)
