"""Why a search found no feasible design: the binding constraint and how close designs came.

Constraint violations are archived per constraint row (``G``, pymoo's convention: ``<= 0``
satisfied; ``value / bound - 1`` for ``<=``, ``1 - value / bound`` for ``>=``), so the values
the designs reached are recovered exactly from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodse.search.archive import Archive
from evodse.search.objectives import Constraint
from evodse.search.problem import AcceleratorProblem


@dataclass(frozen=True)
class ConstraintRow:
    """One row of ``G``: a constraint on one workload (or on the design)."""

    constraint: Constraint
    workload: str | None

    @property
    def target(self) -> str:
        """The constrained quantity: ``area_mm2``, ``latency_s[resnet50]``."""
        c = self.constraint
        return f"{c.metric}[{self.workload}]" if self.workload else c.metric

    @property
    def label(self) -> str:
        c = self.constraint
        return f"{self.target} {'<=' if c.upper else '>='} {c.bound:g}"

    def value(self, g: float) -> float:
        """The metric value of a design with violation ``g`` on this row."""
        c = self.constraint
        return c.bound * (g + 1.0) if c.upper else c.bound * (1.0 - g)


def constraint_rows(problem: AcceleratorProblem) -> list[ConstraintRow]:
    """The rows of ``G`` in order (:meth:`Constraint.violations` stacks them this way)."""
    rows = []
    for c in problem.constraint_list:
        if c.workload is None and c.metric not in problem.design_metric_names:
            rows += [ConstraintRow(c, w) for w in problem.workload_names]
        else:
            rows.append(ConstraintRow(c, c.workload))
    return rows


def explain_infeasible(problem: AcceleratorProblem, archive: Archive) -> str | None:
    """One sentence on why no evaluated design is feasible (None when one is, or when nothing
    was evaluated): the binding constraint (met by the fewest designs; ties: the one missed by
    the most), how close the nearest design came to it, and what the design nearest to
    feasibility (least total violation; ties: the first evaluated) still violates."""
    if not len(archive) or archive.column("feasible").any():
        return None
    G = archive.column("G")
    rows = constraint_rows(problem)
    met = (G <= 0).sum(axis=0)
    best = G.min(axis=0)
    binding = min(range(len(rows)), key=lambda j: (met[j], -best[j], j))
    row = rows[binding]
    nearest = int(np.argmin(G[:, binding]))
    value = row.value(float(G[nearest, binding]))
    n = len(archive)
    if met[binding]:
        text = (
            f"no feasible design among {n} evaluated: {row.label!r} binds (met by "
            f"{met[binding]} of them, never together with the other constraints)"
        )
    else:
        text = (
            f"no feasible design among {n} evaluated: {row.label!r} binds (no design meets it; "
            f"the nearest, design {nearest}, has {row.target} = {value:.4g}, "
            f"{value / row.constraint.bound:.3g}x the bound)"
        )
    closest = int(np.argmin(archive.column("cv")))
    missed = [j for j in range(len(rows)) if G[closest, j] > 0]
    if closest != nearest or missed != [binding]:
        misses = ", ".join(
            f"{rows[j].label} (has {rows[j].value(float(G[closest, j])):.4g})" for j in missed
        )
        text += f"; the design nearest to feasible, design {closest}, misses {misses}"
    return text
