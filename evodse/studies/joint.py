"""Problems whose decision vector is hardware parameters plus variables of their own.

:class:`JointSpace` puts extra integer variables (a partition, stage widths) after the hardware
variables of a :class:`~evodse.search.space.DesignSpace` and offers the same interface the search
machinery uses (``n_var``, ``upper``, ``size``, ``categorical_mask``, ``parameters``, ``base``,
``decode``, ``accelerator``, ``values_table``), so the driver, archive, algorithms and run
directories work unchanged. The hardware part may be empty: the base design is then fixed.

:class:`ExtendedProblem` is the shared base of :class:`~evodse.studies.partition.PartitionedProblem`
and :class:`~evodse.studies.network.NetworkProblem`. Its ``__init__`` takes exactly the keyword
arguments of :class:`~evodse.search.problem.AcceleratorProblem` (so an experiment YAML can name it
with ``problem: module:Class``); a subclass reads its own settings from one reserved key of the
``space:`` mapping (class attribute defaults), and may add design-level metrics usable as
objectives and constraints by name.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from evodse.errors import InputError
from evodse.hardware.protocol import Accelerator
from evodse.model.designs import Designs
from evodse.search.objectives import (
    Constraint,
    Objective,
    parse_constraints,
    parse_objectives,
)
from evodse.search.problem import AcceleratorProblem, Evaluation
from evodse.search.space import DesignSpace, Parameter, ParameterGrid, space_from_spec


@dataclass(frozen=True)
class JointSpace(ParameterGrid):
    """Hardware variables (possibly none) followed by extra integer variables."""

    base: Accelerator
    hardware: DesignSpace | None
    extra: tuple[Parameter, ...]

    def __post_init__(self) -> None:
        if not self.parameters:
            raise InputError("the design space has no variable", key="space")

    @property
    def n_hardware(self) -> int:
        return 0 if self.hardware is None else self.hardware.n_var

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        hw = () if self.hardware is None else self.hardware.parameters
        return (*hw, *self.extra)

    def split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hardware index columns, extra index columns) of ``X``."""
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.n_var)
        return X[:, : self.n_hardware], X[:, self.n_hardware :]

    def extra_values(self, X: np.ndarray) -> np.ndarray:
        """Decoded extra variables (N, n_extra) as floats."""
        _, E = self.split(X)
        if not self.extra:
            return np.zeros((len(E), 0))
        return np.stack([p.codes()[E[:, j]] for j, p in enumerate(self.extra)], axis=1)

    def decode(self, X: np.ndarray) -> Designs:
        """The hardware of each row (the base design where nothing varies)."""
        H, _ = self.split(X)
        if self.hardware is not None:
            return self.hardware.decode(H)
        base = Designs.from_accelerators(self.base)
        columns = {k: np.repeat(v, len(H)) for k, v in base.columns.items()}
        return Designs(template=base.template, **columns)

    def accelerator(self, x: Sequence[int], name: str = "custom") -> Accelerator:
        H, _ = self.split(np.asarray(x)[None, :])
        if self.hardware is not None:
            return self.hardware.accelerator(H[0], name=name)
        return self.base.replace(name=name)

    def values_table(self, X: np.ndarray) -> dict[str, list]:
        """Hardware values per row (fixed keys repeated), as :meth:`DesignSpace.values_table`."""
        H, _ = self.split(X)
        if self.hardware is not None:
            return self.hardware.values_table(H)
        base = self.base.to_dict()
        return {k: [base[k]] * len(H) for k in self.template.keys}

    def enumerate(self, chunk: int = 65536) -> Iterator[np.ndarray]:
        it = itertools.product(*(range(p.size) for p in self.parameters))
        while rows := list(itertools.islice(it, chunk)):
            yield np.asarray(rows, dtype=np.int64)


class ExtendedProblem(AcceleratorProblem):
    """An :class:`AcceleratorProblem` with extra variables after the hardware ones.

    Subclasses set :attr:`settings_key` (the reserved ``space:`` key holding their settings),
    :attr:`design_objectives` (extra objective names -> (metric, maximize)), and implement
    :meth:`_configure` (build the extra parameters) and :meth:`evaluate_designs`, finishing with
    :meth:`_finish`.
    """

    settings_key: ClassVar[str] = ""
    settings: ClassVar[Mapping[str, Any]] = {}
    design_objectives: ClassVar[Mapping[str, tuple[str, bool]]] = {}

    def _design_space(self, base: Accelerator, space: Any, *, source: str | None):
        """The hardware space from ``space:`` minus :attr:`settings_key`, and the extra
        parameters :meth:`_configure` builds from the settings under it."""
        spec = {} if space is None else space
        if not isinstance(spec, Mapping):
            raise InputError("expected a mapping", source=source, key="space")
        hw_spec = {k: v for k, v in spec.items() if k != self.settings_key}
        user = spec.get(self.settings_key) or {}
        if not isinstance(user, Mapping):
            raise InputError(
                "expected a mapping of settings", source=source, key=f"space.{self.settings_key}"
            )
        unknown = set(user) - set(type(self).settings)
        if unknown:
            raise InputError(
                f"unknown setting {sorted(unknown)[0]!r}; expected one of "
                f"{sorted(type(self).settings)}",
                source=source,
                key=f"space.{self.settings_key}",
            )
        self.options: dict[str, Any] = {**type(self).settings, **user}
        hardware = space_from_spec(base, hw_spec, source=source) if hw_spec else None
        extra = self._configure(base, hardware, source=source)
        try:
            return JointSpace(base=base, hardware=hardware, extra=extra)
        except InputError as exc:
            raise InputError(exc.detail, source=source, key="space") from None

    def _design_metrics(self) -> set[str]:
        return {m for m, _ in self.design_objectives.values()}

    # -- hooks ----------------------------------------------------------------------------------

    def _configure(
        self, base: Accelerator, hardware: DesignSpace | None, *, source: str | None
    ) -> tuple[Parameter, ...]:
        """The extra parameters (after reading ``self.options``)."""
        raise NotImplementedError

    # -- objectives and constraints with the subclass's own metrics ------------------------------

    def _objectives(self, specs: Any, names: list[str], source: str | None):
        if isinstance(specs, (str, Mapping)) or not specs:
            raise InputError(
                "expected a non-empty list of objectives", source=source, key="objectives"
            )
        out: list[Objective] = []
        for i, spec in enumerate(specs):
            name = spec if isinstance(spec, str) else (spec or {}).get("name")
            if name in self.design_objectives:
                if isinstance(spec, Mapping) and set(spec) != {"name"}:
                    raise InputError(
                        f"{name} is one value per design; give only its name",
                        source=source,
                        key=f"objectives[{i}]",
                    )
                metric, maximize = self.design_objectives[name]
                out.append(Objective(name, metric, maximize, metric))
            else:
                out += parse_objectives([spec], names, source=source)
        columns = [o.column for o in out]
        if len(set(columns)) != len(columns):
            raise InputError("an objective is listed twice", source=source, key="objectives")
        return tuple(out)

    def _constraints(self, specs: Any, names: list[str], source: str | None):
        if specs is None:
            return ()
        if isinstance(specs, (str, Mapping)):
            raise InputError("expected a list of constraints", source=source, key="constraints")
        own = {m for m, _ in self.design_objectives.values()}
        out: list[Constraint] = []
        for i, spec in enumerate(specs):
            parsed = _own_constraint(spec, own)
            if parsed is None:
                out += parse_constraints(
                    [spec], names, source=source, per_design=self.design_metric_names
                )
                continue
            metric, op, bound = parsed
            try:
                value = float(bound)
            except (TypeError, ValueError):
                value = float("nan")
            if not value > 0:
                raise InputError(
                    f"bound must be a positive number, got {bound!r}",
                    source=source,
                    key=f"constraints[{i}]",
                )
            out.append(Constraint(metric=metric, bound=value, upper=op == "<="))
        return tuple(out)

    # -- shared evaluation tail -----------------------------------------------------------------

    def _finish(
        self,
        X: np.ndarray,
        designs: Designs,
        area_mm2: np.ndarray,
        per_workload: Mapping[str, Mapping[str, np.ndarray]],
        design_metrics: Mapping[str, np.ndarray] | None = None,
    ) -> Evaluation:
        """Objectives, constraints and metrics from per-workload and design-level metrics."""
        design = {"area_mm2": area_mm2}
        design.update({k: getattr(designs, k) for k in self.design_metric_names if k != "area_mm2"})
        design.update(design_metrics or {})
        objectives = np.stack([o.values(design, per_workload) for o in self.objective_list], 1)
        sign = np.asarray([-1.0 if o.maximize else 1.0 for o in self.objective_list])
        F = sign * np.log10(objectives)
        if self.constraint_list:
            G = np.concatenate([c.violations(design, per_workload) for c in self.constraint_list]).T
        else:
            G = np.zeros((len(X), 0))
        metrics = {"area_mm2": area_mm2, **(design_metrics or {})}
        for name, values in per_workload.items():
            for key, value in values.items():
                if key != "fps":
                    metrics[f"{name}.{key}"] = value
        return Evaluation(X=X, objectives=objectives, F=F, G=G, metrics=metrics)

    def workload_results(self, X: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        ev = self.evaluate_designs(X)
        return {
            n: {k.split(".", 1)[1]: v for k, v in ev.metrics.items() if k.startswith(f"{n}.")}
            for n in self.workload_names
        }

    def resolved_space(self) -> dict[str, Any]:
        """The space as a YAML mapping this class accepts back (hardware values and settings)."""
        out: dict[str, Any] = {}
        if self.design_space.hardware is not None:
            out.update({p.name: list(p.values) for p in self.design_space.hardware.parameters})
        out[self.settings_key] = dict(self.options)
        return out


def _own_constraint(spec: Any, own: set[str]) -> tuple[str, str, Any] | None:
    """``(metric, op, bound)`` when ``spec`` constrains one of the subclass's metrics."""
    if isinstance(spec, str):
        for op in ("<=", ">="):
            if op in spec:
                left, right = spec.split(op, 1)
                if left.strip() in own:
                    return left.strip(), op, right.strip()
        return None
    if isinstance(spec, Mapping) and spec.get("metric") in own:
        if len({"max", "min"} & set(spec)) != 1 or set(spec) - {"metric", "max", "min"}:
            return spec["metric"], "<=", None
        return spec["metric"], "<=" if "max" in spec else ">=", spec.get("max", spec.get("min"))
    return None
