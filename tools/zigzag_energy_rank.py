#!/usr/bin/env python3
"""Why ZigZag and evodse ranked the quickstart front's energy differently: per level, operand
and direction, on a few ResNet-50 layers: docs/data/zigzag_energy_rank.json.

For each design (ids of a quickstart run), layer and ZigZag objective (``latency``: the
validation backend's setting; ``energy``), ZigZag 3.9.1 runs on two twins:

* ``before``: the twin as validated at commit dcca13d (docs/validation.md): the os ofmap SRAM
  port ``cols x precision_bits`` wide, register reads charged at the write price;
* ``after``: the current twin (:mod:`evodse.export.zigzag_twin`): the os ofmap port ``cols x
  accumulator_bits`` (the port evodse prices, through which partial sums spill), register reads
  at evodse's price (0).

Per run it stores ZigZag's energy (pJ) and bytes (port-width words x port bits / 8) per
(level, operand, direction) in evodse's keys, and the latency; per (design, layer) the model's
counts and energy (:func:`evodse.model.evaluate`, the same keys). Both twins are priced by
evodse (``twin_prices``), so a difference in energy is a difference in counts, except register
reads, which ``before`` charged. ``tests/test_energy_rank.py`` renders the docs table from it.

How it was made (from the repository root, ``pip install -e '.[zigzag]'``; about 2 minutes)::

    evodse run experiments/quickstart.yaml --out /tmp/rank-q
    python tools/zigzag_energy_rank.py /tmp/rank-q
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

from evodse.export.zigzag import ZIGZAG_SETTINGS, twin_design, twin_layer, twin_prices
from evodse.export.zigzag_twin import TwinInputs, build_inputs
from evodse.hardware.template import CATEGORICAL, HARDWARE_KEYS, accelerator_from_dict
from evodse.model.counts import KEYS
from evodse.model.evaluate import evaluate
from evodse.plots.rundata import load_run
from evodse.validation.zigzag_backend import run_zigzag
from evodse.workload import load_workload

OUT = Path(__file__).resolve().parents[1] / "docs" / "data" / "zigzag_energy_rank.json"
DESIGN_IDS = (2372, 4095)
LAYERS = ("layer1.0.conv1", "layer1.1.conv2", "layer2.1.conv1", "layer3.1.conv1", "layer3.1.conv3")
TWINS = ("before", "after")
OPTS = ("latency", "energy")
_LEVEL = {"reg": "register", "sram": "sram", "dram": "dram"}
_OPERAND = {"O": "output", "W": "weight", "I": "input"}
_READS = ("rd_out_to_low", "rd_out_to_high")  # ZigZag's DataDirection values that read


def _before(inputs: TwinInputs, design: dict[str, Any]) -> TwinInputs:
    """The twin of commit dcca13d: os ofmap port at ``cols x bits`` (the same pJ per byte) and
    register reads charged at the write price."""
    acc = copy.deepcopy(inputs.accelerator)
    memories = acc["memories"]
    if design["dataflow"] == "os":
        ofmap = memories["sram_ofmap"]
        ratio = design["precision_bits"] / design["accumulator_bits"]
        for port in ofmap["ports"]:
            port["bandwidth_max"] = design["cols"] * design["precision_bits"]
        ofmap["r_cost"] *= ratio
        ofmap["w_cost"] *= ratio
    for name, memory in memories.items():
        if name.startswith("reg_"):
            memory["r_cost"] = memory["w_cost"]
    return TwinInputs(accelerator=acc, mapping=inputs.mapping, workload=inputs.workload)


def _zigzag_keys(cme: Any) -> dict[str, dict[str, float]]:
    """ZigZag's bytes and energy per evodse key "level/operand/direction"."""
    out: dict[str, dict[str, float]] = {}
    links = cme.memory_operand_links
    for layer_op, accesses in cme.memory_word_access.items():
        mem_op = links.layer_to_mem_op(layer_op)
        levels = cme.accelerator.memory_hierarchy.get_memory_levels(mem_op=mem_op)
        energies = cme.mem_energy_breakdown_further[layer_op]
        for words, energy, level in zip(accesses, energies, levels, strict=True):
            kind = _LEVEL[level.name.split("_")[0]]
            for direction, count in words.data.items():
                read = str(direction) in _READS
                port_bits = level.get_max_bandwidth(mem_op, direction) or 0
                key = f"{kind}/{_OPERAND[str(layer_op)]}/{'read' if read else 'write'}"
                entry = out.setdefault(key, {"bytes": 0.0, "energy_pj": 0.0})
                entry["bytes"] += count * port_bits / 8
                entry["energy_pj"] += energy.data[direction]
    return {k: v for k, v in sorted(out.items()) if v["bytes"] or v["energy_pj"]}


def _model(acc: Any, net: Any, index: int) -> dict[str, Any]:
    cost = evaluate([acc], net)
    slot = cost.table.slot[index]
    p = cost.prices
    keys = {}
    for key in KEYS:
        moved = float(cost.counts[key][0, slot])
        if moved:
            energy = moved * float(p.pj_per_byte[key][0, 0])
            keys["/".join(key)] = {"bytes": moved, "energy_pj": energy}
    mac = float(cost.counts.macs[0, slot] * p.mac_pj[0, 0])
    return {
        "cycles": float(cost.layer("cycles")[0, index]),
        "mac_energy_pj": mac,
        "energy_pj": mac + sum(v["energy_pj"] for v in keys.values()),
        "keys": keys,
    }


def _design(run_dir: str, design_id: int) -> Any:
    table = load_run(run_dir).evaluations
    row = list(table["id"]).index(design_id)
    data: dict[str, Any] = {"name": f"design_{design_id}"}
    for key in HARDWARE_KEYS:
        if key != "name":
            value = table[key][row]
            data[key] = str(value) if key in CATEGORICAL else float(value)
    return accelerator_from_dict(data, source=run_dir)


def main(run_dir: str) -> int:
    net = load_workload("resnet50")
    names = [op.name for op in net.ops]
    cases = []
    designs = {}
    for design_id in DESIGN_IDS:
        acc = _design(run_dir, design_id)
        design = twin_design(acc, "os")
        designs[str(design_id)] = design
        prices = twin_prices(acc, design)
        for layer_name in LAYERS:
            index = names.index(layer_name)
            twin = twin_layer(net.ops[index], net.batch, name="L")
            after = build_inputs(design, prices, [twin.layer])
            case: dict[str, Any] = {"design_id": design_id, "layer": layer_name}
            case["model"] = _model(acc, net, index)
            for variant in TWINS:
                inputs = after if variant == "after" else _before(after, design)
                for opt in OPTS:
                    start = time.perf_counter()
                    cme = run_zigzag(inputs, opt=opt)
                    case[f"{variant}/{opt}"] = {
                        "cycles": float(cme.latency_total2),
                        "energy_pj": float(cme.energy_total),
                        "mac_energy_pj": float(cme.mac_energy),
                        "temporal_mapping": str(cme.temporal_mapping),
                        "keys": _zigzag_keys(cme),
                    }
                    print(
                        f"{design_id} {layer_name} {variant}/{opt}: {cme.latency_total2:,.0f} "
                        f"cycles, {cme.energy_total / 1e6:.2f} uJ "
                        f"({time.perf_counter() - start:.1f} s)",
                        file=sys.stderr,
                    )
            cases.append(case)
    data = {
        "generated_by": "tools/zigzag_energy_rank.py",
        "commands": ["evodse run experiments/quickstart.yaml --out /tmp/rank-q"],
        "zigzag_settings": ZIGZAG_SETTINGS,
        "designs": designs,
        "cases": cases,
    }
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
