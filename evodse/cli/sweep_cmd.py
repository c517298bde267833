"""``evodse sweep GRID.yaml [--out DIR] [--executor NAME] [--scheduler tcp://HOST:PORT]
[--workers N] [--overwrite] [--dry-run] [--quiet] [--allow-infeasible]``: run an experiment
grid. Runs without a feasible design are named (as ``evodse run`` does) and make the exit
status 1 unless ``--allow-infeasible`` or the experiment key ``allow_infeasible: true``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from evodse.cli.common import _positive_int, print_table
from evodse.cli.run_cmd import report_infeasible
from evodse.errors import InputError
from evodse.experiment.executors import EXECUTORS, executor_from_cli


def register_sweep(sub) -> None:
    p = sub.add_parser(
        "sweep", help="run an experiment grid (seeds x workloads x algorithms x budgets ...)"
    )
    p.add_argument("grid", help="grid .yaml (or an experiment .yaml with a grid: section)")
    p.add_argument("--out", default=None, help="sweep folder (default: the file's out: or runs/)")
    p.add_argument(
        "--executor", choices=EXECUTORS, default=None, help="where runs execute (default: local)"
    )
    p.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT", help="Dask scheduler (means dask)"
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="processes pool / dask LocalCluster size (default: CPUs)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="rerun runs already finished or of another config"
    )
    p.add_argument("--dry-run", action="store_true", help="list the runs and their state, run none")
    p.add_argument("--quiet", action="store_true", help="no line per finished run")
    p.add_argument(
        "--allow-infeasible",
        action="store_true",
        help="runs without any feasible design exit 0 with a warning (default: exit 1)",
    )
    p.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from evodse.experiment.runner import SweepError
    from evodse.experiment.sweep import load_grid, plan_run, run_sweep
    from evodse.search.feasibility import explain_infeasible

    grid = load_grid(args.grid, out=args.out)
    spec = executor_from_cli(grid.executor, args.executor, args.scheduler, args.workers)
    if args.dry_run:
        rows = []
        for point in grid.points:
            try:
                kind, _ = plan_run(point, overwrite=args.overwrite)
                state = {"done": "done", "resume": "resume", "new": "to run"}[kind]
            except InputError:
                state = "other config (--overwrite)"
            rows.append([point.label, state])
        print_table(["run", "state"], rows)
        print(f"{len(grid.points)} runs -> {grid.out} on {spec.describe()}")
        return 0
    total = len(grid.points)
    start = time.monotonic()
    done = [0]

    infeasible: dict[int, tuple[str, str, bool]] = {}

    def report(i: int, point: Any, summary: dict[str, Any], state: Any) -> None:
        if summary["feasible_evaluations"] == 0 and summary["constraints"]:
            why = None if state is None else explain_infeasible(state.problem, state.archive)
            why = why or f"no feasible design among {summary['evaluations']} evaluated"
            infeasible[i] = (str(point.out_dir), why, point.experiment.allow_infeasible)
        done[0] += 1
        if args.quiet:
            return
        what = "already done" if state is None else f"{summary['wall_time_s']:.1f} s"
        print(  # no hypervolume here: the table compares every run under one normalization
            f"[{done[0]}/{total}] {point.label}: {summary['evaluations']} designs, front of "
            f"{summary['front_size']} ({what})",
            file=sys.stderr,
        )

    def header() -> None:  # once every run directory is checked: no line before an error
        if not args.quiet:
            print(f"{total} runs -> {grid.out} on {spec.describe()}", file=sys.stderr)

    try:
        result = run_sweep(
            grid, executor=spec, overwrite=args.overwrite, on_run=report, on_start=header
        )
    except SweepError as exc:
        print(f"evodse: error: {exc}", file=sys.stderr)
        return 1
    table = [[*row[:-5], row[-5], row[-4], float(row[-3]), float(row[-2])] for row in result.rows]
    print_table(result.columns[:-1], table)
    if result.compared is not None:
        print(result.compared.describe())
    print(
        f"{result.ran} runs computed, {result.skipped} already done, "
        f"{time.monotonic() - start:.1f} s -> {result.out / 'sweep.csv'}"
    )
    runs = [infeasible[i][:2] for i in sorted(infeasible)]
    allow = args.allow_infeasible or all(entry[2] for entry in infeasible.values())
    return report_infeasible(runs, allow=allow)
