"""Front quality per second, and what the default algorithm (``auto``) chooses and costs.

Usage::

    python benchmarks/wall_clock.py --processes 2          # both parts (about 40 min, 2 cores)
    python benchmarks/wall_clock.py --part per-second --spaces cnn-1e6 --seeds 3 --seconds 8
    python benchmarks/wall_clock.py --part default --defaults resnet50-4800 two-workload-145k
    python benchmarks/wall_clock.py --load results.json    # print the tables of a saved run

**Per second** (``--part per-second``): every method runs for ``--seconds`` of CPU time on each
benchmark space (those of ``benchmarks/search_quality.py``, whose cached exhaustive fronts are
the truth, plus ``mobile-1e5-4obj``), seeds 0..``--seeds``-1, one BLAS thread per process, and
its front (of everything it evaluated) is scored at CPU times ``--seconds`` x 2^-k: the
hypervolume ratio to the true front, median over seeds. CPU time of the one-threaded search
(``time.process_time``), not wall time, so that a shared machine does not skew the comparison;
on an idle core they agree. Methods run with no evaluation budget, as the default's
evolutionary algorithm does; ``auto`` is the default itself (on these spaces it picks an
evolutionary algorithm, or ``exhaustive`` where the whole space fits in a minute).

**The default** (``--part default``): ``evodse.run`` of an experiment naming no algorithm and no
termination, and of the same experiment with ``algorithm: exhaustive``, one after the other in
a fresh process each, on ``DEFAULT_SPACES``: wall time end to end (run directory included),
what ``auto`` chose and why, its evaluations, and the hypervolume ratio of its front to the
exhaustive (exact) one.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from search_quality import (
    BENCHMARKS,
    DEFAULT_CACHE,
    Benchmark,
    Scorer,
    parse_method,
    true_front,
    worker_pool,
)

from evodse.search.driver import new_state, step
from evodse.search.indicators import Normalization, hypervolume

EXTRA = {
    "mobile-1e5-4obj": replace(
        BENCHMARKS["mobile-1e5"],
        name="mobile-1e5-4obj",
        objectives=("latency", "energy", "area", "power"),
        note="mobile-1e5 with four objectives (which algorithm beyond three)",
    )
}
BENCHMARKS.update(EXTRA)  # search_quality's true_front looks benchmarks up by name
SPACES = BENCHMARKS
PER_SECOND_SPACES = ("mobile-1e5", "cnn-1e6", "transformer-1e7", "cnn-1e6-2obj", "mobile-1e5-4obj")
PER_SECOND_METHODS = ("auto", "nsga2", "smsemoa", "nsga3", "agemoea", "surrogate", "exhaustive")

_POW2_ARRAY = {"pow2": [8, 128]}
DEFAULT_SPACES: dict[str, dict[str, Any]] = {
    # the first space: ResNet-50; rows, columns, dataflow, ifmap and weight SRAM
    "resnet50-4800": {
        "workloads": ["resnet50"],
        "space": {
            "pe_rows": _POW2_ARRAY,
            "pe_cols": _POW2_ARRAY,
            "dataflow": ["ws", "os", "is"],
            "ifmap_sram_kib": {"pow2": [16, 2048]},
            "weight_sram_kib": {"pow2": [16, 2048]},
        },
    },
    # two workloads, 145,152 designs (the second space had that size)
    "two-workload-145k": {
        "workloads": ["resnet50", "mobilenet_v2"],
        "space": {
            "pe_rows": {"pow2": [4, 128]},
            "pe_cols": {"pow2": [4, 128]},
            "dataflow": ["ws", "os", "is"],
            "ifmap_sram_kib": {"pow2": [16, 2048]},
            "weight_sram_kib": {"pow2": [16, 2048]},
            "ofmap_sram_kib": {"pow2": [16, 64]},
            "dram_bandwidth_gbps": [3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8],
        },
    },
    "mobile-1e5": {"workloads": ["mobilenet_v2"], "space": BENCHMARKS["mobile-1e5"].space},
    "cnn-1e6": {"workloads": ["resnet50"], "space": BENCHMARKS["cnn-1e6"].space},
}


# ----------------------------------------------------------------------------- per second


def run_for(bench: Benchmark, spec: str, seed: int, seconds: float) -> dict[str, Any]:
    """One method for ``seconds`` of CPU time: (evaluations, CPU s) after every generation."""
    name, options = parse_method(spec)
    problem = bench.problem()
    state = new_state(problem, name, options, seed)
    start = time.process_time()
    marks = []
    while True:
        more = step(state)
        spent = time.process_time() - start
        marks.append((len(state.archive), spent))
        if spent >= seconds or len(state.archive) >= problem.space_size or not more:
            break
    return {
        "objectives": state.archive.column("objectives"),
        "marks": marks,
        "chosen": state.algorithm_name,
    }


def _per_second_job(args: tuple) -> dict[str, Any]:
    bench, spec, seed, seconds, truth, times = args
    run = run_for(bench, spec, seed, seconds)
    scorer = Scorer(truth, [o.maximize for o in bench.problem().objective_list])
    counts = []
    for t in times:
        done = [n for n, s in run["marks"] if s <= t]
        counts.append(max(done) if done else 0)
    curve = scorer.curve(run["objectives"], [max(c, 1) for c in counts])
    return {
        "benchmark": bench.name,
        "method": spec,
        "seed": seed,
        "chosen": run["chosen"],
        "times": list(times),
        "evaluations": counts,
        "hv_ratio": [0.0 if c == 0 else hv for c, (_, hv) in zip(counts, curve, strict=True)],
    }


def per_second(
    spaces: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    seconds: float,
    processes: int,
    cache: Path,
) -> dict[str, Any]:
    times = [seconds / 2**k for k in range(6, -1, -1)]
    out: dict[str, Any] = {"seconds": seconds, "times": times, "benchmarks": {}, "records": []}
    for name in spaces:
        bench = SPACES[name]
        # EXTRA spaces exist only in this process: their fronts are computed here
        front = true_front(bench, cache, processes=1 if name in EXTRA else processes)
        out["benchmarks"][name] = {"space_size": front.space_size, "front": len(front.X)}
        jobs = [
            (bench, m, s, seconds, front.objectives, times) for m in methods for s in range(seeds)
        ]
        started = time.perf_counter()
        if processes > 1:
            with worker_pool(processes) as pool:
                records = pool.map(_per_second_job, jobs)
        else:
            records = [_per_second_job(j) for j in jobs]
        out["records"] += records
        print(f"[{name}] {len(jobs)} runs in {time.perf_counter() - started:.0f} s", flush=True)
    return out


def per_second_table(out: dict[str, Any]) -> str:
    times = out["times"]
    lines = []
    order = list(SPACES)
    for name in sorted(out["benchmarks"], key=order.index):
        facts = out["benchmarks"][name]
        lines += [
            "",
            f"**{name}** ({facts['space_size']:,} designs, true front {facts['front']}): "
            "median HV ratio [median evaluations] after CPU seconds",
            "",
            "| method | " + " | ".join(f"{t:g} s" for t in times) + " |",
            "|---|" + "---:|" * len(times),
        ]
        methods = dict.fromkeys(r["method"] for r in out["records"] if r["benchmark"] == name)
        for method in methods:
            rs = [r for r in out["records"] if r["benchmark"] == name and r["method"] == method]
            hv = np.median([r["hv_ratio"] for r in rs], axis=0)
            n = np.median([r["evaluations"] for r in rs], axis=0)
            chosen = sorted({r["chosen"] for r in rs})
            label = method if method != "auto" else f"auto ({', '.join(chosen)})"
            cells = [f"{h:.4f} [{int(c):,}]" for h, c in zip(hv, n, strict=True)]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the default


def _run_once(args: tuple) -> dict[str, Any]:
    """``evodse.run`` of one experiment in this (fresh) process: its summary, the wall time
    end to end and the front's objectives."""
    import evodse

    config, out_dir = args
    started = time.perf_counter()
    result = evodse.run(config, out=out_dir)
    seconds = time.perf_counter() - started
    return {
        "summary": {k: result.summary[k] for k in ("algorithm", "evaluations", "wall_time_s")}
        | {"algorithm_choice": result.summary["algorithm_choice"]},
        "total_s": seconds,
        "front": result.F.tolist(),
        "maximize": [o.maximize for o in result.state.problem.objective_list],
    }


def default_vs_exhaustive(names: Sequence[str]) -> dict[str, Any]:
    rows = []
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            base = {
                "name": name,
                "base": "edge",
                "objectives": ["latency", "energy", "area"],
                **DEFAULT_SPACES[name],
            }
            runs = {}
            for label, extra in (("default", {}), ("exhaustive", {"algorithm": "exhaustive"})):
                with context.Pool(1) as pool:  # a fresh process: memory and imports
                    runs[label] = pool.apply(
                        _run_once, (({**base, **extra}, f"{tmp}/{name}-{label}"),)
                    )
            exact = np.asarray(runs["exhaustive"]["front"])
            norm = Normalization.of(exact, runs["exhaustive"]["maximize"])
            ratio = hypervolume(np.asarray(runs["default"]["front"]), norm) / hypervolume(
                exact, norm
            )
            row = {"space": name, "hv_ratio": ratio, **{k: runs[k] for k in runs}}
            for run in row.values():
                if isinstance(run, dict):
                    run.pop("front", None)
            rows.append(row)
            d, e = runs["default"], runs["exhaustive"]
            print(
                f"[{name}] default {d['summary']['algorithm']} {d['total_s']:.1f} s "
                f"({d['summary']['evaluations']:,} evaluations, HV ratio {ratio:.4f}); "
                f"exhaustive {e['total_s']:.1f} s ({e['summary']['evaluations']:,})",
                flush=True,
            )
    return {"rows": rows}


def default_table(out: dict[str, Any]) -> str:
    lines = [
        "| space | designs | default chose | evaluations | HV ratio to exact | default s "
        "(search) | exhaustive s (search) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in out["rows"]:
        d, e = r["default"], r["exhaustive"]
        lines.append(
            f"| {r['space']} | {e['summary']['evaluations']:,} | {d['summary']['algorithm']} | "
            f"{d['summary']['evaluations']:,} | {r['hv_ratio']:.4f} | {d['total_s']:.1f} "
            f"({d['summary']['wall_time_s']:.1f}) | {e['total_s']:.1f} "
            f"({e['summary']['wall_time_s']:.1f}) |"
        )
    lines.append("")
    for r in out["rows"]:
        choice = r["default"]["summary"]["algorithm_choice"]
        lines.append(f"- {r['space']}: {choice['reason']}")
    return "\n".join(lines) + "\n"


def merge(outs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One result from several ``--json`` files: per-second records of a (benchmark, method,
    seed) already in an earlier file are dropped, the first file's default table is kept."""
    merged: dict[str, Any] = {"command": "; ".join(out["command"] for out in outs)}
    seen: set[tuple] = set()
    for out in outs:
        if "default" in out:
            merged.setdefault("default", out["default"])
        if "per_second" in out:
            part = out["per_second"]
            into = merged.setdefault("per_second", {**part, "benchmarks": {}, "records": []})
            if (part["seconds"], part["times"]) != (into["seconds"], into["times"]):
                raise SystemExit("--load: per-second results of different --seconds")
            for name, facts in part["benchmarks"].items():
                into["benchmarks"].setdefault(name, facts)
            for r in part["records"]:
                key = (r["benchmark"], r["method"], r["seed"])
                if key not in seen:
                    seen.add(key)
                    into["records"].append(r)
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["per-second", "default", "both"], default="both")
    parser.add_argument("--spaces", nargs="+", choices=list(SPACES), default=None)
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=16.0, help="CPU seconds per run")
    parser.add_argument("--defaults", nargs="+", choices=list(DEFAULT_SPACES), default=None)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, default=None, help="save the raw results")
    parser.add_argument(
        "--load",
        type=Path,
        nargs="+",
        default=None,
        help="print the tables of saved --json files (merged, first wins; --json saves them)",
    )
    args = parser.parse_args(argv)
    if args.load:
        out = merge([json.loads(path.read_text()) for path in args.load])
    else:
        out = {"command": "python benchmarks/wall_clock.py " + " ".join(argv or sys.argv[1:])}
        if args.part in ("per-second", "both"):
            out["per_second"] = per_second(
                args.spaces or PER_SECOND_SPACES,
                args.methods or PER_SECOND_METHODS,
                args.seeds,
                args.seconds,
                args.processes,
                args.cache,
            )
        if args.part in ("default", "both"):
            out["default"] = default_vs_exhaustive(args.defaults or list(DEFAULT_SPACES))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    if "per_second" in out:
        print(per_second_table(out["per_second"]))
    if "default" in out:
        print(default_table(out["default"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
