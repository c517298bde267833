"""Validation files in a run directory (all written atomically).

* ``validation.csv``: one row per (design, workload): model versus simulator cycles and errors
  (columns in :mod:`evodse.validation.core`; ``*_error`` = (model - simulator) / simulator).
* ``validation_layers.csv``: one row per (design, workload, layer), with ``simulated`` (1/0) and
  a ``note`` saying why a layer was not simulated or how it was mapped.
* ``validation_summary.json``: error statistics, Kendall tau, order and front changes, per-design
  objectives under both fidelities, simulation and cache counts, settings.
* ``validation.png``: model versus simulator cycles (y = x line) and the latency ranks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from evodse.runfiles import csv_text, write_atomic
from evodse.validation.core import Validation


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return value


def _table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0]) if rows else []
    return csv_text(columns, [[_cell(r[c]) for c in columns] for r in rows])


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_validation(
    out_dir: str | Path, validation: Validation, *, figure: bool = True, stem: str = "validation"
) -> dict:
    """Write the validation files into ``out_dir``; returns the summary written. ``stem``
    names them (``validation``: the SCALE-Sim files above; ``validation_zigzag``: ZigZag's
    ``.csv``, ``_layers.csv`` and ``_summary.json``, no figure)."""
    out = Path(out_dir)
    csv_name, layers_name, summary_name, figure_name = (
        f"{stem}.csv",
        f"{stem}_layers.csv",
        f"{stem}_summary.json",
        f"{stem}.png",
    )
    write_atomic(out / csv_name, _table(validation.design_rows))
    write_atomic(out / layers_name, _table(validation.layer_rows))
    summary = _clean(validation.summary)
    summary["files"] = [csv_name, layers_name, summary_name] + ([figure_name] if figure else [])
    write_atomic(out / summary_name, json.dumps(summary, indent=2, allow_nan=False) + "\n")
    if figure:
        write_atomic(out / figure_name, figure_png(validation))
    return summary


def figure_png(validation: Validation) -> bytes:
    """The comparison figure (:func:`figure`) as PNG bytes."""
    import io

    buf = io.BytesIO()
    figure(validation).savefig(buf, format="png", dpi=150)
    return buf.getvalue()


def _cycles_text(value: float) -> str:
    """Compact tick text: 800, 45k, 1.2M."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


ANNOTATE_MAX = 20  # design ids are written next to their points up to this many designs


def figure(validation: Validation):
    """The comparison figure (no pyplot state touched): model against simulator cycles on
    log axes with plain-number ticks, and the two rankings with a legend for the colours."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    from evodse.plots.units import nice_log_ticks

    rows = validation.design_rows
    summary = validation.summary
    fig = Figure(figsize=(7.16, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    series = [
        ("compute only (stall-free)", "model_compute_cycles", "simulator_compute_cycles", "o"),
        ("simulated layers, with memory", "model_gemm_cycles", "simulator_gemm_cycles", "s"),
        ("whole workload", "model_cycles", "simulator_cycles", "^"),
    ]
    values = []
    for (label, mcol, scol, marker), color in zip(
        series, ("#0072B2", "#E69F00", "#009E73"), strict=True
    ):
        pts = [(r[mcol], r[scol]) for r in rows if r[mcol] > 0 and r[scol] > 0]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        values += list(xs) + list(ys)
        ax.scatter(xs, ys, marker=marker, s=14, alpha=0.85, color=color, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if values:
        lo, hi = min(values) / 1.3, max(values) * 1.3
        ax.plot([lo, hi], [lo, hi], color="#8C8C8C", lw=0.8, ls="--", label="y = x")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ticks = nice_log_ticks(lo, hi, max_ticks=5)
        if len(ticks) < 3:  # within a decade or so: evenly spaced round values instead
            steps = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
            ticks = [t for t in steps.tick_values(lo, hi) if lo <= t <= hi and t > 0]
        for axis in (ax.xaxis, ax.yaxis):  # plain numbers: a range within a decade is labelled
            axis.set_major_locator(FixedLocator(ticks))
            axis.set_major_formatter(FuncFormatter(lambda v, _p: _cycles_text(v)))
            axis.set_minor_locator(NullLocator())
    ax.tick_params(labelsize=7)
    ax.set_xlabel("evodse model cycles (log scale)", fontsize=8)
    ax.set_ylabel("SCALE-Sim cycles (log scale)", fontsize=8)
    ax.set_title("cycles per design and workload", fontsize=9)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)

    per = summary["per_design"]
    tau = summary["kendall_tau"]["latency"]
    col = summary["ranking"]["objective"]
    xs = [p["model_rank"] for p in per]
    ys = [p["simulator_rank"] for p in per]
    leaves = [bool(p["on_model_front"] and not p["on_simulator_front"]) for p in per]
    colors = ["#D55E00" if leave else "#0072B2" for leave in leaves]
    ax2.scatter(xs, ys, c=colors, s=18)
    if len(per) <= ANNOTATE_MAX:
        for p, x, y in zip(per, xs, ys, strict=True):
            ax2.annotate(
                str(p["id"]), (x, y), fontsize=6, xytext=(3, 2), textcoords="offset points"
            )
    n = len(per)
    ax2.plot([1, max(n, 1)], [1, max(n, 1)], color="#8C8C8C", lw=0.8, ls="--")
    for axis in (ax2.xaxis, ax2.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=6, integer=True, min_n_ticks=2))
    ax2.tick_params(labelsize=7)
    ax2.set_xlabel(f"rank by model {col} (1: best)", fontsize=8)
    ax2.set_ylabel(f"rank by simulator {col}", fontsize=8)
    handles = [
        Line2D([], [], ls="", marker="o", ms=4, color="#0072B2", label="design"),
        Line2D([], [], ls="", marker="o", ms=4, color="#D55E00", label="on the model's front only"),
    ]
    ax2.legend(  # below the axes: never over a point
        handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2
    )
    tau_text = "n/a" if tau is None else f"{tau:.3f}"
    leave = summary["front"]["leave_front"]
    ax2.set_title(f"Kendall tau (latency) = {tau_text}; leave front: {len(leave)}", fontsize=9)
    return fig
