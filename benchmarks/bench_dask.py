"""A 10-seed grid of the quickstart experiment: the local executor versus a 2-worker Dask
LocalCluster (processes, one thread each, on loopback).

Usage: ``python benchmarks/bench_dask.py [--seeds 10] [--workers 2] [--generations N] [--json]``.
Reports the wall time of each grid (the cluster's start-up separately), checks that every run's
``pareto.csv`` and ``evaluations.csv`` are byte-identical between the two, and needs the ``dask``
extra (``pip install 'evodse[dask]'``).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from evodse.experiment.executors import ExecutorSpec, make_executor
from evodse.experiment.sweep import grid_from_dict, run_sweep

QUICKSTART = Path(__file__).resolve().parents[1] / "experiments" / "quickstart.yaml"


def _grid(seeds: int, generations: int | None, out: Path):
    data = {"experiment": str(QUICKSTART), "grid": {"seeds": list(range(seeds))}}
    if generations is not None:
        data["grid"]["termination"] = [{"generations": generations}]
    return grid_from_dict(data, out=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generations", type=int, default=None, help="default: quickstart's")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        local_out, dask_out = Path(tmp) / "local", Path(tmp) / "dask"
        grid = _grid(args.seeds, args.generations, local_out)
        start = time.perf_counter()
        run_sweep(grid, executor=ExecutorSpec())
        local_s = time.perf_counter() - start

        start = time.perf_counter()
        executor = make_executor(ExecutorSpec(name="dask", workers=args.workers))
        startup_s = time.perf_counter() - start
        try:
            start = time.perf_counter()
            run_sweep(_grid(args.seeds, args.generations, dask_out), executor=executor)
            dask_s = time.perf_counter() - start
        finally:
            executor.close()
        identical = all(
            filecmp.cmp(local_out / p.label / name, dask_out / p.label / name, shallow=False)
            for p in grid.points
            for name in ("pareto.csv", "evaluations.csv")
        )
        evaluations = sum(
            json.loads((local_out / p.label / "summary.json").read_text())["evaluations"]
            for p in grid.points
        )
    result = {
        "experiment": "quickstart",
        "runs": len(grid.points),
        "evaluations": evaluations,
        "local_s": round(local_s, 2),
        "dask_workers": args.workers,
        "dask_startup_s": round(startup_s, 2),
        "dask_grid_s": round(dask_s, 2),
        "dask_total_s": round(startup_s + dask_s, 2),
        "speedup_grid": round(local_s / dask_s, 2),
        "identical_results": identical,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['runs']} runs, {evaluations:,} evaluations: local {local_s:.1f} s; "
            f"dask {args.workers} workers {dask_s:.1f} s (+{startup_s:.1f} s cluster start) = "
            f"x{result['speedup_grid']:.2f}; results identical: {identical}"
        )


if __name__ == "__main__":
    main()
