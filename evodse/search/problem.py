"""pymoo problems over accelerator design spaces, evaluated a whole population at a time.

A user's problem is a small subclass that sets class attributes::

    class EdgeVision(AcceleratorProblem):
        workloads = ("mobilenet_v2", "resnet18")
        base = "edge"
        space = {"pe_rows": {"pow2": [8, 128]}, "pe_cols": {"pow2": [8, 128]},
                 "dataflow": ["ws", "os", "is"]}
        objectives = ("latency", "energy", "area")
        constraints = ("fps[mobilenet_v2] >= 30",)

Keyword arguments of ``__init__`` override the class attributes (an experiment YAML passes its
keys this way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pymoo.core.problem import Problem

from evodse.errors import InputError
from evodse.hardware.protocol import Accelerator
from evodse.hardware.template import load_hardware
from evodse.model.cost import network_costs
from evodse.search.objectives import (
    Composite,
    Constraint,
    Objective,
    composite,
    design_metrics,
    parse_constraints,
    parse_objectives,
    workload_metrics,
)
from evodse.search.space import DesignSpace, space_from_spec
from evodse.workload import Network, load_workload


@dataclass(frozen=True)
class Evaluation:
    """Results for N designs: true-sign objectives, constraint violations, all metrics."""

    X: np.ndarray  # (N, n_var) integer indices
    objectives: np.ndarray  # (N, n_obj), true sign
    F: np.ndarray  # (N, n_obj), what the optimizer minimizes: +-log10(objective)
    G: np.ndarray  # (N, n_constr), <= 0 satisfied
    metrics: dict[str, np.ndarray]  # column -> (N,), e.g. "area_mm2", "resnet50.latency_s"

    @property
    def feasible(self) -> np.ndarray:
        return (self.G <= 0).all(axis=1) if self.G.size else np.ones(len(self.X), dtype=bool)

    @property
    def cv(self) -> np.ndarray:
        """Total constraint violation (0 when feasible)."""
        return np.maximum(self.G, 0).sum(axis=1) if self.G.size else np.zeros(len(self.X))

    @staticmethod
    def concat(parts: Sequence[Evaluation]) -> Evaluation:
        """Rows of several evaluations, in order."""
        if len(parts) == 1:
            return parts[0]
        return Evaluation(
            X=np.concatenate([p.X for p in parts]),
            objectives=np.concatenate([p.objectives for p in parts]),
            F=np.concatenate([p.F for p in parts]),
            G=np.concatenate([p.G for p in parts]),
            metrics={k: np.concatenate([p.metrics[k] for p in parts]) for k in parts[0].metrics},
        )


def load_networks(specs: Any, *, source: str | None = None) -> tuple[Network, ...]:
    """Workload specs (names, paths, networks) as networks with distinct names."""
    if isinstance(specs, (str, Network)) or not specs:
        raise InputError("expected a non-empty list of workloads", source=source, key="workloads")
    networks = tuple(w if isinstance(w, Network) else load_workload(w) for w in specs)
    names = [n.name for n in networks]
    if len(set(names)) != len(names):
        raise InputError(f"workload names repeat: {names}", source=source, key="workloads")
    return networks


class AcceleratorProblem(Problem):
    """Search a hardware design space for one or many workloads (vectorized ``_evaluate``)."""

    workloads: ClassVar[Sequence[Any]] = ()
    base: ClassVar[Any] = "edge"
    space: ClassVar[Mapping[str, Any]] = {}
    objectives: ClassVar[Sequence[Any]] = ("latency", "energy", "area")
    constraints: ClassVar[Sequence[Any]] = ()
    #: Seconds to evaluate one design, declared by a problem class whose evaluations are slow
    #: (a simulator backend): the default algorithm (``auto``) then takes it as the cost
    #: instead of timing its first generation (:mod:`evodse.search.choice`). None: measured.
    seconds_per_evaluation: ClassVar[float | None] = None

    def __init__(
        self,
        *,
        workloads: Sequence[str | Network] | None = None,
        base: str | Mapping[str, Any] | Accelerator | None = None,
        space: Mapping[str, Any] | DesignSpace | None = None,
        objectives: Sequence[Any] | None = None,
        constraints: Sequence[Any] | None = None,
        source: str | None = None,
    ):
        self.networks = load_networks(
            workloads if workloads is not None else type(self).workloads, source=source
        )
        names = [n.name for n in self.networks]
        base_design = load_hardware(base if base is not None else type(self).base)
        space = space if space is not None else type(self).space
        self.design_space = self._design_space(base_design, space, source=source)
        self.objective_list: tuple[Objective, ...] = self._objectives(
            objectives if objectives is not None else type(self).objectives, names, source
        )
        self.constraint_list: tuple[Constraint, ...] = self._constraints(
            constraints if constraints is not None else type(self).constraints, names, source
        )
        own = set(self.design_metric_names) | self._design_metrics()
        n_constr = sum(
            len(names) if c.workload is None and c.metric not in own else 1
            for c in self.constraint_list
        )
        super().__init__(
            n_var=self.design_space.n_var,
            n_obj=len(self.objective_list),
            n_ieq_constr=n_constr,
            xl=np.zeros(self.design_space.n_var, dtype=np.int64),
            xu=self.design_space.upper,
            vtype=int,
        )

    # -- hooks a subclass with its own variables or metrics overrides (studies/joint.py) --------

    def _design_space(self, base: Accelerator, space: Any, *, source: str | None):
        """The design space from the ``space:`` spec (or a ready :class:`DesignSpace`)."""
        if isinstance(space, DesignSpace):
            return space
        return space_from_spec(base, space, source=source)

    def _objectives(self, specs: Any, names: list[str], source: str | None):
        return parse_objectives(specs, names, source=source)

    def _constraints(self, specs: Any, names: list[str], source: str | None):
        return parse_constraints(specs, names, source=source, per_design=self.design_metric_names)

    def _design_metrics(self) -> set[str]:
        """Metrics with one value per design beyond :attr:`design_metric_names` (one
        constraint each, not one per workload)."""
        return set()

    @property
    def design_metric_names(self) -> tuple[str, ...]:
        """``area_mm2`` and the numeric parameters of the designs' template."""
        return design_metrics(self.design_space.template)

    @property
    def workload_names(self) -> list[str]:
        return [n.name for n in self.networks]

    @property
    def objective_columns(self) -> list[str]:
        return [o.column for o in self.objective_list]

    @property
    def composition(self) -> Composite:
        """The objectives as functions of parts the evaluation reports (for the surrogate)."""
        return composite(self.objective_list, self.workload_names)

    @property
    def constraint_labels(self) -> list[str]:
        return [c.label for c in self.constraint_list]

    @property
    def space_size(self) -> int:
        """Number of distinct decision vectors."""
        return self.design_space.size

    def resolved_space(self) -> dict[str, Any]:
        """The design space as recorded in a run's config.yaml (every allowed value)."""
        return {p.name: list(p.values) for p in self.design_space.parameters}

    def decision_table(self, X: np.ndarray) -> dict[str, list]:
        """Decoded decision variables per row of ``X`` (every hardware key, fixed ones too):
        the design columns of evaluations.csv and pareto.csv."""
        return self.design_space.values_table(X)

    def describe(self, x: np.ndarray, name: str = "custom") -> dict[str, Any]:
        """One decision vector as plain data for summary.json (``hardware``, and whatever a
        subclass adds)."""
        return {"hardware": self.design_space.accelerator(x, name=name).to_dict()}

    def workload_results(self, X: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Per workload, every metric of :func:`workload_metrics` for designs ``X``."""
        designs = self.design_space.decode(X)
        costs = network_costs(designs, self.networks)
        return {n.name: workload_metrics(c) for n, c in zip(self.networks, costs, strict=True)}

    def evaluate_designs(self, X: np.ndarray) -> Evaluation:
        """Objectives, constraints and metrics of the designs with index rows ``X``."""
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.n_var)
        designs = self.design_space.decode(X)
        costs = network_costs(designs, self.networks)
        per_workload = {
            net.name: workload_metrics(c) for net, c in zip(self.networks, costs, strict=True)
        }
        design = {"area_mm2": costs[0].area_mm2}
        design.update({k: getattr(designs, k) for k in self.design_metric_names if k != "area_mm2"})
        objectives = np.stack([o.values(design, per_workload) for o in self.objective_list], axis=1)
        sign = np.asarray([-1.0 if o.maximize else 1.0 for o in self.objective_list])
        F = sign * np.log10(objectives)
        if self.constraint_list:
            G = np.concatenate([c.violations(design, per_workload) for c in self.constraint_list]).T
        else:
            G = np.zeros((len(X), 0))
        metrics = {"area_mm2": design["area_mm2"]}
        for name, values in per_workload.items():
            for key, value in values.items():
                if key != "fps":
                    metrics[f"{name}.{key}"] = value
        return Evaluation(X=X, objectives=objectives, F=F, G=G, metrics=metrics)

    def _evaluate(self, X, out, *args, **kwargs):
        ev = self.evaluate_designs(X)
        out["F"] = ev.F
        if self.n_ieq_constr:
            out["G"] = ev.G
