"""Cross-evaluation heatmap of a multi-workload run: designs specialized for one workload,
evaluated on every workload.

For each workload W the *W-specialized* design is the knee point of the feasible designs'
front on W's own objectives (aggregated and W's per-workload objectives read W's metric,
design-level objectives such as area kept, other workloads' objectives dropped). Row D, column
W: metric of D on W relative to the W-specialized design's (1 on the diagonal; > 1 worse, for
maximized metrics too). The run's overall knee is added as a last row. The values come from
``evaluations.csv``'s per-workload columns (``<workload>.<metric>``): nothing is re-evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from evodse.errors import InputError
from evodse.plots import style, units
from evodse.plots.rundata import Run, load_run, log_objectives
from evodse.runfiles import knee_point
from evodse.search.archive import non_dominated
from evodse.search.metrics import METRICS
from evodse.search.objectives import design_metrics

TIMES = "\u00d7"
_MAXIMIZED = {name for name, m in METRICS.items() if m.maximize}


@dataclass(frozen=True)
class CrossEvaluation:
    """Designs (rows) x workloads (columns) of one metric."""

    metric: str
    workloads: list[str]
    design_ids: list[int]
    row_labels: list[str]
    values: np.ndarray  # (rows, workloads) true metric values
    relative: np.ndarray  # (rows, workloads) relative to the column's specialized design


def _metric_of(spec: Mapping[str, Any]) -> str:
    column = str(spec["column"])
    return units.split_column(column)[0]


def _specialized(run: Run, workload: str) -> int:
    """Row (evaluations.csv) of the knee of the workload's own front."""
    cols, maximize = [], []
    for spec in run.objective_specs:
        metric = _metric_of(spec)
        target = spec.get("workload")
        if metric in design_metrics(run.template):
            col = metric
        elif target is None or target == workload:
            col = f"{workload}.{metric}"
        else:
            continue
        if col not in cols:
            cols.append(col)
            maximize.append(metric in _MAXIMIZED)
    rows = np.flatnonzero(run.feasible)
    if not len(rows):
        raise InputError(
            "no feasible design to compare", source=run.evaluations.source, key="feasible"
        )
    F = log_objectives(run.evaluations.matrix(cols)[rows], maximize)
    finite = np.all(np.isfinite(F), axis=1)
    rows, F = rows[finite], F[finite]
    front = non_dominated(F)
    pick = knee_point(F[front])
    return int(rows[front[pick or 0]])


def cross_evaluation_data(
    run: Run | str | Path, *, metrics: Sequence[str] | None = None
) -> list[CrossEvaluation]:
    """The matrices of :func:`cross_evaluation` (one per metric)."""
    run = load_run(run)
    workloads = run.workloads
    if len(workloads) < 2:
        raise InputError(
            "cross-evaluation needs a run with several workloads",
            source=str(run.path),
            key="workloads",
        )
    if metrics is None:
        metrics = []
        for spec in run.objective_specs:
            m = _metric_of(spec)
            if m not in design_metrics(run.template) and m not in metrics:
                metrics.append(m)
        metrics = metrics or ["latency_s"]
    for m in metrics:
        if f"{workloads[0]}.{m}" not in run.evaluations:
            raise InputError(
                f"no per-workload column for metric {m!r}",
                source=run.evaluations.source,
                key=f"{workloads[0]}.{m}",
            )
    spec_rows = [_specialized(run, w) for w in workloads]
    ids = np.asarray(run.evaluations["id"], dtype=np.int64)
    rows = list(spec_rows)
    labels = [f"{w}-specialized" for w in workloads]
    if run.knee_id is not None:
        rows.append(run.row_index(run.knee_id))
        labels.append("overall knee")
    area = run.evaluations.get("area_mm2")
    row_labels = []
    for label, r in zip(labels, rows, strict=True):
        extra = f", {area[r]:.3g} mm²" if area is not None else ""
        row_labels.append(f"{label}\n(design {ids[r]}{extra})")
    out = []
    for m in metrics:
        V = np.stack([run.evaluations[f"{w}.{m}"][rows] for w in workloads], axis=1)
        ref = V[np.arange(len(workloads)), np.arange(len(workloads))]  # diagonal
        with np.errstate(divide="ignore", invalid="ignore"):
            R = ref[None, :] / V if m in _MAXIMIZED else V / ref[None, :]
        out.append(
            CrossEvaluation(m, list(workloads), [int(ids[r]) for r in rows], row_labels, V, R)
        )
    return out


def cross_evaluation(
    run: Run | str | Path,
    *,
    metrics: Sequence[str] | None = None,
    size: str | tuple[float, float] | None = None,
    rc: Mapping[str, Any] | None = None,
) -> Figure:
    """Heatmap(s) of the cross-evaluation (see module docstring); one panel per metric
    (default: every per-workload metric among the objectives)."""
    data = cross_evaluation_data(run, metrics=metrics)
    n_rows = len(data[0].row_labels)
    n_w = len(data[0].workloads)
    size = size or ("single" if len(data) == 1 and n_w <= 3 else "double")
    all_rel = np.concatenate([d.relative.ravel() for d in data])
    all_rel = all_rel[np.isfinite(all_rel) & (all_rel > 0)]
    span = float(np.max(np.abs(np.log2(all_rel)))) if len(all_rel) else 1.0
    span = max(span, np.log2(1.1))
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)
    with style.paper_rc(rc):
        height = 0.9 + 0.38 * n_rows
        fig = style.new_figure(size, height, rc)
        axes = fig.subplots(1, len(data), sharey=True, squeeze=False)[0]
        image = None
        for ax, d in zip(axes, data, strict=True):
            L = np.log2(d.relative)
            image = ax.imshow(L, cmap=style.DIVERGING_CMAP, norm=norm, aspect="auto")
            for r in range(L.shape[0]):
                for c in range(L.shape[1]):
                    rel = d.relative[r, c]
                    text = f"{rel:.2f}{TIMES}" if np.isfinite(rel) else "n/a"
                    dark = np.isfinite(L[r, c]) and abs(L[r, c]) > 0.6 * span
                    ax.text(
                        c,
                        r,
                        text,
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white" if dark else "black",
                    )
            ax.set_xticks(range(n_w), d.workloads)
            if _crowded(fig, len(data), d.workloads):  # vertical: rotated boxes never overlap
                ax.tick_params(axis="x", labelrotation=90)
            ax.set_yticks(range(n_rows), d.row_labels)
            ax.tick_params(length=0)
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_title(units.quantity(d.metric), fontsize=7.5, y=1.0)
            ax.set_xlabel("evaluated on")
            if len(d.row_labels) > n_w:  # separate the knee row
                ax.axhline(n_w - 0.5, color="white", lw=2)
        cbar = fig.colorbar(image, ax=list(axes), pad=0.02, fraction=0.05, aspect=20)
        whole = int(np.floor(span + 1e-9))
        step = max(1, int(np.ceil((2 * whole + 1) / 7)))
        ticks = [float(t) for t in range(-whole, whole + 1) if t % step == 0]
        if len(ticks) < 3:
            half = 0.5 if span >= 0.5 else round(span, 2)
            ticks = [-half, 0.0, half]
        cbar.set_ticks(ticks, labels=[units.format_number(2.0**t) + TIMES for t in ticks])
        cbar.set_label("relative to the column's\nspecialized design (>1 worse)")
        cbar.outline.set_linewidth(0.4)
    return fig


def _crowded(fig: Figure, panels: int, labels: Sequence[str]) -> bool:
    """Whether column labels (about 0.055 in per character at 7 pt) would touch."""
    width = fig.get_figwidth() - 2.6  # row labels and colour bar
    cell = max(width / panels / max(len(labels), 1), 0.1)
    return max(len(s) for s in labels) * 0.055 > cell * 0.95
