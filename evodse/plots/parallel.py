"""Parallel coordinates of the Pareto designs over their decoded hardware parameters.

One vertical axis per varying hardware parameter (its allowed values evenly spaced, in the
design space's order) followed by one per objective (min to max over the front, log-spaced where
it spans decades). Each Pareto design is a line coloured by the first objective; the knee is
drawn black. Tick labels sit in opaque boxes above the lines.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from evodse.errors import InputError
from evodse.plots import style, units
from evodse.plots.rundata import Parameter, Run, load_run

TICK_LABEL_ZORDER = 6  # above the design lines (2) and the knee (4)


def _positions(values: np.ndarray, p: Parameter) -> np.ndarray:
    """Evenly spaced position in [0, 1] of each value among the parameter's allowed values."""
    n = len(p.values)
    if p.categorical:
        lookup = {str(v): i for i, v in enumerate(p.values)}
        idx = np.asarray([lookup.get(str(v), 0) for v in values], dtype=float)
    else:
        allowed = np.asarray(p.values, dtype=float)
        v = np.asarray(values, dtype=float)
        idx = np.argmin(np.abs(v[:, None] - allowed[None, :]), axis=1).astype(float)
    return idx / (n - 1) if n > 1 else np.full(len(idx), 0.5)


def _value_text(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if float(v).is_integer():
        return str(int(v))
    return f"{v:g}"


def _axis_label(quantity: str, unit: str) -> str:
    lines = []
    for part in quantity.split(", "):
        lines += textwrap.wrap(part, width=10, break_long_words=False) or [part]
    text = "\n".join(lines)
    return f"{text}\n({unit})" if unit else text


def _ticks(lo: float, hi: float, logged: bool) -> list[float]:
    if logged:
        ticks = units.nice_log_ticks(lo, hi, max_ticks=5)
    else:
        ticks = [t for t in MaxNLocator(4).tick_values(lo, hi) if lo - 1e-12 <= t <= hi + 1e-12]
    return ticks or [lo, hi]


def parallel_coordinates(
    run: Run | str | Path,
    *,
    color_by: int | str = 0,
    size: str | tuple[float, float] = "double",
    rc: Mapping[str, Any] | None = None,
) -> Figure:
    """Parallel coordinates of the Pareto designs (see module docstring).

    ``color_by``: the objective (index or column) colouring the lines.
    """
    run = load_run(run)
    table = run.pareto
    feasible = np.asarray(table["feasible"], dtype=float) > 0
    rows = np.flatnonzero(feasible)
    if not len(rows):
        raise InputError("the run has no feasible Pareto design", source=table.source, key="id")
    params = run.parameters
    columns = run.objective_columns
    if isinstance(color_by, str):
        if color_by not in columns:
            raise InputError(
                f"unknown objective {color_by!r}; expected one of {columns}",
                source=str(run.path),
                key="color_by",
            )
        color_by = columns.index(color_by)

    positions: list[np.ndarray] = []
    labels: list[str] = []
    tick_sets: list[list[tuple[float, str]]] = []
    for p in params:
        values = table[p.name][rows]
        positions.append(_positions(values, p))
        q, u = units.hardware_labels().get(p.name, (p.name.replace("_", " "), ""))
        labels.append(_axis_label(q, u))
        n = len(p.values)
        step = max(1, math.ceil(n / 8))  # at most 8 labels per axis
        tick_sets.append(
            [
                ((i / (n - 1) if n > 1 else 0.5), _value_text(v))
                for i, v in enumerate(p.values)
                if i % step == 0 or i == n - 1
            ]
        )
    F = run.objective_values(table)[rows]
    color_values = None
    color_unit = None
    for j, column in enumerate(columns):
        u = units.unit_for(column, F[:, j])
        v = u(F[:, j])
        logged = units.spans_decades(v, span=10.0)
        lo, hi = float(v.min()), float(v.max())
        if logged:
            t = np.log10(v)
            tlo, thi = math.log10(lo), math.log10(hi)
        else:
            t, tlo, thi = v, lo, hi
        span = thi - tlo
        pos = (t - tlo) / span if span > 0 else np.full(len(v), 0.5)
        positions.append(pos)
        labels.append(_axis_label(u.quantity, u.unit))
        ticks = []
        for tick in _ticks(lo, hi, logged) if span > 0 else [lo]:
            tt = math.log10(tick) if logged else tick
            ticks.append(((tt - tlo) / span if span > 0 else 0.5, units.format_number(tick)))
        tick_sets.append(ticks)
        if j == color_by:
            color_values, color_unit, color_log = v, u, logged
    P = np.stack(positions, axis=1)  # (n_designs, n_axes)
    k = P.shape[1]
    xs = np.arange(k, dtype=float)

    knee_row = None
    if run.knee_id is not None:
        ids = np.asarray(table["id"], dtype=np.int64)[rows]
        hit = np.flatnonzero(ids == run.knee_id)
        knee_row = int(hit[0]) if len(hit) else None

    with style.paper_rc(rc):
        width = style.figure_size(size, 0)[0]
        fig = style.new_figure(size, 2.8 if width > 5 else 2.6, rc)
        ax = fig.add_subplot()
        norm = (
            LogNorm(color_values.min(), color_values.max())
            if color_log
            else Normalize(color_values.min(), color_values.max())
        )
        segments = [np.column_stack([xs, P[i]]) for i in range(len(P))]
        maximized = run.maximize[color_by]
        order = np.argsort(color_values if maximized else -color_values)  # best drawn on top
        lines = LineCollection(
            [segments[i] for i in order],
            array=color_values[order],
            cmap=style.line_cmap().reversed() if maximized else style.line_cmap(),  # dark: better
            norm=norm,
            linewidths=0.8,
            alpha=0.55 if len(P) > 30 else 0.85,
            zorder=2,
        )
        ax.add_collection(lines)
        title = f"{len(P)} Pareto designs, coloured by {color_unit.quantity}"
        if knee_row is not None:
            ax.plot(xs, P[knee_row], color="black", lw=1.8, zorder=4)
            title += f"; black: knee (design {run.knee_id})"
        for x, ticks in zip(xs, tick_sets, strict=True):
            ax.axvline(x, color="#444444", lw=0.7, zorder=1)
            for y, text in ticks:
                ax.plot([x - 0.04, x], [y, y], color="#444444", lw=0.6, zorder=1)
                ax.text(  # an opaque box above every line: labels are never covered
                    x - 0.06,
                    y,
                    text,
                    ha="right",
                    va="center",
                    fontsize=6,
                    zorder=TICK_LABEL_ZORDER,
                    bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "#BBBBBB", "lw": 0.3},
                )
        n_params = len(params)
        if n_params and n_params < k:  # separate parameters from objectives
            ax.axvspan(n_params - 0.5, k - 0.5 + 0.25, color="#F2F2F2", zorder=0, lw=0)
        ax.set_xlim(-0.45, k - 1 + 0.25)
        ax.set_ylim(-0.04, 1.04)
        ax.set_xticks(xs, labels)
        ax.tick_params(axis="x", length=0, labelsize=6.5)
        ax.set_yticks([])
        ax.grid(False)
        for side in ("left", "right", "top", "bottom"):
            ax.spines[side].set_visible(False)
        cbar = fig.colorbar(lines, ax=ax, pad=0.01, fraction=0.03, aspect=30)
        cbar.set_label(color_unit.label)
        cbar.solids.set_alpha(1.0)
        if color_log:
            lo, hi = color_values.min(), color_values.max()
            ticks = units.nice_log_ticks(lo, hi, max_ticks=5)
            cbar.set_ticks(ticks, labels=[units.format_number(t) for t in ticks])
            cbar.ax.minorticks_off()
        cbar.outline.set_linewidth(0.4)
        ax.set_title(title, loc="left", fontsize=7, color="#444444", y=1.0)
    return fig
