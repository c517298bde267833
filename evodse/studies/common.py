"""Shared plumbing of the studies: budgets, running searches into run directories, output files."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.experiment.config import Experiment, load_experiment
from evodse.experiment.runner import RunResult, run
from evodse.runfiles import csv_text, write_atomic
from evodse.search.driver import Termination

#: --quick: population and generations of every search (a smoke run of the whole study)
QUICK_POP = 20
QUICK_GENERATIONS = 10

Log = Callable[[str], None]


def quiet(_: str) -> None:
    """A log function that says nothing."""


def load_study_config(path: str | Path) -> Experiment:
    """The study's experiment (an ordinary experiment YAML)."""
    return load_experiment(path)


def budgeted(experiment: Experiment, quick: bool) -> Experiment:
    """The experiment as configured, or with the --quick budget."""
    if not quick:
        return experiment
    pop = min(int(experiment.options.get("pop_size", 100)), QUICK_POP)
    return dataclasses.replace(
        experiment,
        options={**experiment.options, "pop_size": pop},
        termination=Termination(generations=QUICK_GENERATIONS),
        seeds=experiment.seeds[:1],
    )


def search(experiment: Experiment, out: Path, log: Log) -> RunResult:
    """Run the experiment's first seed into ``out`` (replacing an older run there)."""
    start = time.perf_counter()
    result = run(experiment, out=out, overwrite=True)
    s = result.summary
    log(
        f"  {experiment.name}: {s['evaluations']} designs evaluated, front of "
        f"{s['front_size']}, {time.perf_counter() - start:.1f} s -> {out}"
    )
    return result


def feasible_rows(result: RunResult) -> np.ndarray:
    """Archive row ids of the run's feasible designs."""
    return np.flatnonzero(result.state.archive.column("feasible"))


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    write_atomic(path, csv_text(list(columns), [[_cell(v) for v in r] for r in rows]))


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(plain(data), indent=2, allow_nan=False) + "\n")


def _cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays to Python, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def new_figure(width: float = 6.4, height: float = 4.0):
    """A matplotlib figure without pyplot (no GUI backend involved)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path: Path) -> None:
    """Save a small PNG atomically."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_atomic(path, buf.getvalue())


def require(condition: bool, message: str, *, source: str | None, key: str) -> None:
    if not condition:
        raise InputError(message, source=source, key=key)


def study_problem(
    config: str | Path, quick: bool, problem_class: type, study: str
) -> tuple[Experiment, Any]:
    """The study's experiment (budgeted) and its problem, which must be a ``problem_class``."""
    exp = budgeted(load_study_config(config), quick)
    problem = exp.build_problem()
    require(
        isinstance(problem, problem_class),
        f"the {study} study needs problem: {problem_class.__module__}:{problem_class.__name__}",
        source=str(config),
        key="problem",
    )
    return exp, problem


def search_record(exp, problem) -> dict[str, Any]:
    """What every study's results say of its search: constraints, the space (its size, the
    hardware values that vary, the base design) and the algorithm with its options and
    termination."""
    return {
        "constraints": problem.constraint_labels,
        "space_size": problem.space_size,
        "space": space_table(problem),
        "base": problem.design_space.base.to_dict(),
        "algorithm": exp.algorithm,
        "options": exp.options,
        "termination": dataclasses.asdict(exp.termination),
    }


def space_table(problem) -> dict[str, list]:
    """The hardware parameters that vary and their values (extra variables are listed by the
    studies themselves)."""
    space = problem.design_space
    hardware = getattr(space, "hardware", space)
    return {} if hardware is None else {p.name: list(p.values) for p in hardware.parameters}


def pct(x: float) -> str:
    """A ratio minus one as a signed percentage with one decimal."""
    return f"{100 * x:+.1f}%"
