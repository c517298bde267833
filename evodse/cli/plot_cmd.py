"""``evodse plot RUN_DIR... [--format pdf|png|svg] [--out DIR]`` and ``evodse report RUN_DIR``.

Both read a run directory's files; nothing is re-run (the per-design figures evaluate the one
chosen design with the cost model). A directory holding run directories (``seed_*`` runs, a
sweep) stands for those runs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from evodse.errors import InputError

_KIND_NAMES = (
    "pareto",
    "pareto_pairs",
    "pareto_3d",
    "parallel",
    "convergence",
    "layers",
    "breakdown",
    "roofline",
    "crosseval",
)


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in _KIND_NAMES]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"unknown figure {bad[0] if bad else text!r}; expected a comma-separated list of "
            f"{', '.join(_KIND_NAMES)}"
        )
    return kinds


def _design_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a design id (an integer >= 0), got {text!r}")
    return value


def register_plot(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="draw a run's figures (Pareto front, convergence, per-design breakdowns)",
        description="Draw figures from run directories. Several runs (or a directory holding "
        "runs: seed_* runs, a sweep) share one convergence figure; each run also gets its own "
        "figures.",
    )
    p.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run directory, or a directory of runs"
    )
    p.add_argument("--format", choices=("pdf", "png", "svg"), default="pdf", help="default: pdf")
    p.add_argument(
        "--out",
        default=None,
        help="output folder (default: RUN_DIR/figures; several runs: <common parent>/figures)",
    )
    p.add_argument(
        "--design",
        type=_design_id,
        default=None,
        metavar="ID",
        help="design (evaluations.csv id) of the per-design figures (default: the knee point)",
    )
    p.add_argument(
        "--only",
        type=_kinds,
        default=None,
        metavar="KINDS",
        help=f"comma-separated subset of: {', '.join(_KIND_NAMES)}",
    )
    p.set_defaults(handler=_plot)


def register_report(sub) -> None:
    p = sub.add_parser(
        "report", help="write an HTML (or Markdown) report: summary, top designs, figures"
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory")
    p.add_argument("--format", choices=("html", "md"), default=None, help="default: html")
    p.add_argument("--out", default=None, help="report file (default: RUN_DIR/report.<format>)")
    p.add_argument(
        "--design",
        type=_design_id,
        default=None,
        metavar="ID",
        help="design of the per-design figures (default: the knee point)",
    )
    p.add_argument("--top", type=int, default=10, help="designs in the table (default: 10)")
    p.add_argument(
        "--only",
        type=_kinds,
        default=None,
        metavar="KINDS",
        help=f"comma-separated subset of the figures: {', '.join(_KIND_NAMES)}",
    )
    p.set_defaults(handler=_report)


def _headless() -> None:
    import matplotlib

    if "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")


def _plot(args: argparse.Namespace) -> int:
    _headless()
    from evodse.plots import figures as figs
    from evodse.plots.convergence import convergence
    from evodse.plots.rundata import expand_run_dirs, load_run
    from evodse.runfiles import check_out_dir

    start = time.perf_counter()
    dirs = expand_run_dirs(args.run_dirs)
    runs = [load_run(d) for d in dirs]
    kinds = figs.check_kinds(args.only)
    if args.design is not None and len(runs) > 1:
        raise InputError("--design needs a single run directory", key="--design")
    several = len(runs) > 1
    if args.out is not None:
        out = Path(args.out)
    elif several:
        out = Path(os.path.commonpath([str(d.resolve()) for d in dirs])) / "figures"
    else:
        out = dirs[0] / "figures"
    check_out_dir(out, key="--out", what="the figures folder")
    written: list[Path] = []
    skipped: dict[str, str] = {}
    if several and "convergence" in kinds:
        # runs compare only with the same workloads and objectives: one figure per such set
        parts: dict[tuple, list] = {}
        for run in runs:
            if run.feasible.any():
                key = (tuple(run.workloads), tuple(run.objective_columns), tuple(run.maximize))
                parts.setdefault(key, []).append(run)
        for i, part in enumerate(parts.values(), start=1):
            stem = "convergence" if len(parts) == 1 else f"convergence_{i}"
            written.append(figs.save_figure(convergence(part), out / f"{stem}.{args.format}"))
    per_run = [k for k in kinds if not (several and k == "convergence")]
    if per_run:
        base = Path(os.path.commonpath([str(d.resolve()) for d in dirs])) if several else None
        for d, run in zip(dirs, runs, strict=True):
            target = out
            if several:
                rel = d.resolve().relative_to(base)
                target = out / ("_".join(rel.parts) or d.name)
            drawn = figs.run_figures(run, design=args.design, kinds=per_run, skipped=skipped)
            written += figs.save_figures(drawn, target, args.format)
    for path in written:
        print(path)
    for kind, reason in skipped.items():
        if args.only is not None:  # asked for explicitly: say why it is missing
            print(f"skipped {kind}: {reason}")
    print(
        f"{len(written)} figure(s) from {len(runs)} run(s) in {time.perf_counter() - start:.1f} s"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    _headless()
    from evodse.plots.report import write_report

    if args.top < 1:
        raise InputError(f"expected a positive integer, got {args.top}", key="--top")
    path = write_report(
        args.run_dir,
        args.out,
        fmt=args.format,
        design=args.design,
        top=args.top,
        kinds=args.only,
    )
    print(path)
    return 0
