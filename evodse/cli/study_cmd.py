"""``evodse study NAME|all [--config PATH] [--out DIR] [--quick] [--docs DIR]``: run a study end
to end (its searches and its analysis), writing CSV, JSON and figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from evodse.cli.common import require


def register_study(sub) -> None:
    from evodse.studies import STUDIES

    p = sub.add_parser(
        "study",
        help="run a study: many DNNs one configuration, simultaneous DNNs, network improvement",
    )
    p.add_argument("name", choices=[*STUDIES, "all"], help="which study")
    p.add_argument(
        "--config", default=None, help="experiment .yaml (default: experiments/study_NAME.yaml)"
    )
    p.add_argument("--out", default=None, help="output folder (default: runs/studies/NAME)")
    p.add_argument("--quick", action="store_true", help="smoke budget (seconds, not minutes)")
    p.add_argument("--docs", default=None, help="also write the study pages into this folder")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=_study)


def _study(args: argparse.Namespace) -> int:
    from evodse.studies import STUDIES, run_study
    from evodse.studies.report import write_pages

    names = list(STUDIES) if args.name == "all" else [args.name]
    require(args.config is None or len(names) == 1, "--config needs a single study", key="--config")
    log = (lambda _: None) if args.quiet else print
    results, outs = {}, {}
    for name in names:
        if args.out is None:
            outs[name] = Path("runs") / "studies" / name
        else:
            outs[name] = Path(args.out) / name if len(names) > 1 else Path(args.out)
        results[name] = run_study(
            name, config=args.config, out=outs[name], quick=args.quick, log=log
        )
        print(f"{name}: {_headline(name, results[name])} -> {outs[name]}")
    if args.docs is not None:
        for path in write_pages(results, outs, Path(args.docs)):
            print(f"wrote {path}")
    return 0


def _headline(name: str, r: dict) -> str:
    if name == "multi_dnn":
        lo, hi = r["improvement_min"], r["improvement_max"]
        plo, phi = r["paper_range"]
        return (
            f"geomean configuration beats the single-DNN ones by {100 * lo:.1f}% to "
            f"{100 * hi:.1f}% (paper {100 * plo:.1f}% to {100 * phi:.1f}%)"
        )
    if name == "simultaneous":
        p = r.get("partitioned")
        if p is None:
            return "no partitioned design met every deadline"
        s = r["sequential_same_hardware"]
        return (
            f"partitioned makespan {1e3 * p['makespan_s']:.2f} ms vs sequential round "
            f"{1e3 * s['round_s']:.2f} ms on the same hardware ({s['round_over_makespan']:.2f}x)"
        )
    if name == "llm_serving":
        from evodse.studies.llm_serving import headline

        return headline(r)
    return f"{r['workload']}: {r['cost_metric']} {-100 * r['gain']:+.1f}% at no capacity loss"
