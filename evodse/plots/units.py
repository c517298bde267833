"""Readable axis labels and units for result columns, and log scales where data spans decades.

A column name carries its unit (``latency_s``, ``energy_pj``, ``area_mm2`` ...), possibly with a
workload (``latency_s@resnet50``, ``resnet50.latency_s``) or an aggregate (``latency_s_geomean``).
:func:`unit_for` picks the prefix that puts typical values between 1 and 1000 (``ms``, ``mJ``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

from evodse.hardware.protocol import TEMPLATES
from evodse.search.metrics import METRICS as REGISTRY
from evodse.search.objectives import AGGREGATES

#: Log scale when max / min exceeds this.
LOG_SPAN = 30.0

#: metric -> (quantity, SI factor of the column's unit, [(SI value of a unit, unit name)]),
#: from the metric registry (search/metrics.py)
METRICS: dict[str, tuple[str, float, tuple[tuple[float, str], ...]]] = {
    name: (m.quantity, m.si_factor, m.display) for name, m in REGISTRY.items()
}


def hardware_labels() -> dict[str, tuple[str, str]]:
    """Every registered template's parameters: (short label, unit or ""), from their
    declarations (:mod:`evodse.hardware.protocol`)."""
    out: dict[str, tuple[str, str]] = {}
    for template in TEMPLATES.values():
        for name, label in template.labels().items():
            out.setdefault(name, label)
    return out


@dataclass(frozen=True)
class Unit:
    """How to show a column: plotted value = column value x ``scale``."""

    quantity: str  # "latency", "latency, resnet50"
    unit: str  # "ms" ("" when dimensionless)
    scale: float

    @property
    def label(self) -> str:
        return f"{self.quantity} ({self.unit})" if self.unit else self.quantity

    def __call__(self, values: np.ndarray | float) -> np.ndarray:
        return np.asarray(values, dtype=float) * self.scale


def split_column(column: str) -> tuple[str, str | None, str | None]:
    """``(metric, workload, aggregate)`` of a result column."""
    if "@" in column:
        metric, workload = column.split("@", 1)
        return metric, workload, None
    if column in METRICS or column in hardware_labels():
        return column, None, None
    for agg in AGGREGATES:
        if column.endswith(f"_{agg}") and column[: -len(agg) - 1] in METRICS:
            return column[: -len(agg) - 1], None, agg
    if "." in column:
        workload, metric = column.rsplit(".", 1)
        if metric in METRICS:
            return metric, workload, None
    return column, None, None


def quantity(column: str) -> str:
    """Readable quantity without unit: ``latency, resnet50``, ``energy (geomean)``."""
    metric, workload, agg = split_column(column)
    labels = hardware_labels()
    if metric in METRICS:
        name = METRICS[metric][0]
    elif metric in labels:
        name = labels[metric][0]
    else:
        name = metric.replace("_", " ")
    if workload:
        name = f"{name}, {workload}"
    if agg:
        name = f"{name} ({agg})"
    return name


def unit_for(column: str, values: Sequence[float] | np.ndarray | None = None) -> Unit:
    """The readable unit for ``column`` given the values to show (their median picks it)."""
    metric = split_column(column)[0]
    name = quantity(column)
    labels = hardware_labels()
    if metric in labels:
        return Unit(name, labels[metric][1], 1.0)
    if metric not in METRICS:
        return Unit(name, "", 1.0)
    _, si, units = METRICS[metric]
    typical = _typical(values)
    if typical is None:
        typical = units[0][0] / si
    typical_si = typical * si
    chosen = units[-1]
    for unit_si, unit_name in units:  # largest unit that keeps typical values >= 1
        if typical_si >= unit_si * 0.999:
            chosen = (unit_si, unit_name)
            break
    return Unit(name, chosen[1], si / chosen[0])


def label(column: str, values: Sequence[float] | np.ndarray | None = None) -> str:
    """Axis label with unit, e.g. ``latency (ms)``."""
    return unit_for(column, values).label


def _typical(values: Sequence[float] | np.ndarray | None) -> float | None:
    if values is None:
        return None
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.median(v)) if len(v) else None


def spans_decades(values: Sequence[float] | np.ndarray, span: float = LOG_SPAN) -> bool:
    """True when all values are positive and max / min exceeds ``span``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(len(v) and v.min() > 0 and v.max() / v.min() > span)


def format_number(value: float) -> str:
    """Compact tick text: 0.5, 2, 20, 1500, 1e+06."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    mag = abs(value)
    if 100 <= mag < 1e5:
        return f"{value:.0f}"
    if 1e-3 <= mag < 100:
        return f"{value:.3g}"
    return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def set_scale(ax: Axes, axis: str, values: Sequence[float] | np.ndarray) -> bool:
    """Log scale with plain-number ticks on ``axis`` ('x' or 'y') when ``values`` span decades.

    Returns whether the axis is logarithmic.
    """
    if not spans_decades(values):
        return False
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    decades = math.log10(v.max() / v.min())
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    setter("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda x, _pos: format_number(x)))
    target.set_minor_formatter(NullFormatter())
    if decades < 2.5:  # 1-2-5 labels; minor ticks would add little
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        target.set_minor_locator(NullLocator())
    else:
        target.set_major_locator(LogLocator(base=10, subs=(1.0,)))
        target.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10))))
    return True


def nice_log_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """1-2-5 values between ``lo`` and ``hi`` (positive), at most about ``max_ticks``."""
    if not (lo > 0 and hi > 0):
        return []
    lo, hi = min(lo, hi), max(lo, hi)
    for subs in ((1, 2, 5), (1, 3), (1,)):
        ticks = [
            s * 10.0**e
            for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
            for s in subs
        ]
        ticks = [t for t in ticks if lo * 0.999 <= t <= hi * 1.001]
        if len(ticks) <= max_ticks:
            break
    if len(ticks) > max_ticks:  # many decades: every k-th decade
        step = math.ceil(len(ticks) / max_ticks)
        ticks = ticks[::step]
    return ticks
