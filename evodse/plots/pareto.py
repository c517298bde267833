"""Pareto-front figures: a 2-D scatter, pairwise scatters, and a 3-D scatter.

Every evaluation of the run is drawn faded (infeasible ones as light crosses), the front
(``pareto.csv``) on top, the knee point as a star. Axes carry units and switch to log scale where
the data spans decades (whatever the front holds: an empty front keeps the scale of the other
points). 2-D fronts also get their attainment boundary (a staircase); a constraint bound on a
plotted objective is a dashed line; an empty front says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter

from evodse.errors import InputError
from evodse.plots import style, units
from evodse.plots.rundata import Run, load_run
from evodse.search.archive import non_dominated

_DOMINATED = {"s": 3, "color": style.GREY, "alpha": 0.25, "linewidths": 0, "rasterized": True}
_INFEASIBLE = {
    "s": 5,
    "color": style.LIGHT_GREY,
    "alpha": 0.6,
    "marker": "x",
    "linewidths": 0.4,
    "rasterized": True,
}
_FRONT = {"s": 9, "color": style.BLUE, "edgecolors": "white", "linewidths": 0.25, "zorder": 3}
_KNEE = {
    "s": 70,
    "marker": "*",
    "color": style.VERMILLION,
    "edgecolors": "black",
    "linewidths": 0.5,
    "zorder": 5,
}


_CONSTRAINT = re.compile(
    r"^(?P<metric>\w+)(?:\[(?P<workload>[^\]]+)\])?\s*(?P<op><=|>=)\s*(?P<bound>\S+)$"
)
_BOUND = {"color": style.VERMILLION, "ls": (0, (4, 2)), "lw": 0.8, "zorder": 4}


def objective_bounds(run: Run) -> dict[str, tuple[float, str]]:
    """Constraint bounds on objective columns: {column: (bound, "<=" or ">=")} from the run's
    constraint labels (``area_mm2 <= 8`` bounds ``area_mm2``; ``latency_s[resnet50] <= 0.03``
    bounds ``latency_s@resnet50``, or ``latency_s`` in a one-workload run)."""
    out: dict[str, tuple[float, str]] = {}
    columns = set(run.objective_columns)
    for label in run.summary.get("constraints") or []:
        m = _CONSTRAINT.match(str(label).strip())
        if m is None:
            continue
        try:
            bound = float(m["bound"])
        except ValueError:
            continue
        metric, workload = m["metric"], m["workload"]
        names = [metric] if workload is None else [f"{metric}@{workload}"]
        if workload is not None and list(run.workloads) == [workload]:
            names.append(metric)
        for name in names:
            if name in columns:
                old = out.get(name)
                tighter = old is None or (bound < old[0] if m["op"] == "<=" else bound > old[0])
                if old is None or (old[1] == m["op"] and tighter):
                    out[name] = (bound, m["op"])
    return out


#: Dominated (and, apart, infeasible) designs drawn at most; beyond, an evenly spaced sample in
#: evaluation order is drawn and the legend says how many of how many. The front is whole.
MAX_DRAWN = 20_000


def _thin(E: np.ndarray) -> tuple[np.ndarray, int]:
    """At most ``MAX_DRAWN`` rows of ``E``, evenly spaced; and how many rows there were."""
    if len(E) <= MAX_DRAWN:
        return E, len(E)
    return E[np.linspace(0, len(E) - 1, MAX_DRAWN).round().astype(np.int64)], len(E)


class _Points:
    """Objective values of a run split into infeasible, dominated, front and knee (the first
    two thinned for drawing: :data:`MAX_DRAWN`)."""

    def __init__(self, run: Run):
        E = run.objective_values()
        feasible = run.feasible
        front = run.pareto_mask & feasible
        self.infeasible, self.n_infeasible = _thin(E[~feasible])
        self.dominated, self.n_dominated = _thin(E[feasible & ~front])
        self.front = E[front]
        self.knee: np.ndarray | None = None
        self.knee_id = run.knee_id
        if self.knee_id is not None:
            try:
                self.knee = E[run.row_index(self.knee_id)]
            except InputError:
                self.knee = None
        self.all = E
        self.bounds = objective_bounds(run)
        self.columns = run.objective_columns
        self.maximize = run.maximize
        self.units = [units.unit_for(c, E[:, j]) for j, c in enumerate(self.columns)]


def _objective_index(run: Run, which: int | str | None, default: int) -> int:
    if which is None:
        return default
    if isinstance(which, int) and not isinstance(which, bool):
        if 0 <= which < len(run.objective_columns):
            return which
    elif which in run.objective_columns:
        return run.objective_columns.index(which)
    raise InputError(
        f"unknown objective {which!r}; expected one of {run.objective_columns}",
        source=str(run.path),
        key="objectives",
    )


def _panel(ax: Axes, pts: _Points, j: int, i: int, *, staircase: bool) -> None:
    """Scatter objective ``j`` (x) against objective ``i`` (y) on ``ax``."""
    ux, uy = pts.units[j], pts.units[i]
    if len(pts.infeasible):
        ax.scatter(ux(pts.infeasible[:, j]), uy(pts.infeasible[:, i]), **_INFEASIBLE)
    if len(pts.dominated):
        ax.scatter(ux(pts.dominated[:, j]), uy(pts.dominated[:, i]), **_DOMINATED)
    if staircase and len(pts.front):
        xs, ys = _staircase(pts.front[:, [j, i]], [pts.maximize[j], pts.maximize[i]])
        ax.plot(ux(xs), uy(ys), color=style.BLUE, lw=0.8, alpha=0.8, zorder=2)
    if len(pts.front):
        ax.scatter(ux(pts.front[:, j]), uy(pts.front[:, i]), **_FRONT)
    if pts.knee is not None:
        ax.scatter(ux(pts.knee[j]), uy(pts.knee[i]), **_KNEE)
    shown = pts.all[np.all(np.isfinite(pts.all), axis=1)]
    units.set_scale(ax, "x", ux(shown[:, j]))
    units.set_scale(ax, "y", uy(shown[:, i]))
    for col, unit, line in ((j, ux, ax.axvline), (i, uy, ax.axhline)):
        bound = pts.bounds.get(pts.columns[col])
        if bound is not None:
            line(float(unit(bound[0])), **_BOUND)
    if not len(pts.front):
        ax.text(
            0.5,
            0.97,
            "no feasible design",
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=7,
            color=style.VERMILLION,
        )


def _staircase(F: np.ndarray, maximize: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the 2-D attainment boundary of the non-dominated points of ``F``."""
    sign = np.where(np.asarray(maximize), -1.0, 1.0)
    Z = F * sign
    Z = Z[non_dominated(Z)]
    Z = Z[np.argsort(Z[:, 0])]
    xs, ys = [Z[0, 0]], [Z[0, 1]]
    for x, y in Z[1:]:
        xs += [x, x]
        ys += [ys[-1], y]
    return np.asarray(xs) * sign[0], np.asarray(ys) * sign[1]


def _legend_handles(pts: _Points) -> list[Line2D]:
    def marker(label: str, **kw: Any) -> Line2D:
        return Line2D([], [], ls="", label=label, **kw)

    def drawn(label: str, shown: np.ndarray, total: int) -> str:
        return label if len(shown) == total else f"{label} ({len(shown):,} of {total:,} drawn)"

    handles = [marker(f"Pareto front ({len(pts.front)})", marker="o", ms=3.5, color=style.BLUE)]
    if len(pts.dominated):
        label = drawn("dominated", pts.dominated, pts.n_dominated)
        handles.append(marker(label, marker="o", ms=2.5, color=style.GREY, alpha=0.6))
    if len(pts.infeasible):
        label = drawn("infeasible", pts.infeasible, pts.n_infeasible)
        handles.append(marker(label, marker="x", ms=3, color=style.GREY, mew=0.6))
    if pts.bounds:
        parts = []
        for column, (bound, op) in pts.bounds.items():
            u = pts.units[pts.columns.index(column)]
            value = units.format_number(float(u(bound)))
            parts.append(f"{u.quantity} {'≤' if op == '<=' else '≥'} {value} {u.unit}".rstrip())
        handles.append(Line2D([], [], label=f"constraint: {', '.join(parts)}", **_BOUND))
    if pts.knee is not None:
        handles.append(
            marker(
                f"knee (design {pts.knee_id})",
                marker="*",
                ms=7,
                color=style.VERMILLION,
                mec="black",
                mew=0.4,
            )
        )
    return handles


def pareto_front(
    run: Run | str | Path,
    *,
    x: int | str | None = None,
    y: int | str | None = None,
    size: str | tuple[float, float] = "single",
    rc: Mapping[str, Any] | None = None,
) -> Figure:
    """2-D Pareto front: objective ``x`` against ``y`` (default: the first two objectives).

    With more than two objectives the front is projected (its points need not be 2-D
    non-dominated); the staircase is drawn only for two-objective runs.
    """
    run = load_run(run)
    j = _objective_index(run, x, 0)
    i = _objective_index(run, y, 1 if len(run.objective_columns) > 1 else 0)
    pts = _Points(run)
    with style.paper_rc(rc):
        fig = style.new_figure(size, 2.9 if size != "double" else 3.6, rc)
        ax = fig.add_subplot()
        _panel(ax, pts, j, i, staircase=len(run.objective_columns) == 2)
        ax.set_xlabel(pts.units[j].label)
        ax.set_ylabel(pts.units[i].label)
        handles = _legend_handles(pts)
        fig.legend(handles=handles, loc="outside upper center", ncols=2, columnspacing=1.0)
    return fig


def pareto_pairs(
    run: Run | str | Path,
    *,
    objectives: Sequence[int | str] | None = None,
    size: str | tuple[float, float] = "double",
    rc: Mapping[str, Any] | None = None,
) -> Figure:
    """Pairwise scatters of every objective pair (lower triangle of a grid)."""
    run = load_run(run)
    idx = (
        [_objective_index(run, o, 0) for o in objectives]
        if objectives is not None
        else list(range(len(run.objective_columns)))
    )
    if len(idx) < 2:
        raise InputError(
            "pairwise scatter needs at least two objectives", source=str(run.path), key="objectives"
        )
    pts = _Points(run)
    n = len(idx) - 1
    width = style.figure_size(size, 0)[0]
    height = min(width, 1.9 * n + 0.5) if n > 1 else 2.9
    with style.paper_rc(rc):
        fig = style.new_figure(size, height, rc)
        axes = np.atleast_2d(fig.subplots(n, n, sharex="col", sharey="row", squeeze=False))
        for r in range(n):
            for c in range(n):
                ax = axes[r, c]
                if c > r:
                    ax.set_visible(False)
                    continue
                _panel(ax, pts, idx[c], idx[r + 1], staircase=len(run.objective_columns) == 2)
                if r == n - 1:
                    ax.set_xlabel(pts.units[idx[c]].label)
                else:
                    ax.tick_params(labelbottom=False)
                if c == 0:
                    ax.set_ylabel(pts.units[idx[r + 1]].label)
                else:
                    ax.tick_params(labelleft=False)
        handles = _legend_handles(pts)
        if n > 1:
            fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.98, 0.98), ncols=1)
        else:
            fig.legend(handles=handles, loc="outside upper center", ncols=2)
    return fig


def pareto_3d(
    run: Run | str | Path,
    *,
    objectives: Sequence[int | str] | None = None,
    size: str | tuple[float, float] = "single",
    rc: Mapping[str, Any] | None = None,
    elev: float = 22.0,
    azim: float = -55.0,
) -> Figure:
    """3-D scatter of three objectives (default: the first three); log axes show 10^x ticks."""
    run = load_run(run)
    if len(run.objective_columns) < 3:
        raise InputError(
            "a 3-D scatter needs at least three objectives", source=str(run.path), key="objectives"
        )
    idx = [_objective_index(run, o, 0) for o in (objectives or (0, 1, 2))]
    if len(idx) != 3:
        raise InputError("give exactly three objectives", source=str(run.path), key="objectives")
    pts = _Points(run)
    shown = pts.all[np.all(np.isfinite(pts.all), axis=1)]
    transforms = []
    for j in idx:
        u = pts.units[j]
        logged = units.spans_decades(u(shown[:, j]))
        transforms.append((u, logged))

    def coords(F: np.ndarray) -> list[np.ndarray]:
        F = np.atleast_2d(F)
        out = []
        for (u, logged), j in zip(transforms, idx, strict=True):
            v = u(F[:, j])
            out.append(np.log10(v) if logged else v)
        return out

    with style.paper_rc(rc):
        h = 2.8 if size != "double" else 4.0
        # 3-D axes and constrained layout do not mix well: a fixed frame below the legend
        fig = style.new_figure(size, h, rc, layout=None)
        ax = fig.add_axes((0.0, 0.02, 0.92, 0.96), projection="3d", computed_zorder=False)
        ax.view_init(elev=elev, azim=azim)
        if len(pts.infeasible):
            ax.scatter(*coords(pts.infeasible), **{**_INFEASIBLE, "alpha": 0.35})
        if len(pts.dominated):
            ax.scatter(*coords(pts.dominated), **{**_DOMINATED, "alpha": 0.15})
        if len(pts.front):
            ax.scatter(*coords(pts.front), depthshade=False, **_FRONT)
        if pts.knee is not None:
            ax.scatter(*coords(pts.knee), depthshade=False, **_KNEE)
        axis_objs = (ax.xaxis, ax.yaxis, ax.zaxis)
        setters = (ax.set_xlabel, ax.set_ylabel, ax.set_zlabel)
        data = coords(shown)
        for (u, logged), axis, setter, values in zip(
            transforms, axis_objs, setters, data, strict=True
        ):
            setter(u.label, labelpad=1)
            if logged and len(values):
                lo, hi = 10 ** float(values.min()), 10 ** float(values.max())
                ticks = units.nice_log_ticks(lo, hi, max_ticks=5)
                axis.set_major_locator(FixedLocator([math.log10(t) for t in ticks]))
                axis.set_major_formatter(FuncFormatter(lambda v, _p: units.format_number(10**v)))
        ax.tick_params(axis="both", which="major", pad=0)
        for axis in axis_objs:
            axis.pane.set_facecolor((0.97, 0.97, 0.97, 1.0))
        ax.set_box_aspect((1.0, 1.0, 0.8), zoom=0.88)
        handles = _legend_handles(pts)
        fig.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.995),
            ncols=2,
            columnspacing=1.0,
        )
    return fig
