"""Per-layer latency and energy of one design on one workload, layers in execution order and
named under the bars (every layer when the names fit, else every k-th)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from evodse.model.evaluate import NetworkCost
from evodse.plots import style, units
from evodse.plots.design import design_cost, quantity_text
from evodse.plots.rundata import Run

#: Per-layer energy groups (component names of the cost model) and their colours.
LAYER_ENERGY_GROUPS = (
    ("MAC + registers", ("mac", "registers"), style.BLUE),
    ("on-chip SRAM", ("ifmap_sram", "weight_sram", "ofmap_sram"), style.SKY),
    ("DRAM", ("dram",), style.VERMILLION),
    ("vector unit", ("vector",), style.GREEN),
    ("leakage", ("leakage",), style.GREY),
)
#: Bottleneck classes of a layer's latency.
BOUND_CLASSES = (
    ("array, compute-bound", style.BLUE),
    ("array, memory-bound", style.ORANGE),
    ("vector unit", style.GREEN),
)


NAME_PT = 5.0  # font size of the layer names (rotated under the bars)
NAME_HEIGHT_IN = 0.035  # height of one character of a rotated name, inches
NAME_PITCH_IN = 0.075  # horizontal room one rotated name needs, inches


def named_every(n_layers: int, width_in: float) -> int:
    """Name every k-th layer: every layer when the names fit side by side under the bars of
    a figure ``width_in`` wide (about 85% of it is the axes)."""
    fit = max(1, int(0.85 * width_in / NAME_PITCH_IN))
    return max(1, -(-n_layers // fit))


def _ordinal(k: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def layer_classes(cost: NetworkCost) -> np.ndarray:
    """Per layer: 0 array compute-bound, 1 array memory-bound, 2 vector unit."""
    flow = cost.layer("dataflow")[0]
    memory_bound = cost.layer("memory_cycles")[0] > cost.layer("compute_cycles")[0]
    return np.where(flow < 0, 2, np.where(memory_bound, 1, 0))


def layer_breakdown(
    run: Run | str | Path,
    *,
    design: int | None = None,
    workload: str | None = None,
    size: str | tuple[float, float] = "double",
    rc: Mapping[str, Any] | None = None,
    title: bool = True,
) -> Figure:
    """Per-layer latency (coloured by bottleneck) and energy (stacked by component) of one
    design on one workload (default: the run's first), layers in execution order."""
    dc = design_cost(run, design)
    dc.require("layer_costs", what="the per-layer figure")
    cost = dc.cost(workload)
    net = cost.network
    n = len(net.ops)
    latency = cost.layer("latency_s")[0]
    classes = layer_classes(cost)
    energy_parts = [
        (name, sum(cost.layer(k)[0] for k in keys), colour)
        for name, keys, colour in LAYER_ENERGY_GROUPS
    ]
    energy_total = sum(p[1] for p in energy_parts)
    lat_unit = units.unit_for("latency_s", latency[latency > 0])
    en_unit = units.unit_for("energy_pj", energy_total[energy_total > 0])
    x = np.arange(n)
    with style.paper_rc(rc):
        every = named_every(n, style.figure_size(size, 0)[0])
        longest = max((len(op.name) for op in net.ops), default=0)
        height = (3.4 if size != "single" else 3.2) + NAME_HEIGHT_IN * longest  # names below
        fig = style.new_figure(size, height, rc)
        ax_l, ax_e = fig.subplots(2, 1, sharex=True)
        width = 0.8 if n < 80 else 0.9
        lat = lat_unit(latency)
        for c, (name, colour) in enumerate(BOUND_CLASSES):
            mask = classes == c
            if mask.any():
                _bars(ax_l, x[mask], lat[mask], np.zeros(mask.sum()), width, colour, name)
        bottom = np.zeros(n)
        for name, values, colour in energy_parts:
            if np.any(values > 0):
                _bars(ax_e, x, en_unit(values), en_unit(bottom), width, colour, name)
                bottom = bottom + values
        ax_l.set_ylabel(lat_unit.label)
        ax_e.set_ylabel(en_unit.label)
        for ax in (ax_l, ax_e):
            ax.grid(axis="x", visible=False)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)
            ax.margins(x=0.005)
        shown = x[::every]
        ax_e.set_xticks(shown, [net.ops[i].name for i in shown], rotation=90, fontsize=NAME_PT)
        ax_e.tick_params(axis="x", length=1.5, pad=1)
        named = "" if every == 1 else f", every {_ordinal(every)} named"
        ax_e.set_xlabel(f"layer (execution order, {n} layers{named})")
        ax_l.set_title(
            f"{net.name} (batch {net.batch}): {quantity_text('latency_s', latency.sum())} in total",
            loc="left",
            fontsize=7,
            y=1.0,
        )
        ax_e.set_title(
            f"{quantity_text('energy_pj', energy_total.sum())} in total",
            loc="left",
            fontsize=7,
            y=1.0,
        )
        if title:
            fig.suptitle(dc.title, fontsize=7.5, x=0.01, ha="left")
    return fig


def _bars(ax, x, heights, bottoms, width, colour, label) -> None:
    """Vertical bars as one collection (hundreds of layers draw fast)."""
    h = np.asarray(heights, dtype=float)
    b = np.asarray(bottoms, dtype=float)
    left, right = x - width / 2, x + width / 2
    verts = np.stack(
        [
            np.column_stack([left, b]),
            np.column_stack([left, b + h]),
            np.column_stack([right, b + h]),
            np.column_stack([right, b]),
        ],
        axis=1,
    )
    ax.add_collection(PolyCollection(verts, facecolors=colour, edgecolors="none", label=label))
    ax.update_datalim(np.column_stack([np.r_[left, right], np.r_[b, b + h]]))
    ax.autoscale_view()
