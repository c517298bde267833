"""Experiment grids: many runs from one file, on any executor, each in its own run directory,
plus ``sweep.csv`` summarizing them.

A grid file::

    experiment: quickstart.yaml          # the base experiment: a path (relative to this file)
                                         # or an inline mapping
    grid:                                # axis -> list of values; every combination is a run
      workloads: [[resnet50], [mobilenet_v2, resnet18]]
      algorithm: [nsga2, {name: nsga3, pop_size: 92}]
      termination: [{generations: 40}, {evaluations: 8000}]
      seeds: [0, 1, 2]
    out: runs/my_sweep                   # optional (default runs/<file name>), relative to the
                                         # working directory; --out wins
    executor: {name: dask, scheduler: tcp://10.0.0.5:8786}   # optional (default: the base
                                         # experiment's, else local); CLI flags win

An experiment file with a ``grid:`` section (and optionally ``out:``) is a grid file too: the
rest of it is the base experiment. Axes are the experiment's keys ``workloads problem base
space objectives constraints algorithm termination refine seeds``. A value replaces the base's
key, except: an ``algorithm`` value (a name or ``{name, ...options}``) keeps the base's common
options (``pop_size`` ...) unless it sets them, or all of them when the name is the base's; a
``space`` value is merged parameter by parameter into the base's space. Without a ``seeds``
axis, the base experiment's ``seeds`` are the axis. Relative paths in values are resolved
against the grid file's folder.

Every run is validated before any starts (errors name the file, the run and the key). A run's
directory is ``OUT/<axis>=<value>/.../seed=<N>`` (axes in the order above, seed last), holding
the usual run files (:mod:`evodse.experiment.rundir`). ``OUT/sweep.csv`` has one row per finished
run (axis values, ``evaluations, front_size, hypervolume, wall_time_s, run_dir``), rewritten
atomically after every run. Its hypervolume is each run's under one normalization common to
the finished runs (of the same workloads and objectives), recorded in ``OUT/hypervolume.json``
(:mod:`evodse.experiment.compare`): the values change as runs finish, and compare with each
other, never with a run's own ``summary.json`` value.

Restarting a sweep skips finished runs (``summary.json`` of a completed search with the same
resolved configuration), continues interrupted ones from their checkpoint, and refuses a run
directory that holds another configuration unless ``overwrite``. A run's result depends only on
its configuration and seed, never on the executor: runs on a cluster equal local runs.

Runs execute as tasks on the executor (:mod:`evodse.experiment.executors`): a task gets the run's
experiment as plain data (and the checkpoint to continue from, as data:
:mod:`evodse.experiment.checkpoint`) and returns the finished search state's checkpoint; only
this process (the client) writes files. When only one run is left to do, it runs here and a
large population is evaluated in chunks on the executor's workers instead.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import itertools
import json
import os
import pickle
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from evodse.errors import InputError
from evodse.experiment import checkpoint as ckpt
from evodse.experiment import compare, rundir
from evodse.experiment.config import Experiment, experiment_from_dict, parse_seeds
from evodse.experiment.executors import (
    Executor,
    ExecutorSpec,
    make_executor,
    parse_executor,
)
from evodse.experiment.progress import Progress
from evodse.experiment.runner import (
    RunResult,
    check_flags,
    check_out_dir,
    check_resumable,
    checkpointing,
    default_out,
    result_from_state,
)
from evodse.search.algorithms import default_options
from evodse.search.driver import SearchState, finished, new_state, run_search
from evodse.yamlio import check_keys, load_yaml

SWEEP_CSV = "sweep.csv"
AXES = (
    "workloads",
    "problem",
    "base",
    "space",
    "objectives",
    "constraints",
    "algorithm",
    "termination",
    "refine",
    "seeds",
)
GRID_KEYS = ("experiment", "grid", "out", "executor")
RESULT_COLUMNS = ("evaluations", "front_size", "hypervolume", "wall_time_s", "run_dir")
_LABEL_MAX = 60
_USER_MODULE_PREFIX = "evodse_user_"  # how config.py names modules of `problem: file.py:Class`


class SweepError(RuntimeError):
    """Some runs failed on the executor (the others finished and were written)."""


@dataclass(frozen=True)
class RunPoint:
    """One run of a grid: its axis values, run directory and validated experiment."""

    label: str  # e.g. "algorithm=nsga2/seed=3"
    axes: dict[str, Any]  # sweep.csv column -> value label (the seed as an int)
    out_dir: Path
    data: dict[str, Any]  # the run's experiment mapping (raw YAML, one seed, no executor)
    source: str
    base_dir: Path
    experiment: Experiment

    @property
    def seed(self) -> int:
        return self.experiment.seeds[0]

    def resolved(self, state: SearchState | None = None) -> dict[str, Any]:
        problem = state.problem if state is not None else self.experiment.build_problem()
        return self.experiment.resolved(problem, self.seed)


@dataclass(frozen=True)
class Grid:
    """An expanded, validated grid."""

    source: str
    out: Path
    columns: tuple[str, ...]  # axis columns of sweep.csv
    points: tuple[RunPoint, ...]
    executor: ExecutorSpec | None = None


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: ``sweep.csv``'s columns and rows (one per finished run)."""

    out: Path
    columns: list[str]
    rows: list[list[Any]]
    ran: int  # runs computed now
    skipped: int  # runs already finished before
    compared: compare.Compared | None = None  # the hypervolume column's normalization


# --- grid files ----------------------------------------------------------------------------------


def load_grid(path: str | Path, *, out: str | Path | None = None) -> Grid:
    """Read, expand and validate a grid file (``out`` overrides its ``out:``)."""
    path = Path(path)
    return grid_from_dict(
        load_yaml(path), source=str(path), base_dir=path.parent, out=out, name=path.stem
    )


def grid_from_dict(
    data: Any,
    *,
    source: str = "grid",
    base_dir: Path | None = None,
    out: str | Path | None = None,
    name: str | None = None,
) -> Grid:
    """Expand and validate a grid mapping (module docstring); ``name`` names the default out."""
    base_dir = Path.cwd() if base_dir is None else Path(base_dir)
    if not isinstance(data, Mapping):
        check_keys(data, allowed=GRID_KEYS, source=source)
    if "experiment" in data:
        check_keys(data, allowed=GRID_KEYS, required=("grid",), source=source)
        spec = data["experiment"]
        if isinstance(spec, str):
            exp_path = _path(spec, base_dir)
            base, exp_source, exp_dir = load_yaml(exp_path), str(exp_path), exp_path.parent
        elif isinstance(spec, Mapping):
            base, exp_source, exp_dir = spec, source, base_dir
        else:
            raise InputError(
                "expected an experiment .yaml path or mapping", source=source, key="experiment"
            )
        if not isinstance(base, Mapping):
            raise InputError("expected a mapping", source=exp_source, key="top level")
        if "grid" in base:
            raise InputError(
                "a base experiment cannot have its own grid", source=exp_source, key="grid"
            )
        executor_raw, executor_source = (
            (data["executor"], source) if "executor" in data else (base.get("executor"), exp_source)
        )
    else:
        if "grid" not in data:
            raise InputError(
                "missing required key 'grid' (and 'experiment', or the experiment's own keys)",
                source=source,
                key="top level",
            )
        base = {k: v for k, v in data.items() if k not in ("grid", "out")}
        exp_source, exp_dir = source, base_dir
        executor_raw, executor_source = base.get("executor"), source
    executor = parse_executor(executor_raw, source=executor_source)
    base = {k: v for k, v in base.items() if k != "executor"}

    out_value = out if out is not None else data.get("out")
    if out_value is not None and not isinstance(out_value, (str, Path)):
        raise InputError("expected a folder path", source=source, key="out")
    default = name or (base.get("name") if isinstance(base.get("name"), str) else "sweep")
    out_dir = Path(out_value) if out_value is not None else Path("runs") / default
    if out is not None:
        check_out_dir(out_dir)
    else:
        check_out_dir(out_dir, source=source, key="out")

    grid = data["grid"]
    check_keys(grid, allowed=AXES, source=source, where="grid")
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InputError(
                "expected a non-empty list of values", source=source, key=f"grid.{axis}"
            )
    if "seeds" in grid:  # a grid axis must be a list
        if not isinstance(grid["seeds"], list):
            raise InputError("expected a list of seeds", source=source, key="grid.seeds")
        seeds = parse_seeds(grid["seeds"], source=source, key="grid.seeds")
    else:
        seeds = parse_seeds(base.get("seeds", [0]), source=exp_source, key="seeds")

    axes: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = []
    for axis in AXES:
        if axis == "seeds" or axis not in grid:
            continue
        overrides = [
            _override(axis, value, base, base_dir, source=source, key=f"grid.{axis}[{i}]")
            for i, value in enumerate(grid[axis])
        ]
        labels = _unique([_value_label(axis, value) for value in grid[axis]])
        axes.append((axis, list(zip(labels, overrides, strict=True))))
    columns = (*(a for a, _ in axes), "seed")

    points = []
    validated: dict[str, Experiment] = {}
    run_base_dir = exp_dir.resolve()
    for combo in itertools.product(*(values for _, values in axes)):
        run = copy.deepcopy(dict(base))
        for _, override in combo:
            run.update(copy.deepcopy(override))
        labels = {axis: label for (axis, _), (label, _) in zip(axes, combo, strict=True)}
        key = json.dumps(run, sort_keys=True, default=str)
        for seed in seeds:
            axis_labels = {**labels, "seed": seed}
            label = "/".join(f"{k}={v}" for k, v in axis_labels.items())
            if key not in validated:
                try:
                    validated[key] = experiment_from_dict(
                        {**run, "seeds": [seed]}, source=exp_source, base_dir=exp_dir
                    )
                except InputError as exc:
                    run_name = f"run {label}" + (
                        f" of {exp_source}" if exp_source != source else ""
                    )
                    where = exc.source if exc.source not in (None, exp_source) else None
                    raise InputError(
                        exc.detail, source=where or f"{source} ({run_name})", key=exc.key
                    ) from None
            points.append(
                RunPoint(
                    label=label,
                    axes=axis_labels,
                    out_dir=out_dir / label,
                    data={**run, "seeds": [seed]},
                    source=exp_source,
                    base_dir=run_base_dir,
                    experiment=replace(validated[key], seeds=(seed,)),
                )
            )
    return Grid(
        source=source, out=out_dir, columns=columns, points=tuple(points), executor=executor
    )


def _path(text: str, base_dir: Path) -> Path:
    path = Path(text)
    return path if path.is_absolute() else base_dir / path


def _abs(text: Any, base_dir: Path, suffixes: tuple[str, ...]) -> Any:
    """A path-like string (by suffix) made absolute against the grid file's folder."""
    if isinstance(text, str) and text.lower().endswith(suffixes):
        return str(_path(text, base_dir).resolve())
    return text


def _override(
    axis: str, value: Any, base: Mapping[str, Any], base_dir: Path, *, source: str, key: str
) -> dict[str, Any]:
    """The experiment keys one axis value sets."""
    if axis == "algorithm":
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, Mapping) or "name" not in value:
            raise InputError(
                "expected an algorithm name or {name, ...options}", source=source, key=key
            )
        old = base.get("algorithm", {"name": "nsga2"})
        old = (
            {"name": old} if isinstance(old, str) else dict(old) if isinstance(old, Mapping) else {}
        )
        if old.get("name") != value["name"]:
            old = {k: v for k, v in old.items() if k in default_options(value["name"])}
        return {"algorithm": {**old, **value}}
    if axis == "space":
        if not isinstance(value, Mapping):
            raise InputError("expected a mapping of space parameters", source=source, key=key)
        old = base.get("space")
        return {"space": {**(old if isinstance(old, Mapping) else {}), **value}}
    if axis == "workloads" and isinstance(value, list):
        out = []
        for w in value:
            if isinstance(w, Mapping) and "workload" in w:
                w = {**w, "workload": _abs(w["workload"], base_dir, (".onnx", ".yaml", ".yml"))}
            else:
                w = _abs(w, base_dir, (".onnx", ".yaml", ".yml"))
            out.append(w)
        return {"workloads": out}
    if axis == "base":
        return {"base": _abs(value, base_dir, (".yaml", ".yml"))}
    if axis == "problem" and isinstance(value, str) and ":" in value:
        module, cls = value.rsplit(":", 1)
        return {"problem": f"{_abs(module, base_dir, ('.py',))}:{cls}"}
    return {axis: value}


def _value_label(axis: str, value: Any) -> str:
    if axis == "algorithm" and isinstance(value, Mapping):
        rest = {k: v for k, v in value.items() if k != "name"}
        text = str(value.get("name")) + (f"_{_label(rest)}" if rest else "")
    elif axis == "workloads" and isinstance(value, list):
        text = "+".join(_workload_label(w) for w in value)
    elif axis in ("base", "problem") and isinstance(value, str):
        text = Path(value.rsplit(":", 1)[0]).stem if axis == "base" else value.rsplit(":", 1)[-1]
    else:
        text = _label(value)
    return _clean(text)


def _workload_label(w: Any) -> str:
    if isinstance(w, Mapping) and "workload" in w:
        rest = {k: v for k, v in w.items() if k != "workload"}
        return _workload_label(w["workload"]) + (f"_{_label(rest)}" if rest else "")
    text = str(w)
    return Path(text).stem if text.lower().endswith((".onnx", ".yaml", ".yml")) else text


def _label(value: Any) -> str:
    if isinstance(value, Mapping):
        return "_".join(f"{k}-{_label(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "+".join(_label(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if value is None or isinstance(value, bool) else str(value)


def _clean(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-.")
    if len(text) > _LABEL_MAX:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        text = f"{text[: _LABEL_MAX - 9]}-{digest}"
    return text


def _unique(labels: list[str]) -> list[str]:
    """Labels made distinct within an axis (1-based position appended when they collide)."""
    if all(labels) and len(set(labels)) == len(labels):
        return labels
    return [f"{label or 'v'}-{i + 1}" for i, label in enumerate(labels)]


# --- running ------------------------------------------------------------------------------------


def run_task(payload: Mapping[str, Any]) -> dict[str, bytes]:
    """One run, on a worker: validate the experiment, search (from the checkpoint if given:
    ``{"json", "arrays", "chunks", "where"}``, checked as a run directory's), and return the final
    state's checkpoint ``{"json", "arrays"}`` (:mod:`evodse.experiment.checkpoint`). Writes
    nothing."""
    experiment = experiment_from_dict(
        payload["data"], source=payload["source"], base_dir=Path(payload["base_dir"])
    )
    seed = payload["seed"]
    problem = experiment.build_problem()
    given = payload.get("checkpoint")
    if given is not None:
        files = {ckpt.JSON_FILE: given["json"], ckpt.ARRAYS_FILE: given["arrays"]}
        files.update(given.get("chunks", {}))
        state = ckpt.load_run(
            files.__getitem__,
            where=given["where"],
            experiment=experiment,
            seed=seed,
            problem=problem,
        )
    else:
        state = new_state(problem, experiment.algorithm, experiment.options, seed)
    if not finished(state, experiment.termination):
        run_search(state, experiment.termination)
    data = ckpt.encode(state, experiment.resolved(problem, seed))
    return {"json": data.json, "arrays": data.arrays}


def checkpoint_payload(out: Path) -> dict[str, Any]:
    """The checkpoint of run directory ``out`` as :func:`run_task` takes it (all its files)."""
    data = rundir.read_checkpoint(out)
    return {
        "json": data.json,
        "arrays": data.arrays,
        "chunks": dict(data.new_chunks),
        "where": str(out),
    }


def plan_run(
    point: RunPoint, *, resume: bool, overwrite: bool, hint: str, need_state: bool = False
) -> tuple[str, Any]:
    """("done", summary) | ("resume", None) | ("new", None) for a run directory (``need_state``:
    a finished run counts as done only with its checkpoint)."""
    out = point.out_dir
    summary_path, checkpoint = out / rundir.SUMMARY, rundir.has_checkpoint(out)
    if overwrite or not (summary_path.exists() or checkpoint):
        return "new", None
    if not resume:
        raise InputError(
            "already holds a run; pass --resume to continue it, --overwrite to replace it, or "
            "choose another --out",
            source=str(out),
            key="--out",
        )
    config = out / rundir.CONFIG
    try:
        recorded = yaml.safe_load(config.read_text("utf-8")) if config.exists() else None
    except (yaml.YAMLError, UnicodeDecodeError):  # unreadable: another configuration
        recorded = None
    if recorded != yaml.safe_load(yaml.safe_dump(point.resolved(), sort_keys=False)):
        raise InputError(
            f"holds a run of a different configuration or seed; {hint}",
            source=str(out),
            key=rundir.CONFIG,
        )
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text("utf-8"))
        except ValueError:
            summary = None
        if not isinstance(summary, dict):
            raise InputError(
                f"not a JSON object (corrupt or truncated); {hint}",
                source=str(summary_path),
            )
        if summary.get("stopped_by") is not None and (checkpoint or not need_state):
            if need_state:  # the caller loads the checkpoint: check it now
                rundir.load_checkpoint(out, point.experiment, point.seed, replay=False)
            return "done", summary
    if not checkpoint:
        return "new", None
    # checked before anything runs: legacy pickle, seed, configuration, arrays (not replayed)
    rundir.load_checkpoint(out, point.experiment, point.seed, replay=False)
    return "resume", None


def _finish(
    point: RunPoint,
    state: SearchState,
    *,
    progress: bool,
    encoded: ckpt.Checkpoint | None = None,
) -> dict[str, Any]:
    """Write a finished run's directory (the client's job; ``encoded``: the state's checkpoint
    as a task returned it), then the experiment's ``refine`` step as a local run does (here,
    it writes files too); returns the summary (``summary.json``, written last, marks the run
    done)."""
    resolved = point.resolved(state)
    rundir.write_config(point.out_dir, resolved)
    if encoded is not None:
        rundir.write_checkpoint(point.out_dir, encoded)
    else:
        rundir.save_checkpoint(point.out_dir, state, resolved)
    summary = rundir.write_results(point.out_dir, state, resolved)
    if point.experiment.refine is not None:
        from evodse.validation.run import refine_run

        refine_run(point.out_dir, state, point.experiment.refine, progress=progress)
    return summary


def _run_here(
    point: RunPoint,
    state: SearchState | None,
    executor: Executor,
    *,
    progress: bool,
) -> SearchState:
    """Run one search in this process, checkpointing as it goes; a parallel executor evaluates
    populations larger than its ``chunk_size`` in chunks on its workers."""
    experiment = point.experiment
    resuming = state is not None
    if state is None:
        state = new_state(
            experiment.build_problem(), experiment.algorithm, experiment.options, point.seed
        )
        rundir.write_config(point.out_dir, point.resolved(state))
    resolved = point.resolved(state)
    writer = (
        rundir.RunWriter.resuming(point.out_dir, resolved)
        if resuming
        else rundir.RunWriter(point.out_dir, resolved)
    )
    runner = executor.chunk_runner()
    if runner is not None:
        modules = _user_modules(type(state.problem))
        state.attach_runner(_PortableChunkRunner(runner, modules), executor.spec.chunk_size)
    bar = (
        Progress(f"{experiment.name}[{point.label}]", experiment.termination) if progress else None
    )
    try:
        if not finished(state, experiment.termination):  # else: rewrite the results
            state.reserve_s = writer.reserve_s(state)
            run_search(state, experiment.termination, on_generation=checkpointing(writer, bar))
    except KeyboardInterrupt:
        writer.finish(state)
        raise
    finally:
        if bar is not None:
            bar(state, force=True)
            bar.close()
        if runner is not None:
            state.attach_runner(None, state.evaluator.chunk_size)
    return state


def execute(
    points: Sequence[RunPoint],
    executor: Executor,
    *,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool = False,
    hint: str = "pass --overwrite to replace it, or choose another --out",
    need_state: bool = False,
    on_run: Callable[[int, RunPoint, dict[str, Any], SearchState | None], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> dict[int, dict[str, Any]]:
    """Run the points not yet done; returns every point's summary by index.

    Every run directory is checked before anything runs. ``on_run(index, point, summary,
    state)`` is called in this process as each run finishes (``state`` None for a run found
    finished). Failed runs do not stop the others; the first failure is raised at the end
    (:class:`SweepError`). ``resume``/``overwrite`` as in :func:`plan_run`; ``need_state``:
    a finished run without its checkpoint is run again (callers that rebuild results).
    ``on_start()`` is called once every run directory has passed its checks.
    """
    plans = [
        plan_run(p, resume=resume, overwrite=overwrite, hint=hint, need_state=need_state)
        for p in points
    ]
    if on_start is not None:
        on_start()
    summaries: dict[int, dict[str, Any]] = {}
    for i, (kind, summary) in enumerate(plans):
        if kind == "done":
            summaries[i] = summary
            if on_run is not None:
                on_run(i, points[i], summary, None)
    pending = [i for i, (kind, _) in enumerate(plans) if kind != "done"]

    def checkpoint(i: int) -> dict[str, Any] | None:
        return checkpoint_payload(points[i].out_dir) if plans[i][0] == "resume" else None

    if not executor.parallel or len(pending) == 1:
        for i in pending:
            point = points[i]
            state = None
            if plans[i][0] == "resume":
                state = rundir.load_checkpoint(point.out_dir, point.experiment, point.seed)
            state = _run_here(point, state, executor, progress=progress)
            summaries[i] = _finish(points[i], state, progress=progress)
            if on_run is not None:
                on_run(i, points[i], summaries[i], state)
        return summaries

    payloads = [
        {
            "data": points[i].data,
            "source": points[i].source,
            "base_dir": str(points[i].base_dir),
            "seed": points[i].seed,
            "checkpoint": checkpoint(i),
        }
        for i in pending
    ]
    failures: list[tuple[RunPoint, BaseException]] = []
    for j, result, error in executor.run_tasks(run_task, payloads):
        i = pending[j]
        if error is not None:
            failures.append((points[i], error))
            continue
        encoded = ckpt.Checkpoint(json=result["json"], arrays=result["arrays"])
        files = {ckpt.JSON_FILE: encoded.json, ckpt.ARRAYS_FILE: encoded.arrays}
        state = ckpt.load_run(  # checked like a file read from the run directory
            files.__getitem__,
            where=points[i].out_dir,
            experiment=points[i].experiment,
            seed=points[i].seed,
            replay=False,
        )
        summaries[i] = _finish(points[i], state, progress=progress, encoded=encoded)
        if on_run is not None:
            on_run(i, points[i], summaries[i], state)
    if failures:
        point, error = failures[0]
        if isinstance(error, InputError):
            raise error
        raise SweepError(
            f"{len(failures)} of {len(pending)} runs failed (finished runs are saved; run again "
            f"to retry the others); first: {point.label}: {error!r}"
        ) from error
    return summaries


def _csv_row(point: RunPoint, summary: Mapping[str, Any], hypervolume: float) -> list[Any]:
    return [
        *point.axes.values(),
        summary["evaluations"],
        summary["front_size"],
        repr(float(hypervolume)),
        repr(float(summary["wall_time_s"])),
        point.label,
    ]


def run_sweep(
    grid: Grid | str | Path,
    *,
    executor: Executor | ExecutorSpec | None = None,
    overwrite: bool = False,
    progress: bool = False,
    on_run: Callable[[int, RunPoint, dict[str, Any], SearchState | None], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> SweepResult:
    """Run every run of a grid not already finished and write ``sweep.csv``.

    ``executor``: an :class:`Executor` (left open), a spec, or None for the grid's own (a spec
    or None starts and closes its executor here).
    """
    grid = grid if isinstance(grid, Grid) else load_grid(grid)
    check_out_dir(grid.out)
    columns = [*grid.columns, *RESULT_COLUMNS]
    done: dict[int, tuple[RunPoint, dict[str, Any], Any]] = {}  # point, summary, front
    counts = {"ran": 0, "skipped": 0}
    table: dict[str, Any] = {"rows": [], "compared": None}

    def write() -> None:
        """sweep.csv and hypervolume.json, every finished run under one normalization."""
        order = sorted(done)
        compared = compare.compare([(done[i][0].label, done[i][1], done[i][2]) for i in order])
        rows = [
            _csv_row(done[i][0], done[i][1], hv)
            for i, hv in zip(order, compared.hypervolume, strict=True)
        ]
        rundir.write_atomic_many(
            {
                grid.out / compare.HYPERVOLUME_JSON: compared.json_text(),
                grid.out / SWEEP_CSV: rundir.csv_text(columns, rows),
            }
        )
        table.update(rows=rows, compared=compared)

    def record(i: int, point: RunPoint, summary: dict[str, Any], state: SearchState | None) -> None:
        done[i] = (point, summary, compare.read_front(point.out_dir, summary))
        counts["skipped" if state is None else "ran"] += 1
        if state is not None:
            write()
        if on_run is not None:
            on_run(i, point, summary, state)

    owned = not isinstance(executor, Executor)
    if owned:
        spec = executor if isinstance(executor, ExecutorSpec) else grid.executor
        executor = make_executor(spec or ExecutorSpec())
    try:
        execute(
            grid.points,
            executor,
            overwrite=overwrite,
            progress=progress,
            on_run=record,
            on_start=on_start,
        )
    finally:
        if done:
            write()
        if owned:
            executor.close()
    return SweepResult(
        out=grid.out,
        columns=columns,
        rows=table["rows"],
        ran=counts["ran"],
        skipped=counts["skipped"],
        compared=table["compared"],
    )


def run_experiment(
    config: str | Path | Mapping[str, Any],
    *,
    executor: Executor | ExecutorSpec | None = None,
    out: str | Path | None = None,
    seeds: list[int] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> list[RunResult]:
    """:func:`evodse.experiment.runner.run_seeds` on an executor: the same run directories
    (``out`` for one seed; ``out/seed_<N>/`` and ``out/seeds.csv`` for several) and results.

    Several seeds run as tasks on the executor; one seed runs here, with populations larger than
    the executor's ``chunk_size`` evaluated in chunks on its workers.
    """
    if isinstance(config, Mapping):
        data, source, base_dir = dict(config), "config", Path.cwd()
    else:
        path = Path(config)
        data, source, base_dir = load_yaml(path), str(path), path.parent
    experiment = experiment_from_dict(data, source=source, base_dir=base_dir)
    check_flags(resume=resume, overwrite=overwrite)
    data = {k: v for k, v in data.items() if k != "executor"}
    seeds = (
        experiment.seeds if seeds is None else parse_seeds(list(seeds), source=None, key="seeds")
    )
    out_dir = Path(out) if out is not None else default_out(experiment.name, resume or overwrite)
    check_out_dir(out_dir)
    points = [
        RunPoint(
            label=f"seed {s}",
            axes={"seed": s},
            out_dir=out_dir if len(seeds) == 1 else out_dir / f"seed_{s}",
            data={**data, "seeds": [s]},
            source=source,
            base_dir=base_dir.resolve(),
            experiment=replace(experiment, seeds=(s,)),
        )
        for s in seeds
    ]
    if resume:
        check_resumable(out_dir, [p.out_dir for p in points])
    states: dict[int, SearchState | None] = {}

    def keep(i: int, point: RunPoint, summary: dict[str, Any], state: SearchState | None) -> None:
        states[i] = state

    owned = not isinstance(executor, Executor)
    if owned:
        spec = executor if isinstance(executor, ExecutorSpec) else experiment.executor
        executor = make_executor(spec or ExecutorSpec())
    try:
        summaries = execute(
            points,
            executor,
            resume=resume,
            overwrite=overwrite,
            progress=progress,
            hint="run with --overwrite to replace it, or choose another --out",
            need_state=True,
            on_run=keep,
        )
    finally:
        if owned:
            executor.close()
    results = []
    for i, point in enumerate(points):
        state = states.get(i) or rundir.load_checkpoint(
            point.out_dir, point.experiment, point.seed, replay=False
        )
        results.append(result_from_state(point.out_dir, state, summaries[i]))
    if len(seeds) > 1:
        compare.write_seeds(out_dir, results)
    return results


# --- chunks of a population on workers --------------------------------------------------------


def _user_modules(cls: type) -> dict[str, str]:
    """The module of a ``problem: file.py:Class`` class, which workers import by path (its
    name is not importable there), or nothing for an importable class."""
    module = sys.modules.get(cls.__module__)
    if cls.__module__.startswith(_USER_MODULE_PREFIX) and getattr(module, "__file__", None):
        return {cls.__module__: os.path.abspath(module.__file__)}
    return {}


def _import_modules(modules: Mapping[str, str]) -> None:
    for name, path in modules.items():
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)


def call_chunk(modules: Mapping[str, str], function: bytes, chunk: Any) -> Any:
    """On a worker: import the user problem modules, then ``function(chunk)``."""
    _import_modules(modules)
    # process transport within the user's own executor (the client pickled it just now), like
    # the executor's own task transport; nothing read from a run directory is ever unpickled
    return pickle.loads(function)(chunk)


class _PortableChunkRunner:
    """Wraps a chunk runner so the evaluated function unpickles on workers that have not
    imported the experiment's problem file (its class pickles by reference): the function
    travels as bytes, unpickled only after :func:`call_chunk` imported that file."""

    def __init__(self, runner, modules: dict[str, str]):
        self.runner = runner
        self.modules = modules

    def __call__(self, function, chunks):
        if not self.modules:
            return self.runner(function, chunks)
        blob = pickle.dumps(function)
        return self.runner(partial(call_chunk, self.modules, blob), chunks)

    def __getstate__(self):
        return {"runner": None, "modules": self.modules}
