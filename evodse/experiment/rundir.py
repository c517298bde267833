"""Run directories: the files a run leaves (a public contract), all written atomically.

``config.yaml`` (resolved config), ``evaluations.csv`` (every evaluated design),
``pareto.csv`` (the non-dominated feasible designs of ``evaluations.csv``), ``history.csv``
(``generation, evaluations, hypervolume, front_size, wall_time_s``), ``summary.json``, and
``checkpoint.json`` with ``checkpoint.npz`` (for ``--resume``: the run's state as data, never
code; :mod:`evodse.experiment.checkpoint`). A file is written to a temporary name in the same
folder and renamed over the old one, so a crash never leaves a half-written file; it gets the
permissions a plain ``open()`` would give it (or those of the file it replaces). A
``checkpoint.pkl`` (the pickle checkpoint of older evodse versions) is never loaded.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from evodse.errors import InputError
from evodse.experiment import checkpoint
from evodse.search.archive import Archive
from evodse.search.driver import HISTORY_COLUMNS, SearchState
from evodse.search.problem import AcceleratorProblem
from evodse.yamlio import load_yaml

if TYPE_CHECKING:
    from evodse.experiment.config import Experiment

CONFIG = "config.yaml"
EVALUATIONS = "evaluations.csv"
PARETO = "pareto.csv"
HISTORY = "history.csv"
SUMMARY = "summary.json"
CHECKPOINT = checkpoint.JSON_FILE  # checkpoint.json, with CHECKPOINT_ARRAYS beside it
CHECKPOINT_ARRAYS = checkpoint.ARRAYS_FILE  # checkpoint.npz
LEGACY_CHECKPOINT = checkpoint.LEGACY_FILE  # checkpoint.pkl of older versions: never loaded


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    write_atomic_many({Path(path): data})


def write_atomic_many(files: dict[Path, bytes | str]) -> None:
    """Write several files through temporary files, renamed only once all are on disk, one
    right after the other (in order)."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            raw = data.encode("utf-8") if isinstance(data, str) else data
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append((tmp, path))
            os.fchmod(fd, _file_mode(path))  # mkstemp makes 0600; a run is shared like any file
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The permissions ``open()`` would give a new file (0666 less the umask), or those of the
    file being replaced."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
    """Archive row ids of the front, sorted by the first objective then the others, then by
    the design vector (so designs of equal objectives keep one order, whatever the order they
    were evaluated in: the best-per-objective and knee picks of :func:`summary` follow it)."""
    front = state.archive.front
    objectives = state.archive.column("objectives")[front]
    X = state.archive.column("X")[front]
    keys = (*X.T[::-1], *objectives.T[::-1])
    order = np.lexsort(keys) if len(front) else np.zeros(0, dtype=int)
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
        "versions": checkpoint.software_versions(),
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


def read_config(out: Path) -> dict[str, Any]:
    """A run directory's ``config.yaml``: plain YAML data (a tag such as ``!!python/...`` is
    an error, never constructed), a mapping."""
    path = Path(out) / CONFIG
    config = load_yaml(path)
    if not isinstance(config, dict):
        raise InputError(f"expected a mapping, got {type(config).__name__}", source=str(path))
    return config


def save_checkpoint(out: Path, state: SearchState, resolved: dict[str, Any]) -> None:
    """Write the checkpoint of ``state`` (a run of the configuration ``resolved``)."""
    write_checkpoint(out, checkpoint.encode(state, resolved))


def write_checkpoint(out: Path, data: checkpoint.Checkpoint) -> None:
    """Write a checkpoint's two files, both on disk before either is renamed into place, the
    arrays first (a crash between the two renames leaves a pair the JSON's SHA-256 of the
    arrays detects as torn). A legacy ``checkpoint.pkl`` goes."""
    out = Path(out)
    write_atomic_many({out / CHECKPOINT_ARRAYS: data.arrays, out / CHECKPOINT: data.json})
    (out / LEGACY_CHECKPOINT).unlink(missing_ok=True)


def has_checkpoint(out: Path) -> bool:
    """Whether ``out`` holds a checkpoint (of any format, loadable or not)."""
    return any((Path(out) / name).exists() for name in (CHECKPOINT, LEGACY_CHECKPOINT))


def read_checkpoint(out: Path) -> checkpoint.Checkpoint:
    """A checkpoint's two files as bytes (unchecked: for sending to a worker, which checks)."""
    check_legacy(out)
    return checkpoint.Checkpoint(json=_read(out, CHECKPOINT), arrays=_read(out, CHECKPOINT_ARRAYS))


def check_legacy(out: Path) -> None:
    """InputError for a run directory whose only checkpoint is a legacy pickle."""
    out = Path(out)
    if not (out / CHECKPOINT).exists() and (out / LEGACY_CHECKPOINT).exists():
        raise InputError(
            "checkpoint in the pickle format of older evodse versions: not loaded, for safety "
            "(a pickle can run code); rerun with --overwrite",
            source=str(out / LEGACY_CHECKPOINT),
        )


def _read(out: Path, name: str) -> bytes:
    path = Path(out) / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"missing (the checkpoint is {CHECKPOINT} with {CHECKPOINT_ARRAYS}); rerun with "
            "--overwrite",
            source=str(path),
        ) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", source=str(path)) from None


def load_checkpoint(
    out: Path,
    experiment: Experiment,
    seed: int,
    problem: AcceleratorProblem | None = None,
    *,
    replay: bool = True,
) -> SearchState | None:
    """The checkpointed state of run ``seed`` of ``experiment`` in ``out`` (None when there is
    no checkpoint). Checks come first, each an InputError naming the file: a legacy pickle is
    refused unread; the JSON's seed and configuration hash must be this run's before the arrays
    are read. ``replay``: rebuild the algorithm of an unfinished run now (see
    :func:`evodse.experiment.checkpoint.load`)."""
    out = Path(out)
    check_legacy(out)
    if not (out / CHECKPOINT).exists():
        return None
    return checkpoint.load_run(
        lambda name: _read(out, name),
        where=out,
        experiment=experiment,
        seed=seed,
        problem=problem,
        replay=replay,
    )
