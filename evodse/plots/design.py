"""One design of a run, re-evaluated: the data behind the per-design figures.

:func:`design_cost` evaluates a single design (the knee point by default) on the run's workloads
with the cost model: one model evaluation, not a re-run. The hardware comes from the design's row
of ``evaluations.csv``, the workloads from ``config.yaml``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evodse.errors import InputError
from evodse.hardware.protocol import Accelerator, accelerator_from_dict, get_template
from evodse.hardware.template import design_summary
from evodse.model.cost import network_costs
from evodse.model.evaluate import NetworkCost
from evodse.plots import units
from evodse.plots.rundata import Run, load_run
from evodse.runfiles import WorkloadSpec
from evodse.workload.network import Network

TIMES = "\u00d7"


@dataclass(frozen=True, eq=False)
class DesignCost:
    """A design of a run and its cost on each of the run's workloads."""

    run: Run
    design_id: int
    accelerator: Accelerator
    costs: dict[str, NetworkCost]  # workload name -> cost (one design)

    @property
    def workloads(self) -> list[str]:
        return list(self.costs)

    def cost(self, workload: str | None = None) -> NetworkCost:
        if workload is None:
            return next(iter(self.costs.values()))
        if workload not in self.costs:
            raise InputError(
                f"unknown workload {workload!r}; expected one of {self.workloads}",
                source=str(self.run.path),
                key="workload",
            )
        return self.costs[workload]

    @property
    def title(self) -> str:
        """``design ID (knee): `` and the template's one-line summary of the design."""
        summary = design_summary(self.accelerator.to_dict()).replace("x", TIMES, 1)
        return f"design {self.design_id}{self._role}: {summary}"

    @property
    def short_title(self) -> str:
        """The title on two lines (one-column figures): broken after its first part."""
        return self.title.replace(", ", "\n", 1)

    def require(self, feature: str, *, what: str) -> None:
        """InputError (one line) when the design's template lacks ``feature``."""
        template = get_template(self.accelerator.template)
        template.require(feature, what=what, source=str(self.run.path))

    @property
    def _role(self) -> str:
        return " (knee)" if self.design_id == self.run.knee_id else ""


def _workload_specs(run: Run) -> list[WorkloadSpec]:
    source = str(run.path / "config.yaml")
    entries = run.config.get("workloads")
    if not isinstance(entries, list) or not entries:
        raise InputError("expected a non-empty list", source=source, key="workloads")
    specs = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"workload": entry}
        if not isinstance(entry, Mapping) or "workload" not in entry:
            raise InputError(
                "expected a workload name, path or {workload: ...}",
                source=source,
                key=f"workloads[{i}]",
            )
        shapes = entry.get("input_shapes")
        specs.append(
            WorkloadSpec(
                workload=str(entry["workload"]),
                batch=entry.get("batch"),
                input_shapes=None
                if shapes is None
                else {str(k): tuple(int(d) for d in v) for k, v in shapes.items()},
                strict=bool(entry.get("strict", False)),
            )
        )
    return specs


def _load_network(spec: WorkloadSpec, run: Run, i: int) -> Network:
    """Load a workload; a relative path that does not exist is tried against the run dir."""
    path = Path(spec.workload)
    is_file = spec.workload.lower().endswith((".onnx", ".yaml", ".yml"))
    if is_file and not path.is_absolute() and not path.exists():
        for base in (run.path, run.path.parent):
            if (base / path).exists():
                spec = WorkloadSpec(str(base / path), spec.batch, spec.input_shapes, spec.strict)
                break
    try:
        return spec.load()
    except (InputError, OSError) as exc:
        detail = exc.detail if isinstance(exc, InputError) else str(exc)
        raise InputError(
            f"cannot load workload {spec.workload!r} ({detail})",
            source=str(run.path / "config.yaml"),
            key=f"workloads[{i}]",
        ) from None


def design_cost(run: Run | str | Path, design: int | None = None) -> DesignCost:
    """Evaluate design ``design`` (an ``id`` of evaluations.csv; default: the knee point)."""
    run = load_run(run)
    design_id = run.design_id(design)
    cache = run.cache.setdefault("design_cost", {})
    if design_id in cache:
        return cache[design_id]
    hw = run.hardware(design_id)
    try:
        acc = accelerator_from_dict(hw, source=run.evaluations.source)
    except InputError as exc:
        raise InputError(
            f"design {design_id}: {exc.detail}", source=run.evaluations.source, key=exc.key
        ) from None
    networks = [_load_network(spec, run, i) for i, spec in enumerate(_workload_specs(run))]
    costs = {n.name: c for n, c in zip(networks, network_costs(acc, networks), strict=True)}
    _check_recorded(run, design_id, costs)
    result = DesignCost(run, design_id, acc, costs)
    cache[design_id] = result
    return result


def _check_recorded(run: Run, design_id: int, costs: Mapping[str, NetworkCost]) -> None:
    """Warn when the re-evaluation disagrees with the run's recorded metrics (the cost model
    or a workload file changed since the run): the figures show the current model."""
    row = run.row_index(design_id)
    for w, cost in costs.items():
        for metric, value in (("latency_s", cost.latency_s[0]), ("energy_pj", cost.energy_pj[0])):
            column = f"{w}.{metric}"
            if column not in run.evaluations:
                continue
            recorded = float(run.evaluations[column][row])
            if not np.isclose(float(value), recorded, rtol=1e-6, atol=0.0):
                version = (run.summary.get("versions") or {}).get("evodse", "?")
                warnings.warn(
                    f"{run.evaluations.source}: design {design_id}: re-evaluated {column} is "
                    f"{float(value):.6g}, the run recorded {recorded:.6g} (evodse {version}); the "
                    "cost model or workload changed since the run, so the per-design figures "
                    "show the current model",
                    UserWarning,
                    stacklevel=3,
                )
                return


def quantity_text(column: str, value: float) -> str:
    """``6.9 ms``: a value in its own readable unit."""
    u = units.unit_for(column, [value])
    return f"{u(value):.3g} {u.unit}"
