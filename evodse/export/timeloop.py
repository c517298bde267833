"""Timeloop/Accelergy v4 specification (timeloopfe's ``version: 0.4`` format).

Followed examples (timeloop-accelergy-exercises, ``workspace/``): the architecture tree of
``example_designs/eyeriss_like/arch.yaml`` (``nodes`` of ``!Container`` / ``!Component`` /
``!Parallel``, ``spatial: {meshX, meshY}``, ``constraints: {dataspace, spatial}``), the fully
expanded conv problem of ``example_designs/simple_weight_stationary`` (``shape`` with
``dimensions`` C M R S N P Q, ``coefficients`` Wstride Hstride Wdilation Hdilation,
``data_spaces`` Weights / Inputs / Outputs with their ``projection``, and ``instance``), and the
key lists of ``timeloop_spec.yaml``.

Files: ``arch.yaml`` (the design) and one ``problem_<index>.yaml`` per GEMM layer (Timeloop
maps one layer per run); ``layers.csv`` maps them to evodse's layers with their ``repeat``.

Architecture, outermost first: ``system`` (technology, clock) > ``DRAM`` (one shared channel
of the design's bandwidth in words per cycle) > ``accelerator`` > the three SRAMs in parallel,
each keeping one data space (``ifmap_sram`` Inputs, ``weight_sram`` Weights, ``ofmap_sram``
Outputs; width = the array edge's port, depth = capacity / width) > ``PE_column`` (``meshX`` =
pe_cols) > ``PE`` (``meshY`` = pe_rows) > ``pe_register`` (the dataflow's stationary operand,
``pe_stationary_regs`` deep for ws/is) > ``mac``. The spatial constraints pin the dataflow:
ws rows <- C, R, S and columns <- M; os rows <- N, P, Q and columns <- M; is rows <- C, R, S
and columns <- N, P, Q (evodse's GEMM view: reduction, outputs, pixels).
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from evodse.errors import InputError
from evodse.export.common import SYSTOLIC, ExportFiles, csv_rows, layers_header
from evodse.hardware.template import Accelerator
from evodse.workload.network import Network
from evodse.workload.ops import Conv2d, Op

VERSION = 0.4
DIMENSIONS = ("C", "M", "R", "S", "N", "P", "Q")
COEFFICIENTS = ("Wstride", "Hstride", "Wdilation", "Hdilation")
#: Accelergy's DRAM table plug-in knows these types; evodse's others map to the nearest.
DRAM_TYPES = {
    "ddr3": "DDR4",
    "ddr4": "DDR4",
    "lpddr4": "LPDDR4",
    "lpddr5": "LPDDR4",
    "hbm2": "HBM2",
    "hbm3": "HBM2",
}
_STATIONARY = {"ws": "Weights", "os": "Outputs", "is": "Inputs"}
_ALL_DIMS_BUT = {
    "reduction": ("M", "N", "P", "Q"),  # C, R, S spatial
    "outputs": ("C", "R", "S", "N", "P", "Q"),  # M spatial
    "pixels": ("C", "M", "R", "S"),  # N, P, Q spatial
}
_EDGES = {  # dataflow -> (rows, cols)
    "ws": ("reduction", "outputs"),
    "os": ("pixels", "outputs"),
    "is": ("reduction", "pixels"),
}


class Node(dict):
    """A mapping written with a YAML tag (``!Container``, ``!Component``, ``!Parallel``)."""

    def __init__(self, tag: str, **fields: Any):
        super().__init__(fields)
        self.tag = tag


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Node, lambda d, n: d.represent_mapping(f"!{n.tag}", dict(n)))


def dump(data: Any) -> str:
    """YAML text with the tagged nodes, keys in insertion order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def _factors(edge: str) -> list[str]:
    return [f"{d}=1" for d in _ALL_DIMS_BUT[edge]]


def architecture(acc: Accelerator) -> dict[str, Any]:
    """The v4 ``architecture`` document of ``acc`` (module docstring)."""
    if acc.dataflow not in SYSTOLIC:
        raise ValueError(f"dataflow {acc.dataflow!r}: expected one of {SYSTOLIC}")
    bits = acc.precision_bits
    acc_bits = acc.accumulator_bits
    rows_edge, cols_edge = _EDGES[acc.dataflow]
    words_per_cycle = acc.dram_bandwidth_gbps * 1e9 / (acc.frequency_mhz * 1e6) / (bits / 8)
    ports = {  # the array edge each SRAM feeds per cycle (as in evodse's prices)
        "ifmap_sram": acc.pe_rows * bits,
        "weight_sram": acc.pe_cols * bits,
        "ofmap_sram": acc.pe_cols * acc_bits,
    }
    keep = {"ifmap_sram": "Inputs", "weight_sram": "Weights", "ofmap_sram": "Outputs"}
    kib = {
        "ifmap_sram": acc.ifmap_sram_kib,
        "weight_sram": acc.weight_sram_kib,
        "ofmap_sram": acc.ofmap_sram_kib,
    }
    srams = []
    for name, width in ports.items():
        data_bits = acc_bits if name == "ofmap_sram" else bits
        srams.append(
            Node(
                "Component",
                name=name,
                **{"class": "SRAM"},
                attributes={
                    "depth": math.ceil(kib[name] * 1024 * 8 / width),
                    "width": width,
                    "datawidth": data_bits,
                    "read_bandwidth": width // data_bits,
                    "write_bandwidth": width // data_bits,
                },
                constraints={
                    "dataspace": {
                        "keep": [keep[name]],
                        "bypass": [d for d in keep.values() if d != keep[name]],
                    }
                },
            )
        )
    stationary = _STATIONARY[acc.dataflow]
    reg_bits = acc_bits if stationary == "Outputs" else bits
    nodes = [
        Node(
            "Container",
            name="system",
            attributes={
                "technology": f"{acc.technology_nm}nm",
                "global_cycle_seconds": 1 / (acc.frequency_mhz * 1e6),
            },
        ),
        Node(
            "Component",
            name="DRAM",
            **{"class": "DRAM"},
            attributes={
                "type": DRAM_TYPES[acc.dram_type],
                "width": max(bits, round(words_per_cycle * bits)),
                "datawidth": bits,
                "shared_bandwidth": max(1, round(words_per_cycle)),
            },
        ),
        Node("Container", name="accelerator"),
        Node("Parallel", nodes=srams),
        Node(
            "Container",
            name="PE_column",
            spatial={"meshX": acc.pe_cols},
            constraints={"spatial": {"factors": _factors(cols_edge)}},
        ),
        Node(
            "Container",
            name="PE",
            spatial={"meshY": acc.pe_rows},
            constraints={"spatial": {"factors": _factors(rows_edge)}},
        ),
        Node(
            "Component",
            name="pe_register",
            **{"class": "regfile"},
            attributes={
                "depth": 1 if stationary == "Outputs" else acc.pe_stationary_regs,
                "width": reg_bits,
                "datawidth": reg_bits,
            },
            constraints={
                "dataspace": {
                    "keep": [stationary],
                    "bypass": [d for d in ("Inputs", "Weights", "Outputs") if d != stationary],
                }
            },
        ),
        Node(
            "Component",
            name="mac",
            **{"class": "intmac"},
            attributes={"multiplier_width": bits, "adder_width": acc_bits},
        ),
    ]
    return {"architecture": {"version": VERSION, "nodes": nodes}}


def _shape() -> dict[str, Any]:
    return {
        "name": "conv2D",
        "dimensions": list(DIMENSIONS),
        "coefficients": [{"name": c, "default": 1} for c in COEFFICIENTS],
        "data_spaces": [
            {"name": "Weights", "projection": [[["C"]], [["M"]], [["R"]], [["S"]]]},
            {
                "name": "Inputs",
                "projection": [
                    [["N"]],
                    [["C"]],
                    [["R", "Wdilation"], ["P", "Wstride"]],
                    [["S", "Hdilation"], ["Q", "Hstride"]],
                ],
            },
            {
                "name": "Outputs",
                "projection": [[["N"]], [["M"]], [["Q"]], [["P"]]],
                "read_write": True,
            },
        ],
    }


def problem_instance(op: Op, batch: int) -> tuple[dict[str, int], int, str] | None:
    """(instance, repeat, note) of one layer; None for vector-unit layers. A conv is one group
    (C, M per group) at batch N; every other GEMM is ``out[m, n] = A[m, k] B[k, n]`` with
    C = k, M = n, P = m (N = Q = R = S = 1)."""
    g = op.gemm()
    if g is None:
        return None
    if isinstance(op, Conv2d):
        instance = {
            "C": op.in_channels // op.groups,
            "M": op.out_channels // op.groups,
            "R": op.kernel_w,
            "S": op.kernel_h,
            "N": batch,
            "P": op.out_w,
            "Q": op.out_h,
            "Wstride": op.stride_w,
            "Hstride": op.stride_h,
            "Wdilation": op.dilation_w,
            "Hdilation": op.dilation_h,
        }
        return instance, op.groups, f"one group of {op.groups}" if op.groups > 1 else ""
    images = 1 if g.b_per_sample else batch
    repeat = g.count * (batch if g.b_per_sample else 1)
    instance = {"C": g.k, "M": g.n, "R": 1, "S": 1, "N": 1, "P": g.m * images, "Q": 1}
    return instance, repeat, f"one of {repeat} independent GEMMs" if repeat > 1 else ""


def problem(instance: dict[str, int]) -> dict[str, Any]:
    """The v4 ``problem`` document of one layer."""
    return {"problem": {"version": VERSION, "shape": _shape(), "instance": dict(instance)}}


def export_files(acc: Accelerator, network: Network, *, source: str) -> ExportFiles:
    """``arch.yaml``, one ``problem_<index>.yaml`` per GEMM layer and ``layers.csv``."""
    if acc.dataflow not in SYSTOLIC:
        raise InputError(
            f"dataflow {acc.dataflow!r} cannot be exported to Timeloop: its spatial "
            f"constraints here pin one of {list(SYSTOLIC)} for every layer",
            source=source,
            key="dataflow",
        )
    files = {"arch.yaml": dump(architecture(acc))}
    digits = len(str(len(network.ops) - 1))
    table, skipped = [], []
    for index, op in enumerate(network.ops):
        found = problem_instance(op, network.batch)
        if found is None:
            skipped.append(op.name)
            table.append([index, op.name, op.kind, "", "", "vector unit: not exported"])
            continue
        instance, repeat, note = found
        name = f"problem_{index:0{digits}d}.yaml"
        files[name] = dump(problem(instance))
        table.append([index, op.name, op.kind, name, repeat, note])
    files["layers.csv"] = csv_rows([*layers_header(), "problem", "repeat", "note"], table)
    run = [
        'python -c "import pytimeloop.timeloopfe.v4 as tl; '
        "tl.call_mapper(tl.Specification.from_yaml_files('arch.yaml', 'problem_<index>.yaml', "
        "'components.yaml', 'mapper.yaml'), output_dir='out')\"  # components.yaml: intmac "
        "(timeloop-accelergy-exercises _components); mapper.yaml: your mapper settings",
    ]
    return ExportFiles(files=files, not_expressed=_limits(acc, skipped), run=run)


def _limits(acc: Accelerator, skipped: list[str]) -> list[str]:
    dram = DRAM_TYPES[acc.dram_type]
    return [
        "Vector-unit layers (pooling, elementwise, normalization, softmax): not expressed; "
        "left out" + (f": {', '.join(skipped)}" if skipped else " (none in this workload)"),
        "Energy and area: Accelergy's plug-ins price the components (SRAM, DRAM, regfile, "
        "intmac), not evodse's tables; evodse's leakage model and DRAM interface area are not "
        "carried over. `intmac` is the compound component of timeloop-accelergy-exercises "
        "(_components), which the run needs beside these files.",
        f"DRAM type {acc.dram_type!r} is written as Accelergy's {dram!r}; bandwidth as whole "
        "words per cycle (rounded) shared by the three operands.",
        f"Operand widths: one precision_bits = {acc.precision_bits} (per-operand "
        "weight/activation/KV widths are not expressed); padding is not a problem "
        "dimension: the input extent follows from P, Q, R, S, strides and dilations.",
        "Systolic timing (per-fold fill and drain, stationary preload), fusion between "
        "layers, KV-cache placement and packing of independent GEMMs per fold: not expressed; "
        "grouped convs and batched matmuls are one problem run `repeat` times (layers.csv). "
        "Timeloop's mapper chooses the temporal mapping; the dataflow fixes the spatial one.",
    ]
