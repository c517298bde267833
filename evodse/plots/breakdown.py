"""Energy (per workload) and area of one design by component (the components its template
declares)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from evodse.hardware.protocol import get_template
from evodse.plots import style, units
from evodse.plots.design import design_cost, quantity_text
from evodse.plots.rundata import Run

COMPONENT_COLORS = {
    "mac": style.BLUE,
    "registers": style.SKY,
    "ifmap_sram": style.GREEN,
    "weight_sram": style.ORANGE,
    "ofmap_sram": style.PURPLE,
    "dram": style.VERMILLION,
    "vector": style.YELLOW,
    "leakage": style.GREY,
    "array": style.BLUE,
    "dram_interface": style.VERMILLION,
    "overhead": style.GREY,
}
COMPONENT_LABELS = {
    "mac": "MAC",
    "registers": "PE registers",
    "ifmap_sram": "ifmap SRAM",
    "weight_sram": "weight SRAM",
    "ofmap_sram": "ofmap SRAM",
    "dram": "DRAM",
    "vector": "vector unit",
    "leakage": "leakage",
    "array": "PE array",
    "dram_interface": "DRAM PHY + controller",
    "overhead": "overhead",
}


def _colour(component: str, i: int) -> str:
    """A component's colour: its own, else one of the palette by position."""
    return COMPONENT_COLORS.get(component, style.PALETTE[i % len(style.PALETTE)])


def _label(component: str) -> str:
    return COMPONENT_LABELS.get(component, component.replace("_", " "))


def component_breakdown(
    run: Run | str | Path,
    *,
    design: int | None = None,
    size: str | tuple[float, float] = "double",
    rc: Mapping[str, Any] | None = None,
    title: bool = True,
) -> Figure:
    """Energy by component (per workload) and area by component of one design."""
    dc = design_cost(run, design)
    template = get_template(dc.accelerator.template)
    energy_keys, area_keys = template.energy_components, template.area_components
    workloads = dc.workloads
    energy = {
        w: np.asarray([float(dc.costs[w].energy_breakdown_pj[k][0]) for k in energy_keys])
        for w in workloads
    }
    cost0 = dc.cost()
    area = np.asarray([float(cost0.area_breakdown_mm2[k][0]) for k in area_keys])
    area_unit = units.unit_for("area_mm2", [area.max()])
    with style.paper_rc(rc):
        n_w = len(workloads)
        fig = style.new_figure(size, 2.3 if n_w == 1 else max(2.3, 1.6 + 0.25 * n_w), rc)
        ax_e, ax_a = fig.subplots(1, 2, width_ratios=(1.25, 1))
        if n_w == 1:
            values = energy[workloads[0]]
            en_unit = units.unit_for("energy_pj", [values.max()])
            y = np.arange(len(energy_keys))[::-1].astype(float)
            colours = [_colour(k, i) for i, k in enumerate(energy_keys)]
            ax_e.barh(y, en_unit(values), color=colours, height=0.7)
            _annotate_shares(ax_e, y, en_unit(values))
            ax_e.set_title(
                f"energy, {workloads[0]}: {quantity_text('energy_pj', values.sum())}",
                loc="left",
                fontsize=7,
                y=1.0,
            )
            ax_e.set_yticks(y, [_label(k) for k in energy_keys])
            ax_e.set_xlabel(en_unit.label)
        else:  # composition per workload: 100 % stacked bars, totals at the right
            y = np.arange(n_w)[::-1].astype(float)
            shares = np.stack([100 * energy[w] / energy[w].sum() for w in workloads])
            left = np.zeros(n_w)
            for k, key in enumerate(energy_keys):
                ax_e.barh(
                    y,
                    shares[:, k],
                    left=left,
                    height=0.6,
                    color=_colour(key, k),
                    label=_label(key),
                )
                left += shares[:, k]
            for yi, w in zip(y, workloads, strict=True):
                ax_e.text(
                    101.5,
                    yi,
                    quantity_text("energy_pj", energy[w].sum()),
                    va="center",
                    fontsize=6.5,
                )
            ax_e.set_xlim(0, 100)
            ax_e.set_yticks(y, workloads)
            ax_e.set_xlabel("share of energy (%)")
            ax_e.text(101.5, y[0] + 0.5, "total", va="bottom", fontsize=6.5, color="#444444")
            ax_e.set_ylim(-0.5, n_w - 0.5 + 0.3)
            ax_e.legend(
                loc="lower left",
                bbox_to_anchor=(0.0, 1.01),
                ncols=4,
                fontsize=6.5,
                columnspacing=0.8,
                handlelength=1.0,
            )
        ya = np.arange(len(area_keys))[::-1].astype(float)
        ax_a.barh(
            ya,
            area_unit(area),
            color=[_colour(k, i) for i, k in enumerate(area_keys)],
            height=0.7,
        )
        _annotate_shares(ax_a, ya, area_unit(area))
        ax_a.set_yticks(ya, [_label(k) for k in area_keys])
        ax_a.set_xlabel(area_unit.label)
        ax_a.set_title(
            f"area: {quantity_text('area_mm2', area.sum())}", loc="left", fontsize=7, y=1.0
        )
        for ax in (ax_e, ax_a):
            ax.grid(axis="y", visible=False)
            ax.tick_params(axis="y", length=0)
        if title:
            fig.suptitle(dc.title, fontsize=7.5, x=0.01, ha="left")
    return fig


def _annotate_shares(ax, y: np.ndarray, values: np.ndarray) -> None:
    """Percent of the total at the end of each horizontal bar (room made on the right)."""
    total = values.sum()
    top = values.max() if len(values) else 1.0
    for yi, v in zip(y, values, strict=True):
        share = 100 * v / total if total > 0 else 0.0
        text = f"{share:.1f} %" if share >= 0.1 else ("<0.1 %" if v > 0 else "0")
        ax.text(v + top * 0.02, yi, text, va="center", ha="left", fontsize=6.5)
    ax.set_xlim(0, top * 1.28)
