"""NSGA-II and random search against the exhaustive front of a small space (<= 50,000 designs).

Usage: ``python benchmarks/exhaustive_check.py [--seeds 5] [--budget 0.05]``; prints a markdown
table (docs/search.md). Hypervolume ratio and IGD+ are measured in log-normalized objective space
against the true front (``evodse.search.indicators``); medians over seeds, with min..max.
"""

from __future__ import annotations

import argparse

import numpy as np

from evodse.search.driver import Termination, new_state, run_search
from evodse.search.indicators import Normalization, hypervolume, igd_plus, recovered
from evodse.search.problem import AcceleratorProblem

SPACE = {
    "pe_rows": {"pow2": [4, 128]},
    "pe_cols": {"pow2": [4, 128]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 1024]},
    "weight_sram_kib": {"pow2": [16, 1024]},
    "dram_bandwidth_gbps": [6.4, 12.8, 25.6, 51.2],
}


def _spread(values: np.ndarray) -> str:
    """Median (min..max)."""
    return f"{np.median(values):.4f} ({values.min():.4f}..{values.max():.4f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.05)
    parser.add_argument("--workloads", nargs="+", default=["mobilenet_v2", "resnet50", "bert_base"])
    args = parser.parse_args()
    print("| workload | space | true front | method | evaluations | HV ratio | IGD+ | recovered |")
    print("|---|---:|---:|---|---:|---|---|---:|")
    for workload in args.workloads:
        problem = AcceleratorProblem(
            workloads=[workload], base="edge", space=SPACE, objectives=["latency", "energy", "area"]
        )
        size = problem.space_size
        full = run_search(new_state(problem, "exhaustive", {"pop_size": size}, 0), Termination())
        truth = full.archive.column("objectives")[full.archive.front]
        norm = Normalization.of(truth, [False] * 3)
        hv_true = hypervolume(truth, norm)
        print(f"| {workload} | {size:,} | {len(truth)} | exhaustive | {size:,} | 1 | 0 | 1 |")
        budget = int(args.budget * size)
        for method in ("nsga2", "random"):
            rows = []
            for seed in range(args.seeds):
                state = new_state(problem, method, {"pop_size": 50}, seed)
                run_search(state, Termination(evaluations=budget))
                front = state.archive.column("objectives")[state.archive.front]
                rows.append(
                    (
                        hypervolume(front, norm) / hv_true,
                        igd_plus(front, truth, norm),
                        recovered(front, truth),
                        len(state.archive),
                    )
                )
            r = np.array(rows)
            print(
                f"| {workload} | {size:,} | {len(truth)} | {method} | {int(np.median(r[:, 3])):,} "
                f"| {_spread(r[:, 0])} | {_spread(r[:, 1])} | {np.median(r[:, 2]):.2f} |"
            )


if __name__ == "__main__":
    main()
