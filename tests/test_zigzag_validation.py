"""Cross-validation of the cost model against ZigZag 3.9.1 on matched designs.

Golden data: ``tests/golden/zigzag_reference.json``, made by ``tests/golden/regen_zigzag.py``
(ZigZag 3.9.1 from PyPI ``zigzag-dse`` with ``six``; the design twins are built by
``evodse/export/zigzag_twin.py``). Each case is one (design, layer, ZigZag objective): the
mapper's best latency-optimal and energy-optimal mappings are both kept; latency is compared to
the latency-optimal one, energy and traffic to the energy-optimal one.

The twin of an evodse design has the same array, spatial mapping, per-PE registers, three SRAMs
and DRAM port; ZigZag prices it with CACTI (the same CACTI as ``sram_cacti.yaml``) and the
sweep's constants. "Energy at evodse prices" re-prices ZigZag's own access counts (bytes per
level, operand and direction) with evodse's prices, which separates the structure of the counts
from the constants. ``python tests/test_zigzag_validation.py`` prints the generated block of
docs/cost_model.md; ``--write`` replaces it in place.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau

from evodse.hardware import accelerator_from_dict
from evodse.model import evaluate
from evodse.model.counts import Key
from evodse.workload import Conv2d, Linear, MatMul, Network, Op

GOLDEN = Path(__file__).parent / "golden" / "zigzag_reference.json"
DOC = Path(__file__).parents[1] / "docs" / "cost_model.md"
BEGIN, END = "<!-- BEGIN zigzag (generated) -->", "<!-- END zigzag (generated) -->"
FREQUENCY_MHZ = 1000.0  # the twin's DRAM port is bits per cycle: GB/s = port bytes at 1 GHz

_LEVEL = {"dram": "dram", "reg_I": "register", "reg_W": "register", "reg_O": "register"}
_OPERAND = {"I": "input", "W": "weight", "O": "output"}
_DIRECTION = {
    "rd_out_to_low": "read",
    "rd_out_to_high": "read",
    "wr_in_by_low": "write",
    "wr_in_by_high": "write",
}


@dataclass(frozen=True)
class Compared:
    """One (design, layer): evodse's numbers beside ZigZag's."""

    design: str
    layer: str
    dataflow: str
    evodse_cycles: float
    zigzag_cycles: float  # latency-optimal mapping
    evodse_energy_pj: float  # dynamic (ZigZag has no leakage)
    zigzag_energy_pj: float  # energy-optimal mapping, ZigZag's prices
    zigzag_energy_at_evodse_prices_pj: float
    evodse_split_pj: dict[str, float]  # mac, registers, sram, dram
    zigzag_split_pj: dict[str, float]  # ZigZag's counts at evodse prices
    evodse_dram_bytes: dict[str, float]
    zigzag_dram_bytes: dict[str, float]
    tensor_bytes: dict[str, float]


def _op(case: dict) -> Op:
    layer, name = case["layer"], case["layer_name"]
    if name.startswith("attention"):
        k = layer["zigzag_loop_sizes"]
        return MatMul(name=name, m=k["OY"], n=k["K"], k=k["C"])
    if layer["in_width"] == 1 and layer["kernel"] == 1 and layer["out_width"] == 1:
        k = layer["zigzag_loop_sizes"]
        return Linear(
            name=name, in_features=k["C"], out_features=k["K"], tokens=k["OY"], bias=False
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


def _hardware(case: dict):
    d = case["design"]
    return accelerator_from_dict(
        {
            "name": case["design_name"],
            "pe_rows": d["rows"],
            "pe_cols": d["cols"],
            "dataflow": d["dataflow"],
            "ifmap_sram_kib": d["ifmap_sram_kib"],
            "weight_sram_kib": d["weight_sram_kib"],
            "ofmap_sram_kib": d["ofmap_sram_kib"],
            "dram_bandwidth_gbps": d["dram_port_bits"] / 8 * FREQUENCY_MHZ / 1000,
            "frequency_mhz": FREQUENCY_MHZ,
            "precision_bits": d["precision_bits"],
            "vector_lanes": 32,
            "technology_nm": 28,
            "pe_stationary_regs": max(1, d["pe_weight_reg_bytes"] * 8 // d["precision_bits"]),
            "fusion": "none",  # ZigZag runs one layer at a time
        }
    )


def _zigzag_bytes(case: dict) -> dict[Key, float]:
    out: dict[Key, float] = defaultdict(float)
    for operand, levels in case["elements_moved"].items():
        for level, directions in levels.items():
            for direction, moved in directions.items():
                lv = _LEVEL.get(level, "sram")
                key = (lv, _OPERAND[operand], _DIRECTION[direction])
                out[key] += moved["elements"] * moved["bits"] / 8
    return dict(out)


def _split(prices_of, counts: dict[Key, float], macs: float, mac_pj: float) -> dict[str, float]:
    split = {"mac": macs * mac_pj, "registers": 0.0, "sram": 0.0, "dram": 0.0}
    for key, value in counts.items():
        name = "registers" if key[0] == "register" else key[0]
        split[name] += value * prices_of(key)
    return split


@cache
def comparison() -> tuple[Compared, ...]:
    data = json.loads(GOLDEN.read_text())
    by_key = defaultdict(dict)
    for case in data["cases"]:
        by_key[(case["design_name"], case["layer_name"])][case["opt"]] = case
    out = []
    for (design, layer), opts in sorted(by_key.items()):
        energy_case, latency_case = opts["energy"], opts["latency"]
        op = _op(energy_case)
        assert op.macs == energy_case["layer"]["macs"], layer
        cost = evaluate(_hardware(energy_case), Network(name=layer, ops=(op,)))
        p = cost.prices

        def price(key: Key, p=p) -> float:
            return float(p.pj_per_byte[key][0, 0])

        ev_counts = {key: float(v[0, 0]) for key, v in cost.counts.items()}
        zz_counts = _zigzag_bytes(energy_case)
        mac_pj = float(p.mac_pj[0, 0])
        ev_split = _split(price, ev_counts, op.macs, mac_pj)
        zz_split = _split(price, zz_counts, op.macs, mac_pj)
        out.append(
            Compared(
                design=design,
                layer=layer,
                dataflow=energy_case["design"]["dataflow"],
                evodse_cycles=float(cost.cycles[0]),
                zigzag_cycles=float(latency_case["latency"]["total_cycles"]),
                evodse_energy_pj=sum(ev_split.values()),
                zigzag_energy_pj=float(energy_case["energy"]["total_pj"]),
                zigzag_energy_at_evodse_prices_pj=sum(zz_split.values()),
                evodse_split_pj=ev_split,
                zigzag_split_pj=zz_split,
                evodse_dram_bytes={
                    o: ev_counts[("dram", o, "read")] + ev_counts[("dram", o, "write")]
                    for o in ("input", "weight", "output")
                },
                zigzag_dram_bytes={
                    _OPERAND[o]: v["read_bytes"] + v["written_bytes"]
                    for o, v in energy_case["dram_bytes"].items()
                },
                tensor_bytes={_OPERAND[o]: v for o, v in energy_case["tensor_bytes"].items()},
            )
        )
    return tuple(out)


def design_totals(rows=None) -> dict[str, dict[str, float]]:
    """Per design, the sums over the sweep's layers (every design runs every layer)."""
    rows = comparison() if rows is None else rows
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        t = totals[r.design]
        t["evodse_cycles"] += r.evodse_cycles
        t["zigzag_cycles"] += r.zigzag_cycles
        t["evodse_energy_pj"] += r.evodse_energy_pj
        t["zigzag_energy_pj"] += r.zigzag_energy_pj
        t["zigzag_repriced_pj"] += r.zigzag_energy_at_evodse_prices_pj
    return {k: dict(v) for k, v in totals.items()}


def _tau(a, b) -> float:
    return float(kendalltau(a, b).statistic)


def ranking() -> dict[str, float]:
    """Kendall tau of the designs' totals (evodse vs ZigZag)."""
    t = design_totals()
    names = sorted(t)
    col = lambda k: [t[n][k] for n in names]  # noqa: E731
    return {
        "latency": _tau(col("evodse_cycles"), col("zigzag_cycles")),
        "energy": _tau(col("evodse_energy_pj"), col("zigzag_energy_pj")),
        "energy_repriced": _tau(col("evodse_energy_pj"), col("zigzag_repriced_pj")),
    }


def matched_dram(rows=None) -> list[tuple[Compared, str, float, float]]:
    """(case, operand, evodse bytes, ZigZag bytes) where both mappings move the operand through
    DRAM the same way: the same whole number of passes over the tensor (once, when it fits or is
    reused on chip; k times, when re-read), with no halo re-reads. Banded reads with different
    band sizes are different mappings, compared in the tables instead."""
    out = []
    for r in comparison() if rows is None else rows:
        for operand, tensor in r.tensor_bytes.items():
            ev, zz = r.evodse_dram_bytes[operand], r.zigzag_dram_bytes[operand]
            if not tensor:
                continue
            passes, zz_passes = ev / tensor, zz / tensor
            whole = abs(passes - round(passes)) < 1e-9 and round(passes) >= 1
            # ZigZag's pass count rounded: halo re-reads (a different band size) do not match
            same = round(zz_passes) == round(passes) and abs(zz_passes - round(zz_passes)) < 0.05
            if whole and same:
                out.append((r, operand, ev, zz))
    return out


# ------------------------------------------------------------------------------------------------
# Tests


def test_the_sweep_covers_nine_designs_six_layers_a_depthwise_conv_and_a_gemm():
    rows = comparison()
    designs = {r.design for r in rows}
    layers = {r.layer for r in rows}
    assert len(designs) >= 9 and len(layers) >= 6
    assert len(rows) == len(designs) * len(layers)
    assert any("dw" in layer for layer in layers)
    assert any(layer.startswith(("bert", "attention")) for layer in layers)


def test_design_ranking_agrees_with_zigzag():
    # 0.82 / 0.86 / 0.84 (latency, energy, repriced) before the os tiling counted partial sums
    # and streamed folds (evodse/model/memory.py); 0.79 / 0.73 / 0.78 since: the one os design's
    # bert_ffn1 moved from 0.52 to 0.99 of ZigZag's cycles and from 0.60 to 0.99 of its energy
    # at evodse's prices, which no longer hides its depthwise layer's 7.9x cycles in the totals
    tau = ranking()
    assert tau["energy"] >= 0.7
    assert tau["energy_repriced"] >= 0.7
    assert tau["latency"] >= 0.7


def test_matched_dram_bytes_agree_within_5_percent():
    matched = matched_dram()
    assert len(matched) >= 0.6 * 3 * len(comparison())  # most (case, operand) pairs match
    for r, operand, ev, zz in matched:
        assert ev == pytest.approx(zz, rel=0.05), (r.design, r.layer, operand)


def test_median_latency_ratio_within_10_percent():
    ratio = statistics.median(r.evodse_cycles / r.zigzag_cycles for r in comparison())
    assert 0.9 <= ratio <= 1.1


def test_docs_block_is_generated_from_the_golden_data():
    text = DOC.read_text()
    assert text.split(BEGIN, 1)[1].split(END, 1)[0] == "\n" + block() + "\n"


@pytest.mark.slow
def test_live_zigzag_reproduces_the_golden_case():
    """A small live comparison: ZigZag itself (the ``test`` extra installs zigzag-dse 3.9.1), run
    now on the sweep's attention layer on one design, gives the stored result."""
    spec = importlib.util.spec_from_file_location("regen_zigzag", GOLDEN.parent / "regen_zigzag.py")
    regen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regen)
    name, design, prices, layer, opt = next(
        case
        for case in regen.planned_cases()
        if case[0] == "ws32_s64_d64"
        and case[3].name.startswith("attention")
        and case[4] == "energy"
    )
    live = regen.run_case(name, design, prices, layer, opt)
    stored = next(
        c
        for c in json.loads(GOLDEN.read_text())["cases"]
        if c["key"] == f"{name}/{layer.name}/{opt}"
    )
    assert live["latency"]["total_cycles"] == stored["latency"]["total_cycles"]
    assert live["energy"]["total_pj"] == pytest.approx(stored["energy"]["total_pj"], rel=1e-9)
    assert live["dram_bytes"] == stored["dram_bytes"]
    row = next(r for r in comparison() if (r.design, r.layer) == (name, layer.name))
    assert row.evodse_energy_pj == pytest.approx(row.zigzag_energy_at_evodse_prices_pj, rel=0.1)


# ------------------------------------------------------------------------------------------------
# The generated block of docs/cost_model.md


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


def block() -> str:
    rows = comparison()
    tau = ranking()
    designs = sorted({r.design for r in rows})
    layers = sorted({r.layer for r in rows})
    matched = matched_dram(rows)
    lat = [r.evodse_cycles / r.zigzag_cycles for r in rows]
    rep = [r.evodse_energy_pj / r.zigzag_energy_at_evodse_prices_pj for r in rows]
    lines = [
        f"{len(designs)} designs x {len(layers)} layers ({len(rows)} cases). Design ranking "
        f"(Kendall tau of the designs' totals over the layers): latency **{tau['latency']:.2f}**, "
        f"energy **{tau['energy']:.2f}** against ZigZag's own energy and "
        f"**{tau['energy_repriced']:.2f}** against ZigZag's counts at evodse's prices. "
        f"Latency ratio evodse / ZigZag: median {statistics.median(lat):.2f} "
        f"(quartiles {np.percentile(lat, 25):.2f}-{np.percentile(lat, 75):.2f}); energy at "
        f"equal prices: median {statistics.median(rep):.2f} "
        f"(quartiles {np.percentile(rep, 25):.2f}-{np.percentile(rep, 75):.2f}). DRAM bytes "
        f"per operand where both models move the operand the same number of times "
        f"({len(matched)} of {3 * len(rows)} pairs): largest difference "
        f"{max(abs(ev / zz - 1) for _, _, ev, zz in matched if zz) * 100:.1f}%.",
        "",
        "Per layer (Kendall tau across the designs; ratios evodse / ZigZag, medians):",
        "",
        "| layer | tau latency | tau energy (ZigZag prices) | tau energy (evodse prices) "
        "| latency ratio | energy ratio (evodse prices) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for layer in layers:
        rs = [r for r in rows if r.layer == layer]
        lines.append(
            f"| {layer} "
            f"| {_tau([r.evodse_cycles for r in rs], [r.zigzag_cycles for r in rs]):+.2f} "
            f"| {_tau([r.evodse_energy_pj for r in rs], [r.zigzag_energy_pj for r in rs]):+.2f} "
            f"| {_tau([r.evodse_energy_pj for r in rs], [r.zigzag_energy_at_evodse_prices_pj for r in rs]):+.2f} "  # noqa: E501
            f"| {statistics.median(r.evodse_cycles / r.zigzag_cycles for r in rs):.2f} "
            f"| {statistics.median(r.evodse_energy_pj / r.zigzag_energy_at_evodse_prices_pj for r in rs):.2f} |"  # noqa: E501
        )
    totals = design_totals(rows)
    lines += [
        "",
        "Per design (totals over the layers; cycles in thousands, energy in uJ):",
        "",
        "| design | dataflow | evodse cycles | ZigZag cycles | evodse energy | ZigZag energy "
        "| ZigZag at evodse prices |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    flows = {r.design: r.dataflow for r in rows}
    for name in sorted(totals, key=lambda n: totals[n]["zigzag_cycles"]):
        t = totals[name]
        lines.append(
            f"| {name} | {flows[name]} | {_fmt(t['evodse_cycles'] / 1e3)} "
            f"| {_fmt(t['zigzag_cycles'] / 1e3)} | {t['evodse_energy_pj'] / 1e6:,.1f} "
            f"| {t['zigzag_energy_pj'] / 1e6:,.1f} | {t['zigzag_repriced_pj'] / 1e6:,.1f} |"
        )
    lines += [
        "",
        "Energy split of one design per layer (uJ; ZigZag's counts at evodse's prices):",
        "",
        "| layer | MAC | registers (evodse / ZigZag) | SRAM (evodse / ZigZag) "
        "| DRAM (evodse / ZigZag) |",
        "|---|---:|---:|---:|---:|",
    ]
    show = "ws32_s64_d64" if "ws32_s64_d64" in totals else designs[0]
    for r in rows:
        if r.design != show:
            continue
        e, z = r.evodse_split_pj, r.zigzag_split_pj
        lines.append(
            f"| {r.layer} | {e['mac'] / 1e6:,.2f} | "
            + " | ".join(
                f"{e[k] / 1e6:,.2f} / {z[k] / 1e6:,.2f}" for k in ("registers", "sram", "dram")
            )
            + " |"
        )
    lines.append("")
    lines.append(f"(design `{show}`)")
    return "\n".join(lines)


if __name__ == "__main__":
    text = block()
    if "--write" in sys.argv:
        doc = DOC.read_text()
        head, rest = doc.split(BEGIN, 1)
        DOC.write_text(head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1])
    else:
        print(text)
