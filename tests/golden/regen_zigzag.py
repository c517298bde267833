#!/usr/bin/env python3
"""Regenerate the ZigZag 3.9.1 reference for evodse's cost model: ``zigzag_reference.json``.

What it does
    Builds the ZigZag twin (``evodse/export/zigzag_twin.py``) of each design in
    ``DESIGN_TABLE``, runs ZigZag 3.9.1 (``zigzag.api.get_hardware_performance_zigzag``, LOMA,
    lpf_limit 7, uneven temporal mappings) on each layer of ``LAYER_TABLE`` once per objective in
    ``OPTS``
    (min energy; min latency with ties broken by energy) and stores, per case: the design and
    the prices used, the layer, ZigZag's latency breakdown, energy (total, MAC, per memory level
    and operand), the accesses per level, operand and direction (ZigZag's ``memory_word_access``:
    port-width words) and the data elements moved (``unit_mem_data_movement``), DRAM bytes per
    operand, the tensor sizes, and the spatial and temporal mappings as readable strings.
    Each run's YAML inputs and ZigZag's own dumps go to a temporary directory that is deleted.
    Twin hierarchy, port widths, spatial mappings and what the twin cannot express: the twin's
    module docstring.

Prices (recorded per case, so a consumer can reprice the counts)
    mac_pj 0.1 (8-bit MAC + 32-bit accumulate at 28 nm, provisional), reg_pj_per_bit 0.0063,
    DRAM 7.0 pJ/bit read and write (provisional LPDDR4-class), SRAM read/write energy per access
    from ``evodse/hardware/sram_cacti.yaml`` (CACTI 7 through ZigZag's wrapper, 28 nm) at each
    SRAM's capacity and port width (both powers of two: nothing interpolated).

Resumable
    The output JSON is rewritten atomically after every case. A rerun keeps every case whose
    inputs (design, prices, layer, objective, ZigZag settings) are unchanged and runs the rest;
    ``--fresh`` ignores the existing file.

How long it takes
    12 designs x 8 layers x 2 objectives = 192 ZigZag runs: 3310 s (55 min) in one process on a
    2-core machine shared with two other jobs, 0.3-42 s per run (``runtime_s`` per case). Alone
    on a core expect about half. lpf_limit: at 6 (ZigZag's default, ~5 s per run) LOMA merges
    prime factors until e.g. K = 256 is one indivisible loop, which forced the input-stationary
    twin on the 14x14 ResNet layer to spill partial sums to DRAM (3.6 M cycles instead of
    348 k at 7, a 10x error); 8 costs another 1.5-8x time for <= 5% better latency on the
    layers tried.

Which objective to compare against
    ``opt="latency"`` (ties broken by energy) is the schedule a systolic controller would run.
    ``opt="energy"`` ignores stalls; in 28 of 96 pairs it picks a different mapping, up to 7.5x
    slower for < 0.2% less energy (see the twin's docstring).

How to run (from the repository root)
    python3 -m venv /work/zzvenv && /work/zzvenv/bin/pip install zigzag-dse==3.9.1 six
    /work/zzvenv/bin/python tools/cacti_sram_table.py            # SRAM prices (if missing)
    nohup /work/zzvenv/bin/python tests/golden/regen_zigzag.py > /tmp/zigzag_regen.log 2>&1 &
    Options: --out PATH, --only SUBSTRING (case filter on "design/layer/opt"), --fresh.
    The twin module is loaded from its file, not imported through the ``evodse`` package,
    whose ``__init__`` needs pymoo (not in the ZigZag venv).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import yaml
from zigzag.api import get_hardware_performance_zigzag
from zigzag.cost_model.cost_model import CostModelEvaluation
from zigzag.hardware.architecture.memory_port import DataDirection
from zigzag.mapping.data_movement import DataMoveAttr

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(HERE, "zigzag_reference.json")
TWIN_PATH = os.path.join(REPO_ROOT, "evodse", "export", "zigzag_twin.py")
SRAM_TABLE_PATH = os.path.join(REPO_ROOT, "evodse", "hardware", "sram_cacti.yaml")
GENERATED_BY = "tests/golden/regen_zigzag.py"

ZIGZAG_SETTINGS: dict[str, Any] = {
    "zigzag_version": "3.9.1",
    "temporal_mapping_search_engine": "loma",
    "temporal_mapping_type": "uneven",
    "lpf_limit": 7,
}
OPTS = ("energy", "latency")
TECHNOLOGY_NM = 28
MAC_PJ = 0.1
REG_PJ_PER_BIT = 0.0063
DRAM_READ_PJ_PER_BIT = 7.0
DRAM_WRITE_PJ_PER_BIT = 7.0
SLOW_CASE_S = 60.0

# name, rows, cols, dataflow, ifmap / weight / ofmap SRAM (KiB), DRAM port (bits per cycle).
# All 8-bit operands, 32-bit accumulators, plain systolic PEs (1 B weight, 1 B input, 4 B
# accumulator registers).
DESIGN_TABLE: tuple[tuple[str, int, int, str, int, int, int, int], ...] = (
    ("ws16_s32_d64", 16, 16, "ws", 32, 32, 16, 64),
    ("ws32_s64_d64", 32, 32, "ws", 64, 64, 32, 64),
    ("ws64_s256_d128", 64, 64, "ws", 256, 256, 128, 128),
    ("ws16x64_s128_d64", 16, 64, "ws", 128, 128, 64, 64),
    ("ws64x16_s128_d64", 64, 16, "ws", 128, 128, 64, 64),
    ("os32_s64_d64", 32, 32, "os", 64, 64, 32, 64),
    ("is32_s64_d64", 32, 32, "is", 64, 64, 32, 64),
    ("ws32_s32_d64", 32, 32, "ws", 32, 32, 16, 64),
    ("ws32_s512_d64", 32, 32, "ws", 512, 512, 256, 64),
    ("ws32_s64_d32", 32, 32, "ws", 64, 64, 32, 32),
    ("ws32_s64_d128", 32, 32, "ws", 64, 64, 32, 128),
    ("ws64_s512_d128", 64, 64, "ws", 512, 512, 256, 128),
)

# name, in_channels, out_channels, in_height, in_width, kernel, stride, padding, groups;
# ("gemm", name, m, k, n) rows are out[m, n] = A[m, k] B[k, n]. Batch 1.
LAYER_TABLE: tuple[tuple[Any, ...], ...] = (
    ("conv", "resnet18_conv3x3_56_64to64", 64, 64, 56, 56, 3, 1, 1, 1),
    ("conv", "resnet_conv3x3_14_256to256", 256, 256, 14, 14, 3, 1, 1, 1),
    ("conv", "conv1x1_56_64to256", 64, 256, 56, 56, 1, 1, 0, 1),
    ("conv", "conv1x1_s2_56_64to128", 64, 128, 56, 56, 1, 2, 0, 1),
    ("conv", "mbv2_dw3x3_56_144", 144, 144, 56, 56, 3, 1, 1, 144),
    ("conv", "mbv2_pw1x1_56_144to24", 144, 24, 56, 56, 1, 1, 0, 1),
    ("gemm", "bert_ffn1_128x768to3072", 128, 768, 3072),
    ("gemm", "attention_scores_128x64x128", 128, 64, 128),
)

LAYER_OPERANDS = ("I", "W", "O")
DIRECTIONS = tuple(DataDirection)


def load_twin() -> Any:
    """The twin module, loaded from its file (see the module docstring)."""
    spec = importlib.util.spec_from_file_location("evodse_zigzag_twin", TWIN_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


TWIN = load_twin()


def design_dict(
    rows: int, cols: int, dataflow: str, kib: tuple[int, int, int], dram_bits: int
) -> dict[str, Any]:
    """A full twin design dict for a plain 8-bit systolic PE."""
    return {
        "rows": rows,
        "cols": cols,
        "dataflow": dataflow,
        "precision_bits": 8,
        "accumulator_bits": 32,
        "ifmap_sram_kib": kib[0],
        "weight_sram_kib": kib[1],
        "ofmap_sram_kib": kib[2],
        "dram_port_bits": dram_bits,
        "pe_weight_reg_bytes": 1,
        "pe_input_reg_bytes": 1,
        "pe_output_reg_bytes": 4,
    }


def designs() -> list[tuple[str, dict[str, Any]]]:
    """(name, design dict) for every row of DESIGN_TABLE."""
    return [
        (name, design_dict(rows, cols, flow, (ki, kw, ko), dram))
        for name, rows, cols, flow, ki, kw, ko, dram in DESIGN_TABLE
    ]


def layers(table: tuple[tuple[Any, ...], ...] = LAYER_TABLE) -> list[Any]:
    """Twin layers (ConvLayer) for every row of ``table`` (rows as in LAYER_TABLE)."""
    result = []
    for row in table:
        if row[0] == "gemm":
            _, name, m, k, n = row
            result.append(TWIN.gemm_layer(name, m=m, k=k, n=n))
        else:
            _, name, c_in, c_out, height, width, kernel, stride, pad, groups = row
            result.append(
                TWIN.ConvLayer(
                    name=name,
                    in_channels=c_in,
                    out_channels=c_out,
                    in_height=height,
                    in_width=width,
                    kernel=kernel,
                    stride=stride,
                    padding=pad,
                    groups=groups,
                )
            )
    return result


def load_sram_table(path: str = SRAM_TABLE_PATH) -> dict[str, Any]:
    """The CACTI SRAM table written by tools/cacti_sram_table.py."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def sram_price(table: Mapping[str, Any], kib: int, port_bits: int) -> dict[str, float]:
    """Read and write energy (pJ per access) of one SRAM at TECHNOLOGY_NM, exact table entry."""
    index = table["capacity_kib"].index(kib)
    entry = table["node_nm"][TECHNOLOGY_NM][port_bits]
    read_pj, write_pj = entry["read_energy_pj"][index], entry["write_energy_pj"][index]
    if read_pj is None or write_pj is None:
        raise ValueError(f"no CACTI organization for {kib} KiB at {port_bits} bits")
    return {"read_pj": float(read_pj), "write_pj": float(write_pj)}


def prices_for(design: Mapping[str, Any], table: Mapping[str, Any]) -> dict[str, Any]:
    """The sweep's price list for one design (SRAMs at their capacity and port width)."""
    ports = TWIN.sram_port_bits(design)
    return {
        "mac_pj": MAC_PJ,
        "reg_pj_per_bit": REG_PJ_PER_BIT,
        "reg_read_pj_per_bit": REG_PJ_PER_BIT,  # the sweep charged reads as writes
        "dram_read_pj_per_bit": DRAM_READ_PJ_PER_BIT,
        "dram_write_pj_per_bit": DRAM_WRITE_PJ_PER_BIT,
        "sram": {
            name: sram_price(table, design[f"{name}_sram_kib"], ports[name])
            for name in TWIN.SRAM_NAMES
        },
    }


def _num(value: Any) -> int | float | None:
    """A JSON-safe number: int when integral, float otherwise, None for NaN/inf."""
    number = float(value)
    if not math.isfinite(number):
        return None
    if number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def layer_record(layer: Any) -> dict[str, Any]:
    """The layer's shape, MACs and ZigZag loop sizes."""
    return {
        "in_channels": layer.in_channels,
        "out_channels": layer.out_channels,
        "in_height": layer.in_height,
        "in_width": layer.in_width,
        "kernel": layer.kernel,
        "stride": layer.stride,
        "padding": layer.padding,
        "groups": layer.groups,
        "batch": layer.batch,
        "out_height": layer.out_height,
        "out_width": layer.out_width,
        "macs": layer.macs,
        "zigzag_loop_sizes": layer.loop_sizes(),
    }


def _level_names(cme: CostModelEvaluation, layer_op: Any) -> list[str]:
    """Memory level names serving one layer operand, innermost first."""
    mem_op = cme.layer.memory_operand_links.layer_to_mem_op(layer_op)
    levels = cme.accelerator.memory_hierarchy.get_memory_levels(mem_op)
    return [level.name for level in levels][: cme.mapping.mem_level[layer_op]]


def _operand(cme: CostModelEvaluation, name: str) -> Any:
    """ZigZag's LayerOperand called ``name``."""
    return next(op for op in cme.layer.layer_operands if op.name == name)


def latency_record(cme: CostModelEvaluation) -> dict[str, Any]:
    """ZigZag's latency breakdown (cycles)."""
    return {
        "total_cycles": _num(cme.latency_total2),
        "ideal_cycles": _num(cme.ideal_cycle),
        "ideal_temporal_cycles": _num(cme.ideal_temporal_cycle),
        "stall_slack_cycles": _num(cme.stall_slack_comb),
        "data_onloading_cycles": _num(cme.data_onloading_cycle),
        "data_offloading_cycles": _num(cme.data_offloading_cycle),
        "systolic_drain_cycles": _num(cme.systolic_drain_cycle),
        "computation_with_stalls_cycles": _num(cme.latency_total0),
        "mac_spatial_utilization": _num(cme.mac_spatial_utilization),
        "mac_utilization": _num(cme.mac_utilization2),
        "note": (
            "total = ideal_temporal + stall_slack + onloading + offloading + systolic_drain "
            "(ZigZag latency_total2); computation_with_stalls = latency_total0"
        ),
    }


def energy_record(cme: CostModelEvaluation) -> dict[str, Any]:
    """Energy (pJ): total, MAC, memory, and per operand per memory level and direction."""
    by_level: dict[str, dict[str, Any]] = {}
    for name in LAYER_OPERANDS:
        layer_op = _operand(cme, name)
        levels = _level_names(cme, layer_op)
        by_level[name] = {
            level: {
                "total_pj": _num(cme.mem_energy_breakdown[layer_op][index]),
                **{
                    str(direction): _num(
                        cme.mem_energy_breakdown_further[layer_op][index].get(direction)
                    )
                    for direction in DIRECTIONS
                },
            }
            for index, level in enumerate(levels)
        }
    return {
        "total_pj": _num(cme.energy_total),
        "mac_pj": _num(cme.mac_energy),
        "memory_pj": _num(cme.mem_energy),
        "memory_by_operand_level": by_level,
    }


def movement_record(cme: CostModelEvaluation) -> tuple[dict[str, Any], dict[str, Any]]:
    """(accesses, elements): per operand, level and direction.

    accesses: ZigZag's memory_word_access, in accesses of the port's bandwidth_max bits (pro
    rata in bandwidth_min steps), the counts ZigZag multiplies by r_cost / w_cost. elements:
    data elements moved (unit_mem_data_movement's data_elem_move_count) with their bits.
    """
    accesses: dict[str, Any] = {}
    elements: dict[str, Any] = {}
    for name in LAYER_OPERANDS:
        layer_op = _operand(cme, name)
        levels = _level_names(cme, layer_op)
        accesses[name] = {}
        elements[name] = {}
        for index, level in enumerate(levels):
            words = cme.memory_word_access[layer_op][index]
            movement = cme.mapping.unit_mem_data_movement[layer_op][index]
            counts = movement.get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)
            bits = movement.get_attribute(DataMoveAttr.DATA_PRECISION)
            accesses[name][level] = {str(d): _num(words.get(d)) for d in DIRECTIONS}
            elements[name][level] = {
                str(d): {"elements": _num(counts.get(d)), "bits": _num(bits.get(d))}
                for d in DIRECTIONS
            }
    return accesses, elements


def dram_record(elements: Mapping[str, Any]) -> dict[str, Any]:
    """DRAM bytes read and written per operand (from the DRAM level's element counts)."""
    result: dict[str, Any] = {}
    for name in LAYER_OPERANDS:
        moves = elements[name]["dram"]

        def nbytes(direction: DataDirection, moves: Mapping[str, Any] = moves) -> float:
            entry = moves[str(direction)]
            return (entry["elements"] or 0) * (entry["bits"] or 0) / 8

        result[name] = {
            "read_bytes": _num(nbytes(DataDirection.RD_OUT_TO_LOW)),
            "written_bytes": _num(nbytes(DataDirection.WR_IN_BY_LOW)),
        }
    return result


def derived_record(dram: Mapping[str, Any], design: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers computed here, not by ZigZag: DRAM bytes and the port's busy cycles."""
    total_bytes = sum(entry["read_bytes"] + entry["written_bytes"] for entry in dram.values())
    return {
        "dram_bytes_total": _num(total_bytes),
        "dram_port_busy_cycles": _num(total_bytes / (design["dram_port_bits"] / 8)),
    }


def tensor_bytes(cme: CostModelEvaluation, design: Mapping[str, Any]) -> dict[str, Any]:
    """Bytes of each operand tensor (outputs at their final precision), as ZigZag sizes them."""
    bits = design["precision_bits"]
    return {
        name: _num(cme.layer.operand_size_elem[_operand(cme, name)] * bits / 8)
        for name in LAYER_OPERANDS
    }


def mapping_record(cme: CostModelEvaluation) -> dict[str, Any]:
    """Spatial mapping and, per operand, the temporal loops at each level (innermost first)."""
    temporal: dict[str, str] = {}
    for name in LAYER_OPERANDS:
        layer_op = _operand(cme, name)
        levels = _level_names(cme, layer_op)
        loops_per_level = cme.temporal_mapping.mapping_dic_stationary[layer_op]
        parts = []
        for level, loops in zip(levels, loops_per_level, strict=True):
            text = " ".join(f"{dim}{_num(size)}" for dim, size in loops) or "-"
            parts.append(f"{level}: {text}")
        temporal[name] = " | ".join(parts)
    return {
        "spatial": str(cme.spatial_mapping_int),
        "spatial_fractional": str(cme.spatial_mapping),
        "temporal_innermost_first": temporal,
    }


class _WarningCollector(logging.Handler):
    """Keeps ZigZag's warning messages of one run."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


def run_zigzag(inputs: Any, opt: str) -> tuple[CostModelEvaluation, list[str], float]:
    """Run ZigZag on twin inputs in a temp dir: (layer CME, warnings, seconds)."""
    collector = _WarningCollector()
    logging.getLogger().addHandler(collector)
    start_s = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="evodse_zigzag_") as folder:
            accelerator, mapping, workload = TWIN.write_inputs(inputs, folder)
            _, _, cmes = get_hardware_performance_zigzag(
                workload,
                accelerator,
                mapping,
                temporal_mapping_search_engine=ZIGZAG_SETTINGS["temporal_mapping_search_engine"],
                temporal_mapping_type=ZIGZAG_SETTINGS["temporal_mapping_type"],
                opt=opt,
                dump_folder=os.path.join(folder, "out"),
                lpf_limit=ZIGZAG_SETTINGS["lpf_limit"],
                loma_show_progress_bar=False,
            )
    finally:
        logging.getLogger().removeHandler(collector)
    elapsed_s = time.perf_counter() - start_s
    cme = cmes[0][1][0][0]
    assert isinstance(cme, CostModelEvaluation)
    return cme, collector.messages, elapsed_s


def fingerprint(record: Mapping[str, Any]) -> str:
    """Hash of a case's inputs; a stored case is reused only if it matches."""
    text = json.dumps(record, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_case(
    design_name: str, design: dict[str, Any], prices: dict[str, Any], layer: Any, opt: str
) -> dict[str, Any]:
    """One ZigZag run, as a JSON-safe record."""
    inputs = TWIN.build_inputs(design, prices, [layer])
    cme, warnings, elapsed_s = run_zigzag(inputs, opt)
    accesses, elements = movement_record(cme)
    zigzag_macs = _num(cme.layer.total_mac_count)
    if zigzag_macs != layer.macs:
        raise AssertionError(f"{layer.name}: ZigZag MACs {zigzag_macs} != {layer.macs}")
    return {
        "design_name": design_name,
        "layer_name": layer.name,
        "opt": opt,
        "design": design,
        "prices": prices,
        "sram_port_bits": TWIN.sram_port_bits(design),
        "layer": layer_record(layer),
        "requested_spatial_unrolling": TWIN.spatial_unrolling(design, layer),
        "latency": latency_record(cme),
        "energy": energy_record(cme),
        "accesses": accesses,
        "elements_moved": elements,
        "dram_bytes": dram_record(elements),
        "derived": derived_record(dram_record(elements), design),
        "tensor_bytes": tensor_bytes(cme, design),
        "mapping": mapping_record(cme),
        "zigzag_warnings": warnings,
        "runtime_s": round(elapsed_s, 2),
        "slow": elapsed_s > SLOW_CASE_S,
    }


def case_inputs(design: dict[str, Any], prices: dict[str, Any], layer: Any, opt: str) -> dict:
    """What determines a case's result (for the resume fingerprint)."""
    return {
        "design": design,
        "prices": prices,
        "layer": layer_record(layer),
        "opt": opt,
        "settings": ZIGZAG_SETTINGS,
    }


def load_existing(path: str) -> dict[str, dict[str, Any]]:
    """Stored cases by key, or {} if the file is missing."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return {case["key"]: case for case in data.get("cases", [])}


def write_atomic(path: str, cases: Mapping[str, dict[str, Any]]) -> None:
    """Rewrite the reference JSON (tmp file + os.replace)."""
    payload = {
        "generated_by": GENERATED_BY,
        "settings": ZIGZAG_SETTINGS,
        "conventions": {
            "units": "energy pJ, latency cycles, bytes, accesses in port-width words",
            "operands": "I = ifmap (memory operand I1), W = weights (I2), O = outputs/psums (O)",
            "directions": (
                "rd_out_to_low: read towards the array; wr_in_by_high: fill from the level "
                "above; rd_out_to_high: read towards the level above (outputs); wr_in_by_low: "
                "write from below (outputs, partial or final)"
            ),
            "dram_bytes": "elements moved at the DRAM level x their bits / 8",
            "twin": "evodse/export/zigzag_twin.py (module docstring)",
        },
        "cases": [cases[key] for key in sorted(cases)],
    }
    tmp_path = f"{path}.tmp"
    with open(tmp_path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1)
        handle.write("\n")
    os.replace(tmp_path, path)


def planned_cases() -> list[tuple[str, dict[str, Any], dict[str, Any], Any, str]]:
    """Every (design name, design, prices, layer, opt) of the sweep."""
    table = load_sram_table()
    plan = []
    for design_name, design in designs():
        prices = prices_for(design, table)
        for layer in layers():
            for opt in OPTS:
                plan.append((design_name, design, prices, layer, opt))
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output JSON path")
    parser.add_argument("--only", default="", help="run cases whose design/layer/opt contains this")
    parser.add_argument("--fresh", action="store_true", help="ignore cases already in --out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stored = {} if args.fresh else load_existing(args.out)
    plan = [case for case in planned_cases() if args.only in f"{case[0]}/{case[3].name}/{case[4]}"]
    start_s = time.perf_counter()
    ran = 0
    failed: list[str] = []
    for number, (design_name, design, prices, layer, opt) in enumerate(plan, start=1):
        key = f"{design_name}/{layer.name}/{opt}"
        digest = fingerprint(case_inputs(design, prices, layer, opt))
        if key in stored and stored[key].get("fingerprint") == digest:
            continue
        try:
            record = run_case(design_name, design, prices, layer, opt)
        except Exception as error:  # one failing case must not stop the sweep
            failed.append(f"{key}: {type(error).__name__}: {error}")
            print(f"[{number}/{len(plan)}] {key}: FAILED {failed[-1]}", flush=True)
            continue
        stored[key] = {"key": key, "fingerprint": digest, **record}
        write_atomic(args.out, stored)
        ran += 1
        latency = record["latency"]["total_cycles"]
        energy = record["energy"]["total_pj"]
        print(
            f"[{number}/{len(plan)}] {key}: {latency:,} cycles, {energy:,.0f} pJ, "
            f"{record['runtime_s']:.1f} s (elapsed {time.perf_counter() - start_s:.0f} s)",
            flush=True,
        )
    print(f"done: {ran} cases run, {len(stored)} stored, {time.perf_counter() - start_s:.0f} s")
    for line in failed:
        print(f"failed: {line}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
