"""Run directories: the files a run leaves (a public contract), all written atomically.

``config.yaml`` (resolved config), ``evaluations.csv`` (every evaluated design),
``pareto.csv`` (the non-dominated feasible designs of ``evaluations.csv``), ``history.csv``
(``generation, evaluations, hypervolume, front_size, wall_time_s``), ``summary.json``,
``evaluations.npz`` (evaluations.csv's columns as arrays: :mod:`evodse.columnar`), and
``checkpoint.json`` with ``checkpoint.npz`` and ``checkpoint-chunks/`` (for ``--resume``: the
run's state as data, never code; :mod:`evodse.experiment.checkpoint`). The file names and the
atomic writer live in the low module :mod:`evodse.runfiles`: a file is written to a
temporary name in the same folder and renamed over the old one, so a crash never leaves a
half-written file; it gets the permissions a plain ``open()`` would give it (or those of the file
it replaces). evaluations.csv grows as a hidden ``.evaluations.csv.partial`` during a run
(:class:`RunWriter`) and is renamed into place at its end. A ``checkpoint.pkl`` (the pickle
checkpoint of older evodse versions) is never loaded.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import statistics
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from evodse import columnar
from evodse.errors import InputError
from evodse.experiment import checkpoint, csvlines
from evodse.runfiles import (
    CONFIG,
    EVALUATIONS,
    HISTORY,
    PARETO,
    SUMMARY,
    csv_text,
    knee_point,
    pareto_rows,
    write_atomic,
    write_atomic_many,
)
from evodse.search.archive import Archive
from evodse.search.driver import HISTORY_COLUMNS, SearchState
from evodse.search.problem import AcceleratorProblem
from evodse.search.space import DesignSpace

if TYPE_CHECKING:
    from evodse.experiment.config import Experiment

#: What a run's last writes take beyond its rows: pareto.csv, history.csv, summary.json.
FINISH_S = 0.25
#: And per archived design: evaluations.npz, the front and summary.json read every one
#: (measured on the space of docs/big_runs.md: 3.8 s for every result file but the checkpoint,
#: the CSV's last rows formatted meanwhile, at NSGA-II's 1,870,000 designs).
RESULTS_ROW_S = 2.0e-6
#: Seconds per row of appending to evaluations.csv and of writing a checkpoint's tail,
#: assumed until a checkpoint of at least MEASURE_ROWS rows measures them (about what
#: benchmarks/big_runs.py measures on a loaded two-core machine: docs/big_runs.md).
CSV_ROW_S = 30e-6
CHECKPOINT_ROW_S = 3e-6
MEASURE_ROWS = 1000
RATE_WINDOW = 5  # the reserve uses the median of the last five measured costs per row
CHECKPOINT = checkpoint.JSON_FILE  # checkpoint.json, with CHECKPOINT_ARRAYS beside it
CHECKPOINT_ARRAYS = checkpoint.ARRAYS_FILE  # checkpoint.npz
LEGACY_CHECKPOINT = checkpoint.LEGACY_FILE  # checkpoint.pkl of older versions: never loaded


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


def design_csv(state: SearchState, rows: np.ndarray) -> str:
    """The lines (no header) of evaluations.csv / pareto.csv for archive row ids ``rows``,
    formatted a column at a time: the same text :func:`csv_text` writes for those rows."""
    return csvlines.lines(design_cells(state, rows))


def design_cells(state: SearchState, rows: np.ndarray) -> list:
    """The cells of :func:`design_csv` as :func:`evodse.experiment.csvlines.lines` takes them
    (each column's values, a hardware column coded)."""
    rows = np.asarray(rows, dtype=np.int64)
    archive: Archive = state.archive
    objectives = archive.column("objectives")[rows]
    return [
        rows,
        archive.column("generation")[rows],
        archive.column("feasible")[rows],
        archive.column("cv")[rows],
        *_hardware_columns(state.problem, archive.column("X")[rows]),
        *(objectives[:, j] for j in range(objectives.shape[1])),
        *(archive.column(name)[rows] for name in _metric_names(state)),
    ]


def _cell_text(value: Any) -> str:
    """One cell as :func:`csv_text` writes it."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([_cell(value)])
    return buf.getvalue()


def _hardware_columns(
    problem: AcceleratorProblem, X: np.ndarray
) -> list[tuple[np.ndarray, list[str]]]:
    """The hardware columns' cells, each as (one code per row, the CSV text of each code): a
    parameter's few values formatted once (a problem with its own ``decision_table`` has its
    table formatted by value); an unset value takes the one it follows in its row."""
    space = getattr(problem, "design_space", None)
    if type(problem).decision_table is not AcceleratorProblem.decision_table or not isinstance(
        space, DesignSpace
    ):
        out = []
        for values in problem.decision_table(X).values():
            texts = {v: _cell_text(v) for v in dict.fromkeys(values)}
            distinct = list(dict.fromkeys(texts.values()))
            code = {t: i for i, t in enumerate(distinct)}
            out.append((np.asarray([code[texts[v]] for v in values], dtype=np.int64), distinct))
        return out
    by_name = {p.name: j for j, p in enumerate(space.parameters)}
    base = space.base.to_dict()
    columns: dict[str, tuple[np.ndarray, list[str]]] = {}
    for key in space.template.keys:
        if key in by_name:
            j = by_name[key]
            texts = [_cell_text(v) for v in space.parameters[j].values]
            columns[key] = (np.asarray(X[:, j], dtype=np.int64), texts)
        else:
            columns[key] = (np.zeros(len(X), dtype=np.int64), [_cell_text(base[key])])
    unset = _cell_text(None)
    for p in space.template.parameters:
        if p.follows is not None:
            codes, texts = columns[p.name]
            is_unset = np.asarray([t == unset for t in texts], dtype=bool)
            if is_unset.any():
                follow_codes, follow_texts = columns[p.follows]
                merged = np.where(is_unset[codes], len(texts) + follow_codes, codes)
                columns[p.name] = (merged, texts + follow_texts)
    return list(columns.values())


def _design_arrays(state: SearchState) -> list:
    """evaluations.csv's columns for every archived design as its reader parses the CSV
    (numbers as float64, a hardware column as codes and values): the columnar file's content."""
    archive: Archive = state.archive
    objectives = archive.column("objectives")
    hardware = _hardware_columns(state.problem, archive.column("X"))
    return [
        np.arange(len(archive), dtype=np.float64),
        archive.column("generation").astype(np.float64),
        archive.column("feasible").astype(np.float64),
        archive.column("cv").astype(np.float64),
        *(columnar.parsed_column(codes, texts) for codes, texts in hardware),
        # float64 columns as they are (a copy of 10^6 rows each costs more than writing it)
        *(np.asarray(objectives[:, j], dtype=np.float64) for j in range(objectives.shape[1])),
        *(np.asarray(archive.column(name), dtype=np.float64) for name in _metric_names(state)),
    ]


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


def write_results(
    out: Path,
    state: SearchState,
    resolved: dict[str, Any],
    *,
    evaluations: EvaluationsCsv | None = None,
) -> dict[str, Any]:
    """Write every result file of a (finished or interrupted) run, summary.json last (it
    marks the run done); returns the summary. ``evaluations``: the run's evaluations.csv
    written as it went (else written now, as that would). The CSV's last rows are formatted
    in the second process (when they are many) while the other files are written."""
    out = Path(out)
    columns = design_columns(state)
    csv_file = evaluations or EvaluationsCsv(out)
    try:
        csv_file.append(state, background=True)
        write_atomic(out / PARETO, csv_text(columns, []) + design_csv(state, pareto_rows(state)))
        history = [[_cell(h[k]) for k in HISTORY_COLUMNS] for h in state.history]
        write_atomic(out / HISTORY, csv_text(list(HISTORY_COLUMNS), history))
        data = summary(state, resolved)
        columnar.write(
            out / EVALUATIONS,
            columns,
            _design_arrays(state),
            complete_csv=lambda: csv_file.finish(state),
        )
    finally:
        csv_file.close()
    write_atomic(out / SUMMARY, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return data


def write_config(out: Path, resolved: dict[str, Any]) -> None:
    write_atomic(Path(out) / CONFIG, yaml.safe_dump(resolved, sort_keys=False))


def save_checkpoint(out: Path, state: SearchState, resolved: dict[str, Any]) -> None:
    """Write the checkpoint of ``state`` (a run of the configuration ``resolved``) whole."""
    write_checkpoint(out, checkpoint.encode(state, resolved))


def write_checkpoint(out: Path, data: checkpoint.Checkpoint) -> None:
    """Write a checkpoint's files, all on disk before any is renamed into place, the JSON last
    (a crash between the renames leaves a set the JSON's SHA-256s detect as torn). Chunks the
    JSON does not name, and a legacy ``checkpoint.pkl``, go."""
    out = Path(out)
    write_atomic_many({out / name: data for name, data in data.files().items()})
    (out / LEGACY_CHECKPOINT).unlink(missing_ok=True)
    chunks = out / checkpoint.CHUNKS_DIR
    if chunks.is_dir():
        keep = {Path(c.file).name for c in data.chunks}
        for path in chunks.iterdir():
            if path.name not in keep:
                path.unlink()


def _measured(rates: list[float], rate: float) -> None:
    """Keep the last ``RATE_WINDOW`` measurements (the first replaces the assumed rate)."""
    if len(rates) == 1 and rates[0] in (CSV_ROW_S, CHECKPOINT_ROW_S):
        rates.clear()
    rates.append(rate)
    del rates[:-RATE_WINDOW]


CSV_BLOCK_ROWS = 65_536  # rows formatted at a time
#: Appends of at least this many rows are formatted in a second process
#: (:class:`~evodse.experiment.csvlines.Formatter`): about 60 ms of formatting, against the
#: second of CPU time that process takes to start (it imports evodse).
BACKGROUND_ROWS = 5_000
PENDING_ROWS = 4 * CSV_BLOCK_ROWS  # rows waiting in the second process, at most


class EvaluationsCsv:
    """evaluations.csv written as the run goes: the rows of each append are formatted (in
    blocks of equal size, at most ``CSV_BLOCK_ROWS``; with ``background``, a block of
    ``BACKGROUND_ROWS`` or more, or any block while others are there, in a second process, at
    most ``PENDING_ROWS`` rows waiting there, appended in order as they come back) and
    appended to a hidden partial file, which :meth:`finish` completes and renames into place
    (the same bytes as writing it at once). Measures its seconds of formatting and appending
    per row (:meth:`seconds_per_row`)."""

    def __init__(self, out: Path):
        self.path = Path(out) / EVALUATIONS
        self.partial = Path(out) / f".{EVALUATIONS}.partial"
        self.rows = 0  # archive rows in the partial file or being formatted
        self._started = False
        self._formatter = csvlines.Formatter()
        self._pending: deque[csvlines.Block] = deque()  # blocks in the second process, in order
        self._rates = [CSV_ROW_S]  # seconds of formatting per row (RATE_WINDOW measured)

    @property
    def pending_rows(self) -> int:
        """Rows the second process is formatting."""
        return sum(block.rows for block in self._pending)

    def seconds_per_row(self) -> float:
        """The median of the last measured seconds of formatting and writing per row."""
        return statistics.median(self._rates)

    def append(self, state: SearchState, *, background: bool = False) -> None:
        """Append the rows evaluated since the last call (the header first)."""
        if not self._started:
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            self.partial.write_text(csv_text(design_columns(state), []), encoding="utf-8")
            self._started, self.rows = True, 0
        self._collect()
        n = len(state.archive)
        blocks = -(-(n - self.rows) // CSV_BLOCK_ROWS)  # bounded memory, blocks of equal size
        for rows in np.array_split(np.arange(self.rows, n), blocks) if blocks > 0 else ():
            cells = design_cells(state, rows)
            block = None
            # a small block follows pending ones to the second process: formatted here, it
            # would wait for them (the file's rows stay in order)
            if background and (len(rows) >= BACKGROUND_ROWS or self._pending):
                block = self._formatter.submit(cells, self.partial)
            if block is None:
                text, seconds = csvlines.timed_lines(cells)
                self._collect(keep_rows=0)  # the file's rows stay in order
                self._write(text.encode("utf-8"), seconds, rows=len(rows))
            else:
                self._pending.append(block)
                self._collect(keep_rows=PENDING_ROWS)
        self.rows = max(self.rows, n)

    def _collect(self, *, keep_rows: float = math.inf) -> None:
        """Take the blocks whose lines are in the partial file, in order, waiting for more
        until at most ``keep_rows`` rows are pending."""
        while self._pending and (self._pending[0].done() or self.pending_rows > keep_rows):
            block = self._pending.popleft()
            seconds = block.wait()
            if block.rows >= MEASURE_ROWS:
                _measured(self._rates, seconds / block.rows)

    def _write(self, data: bytes, seconds: float, *, rows: int) -> None:
        start = time.perf_counter()
        with self.partial.open("ab") as fh:
            fh.write(data)
        if rows >= MEASURE_ROWS:
            _measured(self._rates, (seconds + time.perf_counter() - start) / rows)

    @property
    def in_background(self) -> bool:
        """Whether big appends are formatted in the second process (it has not failed)."""
        return not self._formatter.failed

    def close(self) -> None:
        """Stop the second process (blocks still there are dropped)."""
        self._formatter.close()

    def finish(self, state: SearchState) -> None:
        """Append the last rows and rename the file into place."""
        try:
            self.append(state)
            self._collect(keep_rows=0)
        finally:
            self.close()
        with self.partial.open("ab") as fh:
            os.fsync(fh.fileno())
        os.replace(self.partial, self.path)
        self._started, self.rows = False, 0


class RunWriter:
    """Writes one run's directory as it goes: checkpoints that append what is new since the
    last sealed chunk, and evaluations.csv's new rows; measures what the run's last writes
    will take (:attr:`~evodse.search.driver.SearchState.reserve_s`)."""

    def __init__(
        self, out: Path, resolved: dict[str, Any], *, chunks: Sequence[checkpoint.Chunk] = ()
    ):
        self.out = Path(out)
        self.resolved = resolved
        self.config_sha256 = checkpoint.config_hash(resolved)
        self.chunks = tuple(chunks)
        self.evaluations = EvaluationsCsv(self.out)
        self.last_checkpoint_s = 0.0  # the last checkpoint's wall time
        # seconds per row of a checkpoint's tail, as measured on at least MEASURE_ROWS rows
        # (the median of the last RATE_WINDOW)
        self._checkpoint_rates = [CHECKPOINT_ROW_S]

    @classmethod
    def resuming(cls, out: Path, resolved: dict[str, Any]) -> RunWriter:
        """The writer of a run continued from its (checked) checkpoint in ``out``."""
        header = json.loads((Path(out) / CHECKPOINT).read_text("utf-8"))
        chunks = [checkpoint.Chunk(**c) for c in header["chunks"]]
        return cls(out, resolved, chunks=chunks)

    def append_rows(self, state: SearchState) -> None:
        """Append the rows evaluated since the last call to evaluations.csv (formatted in a
        second process where they are many)."""
        self.evaluations.append(state, background=True)

    def checkpoint(self, state: SearchState) -> None:
        """Write the checkpoint of ``state``."""
        start = time.perf_counter()
        tail_rows = len(state.archive) - sum(c.rows for c in self.chunks)
        data = checkpoint.encode(
            state,
            self.resolved,
            sealed=self.chunks,
            incremental=True,
            config_sha256=self.config_sha256,
        )
        write_checkpoint(self.out, data)
        self.chunks = data.chunks
        self.last_checkpoint_s = time.perf_counter() - start
        if tail_rows >= MEASURE_ROWS:
            _measured(self._checkpoint_rates, self.last_checkpoint_s / tail_rows)

    def reserve_s(self, state: SearchState) -> float:
        """What :meth:`finish` would take now, at the costs per row measured: the rows not yet
        in evaluations.csv (in the second process, formatted while the rest is written: the
        larger of the two), the checkpoint's tail, ``RESULTS_ROW_S`` per archived design and
        ``FINISH_S``."""
        n = len(state.archive)
        tail = n - sum(c.rows for c in self.chunks)
        csv_rows = max(n - self.evaluations.rows, self.evaluations.pending_rows)
        csv_s = csv_rows * self.evaluations.seconds_per_row()
        rest_s = tail * statistics.median(self._checkpoint_rates) + n * RESULTS_ROW_S
        together = max(csv_s, rest_s) if self.evaluations.in_background else csv_s + rest_s
        return together + FINISH_S

    def finish(self, state: SearchState) -> dict[str, Any]:
        """The last checkpoint and every result file (evaluations.csv's last rows formatted
        in the second process meanwhile); returns the summary."""
        self.evaluations.append(state, background=True)
        write_checkpoint(
            self.out,
            checkpoint.encode(
                state,
                self.resolved,
                sealed=self.chunks,
                incremental=True,
                config_sha256=self.config_sha256,
            ),
        )
        return write_results(self.out, state, self.resolved, evaluations=self.evaluations)


def has_checkpoint(out: Path) -> bool:
    """Whether ``out`` holds a checkpoint (of any format, loadable or not)."""
    return any((Path(out) / name).exists() for name in (CHECKPOINT, LEGACY_CHECKPOINT))


def read_checkpoint(out: Path) -> checkpoint.Checkpoint:
    """A checkpoint's files as bytes (unchecked: for sending to a worker, which checks; the
    chunks are those its JSON names, if it names them as expected)."""
    check_legacy(out)
    data = _read(out, CHECKPOINT)
    try:
        names = [c["file"] for c in json.loads(data)["chunks"]]
        names = [n for n in names if isinstance(n, str) and n.startswith(checkpoint.CHUNKS_DIR)]
    except (ValueError, TypeError, KeyError):
        names = []  # the worker reports the problem
    return checkpoint.Checkpoint(
        json=data,
        arrays=_read(out, CHECKPOINT_ARRAYS),
        new_chunks={name: _read(out, name) for name in names},
    )


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
