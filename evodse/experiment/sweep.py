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

Runs execute through the engine of ``evodse run`` (:func:`evodse.experiment.runner.execute`):
as tasks on the executor (:mod:`evodse.experiment.executors`): a task gets the run's experiment
as plain data (and the checkpoint to continue from, as data:
:mod:`evodse.experiment.checkpoint`) and returns the finished search state's checkpoint; only
this process (the client) writes files, then runs the experiment's ``refine`` step. When only
one run is left to do, it runs here and a large population is evaluated in chunks on the
executor's workers instead.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from evodse.errors import InputError
from evodse.experiment import compare, rundir
from evodse.experiment.config import Experiment, experiment_from_dict, parse_seeds
from evodse.experiment.executors import Executor, ExecutorSpec, parse_executor
from evodse.experiment.runner import OnRun, Plan, RunPoint, execute, using_executor
from evodse.runfiles import check_out_dir, csv_text, write_atomic_many
from evodse.search.algorithms import default_options
from evodse.search.driver import SearchState
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
OTHER_RUN_HINT = "pass --overwrite to replace it, or choose another --out"
_LABEL_MAX = 60


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


def plan_run(point: RunPoint, *, overwrite: bool, hint: str = OTHER_RUN_HINT) -> Plan:
    """("done", summary) | ("resume", None) | ("new", None) for a grid's run directory: a
    finished run is done, an interrupted one resumes, one of another configuration is refused
    (``hint`` says what to do) unless ``overwrite``."""
    out = point.out_dir
    summary_path, checkpoint = out / rundir.SUMMARY, rundir.has_checkpoint(out)
    if overwrite or not (summary_path.exists() or checkpoint):
        return "new", None
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
        if summary.get("stopped_by") is not None:
            return "done", summary
    if not checkpoint:
        return "new", None
    # checked before anything runs: legacy pickle, seed, configuration, arrays (not replayed)
    rundir.load_checkpoint(out, point.experiment, point.seed, replay=False)
    return "resume", None


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
    on_run: OnRun | None = None,
    on_start: Callable[[], None] | None = None,
) -> SweepResult:
    """Run every run of a grid not already finished and write ``sweep.csv``.

    ``executor``: an :class:`Executor` (left open), a spec, or None for the grid's own (a spec
    or None starts and closes its executor here). Every run directory is checked before any
    run starts, then ``on_start()`` is called; ``on_run``: as
    :func:`evodse.experiment.runner.execute` calls it.
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
        write_atomic_many(
            {
                grid.out / compare.HYPERVOLUME_JSON: compared.json_text(),
                grid.out / SWEEP_CSV: csv_text(columns, rows),
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

    plans = [plan_run(p, overwrite=overwrite) for p in grid.points]
    if on_start is not None:
        on_start()
    try:
        with using_executor(executor, grid.executor) as runner:
            execute(grid.points, plans, runner, progress=progress, on_run=record)
    finally:
        if done:
            write()
    return SweepResult(
        out=grid.out,
        columns=columns,
        rows=table["rows"],
        ran=counts["ran"],
        skipped=counts["skipped"],
        compared=table["compared"],
    )
