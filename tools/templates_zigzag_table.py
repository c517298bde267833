"""Write docs/templates_validation.md: evodse's matched designs against ZigZag 3.9.1's shipped
accelerators, layer by layer.

``python tools/templates_zigzag_table.py [--out docs/templates_validation.md]``

References: ``tests/golden/zigzag_templates/<accelerator>.json`` (made by
``tests/golden/regen_zigzag_templates.py``). Matched designs:
``docs/data/zigzag_matched/<design>.yaml`` (sizes and the matching ``dataflow``; ``MATCHES``
pairs each with its accelerator). Each matched design whose dataflow the installed evodse has
(``evodse.hardware.template.DATAFLOWS``) is evaluated with :func:`evodse.model.evaluate` on the
same layers; the others are listed as waiting for that unrolling.
``tests/test_templates_zigzag.py`` checks the page is current and the latency tolerance.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evodse.hardware import load_hardware
from evodse.hardware.template import DATAFLOWS, design_summary
from evodse.model import evaluate
from evodse.workload import Conv2d, Linear, MatMul, Network, Op

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "tests" / "golden" / "zigzag_templates"
MATCHED_DIR = ROOT / "docs" / "data" / "zigzag_matched"
DOC = ROOT / "docs" / "templates_validation.md"
ACCELERATORS = (
    "tpu_like",
    "eyeriss_like",
    "edge_tpu_like",
    "ascend_like",
    "meta_prototype",
    "tesla_npu_like",
)


@dataclass(frozen=True)
class Match:
    """A matched evodse design (``docs/data/zigzag_matched/<design>.yaml``) and its reference.

    ``same_unrolling``: the design's dataflow unrolls the loops as the reference's mapping
    does, so the latency tolerance applies; otherwise the pair exercises the comparison and
    its gaps are explained."""

    design: str
    accelerator: str
    same_unrolling: bool


MATCHES = (
    Match(design="tpu_like_ws", accelerator="tpu_like", same_unrolling=False),
    Match(design="tpu_like_nvdla", accelerator="tpu_like", same_unrolling=True),
    Match(design="eyeriss_like", accelerator="eyeriss_like", same_unrolling=True),
    Match(design="edge_tpu_like", accelerator="edge_tpu_like", same_unrolling=True),
    Match(design="ascend_like", accelerator="ascend_like", same_unrolling=True),
    Match(design="meta_prototype", accelerator="meta_prototype", same_unrolling=True),
    Match(design="tesla_npu_like", accelerator="tesla_npu_like", same_unrolling=True),
)
LATENCY_TOLERANCE = 0.15  # median |evodse / ZigZag - 1| per accelerator (issue 20)
OPERANDS = {"I": "input", "W": "weight", "O": "output"}
CATEGORIES = ("mac", "register", "sram", "dram")


@dataclass(frozen=True)
class LayerComparison:
    """One layer on one accelerator: ZigZag's numbers and evodse's."""

    layer: str
    zigzag_cycles: float
    evodse_cycles: float
    zigzag_utilization: float  # MACs / (ZigZag's cycles x the matched design's PEs)
    zigzag_spatial_utilization: float  # PEs ZigZag's spatial mapping uses / matched PEs
    evodse_utilization: float  # MACs / (cycles x PEs)
    evodse_compute_cycles: float
    evodse_memory_cycles: float  # DRAM bytes / bytes per cycle
    zigzag_port_cycles: float  # ZigZag's DRAM bytes / the same bytes per cycle
    zigzag_loading_cycles: float  # ZigZag's one-off data on- and off-loading
    zigzag_dram_bytes: dict[str, float]  # I, W, O: read + written
    evodse_dram_bytes: dict[str, float]
    zigzag_energy_pj: dict[str, float]  # by category, ZigZag's own prices
    evodse_energy_pj: dict[str, float]  # by category, evodse's prices

    @property
    def latency_error(self) -> float:
        """evodse / ZigZag - 1."""
        return self.evodse_cycles / self.zigzag_cycles - 1.0

    @property
    def evodse_exposed_cycles(self) -> float:
        """evodse's DRAM transfers not overlapped with compute (prologue and epilogue) when
        compute-bound: cycles = exposed + max(compute, memory - exposed)."""
        return self.evodse_cycles - max(self.evodse_compute_cycles, self.evodse_memory_cycles)

    @property
    def regime(self) -> str:
        """Which effect sets the layer's latency (see REGIMES)."""
        if self.zigzag_spatial_utilization < IDLE_BELOW:
            return "idle"
        if self.evodse_memory_cycles >= self.evodse_compute_cycles:
            return "memory"
        return "compute"


#: ZigZag's mapping leaves most of its array idle below this spatial utilization.
IDLE_BELOW = 0.5
REGIMES = {
    "idle": f"ZigZag's mapping uses under {IDLE_BELOW:.0%} of its PEs",
    "memory": "evodse memory-bound (DRAM bytes / bandwidth >= array cycles)",
    "compute": "evodse compute-bound, ZigZag's array mostly used",
}


def load_golden(accelerator: str) -> dict[str, Any]:
    """One accelerator's reference JSON."""
    with open(GOLDEN_DIR / f"{accelerator}.json", encoding="utf-8") as handle:
        return json.load(handle)


def matched_design(design: str) -> dict[str, Any]:
    """A matched evodse hardware YAML, as a plain mapping (not validated)."""
    with open(MATCHED_DIR / f"{design}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def supported(design: str) -> bool:
    """True when the installed evodse has the matched design's dataflow."""
    return matched_design(design)["dataflow"] in DATAFLOWS


def layer_op(record: dict[str, Any]) -> Op:
    """The evodse operation of one reference layer (GEMMs are OY tokens x C -> K)."""
    layer, name = record["layer"], record["layer_name"]
    sizes = layer["zigzag_loop_sizes"]
    if name.startswith("attention"):
        return MatMul(name=name, m=sizes["OY"], n=sizes["K"], k=sizes["C"])
    if name.startswith("bert"):
        return Linear(
            name=name,
            in_features=sizes["C"],
            out_features=sizes["K"],
            tokens=sizes["OY"],
            bias=False,
        )
    pad = layer["padding"]
    return Conv2d(
        name=name,
        in_channels=layer["in_channels"],
        out_channels=layer["out_channels"],
        in_h=layer["in_height"],
        in_w=layer["in_width"],
        kernel_h=layer["kernel"],
        kernel_w=layer["kernel"],
        stride_h=layer["stride"],
        stride_w=layer["stride"],
        pad_top=pad,
        pad_bottom=pad,
        pad_left=pad,
        pad_right=pad,
        groups=layer["groups"],
    )


def level_categories(golden: dict[str, Any]) -> dict[str, str]:
    """ZigZag memory name -> register (serves a subset of the array), sram or dram."""
    hardware = yaml.safe_load(golden["inputs"]["hardware_file"]["text"])
    all_dims = set(hardware["operational_array"]["dimensions"])
    out = {}
    for name, memory in hardware["memories"].items():
        if name == "dram":
            out[name] = "dram"
        else:
            whole = set(memory["served_dimensions"]) == all_dims
            out[name] = "sram" if whole else "register"
    return out


def zigzag_energy(record: dict[str, Any], categories: dict[str, str]) -> dict[str, float]:
    """ZigZag's energy (pJ) by category."""
    out = dict.fromkeys(CATEGORIES, 0.0)
    out["mac"] = float(record["energy"]["mac_pj"])
    for level, pj in record["energy"]["memory_by_level_pj"].items():
        out[categories[level]] += float(pj)
    return out


def compare(match: Match) -> list[LayerComparison]:
    """evodse on the matched design against every reference layer of its accelerator."""
    golden = load_golden(match.accelerator)
    categories = level_categories(golden)
    hw = load_hardware(MATCHED_DIR / f"{match.design}.yaml")
    ops = tuple(layer_op(record) for record in golden["layers"])
    cost = evaluate(hw, Network(name=match.design, ops=ops))
    slot = cost.table.slot
    bytes_per_cycle = hw.dram_bandwidth_gbps * 1e3 / hw.frequency_mhz
    # utilizations over the matched design's PEs (tesla_npu_like's array has 4x more than its
    # mapping uses)
    zigzag_pes = math.prod(
        yaml.safe_load(golden["inputs"]["hardware_file"]["text"])["operational_array"]["sizes"]
    )
    pes = hw.pe_rows * hw.pe_cols
    breakdown = {
        "mac": cost.layer("mac")[0],
        "register": cost.layer("registers")[0],
        "sram": sum(cost.layer(k)[0] for k in ("ifmap_sram", "weight_sram", "ofmap_sram")),
        "dram": cost.layer("dram")[0],
    }
    rows = []
    for index, record in enumerate(golden["layers"]):
        evodse_dram = {
            key: float(
                cost.counts[("dram", operand, "read")][0, slot[index]]
                + cost.counts[("dram", operand, "write")][0, slot[index]]
            )
            for key, operand in OPERANDS.items()
        }
        zigzag_dram = {
            key: float(entry["read_bytes"] + entry["written_bytes"])
            for key, entry in record["dram_bytes"].items()
        }
        rows.append(
            LayerComparison(
                layer=record["layer_name"],
                zigzag_cycles=float(record["latency"]["total_cycles"]),
                evodse_cycles=float(cost.layer("cycles")[0, index]),
                zigzag_utilization=record["layer"]["macs"]
                / (record["latency"]["total_cycles"] * pes),
                zigzag_spatial_utilization=float(record["latency"]["mac_spatial_utilization"])
                * zigzag_pes
                / pes,
                evodse_utilization=float(cost.layer("utilization")[0, index]),
                evodse_compute_cycles=float(cost.layer("compute_cycles")[0, index]),
                evodse_memory_cycles=float(cost.layer("memory_cycles")[0, index]),
                zigzag_port_cycles=sum(zigzag_dram.values()) / bytes_per_cycle,
                zigzag_loading_cycles=float(
                    record["latency"]["data_onloading_cycles"]
                    + record["latency"]["data_offloading_cycles"]
                ),
                zigzag_dram_bytes=zigzag_dram,
                evodse_dram_bytes=evodse_dram,
                zigzag_energy_pj=zigzag_energy(record, categories),
                evodse_energy_pj={k: float(v[index]) for k, v in breakdown.items()},
            )
        )
    return rows


def median_latency_error(rows: list[LayerComparison]) -> float:
    """Median over layers of |evodse / ZigZag - 1|."""
    return statistics.median(abs(r.latency_error) for r in rows)


def _kb(value: float) -> str:
    return f"{value / 1024:,.0f}"


def _shares(energy: dict[str, float]) -> str:
    total = sum(energy.values())
    return " / ".join(f"{energy[k] / total * 100:.0f}" for k in CATEGORIES)


def _signed(error: float) -> str:
    return f"{error * 100:+.0f}%".replace("-", "\u2212")


def zigzag_only_table(golden: dict[str, Any]) -> list[str]:
    """The reference numbers alone, for an accelerator evodse cannot evaluate yet."""
    categories = level_categories(golden)
    lines = [
        "| layer | ZigZag cycles | spatial util. | DRAM KiB I / W / O "
        "| energy nJ | energy % mac / reg / sram / dram |",
        "|---|---:|---:|---|---:|---|",
    ]
    for record in golden["layers"]:
        dram = record["dram_bytes"]
        energy = zigzag_energy(record, categories)
        moved = " / ".join(_kb(dram[k]["read_bytes"] + dram[k]["written_bytes"]) for k in OPERANDS)
        lines.append(
            f"| {record['layer_name']} | {record['latency']['total_cycles']:,.0f} "
            f"| {record['latency']['mac_spatial_utilization']:.2f} | {moved} "
            f"| {sum(energy.values()) / 1e3:,.0f} | {_shares(energy)} |"
        )
    return lines


def comparison_table(rows: list[LayerComparison]) -> list[str]:
    """Per layer: latency, utilization, DRAM bytes per operand and energy split, side by side."""
    lines = [
        "| layer | regime | cycles ZigZag / evodse (error) | MAC util. ZigZag / evodse "
        "| DRAM KiB I / W / O: ZigZag | evodse | energy nJ ZigZag / evodse "
        "| energy % mac / reg / sram / dram: ZigZag | evodse |",
        "|---|---|---:|---:|---|---|---:|---|---|",
    ]
    for r in rows:
        zz_dram = " / ".join(_kb(r.zigzag_dram_bytes[k]) for k in OPERANDS)
        ev_dram = " / ".join(_kb(r.evodse_dram_bytes[k]) for k in OPERANDS)
        lines.append(
            f"| {r.layer} | {r.regime} | {r.zigzag_cycles:,.0f} / {r.evodse_cycles:,.0f} "
            f"({_signed(r.latency_error)}) | {r.zigzag_utilization:.2f} / "
            f"{r.evodse_utilization:.2f} | {zz_dram} | {ev_dram} "
            f"| {sum(r.zigzag_energy_pj.values()) / 1e3:,.0f} / "
            f"{sum(r.evodse_energy_pj.values()) / 1e3:,.0f} "
            f"| {_shares(r.zigzag_energy_pj)} | {_shares(r.evodse_energy_pj)} |"
        )
    return lines


def dram_ratios(rows: list[LayerComparison]) -> dict[str, tuple[float, float]]:
    """Per operand, the smallest and largest evodse / ZigZag DRAM bytes over the layers."""
    out = {}
    for key in OPERANDS:
        ratios = [r.evodse_dram_bytes[key] / r.zigzag_dram_bytes[key] for r in rows]
        out[key] = (min(ratios), max(ratios))
    return out


def explained(match: Match, rows: list[LayerComparison]) -> list[str]:
    """What the numbers show for one evaluated match: errors per regime, then the causes."""
    lines = []
    for regime, meaning in REGIMES.items():
        group = [r for r in rows if r.regime == regime]
        if not group:
            continue
        errors = ", ".join(f"{r.layer} {_signed(r.latency_error)}" for r in group)
        lines.append(f"- **{regime}** ({meaning}): {errors}.")
    ranges = dram_ratios(rows)
    ratios = ", ".join(f"{OPERANDS[k]} {low:.2f}-{high:.2f}x" for k, (low, high) in ranges.items())
    same = all(low >= 0.99 and high <= 1.01 for low, high in ranges.values())
    agree = " (equal within 1% on every layer)" if same else ""
    lines.append(f"- DRAM bytes, evodse / ZigZag over the layers: {ratios}{agree}.")
    exposed = [
        r
        for r in rows
        if r.evodse_exposed_cycles - r.zigzag_loading_cycles > 0.05 * r.zigzag_cycles
    ]
    if exposed:
        lines.append(
            "- Exposed transfers: evodse waits for its prologue (the "
            "first input tile, the whole input when it fits the ifmap SRAM, and the first "
            "fold's weights) and epilogue (the last outputs) around compute; ZigZag on- and "
            "off-loads only the first and last tiles its schedule needs. evodse / ZigZag "
            "cycles: "
            + ", ".join(
                f"{r.layer} {r.evodse_exposed_cycles:,.0f} / {r.zigzag_loading_cycles:,.0f} "
                f"({(r.evodse_exposed_cycles - r.zigzag_loading_cycles) / r.zigzag_cycles:.0%}"
                " of ZigZag's latency)"
                for r in exposed
            )
            + "."
        )
    below = [r.layer for r in rows if r.zigzag_cycles < r.zigzag_port_cycles]
    if below:
        lines.append(
            "- ZigZag's latency is below its own DRAM bytes / port bytes per cycle on "
            + ", ".join(below)
            + ": it overlaps per-operand transfer windows and loads inputs and weights in "
            "parallel (evodse/export/zigzag_twin.py), where evodse streams all bytes "
            "through one port."
        )
    lines += [f"- {note}" for note in EXPLANATIONS.get(match.design, ())]
    return lines


#: Causes found by reading the goldens' mappings and schedules against evodse's model.
EXPLANATIONS: dict[str, tuple[str, ...]] = {
    "tpu_like_ws": (
        "*idle*: ZigZag's tpu_like mapping is K 32 x C 32 on every layer. The 3-channel first "
        "layers use 3 of its 32 C lanes, and a depthwise conv (C = K = 1 per group) runs on "
        "one PE; evodse ws folds the reduction C x FY x FX onto the rows and runs each "
        "depthwise group on a column, so it is far faster. These are ZigZag mapping choices "
        "(the shipped file), not cost-model differences: the named `nvdla` unrolling "
        "(tpu_like_nvdla) idles the same PEs.",
        "*compute*: both arrays are full; evodse pays SCALE-Sim's fill and drain per fold "
        "(2R + C - 2 cycles per fold of a weight-stationary array: 94 on 32 x 32) where "
        "ZigZag counts one drain per layer, so evodse is slower by about 94 cycles over the "
        "pixels (or tokens) each fold streams.",
        "*memory*: both tools sit at the DRAM port and agree unless ZigZag's overlap model "
        "beats the port (the line above). Every operand fits the matched SRAMs, so both move "
        "each tensor once.",
        "Energy: ZigZag's per-access costs are the shipped file's illustrative constants, "
        "evodse's come from its technology tables at 28 nm; compare the split (percent "
        "columns), not the totals. ZigZag charges DRAM per 64-bit access and the 2 MB SRAM per "
        "2048-bit access, which makes DRAM the larger share in ZigZag.",
    ),
    "tpu_like_nvdla": (
        "Same spatial mapping as ZigZag (C on the rows, K on the columns, broadcast inputs, "
        "reduced partial sums), so PEs idle on the same layers in both.",
    ),
    "eyeriss_like": (
        "The reference mapping is row-stationary-like only as far as ZigZag's spatial "
        "mapping goes (OY on D1, FY x C on D2; FX and the sliding window temporal); evodse's "
        "`rs` replication of FY and OY may choose other replicas (see the unroll helper's "
        "documentation).",
    ),
}


def page() -> str:
    """The whole docs/templates_validation.md text."""
    lines = [
        "# Accelerator templates against ZigZag 3.9.1",
        "",
        "<!-- generated by tools/templates_zigzag_table.py; tests/test_templates_zigzag.py "
        "checks it -->",
        "",
        "Reference: ZigZag 3.9.1 (`zigzag-dse`) on its own shipped accelerators and mapping "
        "files, each layer alone, LOMA, `opt=latency`, `lpf_limit` 6, 8-bit operands and "
        "16-bit partial sums (`tests/golden/regen_zigzag_templates.py`, goldens in "
        "`tests/golden/zigzag_templates/`, with the exact inputs). eyeriss_like ships no "
        "mapping; the reference uses a row-stationary-like one (D1 14 <- OY, D2 12 <- FY x C).",
        "",
        "evodse: matched hardware YAMLs (`docs/data/zigzag_matched/`: array, per-operand SRAM "
        "= the outermost on-chip memory serving the operand, a shared one split evenly; DRAM 64 "
        "bits per cycle at 1 GHz = 8 GB/s; `fusion: none`), evaluated with "
        "`evodse.model.evaluate`. Latency is ZigZag's `latency_total2` against evodse's "
        "`cycles`; error = evodse / ZigZag - 1; MAC utilization = MACs / (cycles x the matched "
        "design's PEs) in both. DRAM bytes are read + written per operand. "
        "Energy by category: registers are memories serving part of the array (per PE or per "
        "PE group), SRAMs serve all of it; each tool at its own prices. The latency aim "
        f"(median within {LATENCY_TOLERANCE:.0%}) applies to designs whose unrolling is the "
        "reference mapping's; `tpu_like_ws` runs a different one on purpose (see its section).",
        "",
        "## Summary",
        "",
        "| matched design | ZigZag accelerator | evodse dataflow | same unrolling | evaluated "
        f"| median latency error (aim {LATENCY_TOLERANCE:.0%}) | layers within |",
        "|---|---|---|---|---|---:|---:|",
    ]
    sections: list[str] = []
    for match in MATCHES:
        golden = load_golden(match.accelerator)
        flow = matched_design(match.design)["dataflow"]
        same = "yes" if match.same_unrolling else "no"
        sections += [f"## {match.design}: {match.accelerator} vs evodse `{flow}`", ""]
        if not supported(match.design):
            lines.append(
                f"| {match.design} | {match.accelerator} | `{flow}` | {same} "
                f"| not yet (no `{flow}` in evodse) | — | — |"
            )
            sections += [
                f"evodse has no `{flow}` unrolling yet (its dataflows: "
                f"{', '.join(DATAFLOWS)}); ZigZag's numbers alone:",
                "",
                *zigzag_only_table(golden),
                "",
            ]
            continue
        rows = compare(match)
        median = median_latency_error(rows)
        within = sum(abs(r.latency_error) <= LATENCY_TOLERANCE for r in rows)
        lines.append(
            f"| {match.design} | {match.accelerator} | `{flow}` | {same} | yes "
            f"| {median * 100:.0f}% | {within} of {len(rows)} |"
        )
        hw = load_hardware(MATCHED_DIR / f"{match.design}.yaml")
        sections += [
            f"Matched design: {design_summary(hw.to_dict())}.",
            "",
            *comparison_table(rows),
            "",
            "Explained differences:",
            "",
            *explained(match, rows),
            "",
        ]
    runtimes = [
        record["runtime_s"] for name in ACCELERATORS for record in load_golden(name)["layers"]
    ]
    lines += [
        "",
        f"ZigZag run time per layer (stored `runtime_s`, 2 cores shared with other jobs): "
        f"median {statistics.median(runtimes):.1f} s, max {max(runtimes):.1f} s, "
        f"{sum(runtimes):.0f} s for all {len(runtimes)} runs.",
        "",
        *sections,
    ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DOC), help="where to write the page")
    args = parser.parse_args(argv)
    Path(args.out).write_text(page(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
