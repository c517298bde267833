#!/usr/bin/env python3
"""Regenerate the ZigZag 3.9.1 references of its shipped accelerators: ``zigzag_templates/``.

What it does
    Runs ZigZag 3.9.1 (``zigzag.api.get_hardware_performance_zigzag``, LOMA, uneven temporal
    mappings, ``lpf_limit`` 6, ``opt="latency"``: the fastest schedule, ties broken by energy)
    on each layer of ``LAYER_TABLE`` for each accelerator of ``ACCELERATORS``: ZigZag's own
    hardware YAMLs (``zigzag/inputs/hardware``) with their own mapping files
    (``zigzag/inputs/mapping``), unchanged. Each layer is an independent conv in ZigZag's ONNX
    parser form with ZigZag's default precisions (W 8, I 8, O partial sums 16, O final 8 bits).
    One JSON per accelerator (``zigzag_templates/<accelerator>.json``) stores the exact inputs
    (the accelerator and mapping files' text and SHA-256, each layer's workload entry) and, per
    layer: latency (cycles, ZigZag's breakdown), spatial utilization, energy (total, MAC, per
    memory level, per operand and level), DRAM bytes read/written per operand, the tensor
    sizes, the spatial and temporal mappings and ZigZag's warnings. The record builders are
    those of ``regen_zigzag.py`` (same folder).

eyeriss_like has no mapping file of its own
    ``EYERISS_MAPPING_NOTE``: a row-stationary-like spatial mapping per layer, as close as a
    ZigZag spatial mapping gets to Eyeriss (Chen et al., ISCA 2016, Sec. IV): the array's D1
    (14 PEs) takes output rows OY, D2 (12 PEs) takes the filter rows FY and replicates the
    remaining floor(12 / FY) PEs over input channels C (a PE set per channel group, the
    partial sums of the replicas added across D2). Depthwise layers have C = 1 per group, so
    their replicas idle (no silent G for C). What ZigZag cannot express: the 1-D row
    convolution inside a PE (FX and the sliding window are temporal loops chosen by LOMA, not a
    fixed row primitive), the diagonal ifmap reuse across OY and FY is left to ZigZag's
    handling of partially relevant loops (not checked against Eyeriss's multicast), and the PE
    scratchpad sizes are eyeriss_like's (64 B / 64 B / 16 B), not Eyeriss's (24 B / 448 B /
    48 B).

Resumable
    Each JSON is rewritten atomically after every layer; a rerun keeps every layer whose inputs
    (files, workload entry, settings) are unchanged. ``--only SUBSTRING`` filters
    "accelerator/layer"; ``--fresh`` ignores stored results.

How to run (from the repository root; the ZigZag venv needs zigzag-dse==3.9.1 and six)
    nice -n 10 /work/zzvenv/bin/python tests/golden/regen_zigzag_templates.py \
        > /tmp/zigzag_templates.log 2>&1 &
    Run times per layer are stored (``runtime_s``); the whole sweep's time is in the log's last
    line and in docs/templates_validation.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import yaml
import zigzag
from zigzag.api import get_hardware_performance_zigzag
from zigzag.cost_model.cost_model import CostModelEvaluation

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import regen_zigzag as base  # noqa: E402  (the sibling script's record builders)

OUT_DIR = os.path.join(HERE, "zigzag_templates")
GENERATED_BY = "tests/golden/regen_zigzag_templates.py"
ZIGZAG_INPUTS = os.path.join(os.path.dirname(zigzag.__file__), "inputs")

SETTINGS: dict[str, Any] = {
    "zigzag_version": "3.9.1",
    "temporal_mapping_search_engine": "loma",
    "temporal_mapping_type": "uneven",
    "lpf_limit": 6,
    "opt": "latency",
}
PRECISION_BITS = {"W": 8, "I": 8, "O": 16, "O_final": 8}
CONV_EQUATION = "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]"
OPERAND_LINKS = {"O": "O", "W": "I2", "I": "I1"}

#: accelerator name -> (hardware file, mapping file or None for the per-layer mapping below)
ACCELERATORS: dict[str, tuple[str, str | None]] = {
    "tpu_like": ("tpu_like.yaml", "tpu_like.yaml"),
    "eyeriss_like": ("eyeriss_like.yaml", None),
    "edge_tpu_like": ("edge_tpu_like.yaml", "edge_tpu_like.yaml"),
    "ascend_like": ("ascend_like.yaml", "ascend_like.yaml"),
    "meta_prototype": ("meta_prototype.yaml", "meta_prototype_like.yaml"),
    "tesla_npu_like": ("tesla_npu_like.yaml", "tesla_npu_like.yaml"),
}
EYERISS_MAPPING_NOTE = (
    "row-stationary-like, chosen here (eyeriss_like ships no mapping): D1 (14) <- OY, "
    "D2 (12) <- FY x C floor(12 / FY); see the regen script's docstring"
)

# name, in_channels, out_channels, in_height, in_width, kernel, stride, padding, groups;
# ("gemm", name, m, k, n) rows are out[m, n] = A[m, k] B[k, n] (OY = m, OX = 1, C = k, K = n).
# Batch 1; the attention matmuls are one head (G = 1).
LAYER_TABLE: tuple[tuple[Any, ...], ...] = (
    ("conv", "alexnet_conv1_11x11_s4_227_3to96", 3, 96, 227, 227, 11, 4, 0, 1),
    ("conv", "resnet_conv1_7x7_s2_224_3to64", 3, 64, 224, 224, 7, 2, 3, 1),
    ("conv", "resnet18_conv3x3_56_64to64", 64, 64, 56, 56, 3, 1, 1, 1),
    ("conv", "resnet_conv3x3_14_256to256", 256, 256, 14, 14, 3, 1, 1, 1),
    ("conv", "conv1x1_56_64to256", 64, 256, 56, 56, 1, 1, 0, 1),
    ("conv", "mbv2_dw3x3_56_144", 144, 144, 56, 56, 3, 1, 1, 144),
    ("conv", "mbv2_pw1x1_56_144to24", 144, 24, 56, 56, 1, 1, 0, 1),
    ("gemm", "bert_ffn1_128x768to3072", 128, 768, 3072),
    ("gemm", "attention_qkt_128x64x128", 128, 64, 128),
    ("gemm", "attention_av_128x128x64", 128, 128, 64),
)


def layers() -> list[Any]:
    """Twin layers (``ConvLayer`` of evodse/export/zigzag_twin.py) of LAYER_TABLE."""
    return base.layers(LAYER_TABLE)


def workload_entry(layer: Any) -> dict[str, Any]:
    """ZigZag workload layer (ONNX conv parser form) for one twin layer, id 0."""
    sizes = layer.loop_sizes()
    pad = layer.padding
    return {
        "id": 0,
        "name": layer.name,
        "operator_type": "Conv",
        "equation": CONV_EQUATION,
        "dimension_relations": [f"ix={layer.stride}*ox+1*fx", f"iy={layer.stride}*oy+1*fy"],
        "loop_dims": list(sizes),
        "loop_sizes": list(sizes.values()),
        "operand_precision": dict(PRECISION_BITS),
        "operand_source": {"W": 0, "I": 0},
        "pr_loop_dims": ["IX", "IY"],
        "pr_loop_sizes": [layer.in_width, layer.in_height],
        "padding": [[pad, pad], [pad, pad]],
    }


def eyeriss_spatial(layer: Any) -> dict[str, list[str]]:
    """Row-stationary-like unrolling on eyeriss_like (see EYERISS_MAPPING_NOTE)."""
    sizes = layer.loop_sizes()
    fy = sizes["FY"]
    d2 = [f"FY, {fy}"]
    replicas = min(12 // fy, sizes["C"])
    if replicas > 1:
        d2.append(f"C, {replicas}")
    return {"D1": [f"OY, {min(14, sizes['OY'])}"], "D2": d2}


def mapping_entries(accelerator: str, layer: Any) -> list[dict[str, Any]]:
    """The mapping input: the shipped file's entries, or eyeriss_like's per-layer entry."""
    mapping_file = ACCELERATORS[accelerator][1]
    if mapping_file is not None:
        return yaml.safe_load(read_text(os.path.join("mapping", mapping_file)))
    return [
        {
            "name": name,
            "spatial_mapping": eyeriss_spatial(layer),
            "memory_operand_links": dict(OPERAND_LINKS),
        }
        for name in (layer.name, "default")
    ]


def read_text(relative: str) -> str:
    """Text of a file under ZigZag's shipped ``inputs`` folder."""
    with open(os.path.join(ZIGZAG_INPUTS, relative), encoding="utf-8") as handle:
        return handle.read()


def file_record(relative: str) -> dict[str, Any]:
    """A shipped input file: path under zigzag/inputs, SHA-256 and the text itself."""
    text = read_text(relative)
    return {
        "path": f"zigzag/inputs/{relative}",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "text": text,
    }


def run_zigzag(
    accelerator: str, layer: Any, mapping: list[dict[str, Any]]
) -> tuple[CostModelEvaluation, list[str], float]:
    """One ZigZag run in a temporary folder: (layer CME, warnings, seconds)."""
    collector = base._WarningCollector()
    logging.getLogger().addHandler(collector)
    start_s = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="evodse_zz_templates_") as folder:
            paths = {}
            for stem, content in (("mapping", mapping), ("workload", [workload_entry(layer)])):
                paths[stem] = os.path.join(folder, f"{stem}.yaml")
                with open(paths[stem], "w", encoding="utf-8") as handle:
                    yaml.safe_dump(content, handle, sort_keys=False)
            hardware = os.path.join(ZIGZAG_INPUTS, "hardware", ACCELERATORS[accelerator][0])
            _, _, cmes = get_hardware_performance_zigzag(
                paths["workload"],
                hardware,
                paths["mapping"],
                temporal_mapping_search_engine=SETTINGS["temporal_mapping_search_engine"],
                temporal_mapping_type=SETTINGS["temporal_mapping_type"],
                opt=SETTINGS["opt"],
                dump_folder=os.path.join(folder, "out"),
                lpf_limit=SETTINGS["lpf_limit"],
                loma_show_progress_bar=False,
            )
    finally:
        logging.getLogger().removeHandler(collector)
    cme = cmes[0][1][0][0]
    assert isinstance(cme, CostModelEvaluation)
    return cme, collector.messages, time.perf_counter() - start_s


def energy_by_level(energy: Mapping[str, Any]) -> dict[str, float]:
    """Memory energy (pJ) per memory level name, summed over the operands it serves."""
    totals: dict[str, float] = {}
    for levels in energy["memory_by_operand_level"].values():
        for level, entry in levels.items():
            totals[level] = totals.get(level, 0.0) + (entry["total_pj"] or 0.0)
    return {level: base._num(value) for level, value in totals.items()}


def tensor_bytes(cme: CostModelEvaluation) -> dict[str, Any]:
    """Bytes of each operand tensor at its final precision (outputs at O_final)."""
    bits = {"I": PRECISION_BITS["I"], "W": PRECISION_BITS["W"], "O": PRECISION_BITS["O_final"]}
    return {
        name: base._num(cme.layer.operand_size_elem[base._operand(cme, name)] * bits[name] / 8)
        for name in base.LAYER_OPERANDS
    }


def run_layer(accelerator: str, layer: Any) -> dict[str, Any]:
    """One (accelerator, layer) ZigZag run as a JSON-safe record."""
    mapping = mapping_entries(accelerator, layer)
    cme, warnings, elapsed_s = run_zigzag(accelerator, layer, mapping)
    if base._num(cme.layer.total_mac_count) != layer.macs:
        raise AssertionError(f"{layer.name}: ZigZag MACs {cme.layer.total_mac_count}")
    accesses, elements = base.movement_record(cme)
    energy = base.energy_record(cme)
    return {
        "layer_name": layer.name,
        "layer": base.layer_record(layer),
        "workload_entry": workload_entry(layer),
        "mapping_used": mapping if ACCELERATORS[accelerator][1] is None else "mapping file",
        "latency": base.latency_record(cme),
        "energy": {**energy, "memory_by_level_pj": energy_by_level(energy)},
        "dram_bytes": base.dram_record(elements),
        "tensor_bytes": tensor_bytes(cme),
        "accesses": accesses,
        "mapping": base.mapping_record(cme),
        "zigzag_warnings": warnings,
        "runtime_s": round(elapsed_s, 2),
    }


def accelerator_inputs(accelerator: str) -> dict[str, Any]:
    """The accelerator's input files as recorded in its JSON."""
    hardware_file, mapping_file = ACCELERATORS[accelerator]
    return {
        "hardware_file": file_record(os.path.join("hardware", hardware_file)),
        "mapping_file": (
            file_record(os.path.join("mapping", mapping_file))
            if mapping_file is not None
            else EYERISS_MAPPING_NOTE
        ),
    }


def fingerprint(inputs: Mapping[str, Any], layer: Any, accelerator: str) -> str:
    """Hash of what determines one layer's result."""
    record = {
        "inputs": inputs,
        "workload": workload_entry(layer),
        "mapping": mapping_entries(accelerator, layer),
        "settings": SETTINGS,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def load_layers(path: str) -> dict[str, dict[str, Any]]:
    """Stored layer records by name, or {} if the file is missing."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return {entry["layer_name"]: entry for entry in json.load(handle)["layers"]}


def write_atomic(path: str, accelerator: str, records: Mapping[str, dict[str, Any]]) -> None:
    """Rewrite one accelerator's JSON (layers in LAYER_TABLE order)."""
    order = [row[1] for row in LAYER_TABLE]
    payload = {
        "generated_by": GENERATED_BY,
        "accelerator": accelerator,
        "settings": SETTINGS,
        "precision_bits": PRECISION_BITS,
        "inputs": accelerator_inputs(accelerator),
        "conventions": {
            "units": "energy pJ, latency cycles, bytes, accesses in port-width words",
            "operands": "I = ifmap (memory operand I1), W = weights (I2), O = outputs (O)",
            "dram_bytes": "elements moved at the DRAM level x their bits / 8",
            "energy": "total = mac + memory; memory = sum of memory_by_level_pj",
        },
        "layers": [records[name] for name in order if name in records],
    }
    tmp_path = f"{path}.tmp"
    with open(tmp_path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1)
        handle.write("\n")
    os.replace(tmp_path, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=OUT_DIR, help="output folder")
    parser.add_argument("--only", default="", help="run cases whose accelerator/layer has this")
    parser.add_argument("--fresh", action="store_true", help="ignore stored results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.makedirs(args.out_dir, exist_ok=True)
    start_s = time.perf_counter()
    failed: list[str] = []
    for accelerator in ACCELERATORS:
        path = os.path.join(args.out_dir, f"{accelerator}.json")
        stored = {} if args.fresh else load_layers(path)
        inputs = accelerator_inputs(accelerator)
        for layer in layers():
            key = f"{accelerator}/{layer.name}"
            if args.only not in key:
                continue
            digest = fingerprint(inputs, layer, accelerator)
            if stored.get(layer.name, {}).get("fingerprint") == digest:
                continue
            try:
                record = run_layer(accelerator, layer)
            except Exception as error:  # one failing case must not stop the sweep
                failed.append(f"{key}: {type(error).__name__}: {error}")
                print(f"{key}: FAILED {failed[-1]}", flush=True)
                continue
            stored[layer.name] = {"fingerprint": digest, **record}
            write_atomic(path, accelerator, stored)
            print(
                f"{key}: {record['latency']['total_cycles']:,} cycles, "
                f"{record['energy']['total_pj']:,.0f} pJ, {record['runtime_s']:.1f} s "
                f"(elapsed {time.perf_counter() - start_s:.0f} s)",
                flush=True,
            )
    print(f"done in {time.perf_counter() - start_s:.0f} s; {len(failed)} failed")
    for line in failed:
        print(f"failed: {line}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
