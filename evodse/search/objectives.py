"""Objectives and constraints by name, computed from cost-model results.

Metrics per workload (arrays over designs, unit in the name): ``latency_s``, ``energy_pj``,
``power_w`` (energy / latency: the chip and its DRAM), ``chip_power_w`` (on-chip energy /
latency: the accelerator die alone, DRAM transfers left out), ``edp_js`` (energy in J x
latency in s), ``throughput_ips`` (inferences per second: batch / latency),
``perf_per_area_ips_mm2``, ``fps`` (alias of ``throughput_ips``), ``utilization``,
``dram_bytes``, and energy split by where it is spent, ``dram_energy_pj`` (off-chip
transfers) and ``onchip_energy_pj`` (everything else; the two sum to ``energy_pj``). Per
design: ``area_mm2`` and every numeric parameter of the design's template
(:func:`design_metrics`).

Objective names (a public contract): ``latency energy area power chip_power edp throughput
perf_per_area``. Maximized ones (``throughput``, ``perf_per_area``) are negated for the
minimizing optimizer but reported with their true sign. Across several workloads an objective
is aggregated (``mean``, ``geomean`` (default), ``max``, ``sum``) or kept per workload
(``per_workload: true``). The optimizer sees ``+-log10(value)``: dominance is unchanged, and
crowding and normalization work on objectives that span decades.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.hardware.protocol import Template, get_template
from evodse.model.evaluate import NetworkCost
from evodse.search.metrics import METRICS, WORKLOAD_METRICS

__all__ = [
    "AGGREGATES",
    "DESIGN_METRICS",
    "OBJECTIVES",
    "WORKLOAD_METRICS",
    "design_metrics",
    "workload_metrics",
]

#: objective name -> (metric, maximize); the direction is the metric's (search/metrics.py)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    name: (metric, METRICS[metric].maximize)
    for name, metric in {
        "latency": "latency_s",
        "energy": "energy_pj",
        "area": "area_mm2",
        "power": "power_w",
        "chip_power": "chip_power_w",
        "edp": "edp_js",
        "throughput": "throughput_ips",
        "perf_per_area": "perf_per_area_ips_mm2",
    }.items()
}
AGGREGATES = ("geomean", "mean", "max", "sum")


def design_metrics(template: Template) -> tuple[str, ...]:
    """Metrics with one value per design: ``area_mm2`` and the template's numeric parameters."""
    return ("area_mm2", *template.numeric)


#: :func:`design_metrics` of the default template.
DESIGN_METRICS = design_metrics(get_template())


def workload_metrics(cost: NetworkCost) -> dict[str, np.ndarray]:
    """Every per-workload metric (:data:`WORKLOAD_METRICS`) of one cost-model result, arrays of
    shape (N,)."""
    latency = cost.latency_s
    throughput = cost.network.batch / latency
    dram_energy = cost.energy_breakdown_pj["dram"]
    return {
        "latency_s": latency,
        "energy_pj": cost.energy_pj,
        "power_w": cost.power_w,
        "chip_power_w": cost.chip_power_w,
        "edp_js": cost.energy_pj * 1e-12 * latency,
        "throughput_ips": throughput,
        "perf_per_area_ips_mm2": throughput / cost.area_mm2,
        "fps": throughput,
        "utilization": cost.utilization,
        "dram_bytes": cost.dram_bytes,
        "dram_energy_pj": dram_energy,
        "onchip_energy_pj": cost.energy_pj - dram_energy,
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


#: Per-workload metrics whose sum is an objective's metric: the surrogate search models the
#: parts (each follows fewer parameters than their sum) and adds them up (:class:`Composite`).
SPLITS = {"energy_pj": ("dram_energy_pj", "onchip_energy_pj")}


@dataclass(frozen=True)
class Composite:
    """The optimizer's objectives as known functions of positive parts the evaluation reports,
    for a surrogate that models the parts instead of the objectives (composite-function
    modelling: Astudillo and Frazier, "Bayesian Optimization of Composite Functions", ICML 2019).

    An objective whose metric is in :data:`SPLITS` is, per workload it reads, the sum of its
    parts, aggregated over those workloads as :meth:`Objective.values` aggregates the metric;
    every other objective is its own single part.
    """

    parts: tuple[int | str, ...]  # per part: an objective's index, or a metric column name
    terms: tuple[tuple[tuple[int, ...], ...], ...]  # per objective, per workload: parts summed
    aggregates: tuple[str, ...]  # per objective: how the workload sums combine
    signs: tuple[float, ...]  # per objective: F = sign * log10(value), -1 where maximized

    def available(self, metric_names: Sequence[str]) -> bool:
        """Whether an evaluation with these metric columns reports every part."""
        return set(p for p in self.parts if isinstance(p, str)) <= set(metric_names)

    def values(self, objectives: np.ndarray, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N, n_parts) part values from true-sign ``objectives`` (N, n_obj) and metric columns."""
        return np.stack(
            [objectives[:, p] if isinstance(p, int) else metrics[p] for p in self.parts], axis=1
        )

    def compose(self, parts: np.ndarray) -> np.ndarray:
        """(N, n_obj) optimizer objectives (+-log10 of the values) from part values."""
        columns = []
        for terms, how, sign in zip(self.terms, self.aggregates, self.signs, strict=True):
            sums = np.stack([parts[:, list(t)].sum(axis=1) for t in terms])
            columns.append(sign * np.log10(_aggregate(sums, how)))
        return np.stack(columns, axis=1)


def composite(objectives: Sequence[Objective], workloads: Sequence[str]) -> Composite:
    """The :class:`Composite` of ``objectives`` over ``workloads`` (metric columns named
    ``workload.metric``, as :meth:`AcceleratorProblem.evaluate_designs` names them)."""
    parts: list[int | str] = []
    terms: list[tuple[tuple[int, ...], ...]] = []
    for j, o in enumerate(objectives):
        split = SPLITS.get(o.metric)
        if split is None:
            parts.append(j)
            terms.append(((len(parts) - 1,),))
            continue
        per_workload = []
        for w in [o.workload] if o.workload is not None else workloads:
            per_workload.append(tuple(range(len(parts), len(parts) + len(split))))
            parts += [f"{w}.{m}" for m in split]
        terms.append(tuple(per_workload))
    return Composite(
        parts=tuple(parts),
        terms=tuple(terms),
        aggregates=tuple(o.aggregate for o in objectives),
        signs=tuple(-1.0 if o.maximize else 1.0 for o in objectives),
    )


_CONSTRAINT_RE = re.compile(r"^\s*(\w+)\s*(?:\[\s*([^\]]+?)\s*\])?\s*(<=|>=)\s*(\S+)\s*$")


def parse_constraints(
    specs: Sequence[Any] | None,
    workloads: Sequence[str],
    *,
    source: str | None = None,
    per_design: Sequence[str] = DESIGN_METRICS,
) -> tuple[Constraint, ...]:
    """Constraint specs: ``"area_mm2 <= 10"``, ``"latency_s[resnet50] <= 0.033"``, or
    ``{metric, max | min, workload}``. ``per_design``: the metrics with one value per design
    (:func:`design_metrics` of the designs' template)."""
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
        if metric not in WORKLOAD_METRICS and metric not in per_design:
            raise InputError(
                f"unknown metric {metric!r}; expected one of "
                f"{sorted((*WORKLOAD_METRICS, *per_design))}",
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
        if workload is not None and metric in per_design:
            raise InputError(f"{metric} is per design, not per workload", source=source, key=where)
        out.append(Constraint(metric=metric, bound=bound, upper=upper, workload=workload))
    return tuple(out)
