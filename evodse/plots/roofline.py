"""Roofline of one design with each layer of each workload placed on it.

x: operational intensity (MACs per DRAM byte; vector-unit layers: vector ops per DRAM byte);
y: attained throughput (MACs / layer latency; vector layers: ops / latency). Roofs: the array's
peak ``pe_rows * pe_cols * frequency`` MAC/s, the vector unit's ``vector_lanes * frequency``
op/s, and the DRAM bandwidth slope ``intensity * bandwidth``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from evodse.plots import style, units
from evodse.plots.design import design_cost
from evodse.plots.rundata import Run
from evodse.workload.network import Network

_RATE_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))


def layer_points(cost) -> dict[str, np.ndarray]:
    """Per layer of one design: ``intensity``, ``attained``, ``vector`` (bool), ``latency_s``."""
    t = cost.table
    slot = t.slot
    vector = slot >= t.n_gemm
    ops = np.where(vector, 0.0, t.macs[slot])
    vec_index = np.clip(slot - t.n_gemm, 0, max(len(t.vector_ops) - 1, 0))
    if len(t.vector_ops):
        ops = np.where(vector, t.vector_ops[vec_index], ops)
    dram = cost.layer("dram_bytes")[0]
    latency = cost.layer("latency_s")[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = ops / dram
        attained = ops / latency
    return {"intensity": intensity, "attained": attained, "vector": vector, "latency_s": latency}


def _rate_unit(value: float) -> tuple[float, str]:
    for scale, prefix in _RATE_UNITS:
        if value >= scale:
            return scale, prefix
    return 1.0, ""


def roofline(
    run: Run | str | Path,
    *,
    design: int | None = None,
    size: str | tuple[float, float] = "single",
    rc: Mapping[str, Any] | None = None,
    title: bool = True,
) -> Figure:
    """Roofline of a design (default: the knee) with every layer of every workload on it."""
    dc = design_cost(run, design)
    dc.require("layer_costs", what="the roofline figure")
    a = dc.accelerator
    freq = a.frequency_mhz * 1e6
    peak = a.pe_rows * a.pe_cols * freq
    vec_peak = a.vector_lanes * freq
    bandwidth = a.dram_bandwidth_gbps * 1e9
    points = {w: layer_points(c) for w, c in dc.costs.items()}
    networks: dict[str, Network] = {w: c.network for w, c in dc.costs.items()}
    scale, prefix = _rate_unit(peak)
    with style.paper_rc(rc):
        fig = style.new_figure(size, 2.8 if size != "double" else 3.4, rc)
        ax = fig.add_subplot()
        xs = np.concatenate([p["intensity"] for p in points.values()])
        ys = np.concatenate([p["attained"] for p in points.values()])
        ok = np.isfinite(xs) & np.isfinite(ys) & (xs > 0) & (ys > 0)
        xs, ys = xs[ok], ys[ok]
        ridge = peak / bandwidth
        vec_ridge = vec_peak / bandwidth
        x_lo = min([xs.min() if len(xs) else 1.0, vec_ridge, ridge]) / 4
        x_hi = max([xs.max() if len(xs) else 1.0, ridge, vec_ridge]) * 4
        grid = np.geomspace(x_lo, x_hi, 200)
        ax.plot(grid, np.minimum(peak, grid * bandwidth) / scale, color="black", lw=1.2, zorder=2)
        ax.plot(
            grid,
            np.minimum(vec_peak, grid * bandwidth) / scale,
            color="black",
            lw=0.9,
            ls="--",
            zorder=2,
        )
        handles = []
        for i, (w, p) in enumerate(points.items()):
            colour = style.color(i)
            good = np.isfinite(p["intensity"]) & np.isfinite(p["attained"]) & (p["attained"] > 0)
            good &= p["intensity"] > 0
            arr = good & ~p["vector"]
            vec = good & p["vector"]
            ax.scatter(
                p["intensity"][arr],
                p["attained"][arr] / scale,
                s=14,
                color=colour,
                edgecolors="white",
                linewidths=0.3,
                alpha=0.85,
                zorder=3,
            )
            ax.scatter(
                p["intensity"][vec],
                p["attained"][vec] / scale,
                s=14,
                marker="^",
                facecolors="none",
                edgecolors=colour,
                linewidths=0.8,
                alpha=0.9,
                zorder=3,
            )
            label = w if len(points) > 1 else f"{w} (batch {networks[w].batch})"
            handles.append(Line2D([], [], ls="", marker="o", ms=4, color=colour, label=label))
        handles += [
            Line2D([], [], ls="", marker="o", ms=4, color=style.GREY, label="array layer"),
            Line2D(
                [], [], ls="", marker="^", ms=4, mfc="none", mec=style.GREY, label="vector layer"
            ),
        ]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(x_lo, x_hi)
        y_lo = min([ys.min() if len(ys) else peak, vec_peak, x_lo * bandwidth]) / 3
        ax.set_ylim(max(y_lo, x_lo * bandwidth) / scale, peak * 3 / scale)
        ax.set_xlabel("operational intensity (MAC/byte; vector: op/byte)")
        ax.set_ylabel(f"attained ({prefix}MAC/s; vector: {prefix}op/s)")
        # roof labels: text on the flat roofs, right-aligned; rotated text on the slope
        ax.text(
            x_hi / 1.3,
            peak / scale * 1.15,
            f"array peak {_rate(peak)}MAC/s",
            ha="right",
            va="bottom",
            fontsize=6.5,
        )
        ax.text(
            x_hi / 1.3,
            vec_peak / scale / 1.15,
            f"vector peak {_rate(vec_peak)}op/s",
            ha="right",
            va="top",
            fontsize=6.5,
        )
        slope_x = math.sqrt(x_lo * min(ridge, vec_ridge))
        if title:
            ax.set_title(dc.short_title, fontsize=6.5, loc="left", y=1.0)
        fig.legend(
            handles=style.row_major(handles, 3),
            loc="outside upper center",
            ncols=3,
            handletextpad=0.2,
            columnspacing=1.0,
        )
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(base=10))
            axis.set_major_formatter(FuncFormatter(lambda v, _p: units.format_number(v)))
            axis.set_minor_locator(NullLocator())  # decades span wide: major grid suffices
        lift = 1.3  # text baseline this factor above the slope
        ax.text(
            slope_x,
            slope_x * bandwidth / scale * lift,
            f"DRAM {a.dram_bandwidth_gbps:g} GB/s",
            # the slope's angle in data space, mapped to the screen at draw time
            # data-space angle of y = lift * bandwidth * x at the anchor (parallel to the roof)
            rotation=math.degrees(math.atan(lift * bandwidth / scale)),
            transform_rotates_text=True,
            rotation_mode="anchor",
            ha="left",
            va="bottom",
            fontsize=6.5,
        )
    return fig


def _rate(value: float) -> str:
    scale, prefix = _rate_unit(value)
    return f"{value / scale:.3g} {prefix}"
