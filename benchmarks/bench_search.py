"""Search speed: NSGA-II, population 100, 100 generations on ResNet-50 (batch 1), one process.

Usage: ``python benchmarks/bench_search.py [--generations 100] [--pop 100] [--json]``.
Times the whole search loop (proposals, vectorized evaluation of new designs, archive front,
hypervolume per generation), not the run-directory writing.
"""

from __future__ import annotations

import argparse
import json
import time

from evodse.search.driver import Termination, new_state, run_search
from evodse.search.problem import AcceleratorProblem

SPACE = {
    "pe_rows": {"pow2": [4, 256]},
    "pe_cols": {"pow2": [4, 256]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 4096]},
    "weight_sram_kib": {"pow2": [16, 4096]},
    "ofmap_sram_kib": {"pow2": [8, 2048]},
    "dram_bandwidth_gbps": [6.4, 12.8, 25.6, 51.2, 102.4],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", default="resnet50")
    parser.add_argument("--pop", type=int, default=100)
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--algorithm", default="nsga2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    problem = AcceleratorProblem(
        workloads=[args.workload],
        base="edge",
        space=SPACE,
        objectives=["latency", "energy", "area"],
    )
    start = time.perf_counter()
    state = new_state(problem, args.algorithm, {"pop_size": args.pop}, args.seed)
    run_search(state, Termination(generations=args.generations))
    seconds = time.perf_counter() - start
    result = {
        "algorithm": args.algorithm,
        "workload": args.workload,
        "pop_size": args.pop,
        "generations": state.generation,
        "evaluations": len(state.archive),
        "space_size": problem.space_size,
        "front_size": len(state.archive.front),
        "wall_time_s": seconds,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
