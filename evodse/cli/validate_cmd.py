"""``evodse validate RUN_DIR --backend scalesim|zigzag [--top N] [--by OBJECTIVE] [--ids 3,17]
[--jobs 2] [--max-cycles N] [--cache-dir DIR] [--no-figure] [--quiet]``."""

from __future__ import annotations

import argparse
import sys

from evodse.cli.common import _positive_int, print_table
from evodse.errors import InputError
from evodse.validation.spec import BACKENDS, DEFAULT_JOBS, DEFAULT_MAX_CYCLES


def register_validate(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="re-simulate a run's Pareto designs with a detailed simulator (SCALE-Sim, ZigZag)",
        description="Re-simulate the Pareto designs of RUN_DIR (or the top N by an objective) "
        "layer by layer with SCALE-Sim (default; writes validation.csv, validation_layers.csv, "
        "validation_summary.json and validation.png) or ZigZag (--backend zigzag; writes "
        "validation_zigzag.csv, validation_zigzag_layers.csv, validation_zigzag_summary.json) "
        "into RUN_DIR, in parallel processes with an on-disk cache. See docs/validation.md.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (holds config.yaml)")
    p.add_argument(
        "--backend", default="scalesim", metavar="NAME", help=f"simulator: {', '.join(BACKENDS)}"
    )
    p.add_argument(
        "--top",
        type=_positive_int,
        default=None,
        metavar="N",
        help="only the N best front designs (by --by)",
    )
    p.add_argument(
        "--by",
        default=None,
        metavar="OBJECTIVE",
        help="objective name or column for --top and the ranking (default: latency, else the "
        "first objective)",
    )
    p.add_argument(
        "--ids",
        default=None,
        metavar="ID,ID",
        help="validate these design ids of evaluations.csv instead of the front",
    )
    p.add_argument(
        "--jobs",
        type=_positive_int,
        default=DEFAULT_JOBS,
        metavar="N",
        help="simulator processes (default 2)",
    )
    p.add_argument(
        "--max-cycles",
        type=_positive_int,
        default=None,
        metavar="N",
        help="scalesim: skip layers whose simulation would count more stall-free cycles than "
        "this "
        f"(simulator_compute_cycles, repeats included; model cycles kept; default "
        f"{DEFAULT_MAX_CYCLES:,})",
    )
    p.add_argument(
        "--no-max-cycles", action="store_true", help="simulate every layer, however long"
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="simulation cache (default RUN_DIR/validation_cache)",
    )
    p.add_argument("--no-figure", action="store_true", help="do not write validation.png")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_validate)


def _ids(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        ids = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        ids = []
    if not ids or any(i < 0 for i in ids):
        raise InputError(f"expected comma-separated design ids, got {text!r}", key="--ids")
    return ids


def _validate(args: argparse.Namespace) -> int:
    from evodse.validation.run import validate_run

    if args.no_max_cycles and args.max_cycles is not None:
        raise InputError("cannot be combined with --max-cycles", key="--no-max-cycles")
    if args.ids is not None and args.top is not None:
        raise InputError("cannot be combined with --ids (the ids are the designs)", key="--top")
    max_cycles = DEFAULT_MAX_CYCLES if args.max_cycles is None else args.max_cycles
    if args.backend == "zigzag":
        if args.max_cycles is not None:
            raise InputError("applies to --backend scalesim only", key="--max-cycles")
        if args.no_max_cycles:
            raise InputError("applies to --backend scalesim only", key="--no-max-cycles")
        max_cycles = None

    v = validate_run(
        args.run_dir,
        backend=args.backend,
        top=args.top,
        by=args.by,
        ids=_ids(args.ids),
        jobs=args.jobs,
        max_cycles=None if args.no_max_cycles else max_cycles,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
        figure=not args.no_figure,
    )
    s = v.summary
    if args.backend == "zigzag":
        return _print_zigzag(v, args.run_dir)
    rows = [
        [
            r["design_id"],
            r["workload"],
            f"{r['simulated_layers']}/{r['gemm_layers']}",
            r["model_compute_cycles"],
            r["simulator_compute_cycles"],
            r["model_gemm_cycles"],
            r["simulator_gemm_cycles"],
            "-" if r["gemm_error"] is None else f"{r['gemm_error']:+.1%}",
            "-" if r["cycles_error"] is None else f"{r['cycles_error']:+.1%}",
        ]
        for r in v.design_rows
    ]
    print_table(
        [
            "id",
            "workload",
            "simulated",
            "model compute",
            "sim compute",
            "model cycles",
            "sim cycles",
            "error",
            "total error",
        ],
        rows,
    )
    tau = s["kendall_tau"]["latency"]
    err = s["error"]
    sims = s["simulations"]

    def pct(x):
        return "n/a" if x is None else f"{x:.1%}"

    print(
        f"{len(s['designs'])} designs: |error| simulated layers median "
        f"{pct(err['gemm']['median_abs'])}, max {pct(err['gemm']['max_abs'])}; compute-only max "
        f"{pct(err['compute']['max_abs'])}; Kendall tau (latency) "
        f"{'n/a' if tau is None else f'{tau:.3f}'}, order "
        f"{'preserved' if s['order_preserved'] else 'changed'}; leave the front: "
        f"{s['front']['leave_front'] or 'none'}"
    )
    print(
        f"simulations: {sims['simulated']} run, {sims['cached']} cached, {sims['failed']} failed, "
        f"{sims['skipped_layers']} layer(s) over --max-cycles -> {args.run_dir}/"
        f"{{{','.join(s['files'])}}}"
    )
    if sims["failed"]:
        print(f"evodse: warning: {sims['failed']} simulation(s) failed", file=sys.stderr)
    return 0


def _print_zigzag(v, run_dir: str) -> int:
    from evodse.validation.zigzag_backend import print_lines

    def pct(x):
        return "-" if x is None else f"{x:+.1%}"

    rows = [
        [
            r["design_id"],
            r["workload"],
            f"{r['simulated_layers']}/{r['gemm_layers']}",
            r["model_gemm_cycles"],
            r["zigzag_gemm_cycles"],
            pct(r["gemm_cycles_error"]),
            r["model_gemm_energy_pj"] * 1e-6,
            r["zigzag_gemm_energy_pj"] * 1e-6,
            pct(r["gemm_energy_error"]),
        ]
        for r in v.design_rows
    ]
    headers = ["id", "workload", "run", "model cycles", "zigzag cycles", "error"]
    print_table([*headers, "model uJ", "zigzag uJ", "error"], rows)
    for line in print_lines(v.summary):
        print(line)
    print(f"-> {run_dir}/{{{','.join(v.summary['files'])}}}")
    failed = v.summary["simulations"]["failed"]
    if failed:
        print(f"evodse: warning: {failed} ZigZag run(s) failed", file=sys.stderr)
    return 0
