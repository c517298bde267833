"""Objectives and constraints by name, computed from cost-model results.

Metrics per workload (arrays over designs, unit in the name): ``latency_s``, ``energy_pj``,
``power_w`` (energy / latency), ``edp_js`` (energy in J x latency in s), ``throughput_ips``
(inferences per second: batch / latency), ``perf_per_area_ips_mm2``, ``fps`` (alias of
``throughput_ips``), ``utilization``, ``dram_bytes``. Per design: ``area_mm2`` and every
hardware parameter (``dram_bandwidth_gbps``, ``pe_rows`` ...).

Objective names (a public contract): ``latency energy area power edp throughput perf_per_area``.
Maximized ones (``throughput``, ``perf_per_area``) are negated for the minimizing optimizer but
reported with their true sign. Across several workloads an objective is aggregated (``mean``,
``geomean`` (default), ``max``, ``sum``) or kept per workload (``per_workload: true``).
The optimizer sees ``+-log10(value)``: dominance is unchanged, and crowding and normalization
work on objectives that span decades.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.hardware.template import HARDWARE_KEYS
from evodse.model.evaluate import NetworkCost

#: objective name -> (metric, maximize)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "latency": ("latency_s", False),
    "energy": ("energy_pj", False),
    "area": ("area_mm2", False),
    "power": ("power_w", False),
    "edp": ("edp_js", False),
    "throughput": ("throughput_ips", True),
    "perf_per_area": ("perf_per_area_ips_mm2", True),
}
AGGREGATES = ("geomean", "mean", "max", "sum")
WORKLOAD_METRICS = (
    "latency_s",
    "energy_pj",
    "power_w",
    "edp_js",
    "throughput_ips",
    "perf_per_area_ips_mm2",
    "fps",
    "utilization",
    "dram_bytes",
)
DESIGN_METRICS = ("area_mm2", *(k for k in HARDWARE_KEYS if k not in ("name", "dataflow")))


def workload_metrics(cost: NetworkCost) -> dict[str, np.ndarray]:
    """Every per-workload metric of one cost-model result, arrays of shape (N,)."""
    latency = cost.latency_s
    throughput = cost.network.batch / latency
    return {
        "latency_s": latency,
        "energy_pj": cost.energy_pj,
        "power_w": cost.power_w,
        "edp_js": cost.energy_pj * 1e-12 * latency,
        "throughput_ips": throughput,
        "perf_per_area_ips_mm2": throughput / cost.area_mm2,
        "fps": throughput,
        "utilization": cost.utilization,
        "dram_bytes": cost.dram_bytes,
    }


def _aggregate(values: np.ndarray, how: str) -> np.ndarray:
    """Aggregate (W, N) values over workloads."""
    if how == "geomean":
        return np.exp(np.mean(np.log(values), axis=0))
    if how == "mean":
        return values.mean(axis=0)
    if how == "max":
        return values.max(axis=0)
    return values.sum(axis=0)


@dataclass(frozen=True)
class Objective:
    """One optimizer objective: a metric, its sense, and which workload(s) it reads."""

    name: str
    metric: str
    maximize: bool
    column: str  # result column: metric (unit in its name), "@workload" or "_aggregate"
    aggregate: str = "geomean"
    workload: str | None = None  # set: this workload only; None: aggregate over all

    def values(self, design: Mapping[str, np.ndarray], per_workload: Mapping) -> np.ndarray:
        """True-sign values (N,) from design metrics and {workload: metrics}."""
        if self.metric in design:
            return design[self.metric]
        if self.workload is not None:
            return per_workload[self.workload][self.metric]
        stacked = np.stack([m[self.metric] for m in per_workload.values()])
        return _aggregate(stacked, self.aggregate)


@dataclass(frozen=True)
class Constraint:
    """``metric <= bound`` (or ``>=``), for one workload or every workload."""

    metric: str
    bound: float
    upper: bool = True  # True: metric <= bound
    workload: str | None = None

    @property
    def label(self) -> str:
        target = f"{self.metric}[{self.workload}]" if self.workload else self.metric
        return f"{target} {'<=' if self.upper else '>='} {self.bound:g}"

    def violations(self, design: Mapping[str, np.ndarray], per_workload: Mapping) -> np.ndarray:
        """Normalized violations (k, N), <= 0 when satisfied (pymoo's G convention)."""
        if self.metric in design:
            values = [design[self.metric]]
        elif self.workload is not None:
            values = [per_workload[self.workload][self.metric]]
        else:
            values = [m[self.metric] for m in per_workload.values()]
        ratio = np.stack(values) / self.bound
        return ratio - 1.0 if self.upper else 1.0 - ratio


def parse_objectives(
    specs: Sequence[Any], workloads: Sequence[str], *, source: str | None = None
) -> tuple[Objective, ...]:
    """Objective specs: a name, or ``{name, aggregate, per_workload, workload}``."""
    if isinstance(specs, (str, Mapping)) or not specs:
        raise InputError("expected a non-empty list of objectives", source=source, key="objectives")
    out: list[Objective] = []
    for i, spec in enumerate(specs):
        where = f"objectives[{i}]"
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, Mapping):
            raise InputError("expected a name or a mapping", source=source, key=where)
        unknown = set(spec) - {"name", "aggregate", "per_workload", "workload"}
        if unknown:
            raise InputError(
                f"unknown key {sorted(unknown)[0]!r}; expected name, aggregate, per_workload, "
                "workload",
                source=source,
                key=where,
            )
        name = spec.get("name")
        if name not in OBJECTIVES:
            raise InputError(
                f"unknown objective {name!r}; expected one of {list(OBJECTIVES)}",
                source=source,
                key=where,
            )
        aggregate = spec.get("aggregate", "geomean")
        if aggregate not in AGGREGATES:
            raise InputError(
                f"aggregate must be one of {list(AGGREGATES)}, got {aggregate!r}",
                source=source,
                key=f"{where}.aggregate",
            )
        metric, maximize = OBJECTIVES[name]
        workload = spec.get("workload")
        if workload is not None and workload not in workloads:
            raise InputError(
                f"workload {workload!r} is not in this experiment ({list(workloads)})",
                source=source,
                key=f"{where}.workload",
            )
        per = spec.get("per_workload", False)
        if not isinstance(per, bool):
            raise InputError("per_workload must be true or false", source=source, key=where)
        if metric in DESIGN_METRICS or (len(workloads) == 1 and not per and workload is None):
            out.append(Objective(name, metric, maximize, metric, aggregate))
        elif per:
            out += [
                Objective(name, metric, maximize, f"{metric}@{w}", aggregate, w) for w in workloads
            ]
        elif workload is not None:
            out.append(
                Objective(name, metric, maximize, f"{metric}@{workload}", aggregate, workload)
            )
        else:
            out.append(Objective(name, metric, maximize, f"{metric}_{aggregate}", aggregate))
    columns = [o.column for o in out]
    if len(set(columns)) != len(columns):
        raise InputError("an objective is listed twice", source=source, key="objectives")
    return tuple(out)


_CONSTRAINT_RE = re.compile(r"^\s*(\w+)\s*(?:\[\s*([^\]]+?)\s*\])?\s*(<=|>=)\s*(\S+)\s*$")


def parse_constraints(
    specs: Sequence[Any] | None, workloads: Sequence[str], *, source: str | None = None
) -> tuple[Constraint, ...]:
    """Constraint specs: ``"area_mm2 <= 10"``, ``"latency_s[resnet50] <= 0.033"``, or
    ``{metric, max | min, workload}``."""
    if specs is None:
        return ()
    if isinstance(specs, (str, Mapping)):
        raise InputError("expected a list of constraints", source=source, key="constraints")
    out = []
    for i, spec in enumerate(specs):
        where = f"constraints[{i}]"
        if isinstance(spec, str):
            match = _CONSTRAINT_RE.match(spec)
            if not match:
                raise InputError(
                    f"expected 'metric <= value' or 'metric[workload] >= value', got {spec!r}",
                    source=source,
                    key=where,
                )
            metric, workload, op, bound = match.groups()
            upper = op == "<="
        elif isinstance(spec, Mapping):
            unknown = set(spec) - {"metric", "max", "min", "workload"}
            if unknown or "metric" not in spec or len({"max", "min"} & set(spec)) != 1:
                raise InputError(
                    "expected {metric: NAME, max: VALUE} or {metric: NAME, min: VALUE} "
                    "(optional workload)",
                    source=source,
                    key=where,
                )
            metric, workload = spec["metric"], spec.get("workload")
            upper = "max" in spec
            bound = spec["max"] if upper else spec["min"]
        else:
            raise InputError("expected a string or a mapping", source=source, key=where)
        if metric not in WORKLOAD_METRICS and metric not in DESIGN_METRICS:
            raise InputError(
                f"unknown metric {metric!r}; expected one of "
                f"{sorted(WORKLOAD_METRICS + DESIGN_METRICS)}",
                source=source,
                key=where,
            )
        try:
            bound = float(bound)
        except (TypeError, ValueError):
            raise InputError(
                f"bound must be a number, got {bound!r}", source=source, key=where
            ) from None
        if not bound > 0:
            raise InputError("bound must be positive", source=source, key=where)
        if workload is not None and workload not in workloads:
            raise InputError(
                f"workload {workload!r} is not in this experiment ({list(workloads)})",
                source=source,
                key=where,
            )
        if workload is not None and metric in DESIGN_METRICS:
            raise InputError(f"{metric} is per design, not per workload", source=source, key=where)
        out.append(Constraint(metric=metric, bound=bound, upper=upper, workload=workload))
    return tuple(out)
