"""Plain-dict views of a :class:`NetworkCost` (the ``evodse evaluate --json`` contract)."""

from __future__ import annotations

from typing import Any

from evodse.hardware.template import DATAFLOWS
from evodse.model.evaluate import NetworkCost

_LAYER_KEYS = ("compute_cycles", "memory_cycles", "cycles", "latency_s", "energy_pj")
_LAYER_KEYS_2 = ("dram_bytes", "utilization")


def evaluation_dict(cost: NetworkCost, design: int = 0, *, name: str = "custom") -> dict[str, Any]:
    """Per-layer and total costs of one design, as plain JSON-ready values.

    Layers: ``name op unit dataflow macs compute_cycles memory_cycles cycles latency_s
    energy_pj dram_bytes utilization``. ``compute_cycles`` is compute-bound cycles on the unit
    that runs the layer (``array`` or ``vector``); ``utilization`` is the array's.
    Total: ``macs cycles latency_s energy_pj area_mm2 utilization`` plus ``dram_bytes``,
    ``power_w`` (chip and DRAM), ``chip_power_w`` (the die alone: DRAM transfers left out),
    the energy and area breakdowns and ``access_bytes`` (bytes moved per level,
    operand and direction: ``access_bytes[level][operand][direction]``).
    """
    net = cost.network
    per_layer = {k: cost.layer(k)[design] for k in (*_LAYER_KEYS, *_LAYER_KEYS_2, "dataflow")}
    layers = []
    for i, op in enumerate(net.ops):
        flow = int(per_layer["dataflow"][i])
        layers.append(
            {
                "name": op.name,
                "op": op.kind,
                "unit": "array" if flow >= 0 else "vector",
                "dataflow": DATAFLOWS[flow] if flow >= 0 else None,
                "macs": op.macs * net.batch,
                **{k: float(per_layer[k][i]) for k in _LAYER_KEYS},
                "dram_bytes": float(per_layer["dram_bytes"][i]),
                "utilization": float(per_layer["utilization"][i]),
            }
        )
    total = {
        "macs": net.macs,
        "cycles": float(cost.cycles[design]),
        "latency_s": float(cost.latency_s[design]),
        "energy_pj": float(cost.energy_pj[design]),
        "area_mm2": float(cost.area_mm2[design]),
        "utilization": float(cost.utilization[design]),
        "dram_bytes": float(cost.dram_bytes[design]),
        "power_w": float(cost.power_w[design]),
        "chip_power_w": float(cost.chip_power_w[design]),
        "energy_breakdown_pj": {k: float(v[design]) for k, v in cost.energy_breakdown_pj.items()},
        "access_bytes": _access_bytes(cost, design),
        "area_breakdown_mm2": {k: float(v[design]) for k, v in cost.area_breakdown_mm2.items()},
    }
    return {
        "workload": net.name,
        "batch": net.batch,
        "hardware": cost.designs.accelerator(design, name=name).to_dict(),
        "layers": layers,
        "total": total,
    }


def _access_bytes(cost: NetworkCost, design: int) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (level, operand, direction), _ in cost.counts.items():
        value = float(cost.total_bytes((level, operand, direction))[design])
        out.setdefault(level, {}).setdefault(operand, {})[direction] = value
    return out
