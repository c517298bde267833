#!/usr/bin/env python3
"""Measure SCALE-Sim 3.0.0's ws weight-prefetch artifact: docs/data/scalesim_ws_flip.json.

What it measures
    In ``compute/systolic_compute_ws.py::create_filter_demand_mat`` SCALE-Sim flips every fold's
    weight demand upside down (``np.flip(this_fold_demand, 0)``: "the top element is pushed in
    last"), so the array asks for each fold's weight rows in reverse order, while its prefetcher
    (``memory/read_buffer.py``) fills the buffer in forward address order. With a finite DRAM
    bandwidth (USER mode) the demanded rows are the last ones prefetched and the array stalls.
    This script simulates the same fully connected layers (GEMM, M = 1: no weight reuse, so
    weight streaming is the whole layer) on evodse's ``edge`` design (32x32, ws, 128/128/64
    KiB, 16 words per cycle) twice: as shipped, and with the flip made the identity (the
    module's ``np`` replaced by a proxy whose ``flip`` returns its input; nothing in
    site-packages is edited), and records SCALE-Sim's total, stall and stall-free cycles and
    evodse's model cycles. The stall-free cycles do not change (the flip only reorders rows).

How to run (from the repository root, SCALE-Sim installed: ``pip install -e '.[scalesim]'``)
    python tools/scalesim_ws_flip.py            # writes docs/data/scalesim_ws_flip.json
    python tools/scalesim_ws_flip.py --check    # exit 1 if the file is not what a rerun gives
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from evodse.export.scalesim_mapping import map_layer, sim_hardware
from evodse.hardware import load_hardware
from evodse.model import evaluate
from evodse.validation.scalesim_backend import install_shims, scalesim_version, simulate
from evodse.workload import Linear, Network

OUT = Path(__file__).resolve().parents[1] / "docs" / "data" / "scalesim_ws_flip.json"
DESIGN = "edge"
#: (name, in_features, out_features): fully connected layers at one token (M = 1).
LAYERS = (("fc_512x256", 512, 256), ("fc_1024x512", 1024, 512))


class _NoFlip:
    """numpy, except that ``flip`` returns its input unchanged."""

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def flip(array: np.ndarray, axis: int | None = None) -> np.ndarray:
        return array


def _run(hw, layer, *, flip: bool) -> dict[str, Any]:
    install_shims()
    module = importlib.import_module("scalesim.compute.systolic_compute_ws")
    module.np = np if flip else _NoFlip()
    try:
        result = simulate(hw, layer)
    finally:
        module.np = np
    return {k: result[k] for k in ("total_cycles", "stall_cycles", "compute_cycles")}


def measure() -> dict[str, Any]:
    acc = load_hardware(DESIGN)
    hw = sim_hardware(acc, "ws")
    rows = []
    for name, k, n in LAYERS:
        op = Linear(name=name, in_features=k, out_features=n)
        cost = evaluate(acc, Network(name=name, ops=(op,)))
        layer = map_layer(op, 1, hw=acc, dataflow="ws").layer
        shipped, patched = _run(hw, layer, flip=True), _run(hw, layer, flip=False)
        rows.append(
            {
                "layer": name,
                "gemm_mnk": [layer.m, layer.n, layer.k],
                "weight_bytes": k * n * acc.precision_bits // 8,
                "model_cycles": float(cost.cycles[0]),
                "model_compute_cycles": float(cost.layer("compute_cycles")[0, 0]),
                "scalesim_shipped": shipped,
                "scalesim_without_flip": patched,
                "shipped_over_patched": round(shipped["total_cycles"] / patched["total_cycles"], 2),
            }
        )
    return {
        "generated_by": "tools/scalesim_ws_flip.py",
        "scalesim_version": scalesim_version(),
        "design": DESIGN,
        "scalesim_hardware": hw.to_dict(),
        "layers": rows,
    }


def docs_block(data: dict[str, Any]) -> str:
    """The table docs/validation.md shows (tests/test_validate_zigzag.py keeps it current)."""
    lines = [
        "| layer (GEMM M x N x K) | weights | evodse model cycles | SCALE-Sim as shipped "
        "(stalls) | SCALE-Sim, flip removed (stalls) | shipped / removed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in data["layers"]:
        m, n, k = row["gemm_mnk"]
        a, b = row["scalesim_shipped"], row["scalesim_without_flip"]
        lines.append(
            f"| {row['layer']} ({m} x {n} x {k}) | {row['weight_bytes'] // 1024} KiB | "
            f"{row['model_cycles']:,.0f} | {a['total_cycles']:,} ({a['stall_cycles']:,}) | "
            f"{b['total_cycles']:,} ({b['stall_cycles']:,}) | {row['shipped_over_patched']}x |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored file")
    args = parser.parse_args()
    data = measure()
    text = json.dumps(data, indent=1) + "\n"
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("current" if same else f"{OUT} differs from a rerun")
        return 0 if same else 1
    OUT.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
