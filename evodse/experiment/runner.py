"""Run experiments: one search per seed, each into its own run directory.

One seed: the run directory is ``out`` itself. Several seeds: ``out/seed_<N>/`` each, plus
``out/seeds.csv`` summarizing them (hypervolume under the seeds' common normalization, recorded
in ``out/hypervolume.json``: :mod:`evodse.experiment.compare`).

With the experiment key ``refine``, the final front is then re-simulated with a detailed
simulator (:func:`evodse.validation.refine_run`), adding the ``validation*`` files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.experiment import compare, rundir
from evodse.experiment.config import Experiment, load_experiment, parse_seeds
from evodse.experiment.progress import Progress
from evodse.hardware.template import Accelerator
from evodse.search.driver import SearchState, finished, new_state, run_search

CHECKPOINT_EVERY_S = 2.0
CHECKPOINT_SHARE = 0.05  # at most this share of a run's time in checkpoints


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


def run(
    config: str | Path | Mapping[str, Any] | Experiment,
    *,
    out: str | Path | None = None,
    seed: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> RunResult:
    """Run one seed of an experiment (``seed``, or the config's first) and write its run dir."""
    experiment = config if isinstance(config, Experiment) else load_experiment(config)
    seeds = None if seed is None else [seed]
    (result,) = run_seeds(
        experiment, out=out, seeds=seeds, resume=resume, overwrite=overwrite, progress=progress
    )
    return result


def run_seeds(
    config: str | Path | Mapping[str, Any] | Experiment,
    *,
    out: str | Path | None = None,
    seeds: list[int] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> list[RunResult]:
    """Run every seed (of the config, or ``seeds``); see the module docstring for the layout."""
    experiment = config if isinstance(config, Experiment) else load_experiment(config)
    check_flags(resume=resume, overwrite=overwrite)
    seeds = (
        experiment.seeds if seeds is None else parse_seeds(list(seeds), source=None, key="seeds")
    )
    out_dir = Path(out) if out is not None else default_out(experiment.name, resume or overwrite)
    dirs = {s: out_dir if len(seeds) == 1 else out_dir / f"seed_{s}" for s in seeds}
    check_out_dir(out_dir)
    if resume:
        check_resumable(out_dir, list(dirs.values()))
    for s, run_dir in dirs.items():  # every run directory is checked before anything runs
        _check_run_dir(experiment, s, run_dir, resume=resume, overwrite=overwrite)
    results = [
        _run_one(experiment, s, run_dir, resume=resume, progress=progress)
        for s, run_dir in dirs.items()
    ]
    if len(seeds) == 1:
        return results
    compare.write_seeds(out_dir, results)
    return results


def check_flags(*, resume: bool, overwrite: bool) -> None:
    """``--resume`` and ``--overwrite`` exclude each other."""
    if resume and overwrite:
        raise InputError(
            "cannot be combined with --overwrite (--resume continues a run, --overwrite "
            "replaces it)",
            key="--resume",
        )


def check_out_dir(
    out: Path, *, source: str | None = None, key: str = "--out", what: str = "the run directory"
) -> None:
    """``out`` (or the first of its parents that exists) must be a folder; ``source`` and
    ``key`` name where ``out`` was given (default: the ``--out`` flag)."""
    for path in (Path(out), *Path(out).parents):
        if path.exists():
            if not path.is_dir():
                problem = "is a file" if path == Path(out) else f"is inside the file {path}"
                raise InputError(
                    f"{out} {problem}; expected a folder ({what})"
                    if source
                    else f"{problem}; expected a folder ({what})",
                    source=source or str(out),
                    key=key,
                )
            return


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


def _check_run_dir(
    experiment: Experiment, seed: int, out_dir: Path, *, resume: bool, overwrite: bool
) -> None:
    """Refuse an existing run without --resume or --overwrite; check the checkpoint to resume
    (legacy format, seed, configuration, every array) without replaying it."""
    if resume and rundir.has_checkpoint(out_dir):
        rundir.load_checkpoint(out_dir, experiment, seed, replay=False)
        return
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


def _run_one(
    experiment: Experiment, seed: int, out_dir: Path, *, resume: bool, progress: bool
) -> RunResult:
    started = time.perf_counter()  # the run's time counts from here (time_s)
    problem = experiment.build_problem()
    resolved = experiment.resolved(problem, seed)
    state = rundir.load_checkpoint(out_dir, experiment, seed, problem) if resume else None
    if state is None:
        state = new_state(problem, experiment.algorithm, experiment.options, seed)
        rundir.write_config(out_dir, resolved)
        writer = rundir.RunWriter(out_dir, resolved)
    else:
        writer = rundir.RunWriter.resuming(out_dir, resolved)
    bar = Progress(f"{experiment.name}[seed {seed}]", experiment.termination) if progress else None
    on_generation = checkpointing(writer, bar)
    try:
        if not finished(state, experiment.termination):  # else: rewrite the results
            state.elapsed_s += time.perf_counter() - started  # building, loading, replaying
            state.reserve_s = writer.reserve_s(state)
            run_search(state, experiment.termination, on_generation=on_generation)
    except KeyboardInterrupt:
        writer.finish(state)
        raise
    finally:
        if bar is not None:
            bar(state, force=True)
            bar.close()
    data = writer.finish(state)
    if experiment.refine is not None:  # two-fidelity last step: validation*.{csv,json,png}
        from evodse.validation.run import refine_run

        refine_run(out_dir, state, experiment.refine, progress=progress)
    return result_from_state(out_dir, state, data)


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
    rows = rundir.pareto_rows(state)
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
