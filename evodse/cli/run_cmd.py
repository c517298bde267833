"""``evodse run EXPERIMENT.yaml [--out DIR] [--resume] [--seed N] [--executor NAME]
[--scheduler tcp://HOST:PORT] [--allow-infeasible]``.

A run whose constraints left no evaluated design feasible names the binding constraint and how
close the nearest design came, and exits with status 1 (its files are written) unless
``--allow-infeasible`` (or the experiment key ``allow_infeasible: true``) makes it a warning.

An experiment file with a ``grid:`` section is a sweep of several runs: ``evodse run`` refuses
it in one line that names ``evodse sweep FILE``, which runs it. Runs that fail on a parallel
executor are named in one line (exit status 1); the others are written.
"""

from __future__ import annotations

import argparse
import sys

from evodse.cli.common import _nonnegative_int
from evodse.experiment.compare import compare_results as compare
from evodse.experiment.executors import EXECUTORS, executor_from_cli
from evodse.experiment.runner import RunResult, SweepError, load_source, run_seeds
from evodse.hardware.template import design_summary
from evodse.search.feasibility import explain_infeasible


def register_run(sub) -> None:
    p = sub.add_parser("run", help="run an experiment (one search per seed)")
    p.add_argument("experiment", help="experiment .yaml")
    p.add_argument("--out", default=None, help="run directory (default: runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--seed", type=_nonnegative_int, default=None, help="run only this seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--executor", choices=EXECUTORS, default=None, help="where runs execute (default: local)"
    )
    p.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT", help="Dask scheduler (means dask)"
    )
    p.add_argument(
        "--allow-infeasible",
        action="store_true",
        help="a run without any feasible design exits 0 with a warning (default: exit 1)",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    source = load_source(args.experiment)  # a file with a grid: section is refused here
    experiment = source.experiment
    try:
        results = run_seeds(
            source,
            out=args.out,
            seeds=None if args.seed is None else [args.seed],
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.quiet,
            executor=executor_from_cli(experiment.executor, args.executor, args.scheduler),
        )
    except SweepError as exc:  # runs failed on the executor (the finished ones are written)
        print(f"evodse: error: {exc}", file=sys.stderr)
        return 1
    # one seed: the run's own hypervolume; several: all under the seeds' common normalization
    compared = compare(results) if len(results) > 1 else None
    for i, r in enumerate(results):
        s = r.summary
        hv = s["hypervolume"] if compared is None else compared.hypervolume[i]
        print(
            f"{s['name']} seed {r.seed}: {s['algorithm']}, {s['evaluations']} designs evaluated "
            f"({s['space_size']:,} in the space), front of {s['front_size']}, "
            f"hypervolume {hv:.4f}, {s['wall_time_s']:.1f} s -> {r.out_dir}"
        )
        if s["knee"] is not None:
            hw = s["knee"]["hardware"]
            objs = ", ".join(f"{k}={v:.4g}" for k, v in s["knee"]["objectives"].items())
            print(f"  knee: {design_summary(hw)}: {objs}")
    if compared is not None:
        print(compared.describe())
    allow = args.allow_infeasible or experiment.allow_infeasible
    return report_infeasible([(str(r.out_dir), infeasibility(r)) for r in results], allow=allow)


def infeasibility(result: RunResult) -> str | None:
    """Why a finished run has no feasible design (None when it has one)."""
    return explain_infeasible(result.state.problem, result.state.archive)


def report_infeasible(runs: list[tuple[str, str | None]], *, allow: bool) -> int:
    """One stderr line per run without a feasible design: an error (exit status 1) unless
    ``allow`` makes it a warning (exit status 0)."""
    bad = [(where, why) for where, why in runs if why is not None]
    for where, why in bad:
        if allow:
            print(f"evodse: warning: {where}: {why}", file=sys.stderr)
        else:
            print(
                f"evodse: error: {where}: {why}; the results are written; loosen the "
                "constraints, or pass --allow-infeasible to accept such a run",
                file=sys.stderr,
            )
    return 1 if bad and not allow else 0
