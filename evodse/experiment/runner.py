"""Run experiments: one search per seed, each into its own run directory, on any executor.

One seed: the run directory is ``out`` itself. Several seeds: ``out/seed_<N>/`` each, plus
``out/seeds.csv`` summarizing them (hypervolume under the seeds' common normalization, recorded
in ``out/hypervolume.json``: :mod:`evodse.experiment.compare`).

Where runs execute is the ``executor`` (:mod:`evodse.experiment.executors`; the argument, else
the experiment's ``executor`` key, else ``local``): ``local`` runs them here one after the
other; a parallel executor (``processes``, ``dask``) gets several runs as tasks (plain data in,
the final state's checkpoint out: :func:`run_task`), and a single run runs here with populations
larger than the executor's ``chunk_size`` evaluated in chunks on its workers. A run's result
depends only on its configuration and seed, never on the executor, and only this process writes
files.

With the experiment key ``refine``, the final front is then re-simulated with a detailed
simulator (:func:`evodse.validation.run.refine_run`), here, after the run's files are written,
whatever the executor; it adds the ``validation*`` files.

:func:`execute` is the one engine: :func:`run_seeds` and the grids of
:mod:`evodse.experiment.sweep` both run through it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from evodse.errors import InputError
from evodse.experiment import checkpoint as ckpt
from evodse.experiment import compare, rundir
from evodse.experiment.config import Experiment, experiment_from_dict, parse_seeds
from evodse.experiment.executors import Executor, ExecutorSpec, make_executor
from evodse.experiment.progress import Progress
from evodse.hardware.template import Accelerator
from evodse.runfiles import check_out_dir, pareto_rows
from evodse.search.driver import SearchState, finished, new_state, run_search
from evodse.validation.run import refine_run
from evodse.yamlio import load_yaml

CHECKPOINT_EVERY_S = 2.0
CHECKPOINT_SHARE = 0.05  # at most this share of a run's time in checkpoints
_USER_MODULE_PREFIX = "evodse_user_"  # how config.py names modules of `problem: file.py:Class`

#: Where runs execute: an open :class:`Executor` (left open), a spec, a name or mapping (as the
#: ``executor`` key), or None for the experiment's own (else local).
ExecutorArg = Executor | ExecutorSpec | str | Mapping[str, Any] | None
#: How a run directory is to be run: from scratch, from its checkpoint, or already done.
Plan = tuple[Literal["new", "resume", "done"], dict[str, Any] | None]
#: ``on_run(index, point, summary, state)``: a run finished (``state`` None: found done).
OnRun = Callable[[int, "RunPoint", dict[str, Any], SearchState | None], None]


class SweepError(RuntimeError):
    """Some runs failed on the executor (the others finished and were written)."""


def default_out(name: str, reuse: bool) -> Path:
    """``runs/<name>``; when that already holds a run (and is not being resumed or
    overwritten), the first free ``runs/<name>-<N>``, so a repeated command never fails and
    never overwrites."""
    base = Path("runs") / name
    if reuse or not base.exists():
        return base
    n = 2
    while (base.parent / f"{name}-{n}").exists():
        n += 1
    return base.parent / f"{name}-{n}"


@dataclass(frozen=True)
class RunResult:
    """A finished run: its front as arrays and decoded designs, and where its files are."""

    out_dir: Path
    seed: int
    objective_columns: list[str]
    F: np.ndarray  # (n_front, n_obj) true-sign objectives, sorted by the first
    X: np.ndarray  # (n_front, n_var) design-space indices
    designs: list[Accelerator]
    summary: dict[str, Any]
    state: SearchState = field(repr=False)

    @property
    def hypervolume(self) -> float:
        """The run's own hypervolume (normalized by its first feasible front: compare runs
        with :mod:`evodse.experiment.compare`)."""
        return float(self.summary["hypervolume"])

    @property
    def knee(self) -> Accelerator | None:
        knee = self.summary["knee"]
        return None if knee is None else Accelerator(**knee["hardware"])


@dataclass(frozen=True)
class ExperimentSource:
    """A validated experiment and the YAML mapping it came from (``data`` None for an
    :class:`Experiment` given as an object): runs sent to other processes as tasks are
    validated again there from ``data``."""

    experiment: Experiment
    data: dict[str, Any] | None = None
    source: str = "config"
    base_dir: Path = field(default_factory=Path.cwd)


def load_source(
    config: str | Path | Mapping[str, Any] | Experiment | ExperimentSource,
) -> ExperimentSource:
    """Read and validate an experiment (a file, a mapping or an :class:`Experiment`). A file
    with a ``grid:`` section is a sweep: an error that says to run it with ``evodse sweep``."""
    if isinstance(config, ExperimentSource):
        return config
    if isinstance(config, Experiment):
        return ExperimentSource(experiment=config, source=config.source or "config")
    if isinstance(config, Mapping):
        data, source, base_dir = dict(config), "config", Path.cwd()
    else:
        path = Path(config)
        data, source, base_dir = load_yaml(path), str(path), path.parent
    if isinstance(data, Mapping) and "grid" in data:
        command = (
            f"evodse sweep {source}"
            if source != "config"
            else "evodse.experiment.sweep.run_sweep(grid_from_dict(config))"
        )
        raise InputError(
            f"an experiment with a grid: section is a sweep of several runs; run it with {command}",
            source=source,
            key="grid",
        )
    experiment = experiment_from_dict(data, source=source, base_dir=base_dir)
    data = {k: v for k, v in data.items() if k != "executor"}
    return ExperimentSource(
        experiment=experiment, data=data, source=source, base_dir=base_dir.resolve()
    )


@dataclass(frozen=True)
class RunPoint:
    """One run: its label, run directory and validated experiment (one seed), and the
    experiment mapping a task re-validates on a worker (``data`` None: runs here only)."""

    label: str  # e.g. "seed 3", or a grid's "algorithm=nsga2/seed=3"
    axes: dict[str, Any]  # a table's columns -> value labels (the seed as an int)
    out_dir: Path
    data: dict[str, Any] | None  # the run's experiment mapping (raw YAML, one seed, no executor)
    source: str
    base_dir: Path
    experiment: Experiment

    @property
    def seed(self) -> int:
        return self.experiment.seeds[0]

    def resolved(self, state: SearchState | None = None) -> dict[str, Any]:
        problem = state.problem if state is not None else self.experiment.build_problem()
        return self.experiment.resolved(problem, self.seed)


def run(
    config: str | Path | Mapping[str, Any] | Experiment | ExperimentSource,
    *,
    out: str | Path | None = None,
    seed: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    executor: ExecutorArg = None,
) -> RunResult:
    """Run one seed of an experiment (``seed``, or the config's first) and write its run dir."""
    source = load_source(config)
    seeds = [seed] if seed is not None else list(source.experiment.seeds[:1])
    (result,) = run_seeds(
        source,
        out=out,
        seeds=seeds,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        executor=executor,
    )
    return result


def run_seeds(
    config: str | Path | Mapping[str, Any] | Experiment | ExperimentSource,
    *,
    out: str | Path | None = None,
    seeds: list[int] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    executor: ExecutorArg = None,
) -> list[RunResult]:
    """Run every seed (of the config, or ``seeds``) on ``executor``; see the module docstring
    for the layout. Every run directory is checked before anything runs."""
    source = load_source(config)
    experiment = source.experiment
    check_flags(resume=resume, overwrite=overwrite)
    seeds = (
        list(experiment.seeds)
        if seeds is None
        else parse_seeds(list(seeds), source=None, key="seeds")
    )
    out_dir = Path(out) if out is not None else default_out(experiment.name, resume or overwrite)
    check_out_dir(out_dir)
    points = [
        RunPoint(
            label=f"seed {s}",
            axes={"seed": s},
            out_dir=out_dir if len(seeds) == 1 else out_dir / f"seed_{s}",
            data=None if source.data is None else {**source.data, "seeds": [s]},
            source=source.source,
            base_dir=source.base_dir,
            experiment=replace(experiment, seeds=(s,)),
        )
        for s in seeds
    ]
    if resume:
        check_resumable(out_dir, [p.out_dir for p in points])
    plans = [_plan(p, resume=resume, overwrite=overwrite) for p in points]
    finished_runs: dict[int, tuple[SearchState, dict[str, Any]]] = {}

    def keep(i: int, point: RunPoint, summary: dict[str, Any], state: SearchState | None) -> None:
        finished_runs[i] = (state, summary)

    with using_executor(executor, experiment.executor) as runner:
        execute(points, plans, runner, progress=progress, on_run=keep)
    results = [result_from_state(p.out_dir, *finished_runs[i]) for i, p in enumerate(points)]
    if len(seeds) > 1:
        compare.write_seeds(out_dir, results)
    return results


@contextlib.contextmanager
def using_executor(executor: ExecutorArg, default: ExecutorSpec | None) -> Iterator[Executor]:
    """``executor`` as an open :class:`Executor` (``default``, else local, for None); one
    made here is closed on exit, one given open is left open."""
    if isinstance(executor, Executor):
        yield executor
        return
    made = make_executor(executor if executor is not None else default)
    try:
        yield made
    finally:
        made.close()


def check_flags(*, resume: bool, overwrite: bool) -> None:
    """``--resume`` and ``--overwrite`` exclude each other."""
    if resume and overwrite:
        raise InputError(
            "cannot be combined with --overwrite (--resume continues a run, --overwrite "
            "replaces it)",
            key="--resume",
        )


def check_resumable(out: Path, run_dirs: list[Path]) -> None:
    """``--resume`` needs a checkpoint in at least one of the run directories (those without
    one start anew)."""
    if not any(rundir.has_checkpoint(d) for d in run_dirs):
        where = rundir.CHECKPOINT if run_dirs == [Path(out)] else f"seed_<N>/{rundir.CHECKPOINT}"
        raise InputError(
            f"no checkpoint to resume (expected {where}); run without --resume",
            source=str(out),
            key="--resume",
        )


def _plan(point: RunPoint, *, resume: bool, overwrite: bool) -> Plan:
    """Refuse an existing run without --resume or --overwrite; check the checkpoint to resume
    (legacy format, seed, configuration, every array) without replaying it."""
    out_dir = point.out_dir
    if resume and rundir.has_checkpoint(out_dir):
        rundir.load_checkpoint(out_dir, point.experiment, point.seed, replay=False)
        return "resume", None
    existing = (out_dir / rundir.SUMMARY).exists() or rundir.has_checkpoint(out_dir)
    if resume and existing:
        check_resumable(out_dir, [out_dir])
    if existing and not overwrite:
        raise InputError(
            "already holds a run; pass --resume to continue it, --overwrite to replace "
            "it, or choose another --out",
            source=str(out_dir),
            key="--out",
        )
    return "new", None


def execute(
    points: Sequence[RunPoint],
    plans: Sequence[Plan],
    executor: Executor,
    *,
    progress: bool = False,
    on_run: OnRun | None = None,
) -> dict[int, dict[str, Any]]:
    """Run the points not yet done (``plans``: each point's, checked by the caller); returns
    every point's summary by index.

    ``on_run(index, point, summary, state)`` is called in this process as each run finishes
    (``state`` None for a run planned "done"), after its files and its ``refine`` step are
    written. On a parallel executor several runs go out as tasks: failed ones do not stop the
    others, and the first failure is raised at the end (:class:`SweepError`, or the task's
    :class:`InputError`). One run left, or points without ``data``, run here.
    """
    summaries: dict[int, dict[str, Any]] = {}
    for i, (kind, summary) in enumerate(plans):
        if kind == "done":
            summaries[i] = summary
            if on_run is not None:
                on_run(i, points[i], summary, None)
    pending = [i for i, (kind, _) in enumerate(plans) if kind != "done"]
    as_tasks = (
        executor.parallel and len(pending) > 1 and all(points[i].data is not None for i in pending)
    )
    if not as_tasks:
        for i in pending:
            state, summaries[i] = _run_here(
                points[i], executor, resume=plans[i][0] == "resume", progress=progress
            )
            _refine(points[i], state, progress=progress)
            if on_run is not None:
                on_run(i, points[i], summaries[i], state)
        return summaries

    payloads = [
        {
            "data": points[i].data,
            "source": points[i].source,
            "base_dir": str(points[i].base_dir),
            "seed": points[i].seed,
            "checkpoint": checkpoint_payload(points[i].out_dir)
            if plans[i][0] == "resume"
            else None,
        }
        for i in pending
    ]
    failures: list[tuple[RunPoint, BaseException]] = []
    for j, result, error in executor.run_tasks(run_task, payloads):
        i = pending[j]
        if error is not None:
            failures.append((points[i], error))
            continue
        state, summaries[i] = _write_task_result(points[i], result)
        _refine(points[i], state, progress=progress)
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


def _run_here(
    point: RunPoint, executor: Executor, *, resume: bool, progress: bool
) -> tuple[SearchState, dict[str, Any]]:
    """Run one search in this process (from its checkpoint when ``resume``), checkpointing as
    it goes, and write its run directory; a parallel executor evaluates populations larger
    than its ``chunk_size`` in chunks on its workers. Returns the state and its summary."""
    started = time.perf_counter()  # the run's time counts from here (time_s)
    experiment, out_dir = point.experiment, point.out_dir
    problem = experiment.build_problem()
    resolved = experiment.resolved(problem, point.seed)
    state = rundir.load_checkpoint(out_dir, experiment, point.seed, problem) if resume else None
    if state is None:
        state = new_state(problem, experiment.algorithm, experiment.options, point.seed)
        rundir.write_config(out_dir, resolved)
        writer = rundir.RunWriter(out_dir, resolved)
    else:
        writer = rundir.RunWriter.resuming(out_dir, resolved)
    runner = executor.chunk_runner()
    if runner is not None:
        modules = _user_modules(type(state.problem))
        state.attach_runner(_PortableChunkRunner(runner, modules), executor.spec.chunk_size)
    bar = (
        Progress(f"{experiment.name}[{point.label}]", experiment.termination) if progress else None
    )
    try:
        if not finished(state, experiment.termination):  # else: rewrite the results
            state.elapsed_s += time.perf_counter() - started  # building, loading, replaying
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
    return state, writer.finish(state)


def _write_task_result(
    point: RunPoint, result: Mapping[str, bytes]
) -> tuple[SearchState, dict[str, Any]]:
    """Write the run directory of a run a task finished (its final checkpoint, checked like a
    file read from the run directory); returns the state and its summary (``summary.json``,
    written last, marks the run done)."""
    encoded = ckpt.Checkpoint(json=result["json"], arrays=result["arrays"])
    files = {ckpt.JSON_FILE: encoded.json, ckpt.ARRAYS_FILE: encoded.arrays}
    state = ckpt.load_run(
        files.__getitem__,
        where=point.out_dir,
        experiment=point.experiment,
        seed=point.seed,
        replay=False,
    )
    resolved = point.resolved(state)
    rundir.write_config(point.out_dir, resolved)
    rundir.write_checkpoint(point.out_dir, encoded)
    return state, rundir.write_results(point.out_dir, state, resolved)


def _refine(point: RunPoint, state: SearchState, *, progress: bool) -> None:
    """The experiment's two-fidelity last step (``refine``): validation*.{csv,json,png}."""
    if point.experiment.refine is not None:
        refine_run(point.out_dir, state, point.experiment.refine, progress=progress)


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


def checkpointing(writer: rundir.RunWriter, bar: Progress | None) -> Callable[[SearchState], None]:
    """The ``on_generation`` of a run: the progress bar; evaluations.csv's new rows every
    ``CHECKPOINT_EVERY_S`` seconds; a checkpoint as often, or less often when it takes more
    than ``CHECKPOINT_SHARE`` of the time between two; and the time the run's last writes
    need (``reserve_s``), which the ``time_s`` budget keeps free."""
    last_save = last_rows = time.monotonic()

    def on_generation(state: SearchState) -> None:
        nonlocal last_save, last_rows
        if bar is not None:
            bar(state)
        if time.monotonic() - last_rows >= CHECKPOINT_EVERY_S:
            writer.append_rows(state)
            last_rows = time.monotonic()
        every_s = max(CHECKPOINT_EVERY_S, writer.last_checkpoint_s / CHECKPOINT_SHARE)
        if time.monotonic() - last_save >= every_s:
            writer.checkpoint(state)
            last_save = time.monotonic()
        state.reserve_s = writer.reserve_s(state)

    return on_generation


def result_from_state(out_dir: Path, state: SearchState, data: dict[str, Any]) -> RunResult:
    """A :class:`RunResult` from a search state and its summary."""
    rows = pareto_rows(state)
    X = state.archive.column("X")[rows].astype(np.int64)
    problem = state.problem
    return RunResult(
        out_dir=out_dir,
        seed=state.seed,
        objective_columns=state.problem.objective_columns,
        F=state.archive.column("objectives")[rows],
        X=X,
        designs=[
            Accelerator(**problem.describe(x, name=f"design_{r}")["hardware"])
            for x, r in zip(X, rows, strict=True)
        ],
        summary=data,
        state=state,
    )


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
