"""Several DNNs at the same time on one accelerator partitioned among them.

The decision vector is the shared hardware (whatever ``space:`` varies) followed by one weight
per application and resource, ``share.array.<app>``, ``share.sram.<app>`` and
``share.bandwidth.<app>``, each an integer from 1 to ``weights`` (default 8). A resource is cut
into equal units and every application gets at least one unit; the remaining units are shared in
proportion to the weights by the largest-remainder method, so the units handed out always sum to
exactly the units that exist:

* **array**: ``pe_cols / array_granularity`` column groups (default 8 columns each); application
  ``i`` gets a ``pe_rows x (granularity * units_i)`` sub-array. The vector unit's lanes are split
  in proportion to the array units (at least one lane each).
* **sram**: ``sram_units`` slices (default 16); each of the three buffers (ifmap, weight,
  ofmap) is split by the same slices.
* **bandwidth**: ``bandwidth_units`` slices (default 16) of the DRAM bandwidth.

Each application runs on its sub-accelerator (same dataflow, clock, precision and node), so its
metrics (``<app>.latency_s`` ...) are those of the cost model on that slice; the partitions run
concurrently. ``area_mm2`` is the whole accelerator's; ``area_share`` a slice's area over the
sum of the slices' (each priced as a smaller accelerator: its SRAM slices as smaller arrays,
its bandwidth as whole DRAM channels). ``makespan_s`` is the longest application latency (one
inference of each); the objective ``makespan`` minimizes it and constraints may bound it.
Settings go under ``space: {partition: {...}}`` in an experiment YAML::

    problem: evodse.studies.partition:PartitionedProblem
    workloads: [resnet50, mobilenet_v2, bert_base]
    space:
      pe_rows: {pow2: [16, 128]}
      pe_cols: {pow2: [32, 256]}
      partition: {array_granularity: 8, sram_units: 16, bandwidth_units: 16, weights: 8}
    objectives: [{name: latency, per_workload: true}, area]
    constraints: ["latency_s[resnet50] <= 0.0333", "area_mm2 <= 6"]

The sequential baseline (:func:`sequential_latencies`) runs the same applications one after
another on the whole, unpartitioned accelerator.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from evodse.errors import InputError
from evodse.hardware.protocol import Accelerator, get_template
from evodse.model.designs import Designs
from evodse.model.evaluate import evaluate
from evodse.model.prices import prices
from evodse.search.objectives import workload_metrics
from evodse.search.problem import Evaluation
from evodse.search.space import DesignSpace, Parameter
from evodse.studies.joint import ExtendedProblem

RESOURCES = ("array", "sram", "bandwidth")
SRAM_KEYS = ("ifmap_sram_kib", "weight_sram_kib", "ofmap_sram_kib")


def allocate(weights: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Integer units (N, k) for weights (N, k) >= 1 and totals (N,) >= k: every entry >= 1, each
    row sums to its total exactly; the ``total - k`` units beyond one each go in proportion to the
    weights, largest remainders first (ties to the earlier application)."""
    w = np.asarray(weights, dtype=np.int64)
    total = np.asarray(total, dtype=np.int64).reshape(-1)
    n, k = w.shape
    if (w < 1).any() or (total < k).any():
        raise ValueError("weights must be >= 1 and totals >= the number of applications")
    rest = (total - k)[:, None]
    s = w.sum(axis=1, keepdims=True)
    base = (w * rest) // s
    frac = (w * rest) % s  # remainders, same denominator within a row
    left = rest[:, 0] - base.sum(axis=1)
    order = np.argsort(-frac, axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(k)[None, :]
    return 1 + base + (rank < left[:, None])


class PartitionedProblem(ExtendedProblem):
    """Shared hardware plus a per-application partition of array, SRAM and bandwidth."""

    settings_key: ClassVar[str] = "partition"
    settings: ClassVar[dict[str, Any]] = {
        "array_granularity": 8,
        "sram_units": 16,
        "bandwidth_units": 16,
        "weights": 8,
    }
    design_objectives: ClassVar[dict[str, tuple[str, bool]]] = {"makespan": ("makespan_s", False)}
    objectives = ({"name": "latency", "per_workload": True}, "area")

    def _configure(self, base: Accelerator, hardware: DesignSpace | None, *, source):
        # it splits the array's columns: a template with a systolic array only
        get_template(base.template).require("partition", what="the partition study", source=source)
        opts = self.options
        for key in self.settings:
            v = opts[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InputError(
                    f"expected a positive integer, got {v!r}",
                    source=source,
                    key=f"space.partition.{key}",
                )
        k = len(self.networks)
        if k < 2:
            raise InputError(
                "a partition needs at least two workloads", source=source, key="workloads"
            )
        g = opts["array_granularity"]
        cols = _values(base, hardware, "pe_cols")
        lanes = _values(base, hardware, "vector_lanes")
        bad = [c for c in cols if c % g or c // g < k]
        if bad:
            raise InputError(
                f"pe_cols {bad[0]} does not split into {k} groups of {g} columns (every pe_cols "
                "value must be a multiple of array_granularity with at least one group per "
                "workload)",
                source=source,
                key="space.partition.array_granularity",
            )
        if min(lanes) < k:
            raise InputError(
                f"vector_lanes {min(lanes)} is fewer than one lane per workload",
                source=source,
                key="space.vector_lanes",
            )
        for key in ("sram_units", "bandwidth_units"):
            if opts[key] < k:
                raise InputError(
                    f"{key} must be at least the number of workloads ({k})",
                    source=source,
                    key=f"space.partition.{key}",
                )
        values = tuple(range(1, opts["weights"] + 1))
        return tuple(
            Parameter(name=f"share.{r}.{net.name}", values=values)
            for r in RESOURCES
            for net in self.networks
        )

    # -- decoding -------------------------------------------------------------------------------

    def partition_units(self, X: np.ndarray) -> tuple[Designs, dict[str, np.ndarray]]:
        """Whole designs and units (N, k) of each resource (``array`` in column groups,
        ``lanes`` in vector lanes, ``sram`` and ``bandwidth`` in slices)."""
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.n_var)
        designs = self.design_space.decode(X)
        weights = self.design_space.extra_values(X).astype(np.int64)
        k = len(self.networks)
        w = {r: weights[:, i * k : (i + 1) * k] for i, r in enumerate(RESOURCES)}
        n = len(X)
        g = self.options["array_granularity"]
        array = allocate(w["array"], (designs.pe_cols // g).astype(np.int64))
        units = {
            "array": array,
            "lanes": allocate(array, designs.vector_lanes.astype(np.int64)),
            "sram": allocate(w["sram"], np.full(n, self.options["sram_units"])),
            "bandwidth": allocate(w["bandwidth"], np.full(n, self.options["bandwidth_units"])),
        }
        return designs, units

    def sub_designs(self, X: np.ndarray) -> tuple[Designs, list[Designs]]:
        """Whole designs and, per application, its slice of every design."""
        designs, units = self.partition_units(X)
        g = self.options["array_granularity"]
        s_units, b_units = self.options["sram_units"], self.options["bandwidth_units"]
        parts = []
        for i in range(len(self.networks)):
            cols = designs.columns
            cols["pe_cols"] = (g * units["array"][:, i]).astype(np.float64)
            cols["vector_lanes"] = units["lanes"][:, i].astype(np.float64)
            for key in SRAM_KEYS:
                cols[key] = getattr(designs, key) * units["sram"][:, i] / s_units
            cols["dram_bandwidth_gbps"] = (
                designs.dram_bandwidth_gbps * units["bandwidth"][:, i] / b_units
            )
            parts.append(Designs(template=designs.template, **cols))
        return designs, parts

    def evaluate_designs(self, X: np.ndarray) -> Evaluation:
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.n_var)
        designs, parts = self.sub_designs(X)
        costs = [evaluate(p, net) for p, net in zip(parts, self.networks, strict=True)]
        area = sum(prices(designs).area_mm2.values())  # the whole chip's
        slices = sum(c.area_mm2 for c in costs)
        per_workload = {}
        for net, cost in zip(self.networks, costs, strict=True):
            m = workload_metrics(cost)
            m["perf_per_area_ips_mm2"] = m["throughput_ips"] / area
            m["area_share"] = cost.area_mm2 / slices
            per_workload[net.name] = m
        makespan = np.max([m["latency_s"] for m in per_workload.values()], axis=0)
        return self._finish(X, designs, area, per_workload, {"makespan_s": makespan})

    def decision_table(self, X: np.ndarray) -> dict[str, list]:
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.n_var)
        out = self.design_space.values_table(X)
        weights = self.design_space.extra_values(X).astype(int)
        for j, p in enumerate(self.design_space.extra):
            out[p.name] = weights[:, j].tolist()
        _, parts = self.sub_designs(X)
        for net, part in zip(self.networks, parts, strict=True):
            out[f"{net.name}.pe_cols"] = part.pe_cols.astype(int).tolist()
            out[f"{net.name}.sram_kib"] = sum(getattr(part, k) for k in SRAM_KEYS).tolist()
            out[f"{net.name}.dram_bandwidth_gbps"] = part.dram_bandwidth_gbps.tolist()
            out[f"{net.name}.vector_lanes"] = part.vector_lanes.astype(int).tolist()
        return out

    def partitions(self, x: np.ndarray) -> dict[str, Accelerator]:
        """Each application's sub-accelerator of design ``x``, validated."""
        _, parts = self.sub_designs(np.asarray(x)[None, :])
        return {
            net.name: p.accelerator(0, name=net.name)
            for net, p in zip(self.networks, parts, strict=True)
        }

    def describe(self, x: np.ndarray, name: str = "custom") -> dict[str, Any]:
        whole = self.design_space.accelerator(x, name=name)
        parts = {}
        for app, acc in self.partitions(x).items():
            d = acc.to_dict()
            parts[app] = {
                k: d[k]
                for k in ("pe_rows", "pe_cols", *SRAM_KEYS, "dram_bandwidth_gbps", "vector_lanes")
            }
        return {"hardware": whole.to_dict(), "partition": parts}


def _values(base: Accelerator, hardware: DesignSpace | None, key: str) -> list:
    if hardware is not None:
        for p in hardware.parameters:
            if p.name == key:
                return list(p.values)
    return [getattr(base, key)]


def sequential_latencies(problem: PartitionedProblem, X: np.ndarray) -> dict[str, np.ndarray]:
    """Each application's latency (N,) on the whole, unpartitioned accelerator of ``X``; one
    round of the sequential schedule takes their sum."""
    designs = problem.design_space.decode(np.asarray(X, dtype=np.int64).reshape(-1, problem.n_var))
    return {net.name: evaluate(designs, net).latency_s for net in problem.networks}
