"""evodse designs and layers -> the ZigZag 3.9.1 twin (:mod:`evodse.export.zigzag_twin`).

The one place an :class:`~evodse.hardware.template.Accelerator` and an evodse layer become the
twin's inputs, shared by ``evodse export --to zigzag`` and ``evodse validate --backend zigzag``
(:mod:`evodse.validation.zigzag_backend`).

Design (:func:`twin_design`): array, dataflow, ``precision_bits`` operands with the technology's
accumulator width, the three SRAMs at their KiB, the DRAM port in bits per cycle
(``dram_bandwidth_gbps * 1e9 / (frequency_mhz * 1e6) * 8``, rounded, at least one operand), and
per-PE registers: ``pe_stationary_regs`` weights, one input, one accumulator.

Prices (:func:`twin_prices`): evodse's own (``evodse.model.prices``) in the twin's units, so
ZigZag prices its counts as evodse does: the MAC, register writes and reads per bit (reads at
evodse's price, 0), DRAM per bit, and
each SRAM's per-byte read/write energy times the twin's port width.

Layers (:func:`twin_layer`): a conv2d with a square kernel, equal strides and no dilation is a
twin conv at the network's batch (asymmetric pads folded into a pre-padded, trimmed input, as for
SCALE-Sim); a grouped conv that is not depthwise is one group, repeated ``groups`` times; other
convs and every other GEMM (linear, matmul, expert linear) are the cost model's exact GEMM as a
1x1 conv, repeated ``count`` times. Vector-unit layers have no twin (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evodse.errors import InputError
from evodse.export.common import SYSTOLIC, ExportFiles, csv_rows, layers_header
from evodse.export.zigzag_twin import (
    ConvLayer,
    build_inputs,
    gemm_layer,
    input_texts,
    sram_port_bits,
)
from evodse.hardware.template import Accelerator
from evodse.workload.network import Network
from evodse.workload.ops import Conv2d, Op

#: ZigZag settings of every run (validation and the README's command): LOMA with uneven
#: mappings, lpf_limit 7 (tests/golden/regen_zigzag.py explains the choice), latency-optimal
#: mapping with ties broken by energy (the schedule a systolic controller runs).
ZIGZAG_SETTINGS: dict[str, Any] = {
    "zigzag_version": "3.9.1",
    "temporal_mapping_search_engine": "loma",
    "temporal_mapping_type": "uneven",
    "lpf_limit": 7,
    "opt": "latency",
}


@dataclass(frozen=True)
class TwinLayer:
    """How one evodse layer runs on the twin: ``layer`` repeated ``repeat`` times."""

    layer: ConvLayer
    repeat: int
    note: str = ""


def twin_design(acc: Accelerator, dataflow: str | None = None) -> dict[str, Any]:
    """The twin's design dict of ``acc`` running ``dataflow`` (default: the design's)."""
    flow = acc.dataflow if dataflow is None else dataflow
    if flow not in SYSTOLIC:
        raise ValueError(f"dataflow {flow!r}: the ZigZag twin runs one of {SYSTOLIC}")
    bits = acc.precision_bits
    port_bits = acc.dram_bandwidth_gbps * 1e9 / (acc.frequency_mhz * 1e6) * 8
    acc_bits = acc.accumulator_bits
    return {
        "rows": acc.pe_rows,
        "cols": acc.pe_cols,
        "dataflow": flow,
        "precision_bits": bits,
        "accumulator_bits": acc_bits,
        "ifmap_sram_kib": _kib(acc.ifmap_sram_kib),
        "weight_sram_kib": _kib(acc.weight_sram_kib),
        "ofmap_sram_kib": _kib(acc.ofmap_sram_kib),
        "dram_port_bits": max(bits, round(port_bits)),
        "pe_weight_reg_bytes": math.ceil(acc.pe_stationary_regs * bits / 8),
        "pe_input_reg_bytes": math.ceil(bits / 8),
        "pe_output_reg_bytes": math.ceil(acc_bits / 8),
    }


def _kib(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def twin_prices(acc: Accelerator, design: dict[str, Any]) -> dict[str, Any]:
    """evodse's prices of ``acc`` in the twin's units (module docstring)."""
    from evodse.model.designs import Designs
    from evodse.model.prices import prices

    p = prices(Designs.from_accelerators([acc]))

    def per_byte(level: str, operand: str, direction: str) -> float:
        return float(p.pj_per_byte[(level, operand, direction)][0, 0])

    ports = sram_port_bits(design)
    operand = {"ifmap": "input", "weight": "weight", "ofmap": "output"}
    return {
        "mac_pj": float(p.mac_pj[0, 0]),
        "reg_pj_per_bit": per_byte("register", "weight", "write") / 8,
        "reg_read_pj_per_bit": per_byte("register", "weight", "read") / 8,
        "dram_read_pj_per_bit": per_byte("dram", "input", "read") / 8,
        "dram_write_pj_per_bit": per_byte("dram", "output", "write") / 8,
        "sram": {
            name: {
                "read_pj": per_byte("sram", operand[name], "read") * ports[name] / 8,
                "write_pj": per_byte("sram", operand[name], "write") * ports[name] / 8,
            }
            for name in ports
        },
    }


def twin_layer(op: Op, batch: int, *, name: str) -> TwinLayer | None:
    """The twin layer of ``op`` at ``batch`` (module docstring); None for vector layers."""
    g = op.gemm()
    if g is None:
        return None
    if isinstance(op, Conv2d):
        square = op.kernel_h == op.kernel_w and op.stride_h == op.stride_w
        plain = op.dilation_h == 1 and op.dilation_w == 1
        if square and plain:
            depthwise = op.groups > 1 and op.groups == op.in_channels == op.out_channels
            groups = 1 if depthwise else op.groups
            pads = {op.pad_top, op.pad_bottom, op.pad_left, op.pad_right}
            s, k = op.stride_h, op.kernel_h
            if len(pads) == 1:
                in_h, in_w, pad = op.in_h, op.in_w, op.pad_top
            else:  # asymmetric: pre-padded input, trimmed to the rows the windows reach
                in_h, in_w, pad = (op.out_h - 1) * s + k, (op.out_w - 1) * s + k, 0
            layer = ConvLayer(
                name=name,
                in_channels=op.in_channels // groups,
                out_channels=op.out_channels // groups,
                in_height=in_h,
                in_width=in_w,
                kernel=k,
                stride=s,
                padding=pad,
                groups=op.groups if depthwise else 1,
                batch=batch,
            )
            if layer.out_height != op.out_h or layer.out_width != op.out_w:
                raise ValueError(f"{op.name}: twin output {layer.out_height}x{layer.out_width}")
            note = f"one group of {groups}" if groups > 1 else ""
            return TwinLayer(layer, groups, note)
        note = "exact GEMM (non-square kernel, unequal strides or dilation)"
        m = g.m * batch
        return TwinLayer(gemm_layer(name, m=m, k=g.k, n=g.n), g.count, note)
    images = 1 if g.b_per_sample else batch
    repeat = g.count * (batch if g.b_per_sample else 1)
    note = f"one of {repeat} independent GEMMs" if repeat > 1 else ""
    return TwinLayer(gemm_layer(name, m=g.m * images, k=g.k, n=g.n), repeat, note)


def export_files(acc: Accelerator, network: Network, *, source: str) -> ExportFiles:
    """ZigZag accelerator, mapping and workload YAML for ``acc`` running ``network``."""
    if acc.dataflow not in SYSTOLIC:
        raise InputError(
            f"dataflow {acc.dataflow!r} cannot be exported to ZigZag: the twin's spatial "
            f"mapping is one of {list(SYSTOLIC)} for every layer",
            source=source,
            key="dataflow",
        )
    design = twin_design(acc)
    table, layers, skipped = [], [], []
    for index, op in enumerate(network.ops):
        twin = twin_layer(op, network.batch, name=f"L{index}")
        if twin is None:
            skipped.append(op.name)
            table.append([index, op.name, op.kind, "", "", "vector unit: not exported"])
            continue
        layers.append(twin.layer)
        table.append([index, op.name, op.kind, twin.layer.name, twin.repeat, twin.note])
    if not layers:
        raise InputError(
            "the workload has no GEMM layer to export", source=network.name, key="--workload"
        )
    files = input_texts(build_inputs(design, twin_prices(acc, design), layers))
    header = [*layers_header(), "zigzag_layer", "repeat", "note"]
    files["layers.csv"] = csv_rows(header, table)
    s = ZIGZAG_SETTINGS
    run = [
        "pip install zigzag-dse==3.9.1 six",
        'python -c "from zigzag.api import get_hardware_performance_zigzag as z; '
        "print(z('workload.yaml', 'accelerator.yaml', 'mapping.yaml', "
        f"opt='{s['opt']}', lpf_limit={s['lpf_limit']}, dump_folder='out')[:2])\"",
    ]
    return ExportFiles(files=files, not_expressed=_limits(acc, design, skipped), run=run)


def _limits(acc: Accelerator, design: dict[str, Any], skipped: list[str]) -> list[str]:
    return [
        "Vector-unit layers (pooling, elementwise, normalization, softmax): ZigZag has no "
        "vector unit; left out"
        + (f": {', '.join(skipped)}" if skipped else " (none in this workload)"),
        "Operand widths: one precision_bits = "
        f"{acc.precision_bits} for weights and activations, {design['accumulator_bits']}-bit "
        "partial sums (per-operand weight/activation/KV widths are not expressed).",
        f"DRAM: one read-write port of {design['dram_port_bits']} bits per cycle (the design's "
        "bandwidth at its clock, rounded), priced at evodse's pJ/bit; no DRAM type, pages or "
        "bursts.",
        "Fusion between layers, KV-cache placement and evodse's leakage model: not expressed "
        "(ZigZag runs each layer alone from DRAM and reports dynamic energy only).",
        "Mapping: the dataflow fixes the spatial unrolling only; ZigZag's mapper (LOMA) picks "
        "the temporal loop order and tiling per layer. Independent GEMMs (groups, heads, "
        "experts) are one layer repeated `repeat` times (layers.csv), never packed per fold. "
        "The twin's known differences from evodse: the module docstring of "
        "evodse/export/zigzag_twin.py and docs/validation.md.",
    ]
