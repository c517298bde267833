"""docs/templates.md and its figure, from the registry, the shipped designs and the committed
results of experiments/templates_edge.yaml.

``python tools/templates_page.py extract RUN_DIR`` keeps, from a run of the experiment
(``nice -n 10 evodse run experiments/templates_edge.yaml --out RUN_DIR``), every feasible
design that no design of the same unrolling dominates in (latency and energy of each
workload, area), and writes them with the run's record to docs/data/templates/.
``python tools/templates_page.py`` (no argument) renders docs/templates.md and
docs/figures/templates.png from that data; tests/test_unrolling_docs.py checks the page is
current.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from evodse.hardware import load_hardware
from evodse.hardware.template import design_summary
from evodse.model import evaluate
from evodse.model.mappings import UNROLLINGS, spatial_roles
from evodse.plots import style
from evodse.search.archive import non_dominated
from evodse.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "experiments" / "templates_edge.yaml"
DATA = ROOT / "docs" / "data" / "templates"
FRONTS = DATA / "fronts.csv"
RECORD = DATA / "run.json"
PAGE = ROOT / "docs" / "templates.md"
FIGURE = ROOT / "docs" / "figures" / "templates.png"
WORKLOADS = ("mobilenet_v2", "resnet50")
SHIPPED = ("eyeriss", "nvdla_like", "edge_tpu_like", "ascend_like", "tpu_v1", "edge")
BUDGETS_MM2 = (2.0, 3.0, 4.0, 6.0, 8.0)
KEEP = (
    "dataflow",
    "pe_rows",
    "pe_cols",
    "ifmap_sram_kib",
    "weight_sram_kib",
    "ofmap_sram_kib",
    "dram_bandwidth_gbps",
    "pe_input_regs",
    "pe_weight_regs",
    "pe_output_regs",
)
METRICS = (
    *(f"{w}.latency_s" for w in WORKLOADS),
    *(f"{w}.energy_pj" for w in WORKLOADS),
    "area_mm2",
)


def extract(run_dir: Path, out: Path = DATA) -> None:
    """Write the per-unrolling fronts and the run's record from a run directory to ``out``."""
    with open(run_dir / "evaluations.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["feasible"] == "1"]
    kept = []
    for name in dict.fromkeys(r["dataflow"] for r in rows):
        mine = [r for r in rows if r["dataflow"] == name]
        F = np.asarray([[float(r[m]) for m in METRICS] for r in mine])
        for i in sorted(non_dominated(F)):
            kept.append([mine[i][k] for k in (*KEEP, *METRICS)])
    kept.sort(key=lambda row: tuple(str(v) for v in row))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / FRONTS.name, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*KEEP, *METRICS])
        writer.writerows(kept)
    summary = json.loads((run_dir / "summary.json").read_text())
    record = {
        "experiment": EXPERIMENT.read_text(),
        "evaluations": summary["evaluations"],
        "feasible_evaluations": summary["feasible_evaluations"],
        "command": "nice -n 10 evodse run experiments/templates_edge.yaml --out RUN_DIR; "
        "python tools/templates_page.py extract RUN_DIR",
    }
    (out / RECORD.name).write_text(json.dumps(record, indent=1) + "\n")


def _fronts() -> list[dict]:
    with open(FRONTS, newline="") as f:
        return [
            {k: (v if k == "dataflow" else float(v)) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def _edge(units) -> str:
    return ", ".join(f"{u.loop} {u.size}" for u in units)


def registry_table() -> list[str]:
    lines = [
        "| name | kind | rows | cols | inputs | weights | outputs | temporal order "
        "(innermost first) | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, u in UNROLLINGS.items():
        roles = spatial_roles(u)
        rows = " x ".join(x.loop for x in u.rows) if u.kind == "systolic" else _edge(u.rows)
        cols = " x ".join(x.loop for x in u.cols) if u.kind == "systolic" else _edge(u.cols)
        order = "SCALE-Sim" if u.kind == "systolic" else " ".join(u.temporal_order)
        lines.append(
            f"| `{name}` | {u.kind} | {rows} | {cols} | {roles['input']} | {roles['weight']} "
            f"| {roles['output']} | {order} | {u.source} |"
        )
    return lines


def shipped_table() -> list[str]:
    lines = [
        "| design | summary | PE registers (in / w / out) | area mm^2 | "
        + " | ".join(f"{w} ms / mJ / util." for w in WORKLOADS)
        + " |",
        "|---|---|---|---:|" + "---:|" * len(WORKLOADS),
    ]
    hws = [load_hardware(name) for name in SHIPPED]
    costs = {w: evaluate(hws, load_workload(w)) for w in WORKLOADS}
    for i, hw in enumerate(hws):
        regs = f"{hw.pe_input_regs} / {hw.pe_weight_regs} / {hw.pe_output_regs}"
        cells = [
            f"{c.latency_s[i] * 1e3:.3g} / {c.energy_pj[i] * 1e-9:.3g} / {c.utilization[i]:.2f}"
            for c in costs.values()
        ]
        area = costs[WORKLOADS[0]].area_mm2[i]
        lines.append(
            f"| `{hw.name}` | {design_summary(hw.to_dict())} | {regs} | {area:.3g} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def _best(fronts: list[dict], metric: str, budget: float) -> dict[str, dict]:
    """Per unrolling, its design with the least ``metric`` under the area budget (ties: the
    smaller area, then the order of the data)."""
    best: dict[str, dict] = {}
    for row in fronts:
        if row["area_mm2"] > budget:
            continue
        key = (row[metric], row["area_mm2"])
        held = best.get(row["dataflow"])
        if held is None or key < (held[metric], held["area_mm2"]):
            best[row["dataflow"]] = row
    return best


def winners_table(
    fronts: list[dict], quantity: str, label: str, unit: str, scale: float
) -> list[str]:
    names = list(dict.fromkeys(UNROLLINGS))
    present = [n for n in names if any(r["dataflow"] == n for r in fronts)]
    lines = [
        f"| workload | area <= mm^2 | winner | {label} {unit} | "
        + " | ".join(f"`{n}`" for n in present)
        + " |",
        "|---|---:|---|---:|" + "---:|" * len(present),
    ]
    for w in WORKLOADS:
        metric = f"{w}.{quantity}"
        for budget in BUDGETS_MM2:
            best = _best(fronts, metric, budget)
            if not best:
                continue
            win = min(best, key=lambda n: (best[n][metric], names.index(n)))
            top = best[win][metric]
            ratios = [f"{best[n][metric] / top:.2f}x" if n in best else "—" for n in present]
            lines.append(
                f"| {w} | {budget:g} | `{win}` | {top * scale:.3g} | " + " | ".join(ratios) + " |"
            )
    return lines


def figure(fronts: list[dict]) -> None:
    """Each unrolling's latency-area front per workload, in the house style (evodse.plots)."""
    with style.paper_rc():
        fig = style.new_figure("double", 2.8)
        axes = fig.subplots(1, len(WORKLOADS))
        for ax, w in zip(axes, WORKLOADS, strict=True):
            metric = f"{w}.latency_s"
            for i, name in enumerate(UNROLLINGS):
                mine = [r for r in fronts if r["dataflow"] == name]
                if not mine:
                    continue
                F = np.asarray([[r["area_mm2"], r[metric]] for r in mine])
                front = F[non_dominated(F)]
                front = front[np.lexsort((front[:, 1], front[:, 0]))]
                ax.step(
                    front[:, 0],
                    front[:, 1] * 1e3,
                    where="post",
                    label=name,
                    color=style.color(i),
                    linestyle=style.LINESTYLES[i % len(style.LINESTYLES)],
                    marker=style.MARKERS[i % len(style.MARKERS)],
                    markersize=2.5,
                    markevery=max(1, len(front) // 8),
                )
            ax.set_yscale("log")
            ax.set_xlabel("area (mm$^2$)")
            ax.set_ylabel("latency (ms)")
            ax.set_title(w)
        axes[1].legend(title="unrolling", loc="upper right")  # the empty corner
        FIGURE.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(FIGURE, format="png", metadata={"Software": None})


def page() -> str:
    """docs/templates.md, from the registry, the shipped designs and the committed data."""
    fronts = _fronts()
    record = json.loads(RECORD.read_text())
    counts = {n: sum(r["dataflow"] == n for r in fronts) for n in dict.fromkeys(UNROLLINGS)}
    kept = ", ".join(f"`{n}` {c}" for n, c in counts.items() if c)
    text = [
        "<!-- Generated by `python tools/templates_page.py` from evodse/model/mappings.py, the "
        "shipped designs and docs/data/templates/; do not edit by hand. -->",
        "# Accelerator templates: spatial unrollings",
        "",
        "A design's `dataflow` names a spatial unrolling: which loops of a layer (ZigZag's "
        "`B K C OX OY FX FY G`; a GEMM is a 1x1 conv with `OY` = tokens) the PE array runs in "
        "space over its rows and its columns, and in what order the rest runs in time. The "
        "systolic `ws`, `os` and `is` are SCALE-Sim's (unchanged: their cycles match SCALE-Sim "
        "3.0.0 exactly, docs/validation.md); the others multicast operands over buses and sum "
        "partial sums in adder trees (`broadcast`) or up the array's columns "
        "(`row_stationary`). Formulas, units and sources: docs/cost_model.md, "
        "'Spatial unrollings'. `auto` picks, per layer, the fastest of `ws`, `os`, `is`.",
        "",
        "## The registry",
        "",
        "Sizes: an integer is fixed, `fit` is the loop's own size and `rest` what is left of "
        "the edge, each capped at the room left (evodse/model/mappings.py). What the array "
        "does to each operand follows from which unrolled loops it depends on.",
        "",
        *registry_table(),
        "",
        "## Shipped designs",
        "",
        "Batch 1; latency, energy and array utilization (MACs / (cycles x PEs)) from the cost "
        "model. Sources of every size are in each design's YAML "
        "(evodse/hardware/designs/).",
        "",
        *shipped_table(),
        "",
        "## Which unrolling wins where",
        "",
        f"`experiments/templates_edge.yaml` searches the unrolling together with the array, "
        f"the buffers, the DRAM bandwidth and the PE register files for MobileNet-V2 and "
        f"ResNet-50 ({record['evaluations']:,} evaluations, {record['feasible_evaluations']:,} "
        f"feasible). Per unrolling, the designs no design of the same unrolling dominates in "
        f"(latency and energy of each network, area) are kept in "
        f"docs/data/templates/fronts.csv ({kept}). The figure shows each unrolling's "
        f"latency-area front; the tables, under each area budget, the unrolling of the fastest "
        f"(and of the least-energy) design and how far behind the best design of every other "
        f"unrolling is.",
        "",
        "![latency-area fronts per unrolling](figures/templates.png)",
        "",
        "Latency:",
        "",
        *winners_table(fronts, "latency_s", "latency", "ms", 1e3),
        "",
        "Energy:",
        "",
        *winners_table(fronts, "energy_pj", "energy", "mJ", 1e-9),
        "",
        "Reading the tables: a depthwise layer has one input and one output channel per "
        "group, so an unrolling that puts only `C` and `K` on the array (`nvdla`) keeps one "
        "PE busy on MobileNet-V2's depthwise layers; unrollings with output pixels or kernel "
        "rows on the array (`rs`, `edge_tpu`, the systolic `ws` over `C FY FX`) keep more. "
        "ResNet-50's dense layers fill any array, so there the DRAM traffic and the "
        "buffers decide.",
        "",
        "## What the model leaves out",
        "",
        "- **One temporal order per unrolling, no loop split between the PE registers and the "
        "SRAM.** Eyeriss's mapper picks, per layer, how many filters and channels a PE "
        "interleaves so that they fill its scratchpads; here a loop either fits the registers "
        "whole or ends the operand's reuse, so large layers re-read weights or partial sums "
        "from the SRAM more often than the chip does (ZigZag's temporal mapper searches "
        "this). The DRAM tiling does count the distinct data the registers hold as on-chip "
        "capacity (docs/cost_model.md, 'PE registers as capacity').",
        "- **A buffer split from a fixed set**: a shared ifmap/ofmap buffer (`act_sram: "
        "shared`, as Eyeriss's 108 KB global buffer) is split per layer in sixteenths or as "
        "declared, not at any size; the weight SRAM is never shared. Single-buffered SRAMs "
        "(`sram_buffering: single`) overlap no transfer with compute, double-buffered ones "
        "all but the prologue and epilogue: nothing in between (docs/cost_model.md; "
        "docs/eyeriss.md shows what each buffer key does to Eyeriss's DRAM traffic).",
        "- **Buses and adder trees are free and never stall**: no network-on-chip bandwidth "
        "limit, no SRAM bank conflicts; broadcast arrays pay `pipeline_cycles` once per "
        "layer, not a skewed fill per fold.",
        "- **Register price is per bit written, whatever the file's size**: a 224-entry "
        "scratchpad costs per access what a flip-flop does; its area is counted.",
        "- **One SRAM level per operand**: Ascend's L1 and NVDLA's shared convolution buffer "
        "are split into the template's three buffers (each design's YAML says how).",
        "- **`rs` sizes**: `FY` and `OY` fit the array (folded in time when larger), the rows "
        "left over replicate channels (`C rest`), the columns left over filters (`K rest`): "
        "Eyeriss's folding and replication of PE sets (Chen et al., ISCA 2016, Sec. IV), "
        "without its per-layer choice between the two.",
        "",
        "Regenerate: `" + record["command"] + "`, then `python tools/templates_page.py`.",
        "",
    ]
    return "\n".join(text)


def main(argv: list[str]) -> None:
    if argv[:1] == ["extract"] and len(argv) == 2:
        extract(Path(argv[1]))
        return
    if argv:
        sys.exit("usage: python tools/templates_page.py [extract RUN_DIR]")
    PAGE.write_text(page())
    figure(_fronts())


if __name__ == "__main__":
    main(sys.argv[1:])
