"""Cost-model throughput: (design x layer) evaluations per second, one process.

Usage: ``python benchmarks/bench_model.py [--designs 1000] [--workload resnet50] [--json]
[--clock wall|cpu] [--dataflows ws,os,is,auto] [--buffer-keys]``. ``--workload a,b``: every
network on the same designs in one call (:func:`evodse.model.cost.network_costs`, the designs'
prices computed once, as a search's problem evaluates them). Random designs are drawn from
a wide space (by default a mixed-template population: every spatial unrolling, systolic,
broadcast and row-stationary, and ``auto``, uniformly; ``--buffer-keys`` also draws the buffer
keys, else left at their defaults); the figure is the best of ``--repeats`` timed calls
of :func:`evodse.model.evaluate` (or ``network_costs``) on the whole population, timed by the
wall clock or
(``--clock cpu``) by the process's CPU time, which other processes on a shared machine
disturb less.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from evodse.hardware import DATAFLOW_CHOICES
from evodse.model import DATAFLOW_CODE, Designs
from evodse.model.cost import network_costs
from evodse.workload import load_workload


def random_designs(
    n: int, seed: int, dataflows: tuple[str, ...] = DATAFLOW_CHOICES, buffer_keys: bool = False
) -> Designs:
    """``n`` random designs spanning the template's typical ranges, with ``dataflows`` drawn
    uniformly; ``buffer_keys``: also ``accumulator_bits`` (16 or 32), ``act_sram`` and
    ``sram_buffering`` drawn uniformly (else their defaults)."""
    rng = np.random.default_rng(seed)
    pow2 = lambda lo, hi: 2.0 ** rng.integers(lo, hi + 1, n)  # noqa: E731
    codes = np.asarray([DATAFLOW_CODE[name] for name in dataflows], dtype=float)
    drawn = {}
    if buffer_keys:
        drawn = {
            "accumulator_bits": rng.choice([16.0, 32.0], n),
            "act_sram": rng.integers(0, 2, n).astype(float),
            "sram_buffering": rng.integers(0, 2, n).astype(float),
        }
    return Designs(
        pe_rows=pow2(3, 8),
        pe_cols=pow2(3, 8),
        dataflow=rng.choice(codes, n),
        ifmap_sram_kib=pow2(4, 13),
        weight_sram_kib=pow2(4, 13),
        ofmap_sram_kib=pow2(4, 12),
        dram_bandwidth_gbps=rng.choice([4.0, 8.0, 16.0, 32.0, 64.0, 128.0], n),
        frequency_mhz=rng.choice([200.0, 500.0, 800.0, 1000.0], n),
        precision_bits=rng.choice([8.0, 16.0], n),
        vector_lanes=pow2(3, 8),
        technology_nm=rng.choice([45.0, 28.0, 16.0, 7.0], n),
        pe_stationary_regs=rng.choice([1.0, 2.0, 4.0], n),
        dram_type=rng.integers(0, 6, n).astype(float),
        fusion=rng.integers(0, 3, n).astype(float),
        pe_input_regs=rng.choice([1.0, 4.0, 12.0], n),
        pe_weight_regs=rng.choice([1.0, 16.0, 224.0], n),
        pe_output_regs=rng.choice([1.0, 4.0, 24.0], n),
        **drawn,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--designs", type=int, default=1000)
    parser.add_argument("--workload", default="resnet50")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--dataflows", default=",".join(DATAFLOW_CHOICES))
    parser.add_argument("--buffer-keys", action="store_true", help="draw the buffer keys too")
    args = parser.parse_args()
    nets = [load_workload(name) for name in args.workload.split(",")]
    dataflows = tuple(args.dataflows.split(","))
    designs = random_designs(args.designs, args.seed, dataflows, args.buffer_keys)
    network_costs(designs, nets)  # warm-up: layer table cache, imports
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    times = []
    for _ in range(args.repeats):
        start = clock()
        costs = network_costs(designs, nets)
        for cost in costs:
            _ = cost.latency_s, cost.energy_pj, cost.area_mm2
        times.append(clock() - start)
    best = min(times)
    layers = sum(len(net.ops) for net in nets)
    evals = args.designs * layers
    result = {
        "workload": args.workload,
        "designs": args.designs,
        "layers": layers,
        "distinct_shapes": sum(int(cost.table.n_shapes) for cost in costs),
        "ms_per_call": 1e3 * best,
        "clock": args.clock,
        "dataflows": list(dataflows),
        "buffer_keys": args.buffer_keys,
        "seconds": best,
        "evals_per_s": evals / best,
        "designs_per_s": args.designs / best,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
