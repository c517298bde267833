"""ZigZag 3.9.1 twin of an evodse systolic design: accelerator, mapping and workload inputs.

Pure data builders (stdlib + PyYAML, no ZigZag import): :func:`build_inputs` turns an
evodse-like design (:data:`DESIGN_KEYS`), a price list (:data:`PRICE_KEYS`) and layers
(:class:`ConvLayer`, :func:`gemm_layer`) into the three inputs of
``zigzag.api.get_hardware_performance_zigzag``; :func:`write_inputs` writes them as YAML.
``tests/golden/regen_zigzag.py`` runs them and stores the reference results.

Twin hierarchy (innermost first; one ZigZag memory per line)
    reg_W, reg_I, reg_O   per-PE registers (``served_dimensions: []``) of the given byte sizes;
                          a level of size 0 is left out. Ports one element wide (operand bits,
                          accumulator bits for reg_O).
    sram_ifmap  -> I1     one SRAM per operand, shared by the whole array (served D1, D2),
    sram_weight -> I2     one read and one write port each (1R1W), both :func:`sram_port_bits`
    sram_ofmap  -> O      wide, ``force_double_buffering`` (LOMA gives a tile at most half the
                          SRAM unless the whole tensor fits, like evodse's double buffers).
    dram                  all three operands, one read_write port of ``dram_port_bits``.
    operational array     D1 = rows, D2 = cols, ``unit_energy = mac_pj``, systolic in D1, D2.

SRAM port widths (bits): the array edge that reads or writes the operand each cycle, so SRAM
bandwidth never stalls the array. ws: ifmap rows x bits (inputs stream in from the left),
weight cols x bits (stationary weights preloaded from the top), ofmap cols x accumulator bits
(partial sums leave at the bottom). os: ifmap rows x bits, weight cols x bits, ofmap cols x
accumulator bits (finished outputs drain, and partial sums spill to and return from the ofmap
SRAM when a tile's reduction is split; the port evodse prices, ``evodse.model.prices``). is:
ifmap cols x bits (stationary inputs preloaded from the top), weight rows x bits (streamed from
the left), ofmap cols x accumulator bits. (An os ofmap port of cols x bits made every spilled
partial sum take 4 port cycles at 8 bits, so the latency-optimal mapping avoided spills and
re-read inputs and weights from DRAM instead: ``docs/validation.md``.)

Pricing (ZigZag charges ``r_cost``/``w_cost`` per access of ``bandwidth_max`` bits, pro rata in
``bandwidth_min`` steps): SRAMs cost ``prices["sram"][name]`` per full-port access, with
``bandwidth_min`` = operand bits so narrower transfers cost pro rata (CACTI's wide ports, as
ZigZag prices them, are independent 32-bit sub-arrays: energy per bit is width-independent);
registers cost ``reg_pj_per_bit`` x port bits per write and ``reg_read_pj_per_bit`` x port bits
per read (evodse prices register reads at 0: flip-flops spend their energy when clocked); DRAM
costs ``dram_*_pj_per_bit`` x ``dram_port_bits`` per access with ``bandwidth_min`` = operand
bits, i.e. energy = bits moved x pJ/bit. Partial sums are 32-bit (``operand_precision:
{O: accumulator_bits, O_final: bits}``).

Spatial mapping (SCALE-Sim's GEMM out[M, N] = A[M, K] B[K, N] with M output pixels, N output
channels, K the reduction; ZigZag names output channels K and input channels C):
    ws: rows <- C, cols <- K;  os: rows <- (OX, OY), cols <- K;  is: rows <- C, cols <- (OX, OY).
Output pixels go on one array edge as two unrollings ``OX, a`` and ``OY, b`` with a * b <= edge,
chosen for the fewest folds ceil(OX/a) * ceil(OY/b) (then exact divisors, then most PEs used).
Depthwise convs (groups = channels, so C = K = 1 per group) unroll the groups G over the
columns as ZigZag's own Add/Pooling mappings do, and the rows take the reduction FX, FY
(ws/is) or the output pixels (os); is keeps pixels on the columns and G in time. GEMMs (linear
layers, attention matmuls) are 1x1 convs with OY = tokens, OX = 1, C = reduction, K = outputs.
Non-dividing unrollings (e.g. C = 144 on 64 rows) are ZigZag's fractional spatial mappings:
ceil folds for latency, the exact fraction for energy.

What the twin cannot express of evodse (compare with care)
    - The dataflow fixes only the spatial mapping. LOMA still chooses the temporal loop order, so
      a "ws" twin need not keep weights stationary in time: ZigZag charges stalls no energy, and
      under ``opt="energy"`` it can keep partial sums in the PE registers while refetching
      weights every cycle (in the reference sweep: up to 7.5x slower for < 0.2% less energy).
      ``opt="latency"`` (ties broken by energy) gives the schedules a systolic controller runs.
    - Systolic skew: ZigZag counts ideal temporal cycles (spatial folds x temporal loops), with no
      per-fold fill/drain and no stationary-operand preload; 3.9.1's ``systolic_dimensions`` adds
      only one drain of (used rows - 1) + (used cols - 1) per layer (``systolic_drain_cycle``).
      evodse and SCALE-Sim pay 2R + C - 2 (ws/is) or R + C - 2 (os) per fold.
    - Flattened pixels: ZigZag cannot unroll M = OX * OY as one index (im2col); OX x OY factor
      pairs lose utilization when no pair fills the edge (14 x 14 on 32 rows: 28 of 32).
    - Reduction: ws/is put only C on the rows (FX, FY in time); evodse maps C * FY * FX. Same
      folds when rows divide C; differs for C < rows (first layers) or odd C.
    - Depthwise: ZigZag runs groups in parallel on the columns; evodse (like SCALE-Sim) runs them
      one after another, each on one column, so depthwise utilization differs by design.
    - Memory: LOMA searches loop orders and tile sizes per level (not evodse's three closed-form
      orders), shares the DRAM port among operands and overlaps transfers with compute through
      its stall/slack model plus one-off on-/off-loading; evodse uses max(compute, memory) plus a
      prologue/epilogue. Ports and bank conflicts, DRAM pages and bursts: neither models them.
    - Registers: ZigZag counts every PE's register in every direction; with partial sums
      leaving the PE each cycle (ws) the 32-bit accumulator register is accessed 4 times per MAC
      (median 29% of the reference sweep's energy, which priced reads as writes), where a
      systolic column moves one psum per PE. ``twin_prices`` prices reads at evodse's 0.
    - DRAM port: ZigZag's latency can fall below DRAM bytes / port width (104 of 192 sweep
      cases, down to 0.77x): it overlaps per-operand transfer windows, and its one-off onloading
      takes max(I, W), not the sum, when their SRAMs are separate but share the DRAM port.
    - SRAMs here are 1R1W; the CACTI prices come from a 1-read-write-port array.
    - No vector unit: pooling, elementwise, normalization and softmax are not represented.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "DATAFLOWS",
    "DESIGN_KEYS",
    "PRICE_KEYS",
    "SRAM_NAMES",
    "ConvLayer",
    "TwinInputs",
    "accelerator_dict",
    "build_inputs",
    "check_design",
    "check_prices",
    "gemm_layer",
    "input_texts",
    "mapping_list",
    "spatial_unrolling",
    "sram_port_bits",
    "workload_list",
    "write_inputs",
]

DATAFLOWS = ("ws", "os", "is")
DESIGN_KEYS = (
    "rows",
    "cols",
    "dataflow",
    "precision_bits",
    "accumulator_bits",
    "ifmap_sram_kib",
    "weight_sram_kib",
    "ofmap_sram_kib",
    "dram_port_bits",
    "pe_weight_reg_bytes",
    "pe_input_reg_bytes",
    "pe_output_reg_bytes",
)
PRICE_KEYS = (
    "mac_pj",
    "reg_pj_per_bit",
    "reg_read_pj_per_bit",
    "dram_read_pj_per_bit",
    "dram_write_pj_per_bit",
    "sram",
)
SRAM_NAMES = ("ifmap", "weight", "ofmap")
SRAM_PRICE_KEYS = ("read_pj", "write_pj")
MEM_OPERAND = {"ifmap": "I1", "weight": "I2", "ofmap": "O"}
OPERAND_LINKS = {"O": "O", "W": "I2", "I": "I1"}
CONV_EQUATION = "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]"
DRAM_SIZE_BITS = 10**13
ARRAY_DIMS = ("D1", "D2")


@dataclass(frozen=True)
class ConvLayer:
    """A 2-D convolution (batch first, square kernel); groups is 1 or the channel count."""

    name: str
    in_channels: int
    out_channels: int
    in_height: int
    in_width: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    batch: int = 1

    def __post_init__(self) -> None:
        depthwise = self.groups == self.in_channels == self.out_channels
        if self.groups != 1 and not depthwise:
            raise ValueError(f"{self.name}: groups must be 1 or in = out channels (depthwise)")

    @property
    def depthwise(self) -> bool:
        """True for a depthwise conv (one input and one output channel per group)."""
        return self.groups > 1

    @property
    def out_height(self) -> int:
        """Output rows (floor mode, as PyTorch and ONNX)."""
        return (self.in_height + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_width(self) -> int:
        """Output columns (floor mode)."""
        return (self.in_width + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer."""
        per_group_c = self.in_channels // self.groups
        outputs = self.batch * self.out_channels * self.out_height * self.out_width
        return outputs * per_group_c * self.kernel**2

    def loop_sizes(self) -> dict[str, int]:
        """ZigZag loop dimension sizes (B, K, G, OX, OY, C, FX, FY)."""
        return {
            "B": self.batch,
            "K": self.out_channels // self.groups,
            "G": self.groups,
            "OX": self.out_width,
            "OY": self.out_height,
            "C": self.in_channels // self.groups,
            "FX": self.kernel,
            "FY": self.kernel,
        }


def gemm_layer(name: str, *, m: int, k: int, n: int) -> ConvLayer:
    """out[m, n] = A[m, k] B[k, n] as a 1x1 conv: OY = m (tokens), OX = 1, C = k, K = n."""
    return ConvLayer(name=name, in_channels=k, out_channels=n, in_height=m, in_width=1)


@dataclass(frozen=True)
class TwinInputs:
    """The three ZigZag inputs: accelerator dict, mapping list and workload list."""

    accelerator: dict[str, Any]
    mapping: list[dict[str, Any]]
    workload: list[dict[str, Any]]


def check_design(design: Mapping[str, Any]) -> None:
    """Raise ValueError naming the problem if ``design`` lacks, adds or misstates a key."""
    missing = [key for key in DESIGN_KEYS if key not in design]
    unknown = [key for key in design if key not in DESIGN_KEYS]
    if missing or unknown:
        raise ValueError(f"design keys: missing {missing}, unknown {unknown}; need {DESIGN_KEYS}")
    if design["dataflow"] not in DATAFLOWS:
        raise ValueError(f"dataflow {design['dataflow']!r}: use one of {DATAFLOWS}")
    for key in DESIGN_KEYS:
        if key == "dataflow":
            continue
        value = design[key]
        if key.endswith("_sram_kib"):  # any positive size (evodse designs allow 0.0625 KiB)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not value > 0:
                raise ValueError(f"design[{key!r}] = {value!r}: need a positive number")
            continue
        positive = key not in ("pe_weight_reg_bytes", "pe_input_reg_bytes", "pe_output_reg_bytes")
        if not isinstance(value, int) or value < (1 if positive else 0):
            raise ValueError(f"design[{key!r}] = {value!r}: need an integer >= {int(positive)}")


def check_prices(prices: Mapping[str, Any]) -> None:
    """Raise ValueError naming the problem if ``prices`` lacks, adds or misstates a key."""
    missing = [key for key in PRICE_KEYS if key not in prices]
    unknown = [key for key in prices if key not in PRICE_KEYS]
    if missing or unknown:
        raise ValueError(f"price keys: missing {missing}, unknown {unknown}; need {PRICE_KEYS}")
    for name in SRAM_NAMES:
        entry = prices["sram"].get(name)
        if entry is None or sorted(entry) != sorted(SRAM_PRICE_KEYS):
            raise ValueError(f"prices['sram'][{name!r}] needs exactly {SRAM_PRICE_KEYS}")


def sram_port_bits(design: Mapping[str, Any]) -> dict[str, int]:
    """Port width (bits) of each SRAM: the array edge that feeds on it x its operand bits."""
    rows, cols = design["rows"], design["cols"]
    bits, acc_bits = design["precision_bits"], design["accumulator_bits"]
    dataflow = design["dataflow"]
    if dataflow == "ws":
        return {"ifmap": rows * bits, "weight": cols * bits, "ofmap": cols * acc_bits}
    if dataflow == "os":
        return {"ifmap": rows * bits, "weight": cols * bits, "ofmap": cols * acc_bits}
    return {"ifmap": cols * bits, "weight": rows * bits, "ofmap": cols * acc_bits}


def _port(
    index: int, kind: str, bw_min_bits: int, bw_max_bits: int, allocation: Sequence[str]
) -> dict[str, Any]:
    """One ZigZag memory port; ``kind`` is read, write or read_write."""
    prefix = {"read": "r", "write": "w", "read_write": "rw"}[kind]
    return {
        "name": f"{prefix}_port_{index}",
        "type": kind,
        "bandwidth_min": bw_min_bits,
        "bandwidth_max": bw_max_bits,
        "allocation": list(allocation),
    }


def _memory(
    *,
    size_bits: int,
    read_pj: float,
    write_pj: float,
    operands: Sequence[str],
    ports: Sequence[dict[str, Any]],
    served_dimensions: Sequence[str],
    double_buffered: bool = False,
) -> dict[str, Any]:
    """One ZigZag memory entry (costs in pJ per access, size in bits)."""
    return {
        "size": int(size_bits),
        "r_cost": float(read_pj),
        "w_cost": float(write_pj),
        "area": 0.0,
        "latency": 1,
        "operands": list(operands),
        "ports": list(ports),
        "served_dimensions": list(served_dimensions),
        "force_double_buffering": double_buffered,
    }


def _input_register(
    size_bytes: int, operand: str, bits: int, prices: Mapping[str, Any]
) -> dict[str, Any]:
    """A per-PE register for an input operand (I1 or I2), one element per access."""
    ports = [
        _port(1, "read", bits, bits, [f"{operand}, tl"]),
        _port(1, "write", bits, bits, [f"{operand}, fh"]),
    ]
    return _memory(
        size_bits=size_bytes * 8,
        read_pj=prices["reg_read_pj_per_bit"] * bits,
        write_pj=prices["reg_pj_per_bit"] * bits,
        operands=[operand],
        ports=ports,
        served_dimensions=[],
    )


def _output_register(size_bytes: int, acc_bits: int, prices: Mapping[str, Any]) -> dict[str, Any]:
    """The per-PE accumulator register (O), with ZigZag's four output directions."""
    ports = [
        _port(1, "read", acc_bits, acc_bits, ["O, tl"]),
        _port(2, "read", acc_bits, acc_bits, ["O, th"]),
        _port(1, "write", acc_bits, acc_bits, ["O, fh"]),
        _port(2, "write", acc_bits, acc_bits, ["O, fl"]),
    ]
    return _memory(
        size_bits=size_bytes * 8,
        read_pj=prices["reg_read_pj_per_bit"] * acc_bits,
        write_pj=prices["reg_pj_per_bit"] * acc_bits,
        operands=["O"],
        ports=ports,
        served_dimensions=[],
    )


def _sram(
    name: str, design: Mapping[str, Any], prices: Mapping[str, Any], port_bits: int
) -> dict[str, Any]:
    """One operand's SRAM, shared by the whole array, 1R1W at ``port_bits``."""
    operand = MEM_OPERAND[name]
    bits = design["precision_bits"]
    if operand == "O":
        reads, writes = ["O, tl", "O, th"], ["O, fh", "O, fl"]
    else:
        reads, writes = [f"{operand}, tl"], [f"{operand}, fh"]
    ports = [
        _port(1, "read", bits, port_bits, reads),
        _port(1, "write", bits, port_bits, writes),
    ]
    return _memory(
        size_bits=round(design[f"{name}_sram_kib"] * 1024 * 8),
        read_pj=prices["sram"][name]["read_pj"],
        write_pj=prices["sram"][name]["write_pj"],
        operands=[operand],
        ports=ports,
        served_dimensions=ARRAY_DIMS,
        double_buffered=True,
    )


def _dram(design: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, Any]:
    """Off-chip memory for all operands, one read-write port of ``dram_port_bits``."""
    port_bits = design["dram_port_bits"]
    allocation = [f"{op}, {d}" for op in ("I1", "I2") for d in ("fh", "tl")]
    allocation += [f"O, {d}" for d in ("fh", "tl", "fl", "th")]
    ports = [_port(1, "read_write", design["precision_bits"], port_bits, allocation)]
    return _memory(
        size_bits=DRAM_SIZE_BITS,
        read_pj=prices["dram_read_pj_per_bit"] * port_bits,
        write_pj=prices["dram_write_pj_per_bit"] * port_bits,
        operands=["I1", "I2", "O"],
        ports=ports,
        served_dimensions=ARRAY_DIMS,
    )


def accelerator_dict(
    design: Mapping[str, Any], prices: Mapping[str, Any], *, name: str = "evodse_twin"
) -> dict[str, Any]:
    """ZigZag accelerator input (the YAML's content) for one design and price list."""
    check_design(design)
    check_prices(prices)
    bits, acc_bits = design["precision_bits"], design["accumulator_bits"]
    memories: dict[str, Any] = {}
    if design["pe_weight_reg_bytes"] > 0:
        memories["reg_W"] = _input_register(design["pe_weight_reg_bytes"], "I2", bits, prices)
    if design["pe_input_reg_bytes"] > 0:
        memories["reg_I"] = _input_register(design["pe_input_reg_bytes"], "I1", bits, prices)
    if design["pe_output_reg_bytes"] > 0:
        memories["reg_O"] = _output_register(design["pe_output_reg_bytes"], acc_bits, prices)
    ports = sram_port_bits(design)
    for sram_name in SRAM_NAMES:
        memories[f"sram_{sram_name}"] = _sram(sram_name, design, prices, ports[sram_name])
    memories["dram"] = _dram(design, prices)
    return {
        "name": name,
        "memories": memories,
        "operational_array": {
            "unit_energy": float(prices["mac_pj"]),
            "unit_area": 1.0,
            "dimensions": list(ARRAY_DIMS),
            "sizes": [design["rows"], design["cols"]],
            "systolic_dimensions": list(ARRAY_DIMS),
        },
    }


def _pair_unrolling(size_a: int, size_b: int, edge: int) -> tuple[int, int]:
    """Unroll factors (a, b) of two layer dims on one edge: fewest folds, exact, most PEs."""
    best: tuple[tuple[int, int, int], tuple[int, int]] | None = None
    for a in range(1, min(size_a, edge) + 1):
        b = min(size_b, edge // a)
        folds = math.ceil(size_a / a) * math.ceil(size_b / b)
        inexact = int(size_a % a != 0 or size_b % b != 0)
        key = (folds, inexact, -a * b)
        if best is None or key < best[0]:
            best = (key, (a, b))
    assert best is not None
    return best[1]


def _unroll(dims: Mapping[str, int]) -> dict[str, int]:
    """Drop unit unrollings (ZigZag needs no entry for them)."""
    return {dim: factor for dim, factor in dims.items() if factor > 1}


def spatial_unrolling(design: Mapping[str, Any], layer: ConvLayer) -> dict[str, dict[str, int]]:
    """Spatial unrolling per array dimension: {"D1": {layer dim: factor}, "D2": {...}}."""
    rows, cols = design["rows"], design["cols"]
    sizes = layer.loop_sizes()
    dataflow = design["dataflow"]

    def pixels(edge: int) -> dict[str, int]:
        ox, oy = _pair_unrolling(sizes["OX"], sizes["OY"], edge)
        return {"OX": ox, "OY": oy}

    def kernel_window(edge: int) -> dict[str, int]:
        fx, fy = _pair_unrolling(sizes["FX"], sizes["FY"], edge)
        return {"FX": fx, "FY": fy}

    if layer.depthwise:
        groups_on_cols = {"G": min(sizes["G"], cols)}
        if dataflow == "ws":
            d1, d2 = kernel_window(rows), groups_on_cols
        elif dataflow == "os":
            d1, d2 = pixels(rows), groups_on_cols
        else:
            d1, d2 = kernel_window(rows), pixels(cols)
    elif dataflow == "ws":
        d1, d2 = {"C": min(sizes["C"], rows)}, {"K": min(sizes["K"], cols)}
    elif dataflow == "os":
        d1, d2 = pixels(rows), {"K": min(sizes["K"], cols)}
    else:
        d1, d2 = {"C": min(sizes["C"], rows)}, pixels(cols)
    return {"D1": _unroll(d1), "D2": _unroll(d2)}


def _mapping_entry(name: str, unrolling: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """One ZigZag mapping entry with a fixed spatial mapping and no temporal ordering."""
    spatial = {
        oa_dim: [f"{dim}, {factor}" for dim, factor in dims.items()] or ["K, 1"]
        for oa_dim, dims in unrolling.items()
    }
    return {
        "name": name,
        "spatial_mapping": spatial,
        "memory_operand_links": dict(OPERAND_LINKS),
    }


def mapping_list(design: Mapping[str, Any], layers: Sequence[ConvLayer]) -> list[dict[str, Any]]:
    """ZigZag mapping input: one entry per layer (by name) plus the required default."""
    check_design(design)
    entries = [_mapping_entry(layer.name, spatial_unrolling(design, layer)) for layer in layers]
    default = {"D1": {"C": design["rows"]}, "D2": {"K": design["cols"]}}
    entries.append(_mapping_entry("default", default))
    return entries


def _workload_entry(layer_id: int, layer: ConvLayer, design: Mapping[str, Any]) -> dict[str, Any]:
    """One ZigZag workload layer in the ONNX parser's conv form (B, K, G, OX, OY, C, FX, FY)."""
    sizes = layer.loop_sizes()
    bits = design["precision_bits"]
    pad = layer.padding
    return {
        "id": layer_id,
        "name": layer.name,
        "operator_type": "Conv",
        "equation": CONV_EQUATION,
        "dimension_relations": [
            f"ix={layer.stride}*ox+1*fx",
            f"iy={layer.stride}*oy+1*fy",
        ],
        "loop_dims": list(sizes),
        "loop_sizes": list(sizes.values()),
        "operand_precision": {
            "W": bits,
            "I": bits,
            "O": design["accumulator_bits"],
            "O_final": bits,
        },
        "operand_source": {"W": layer_id, "I": layer_id},
        "pr_loop_dims": ["IX", "IY"],
        "pr_loop_sizes": [layer.in_width, layer.in_height],
        "padding": [[pad, pad], [pad, pad]],
    }


def workload_list(layers: Sequence[ConvLayer], design: Mapping[str, Any]) -> list[dict[str, Any]]:
    """ZigZag workload input: the layers as independent convs (ids 0, 1, ...)."""
    check_design(design)
    return [_workload_entry(index, layer, design) for index, layer in enumerate(layers)]


def build_inputs(
    design: Mapping[str, Any], prices: Mapping[str, Any], layers: Sequence[ConvLayer]
) -> TwinInputs:
    """All three ZigZag inputs for ``layers`` on the twin of ``design`` priced by ``prices``."""
    return TwinInputs(
        accelerator=accelerator_dict(design, prices),
        mapping=mapping_list(design, layers),
        workload=workload_list(layers, design),
    )


INPUT_FILES = ("accelerator.yaml", "mapping.yaml", "workload.yaml")


def input_texts(inputs: TwinInputs) -> dict[str, str]:
    """The three inputs as YAML text by file name (:data:`INPUT_FILES`); the one writer of the
    twin's files, used by :func:`write_inputs` and ``evodse export --to zigzag``."""
    contents = (inputs.accelerator, inputs.mapping, inputs.workload)
    return {
        name: yaml.safe_dump(content, sort_keys=False)
        for name, content in zip(INPUT_FILES, contents, strict=True)
    }


def write_inputs(inputs: TwinInputs, folder: str) -> tuple[str, str, str]:
    """Write the inputs as YAML files in ``folder``; return (accelerator, mapping, workload)."""
    paths = []
    for name, text in input_texts(inputs).items():
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        paths.append(path)
    return paths[0], paths[1], paths[2]
