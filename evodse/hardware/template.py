"""The ``systolic`` template (the default): a systolic array, three SRAMs, DRAM, a vector unit.

Hardware YAML keys (a public contract)::

    template: systolic        # optional: the default template (evodse.hardware.protocol)
    name: edge                # optional
    pe_rows: 16               # systolic array rows (PEs)
    pe_cols: 16               # systolic array columns (PEs)
    dataflow: ws              # ws | os | is | auto (best of ws/os/is per layer) | nvdla | rs
                              # | edge_tpu | ascend | tesla | meta (spatial unrollings,
                              # evodse/model/mappings.py, docs/templates.md)
    ifmap_sram_kib: 64        # input-activation buffer (KiB)
    weight_sram_kib: 64       # weight buffer (KiB)
    ofmap_sram_kib: 32        # output / partial-sum buffer (KiB)
    dram_bandwidth_gbps: 8    # off-chip bandwidth (GB/s, 1e9 bytes/s)
    frequency_mhz: 500        # clock (MHz)
    precision_bits: 8         # operand width (bits); 4, 8, 16 or 32
    vector_lanes: 16          # vector-unit lanes (ops per cycle)
    technology_nm: 28         # technology node (nm); a node listed in technology.yaml
    pe_stationary_regs: 1     # optional: stationary-operand registers per PE (count; default 1)
    dram_type: lpddr5         # optional: ddr3 ddr4 lpddr4 lpddr5 hbm2 hbm3 (technology.yaml)
    fusion: ops               # optional: none | ops | on_chip (what stays on chip between layers)
    weight_bits: 4            # optional: weight width (bits); default precision_bits
    activation_bits: 16       # optional: activation width (bits); default precision_bits
    kv_bits: 8                # optional: KV-cache width (bits); default precision_bits
    pe_input_regs: 12         # optional: input registers per PE (elements; default 1)
    pe_weight_regs: 224       # optional: weight registers per PE (elements; default 1)
    pe_output_regs: 24        # optional: partial-sum registers per PE (elements; default 1)
    accumulator_bits: 16      # optional: partial-sum width (bits) in the ofmap SRAM and PE output
                              # registers; a precision of technology.yaml >= the activation
                              # width; default technology.yaml's accumulator_bits (32)
    act_sram: shared          # optional: separate (default) | shared: ifmap_sram_kib +
                              # ofmap_sram_kib form one buffer each layer splits between its
                              # inputs and its outputs / partial sums (docs/cost_model.md)
    sram_buffering: single    # optional: double (default: ping-pong halves, DRAM transfers
                              # overlap compute) | single (whole SRAMs per tile, no overlap)

The three ``pe_*_regs`` are read by the broadcast and row-stationary unrollings; the systolic
dataflows (ws, os, is) hold ``pe_stationary_regs`` stationary values per PE instead.
``accumulator_bits`` defaults to technology.yaml's ``accumulator_bits`` (read when this module
is imported: the package's own table).

Every key is declared once, in :data:`PARAMETERS` (kind, unit, label, plausible range or
choices, default); the names below (``OPTIONAL_DEFAULTS``, ``INT_KEYS``, ``PLAUSIBLE_RANGES``,
``CATEGORICAL``, ``HARDWARE_KEYS``) are views of it. The three operand widths
(``OPERAND_BITS``) default to ``None``, which means ``precision_bits``. Categorical keys
(``dataflow``, ``dram_type``, ``fusion``) take one of their declared names; the cost model
stores each as the index of its name in that tuple. Loading (:func:`load_hardware`) is generic:
it serves every registered template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from evodse.errors import InputError
from evodse.hardware.protocol import (
    DEFAULT_TEMPLATE,
    Accelerator,
    HardwareParameter,
    Template,
    accelerator_from_dict,
    get_template,
    hardware_keys,
    register_template,
)
from evodse.hardware.technology import technology
from evodse.yamlio import load_yaml, parse_yaml

__all__ = ["Accelerator", "accelerator_from_dict", "load_hardware", "shipped_designs"]

#: The array's spatial mappings (:mod:`evodse.model.mappings`): the systolic ws, os, is and the
#: broadcast and row-stationary unrollings; ``auto`` picks the best of ws/os/is per layer. A new
#: dataflow is one more name here and its entry in ``MAPPINGS``.
DATAFLOWS = ("ws", "os", "is", "nvdla", "rs", "edge_tpu", "ascend", "tesla", "meta")
DATAFLOW_CHOICES = (*DATAFLOWS, "auto")
#: What stays on chip between layers: ``none`` (every layer reads its inputs from and writes its
#: output to DRAM), ``ops`` (a vector operation consuming a GEMM's output is applied on the way
#: out, no DRAM round trip), ``on_chip`` (``ops``, and any activation that fits in both the
#: ofmap and ifmap buffers stays on chip for its consumer). See docs/cost_model.md.
FUSION_MODES = ("none", "ops", "on_chip")
#: Per-operand widths (bits): weights, activations, KV cache; ``None`` follows ``precision_bits``.
OPERAND_BITS = ("weight_bits", "activation_bits", "kv_bits")
#: Per-PE register files of the broadcast and row-stationary unrollings (elements per PE).
PE_REGS = ("pe_input_regs", "pe_weight_regs", "pe_output_regs")
#: How the ifmap and ofmap SRAMs are allocated: ``separate`` (each its declared size for every
#: layer) or ``shared`` (their total is one buffer that each layer splits between its inputs and
#: its outputs / partial sums, as Eyeriss's global buffer; docs/cost_model.md).
ACT_SRAM_MODES = ("separate", "shared")
#: ``double``: every SRAM ping-pongs (half computes while the other half fills or drains, DRAM
#: transfers overlap compute); ``single``: a tile uses the whole SRAM, transfers do not overlap.
SRAM_BUFFERING = ("double", "single")

_KIB = (0.0625, 1048576)  # KiB: 64 bytes to 1 GiB
_TECH = "technology.yaml"


def _precisions() -> tuple[int, ...]:
    return technology().precisions


def _nodes() -> list[int]:
    return sorted(technology().nodes)


def _dram_types() -> tuple[str, ...]:
    return tuple(technology().dram)


def _int(
    name: str,
    label: str,
    unit: str = "",
    plausible: tuple[float, float] | None = None,
    *,
    choices: Callable[[], Any] | None = None,
    minimum: int = 1,
    default: int | None = None,
) -> HardwareParameter:
    """An integer parameter (``choices``: the values technology.yaml lists); a ``default``
    makes it optional."""
    return HardwareParameter(
        name=name,
        kind="int",
        label=label,
        unit=unit,
        plausible=plausible,
        choices=choices,
        choices_note=_TECH if choices is not None else "",
        minimum=minimum,
        required=default is None,
        default=default,
    )


def _float(name: str, label: str, unit: str, plausible: tuple[float, float]) -> HardwareParameter:
    return HardwareParameter(name=name, kind="float", label=label, unit=unit, plausible=plausible)


def _names(
    name: str,
    label: str,
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]],
    *,
    default: str | None = None,
) -> HardwareParameter:
    """A categorical parameter; a ``default`` makes it optional."""
    return HardwareParameter(
        name=name,
        kind="categorical",
        label=label,
        choices=choices,
        required=default is None,
        default=default,
    )


def _bits(name: str, label: str) -> HardwareParameter:
    """An optional operand width (bits), unset unless given: it follows ``precision_bits``."""
    return HardwareParameter(
        name=name,
        kind="int",
        label=label,
        unit="bits",
        choices=_precisions,
        choices_note=_TECH,
        minimum=None,
        required=False,
        follows="precision_bits",
    )


#: The systolic template's parameters, one entry each, in the order of its records. Physical
#: plausibility (the range after the unit) is wide on purpose (the largest chips built sit well
#: inside: TPU v1 has a 256x256 array, 28 MiB of SRAM, 34 GB/s at 700 MHz; an HBM3 accelerator
#: has about 3,000 GB/s): it catches unit slips (bytes given as KiB, Hz as MHz) and typos, not
#: bold designs. ``precision_bits`` and ``technology_nm`` take the values listed in
#: technology.yaml instead. A new optional parameter is one line with ``default=``.
PARAMETERS: tuple[HardwareParameter, ...] = (
    _int("pe_rows", "PE rows", "", (1, 4096)),
    _int("pe_cols", "PE columns", "", (1, 4096)),
    _names("dataflow", "dataflow", DATAFLOW_CHOICES),
    _float("ifmap_sram_kib", "ifmap SRAM", "KiB", _KIB),
    _float("weight_sram_kib", "weight SRAM", "KiB", _KIB),
    _float("ofmap_sram_kib", "ofmap SRAM", "KiB", _KIB),
    _float("dram_bandwidth_gbps", "DRAM bandwidth", "GB/s", (0.01, 100000)),
    _float("frequency_mhz", "clock", "MHz", (1, 10000)),  # 1 MHz to 10 GHz
    _int("precision_bits", "precision", "bits", choices=_precisions),
    _int("vector_lanes", "vector lanes", "", (1, 65536)),
    _int("technology_nm", "technology", "nm", choices=_nodes),
    _int("pe_stationary_regs", "stationary registers per PE", "", (1, 1024), default=1),
    _names("dram_type", "DRAM type", _dram_types, default="lpddr5"),
    _names("fusion", "fusion", FUSION_MODES, default="ops"),
    _bits("weight_bits", "weight width"),
    _bits("activation_bits", "activation width"),
    _bits("kv_bits", "KV-cache width"),
    _int("pe_input_regs", "input registers per PE", "", (1, 65536), default=1),
    _int("pe_weight_regs", "weight registers per PE", "", (1, 65536), default=1),
    _int("pe_output_regs", "partial-sum registers per PE", "", (1, 65536), default=1),
    HardwareParameter(
        name="accumulator_bits",
        kind="int",
        label="partial-sum width",
        unit="bits",
        choices=_precisions,
        choices_note=_TECH,
        required=False,
        default=technology().accumulator_bits,
        at_least="activation_bits",
    ),
    _names("act_sram", "ifmap/ofmap SRAM", ACT_SRAM_MODES, default="separate"),
    _names("sram_buffering", "SRAM buffering", SRAM_BUFFERING, default="double"),
)


def design_summary(hw: Mapping[str, Any]) -> str:
    """One line for a design (an :meth:`Accelerator.to_dict` or a run's ``hardware`` record):
    its template's summary (for the systolic array: array and dataflow, SRAMs, vector lanes
    and DRAM), the form every report and page uses."""
    return get_template(hw.get("template")).design_summary(hw)


def _systolic_summary(hw: Mapping[str, Any]) -> str:
    dram = f"{hw['dram_type']} " if hw.get("dram_type") else ""
    buffers = [
        "ifmap+ofmap shared" if hw.get("act_sram") == "shared" else "",
        "single-buffered" if hw.get("sram_buffering") == "single" else "",
    ]
    how = ", ".join(b for b in buffers if b)
    return (
        f"{hw['pe_rows']}x{hw['pe_cols']} {hw['dataflow']}, SRAM {hw['ifmap_sram_kib']:g}/"
        f"{hw['weight_sram_kib']:g}/{hw['ofmap_sram_kib']:g} KiB{f' ({how})' if how else ''}, "
        f"{hw['vector_lanes']} lanes, {dram}{hw['dram_bandwidth_gbps']:g} GB/s"
    )


SYSTOLIC = register_template(
    Template(
        name=DEFAULT_TEMPLATE,
        summary="a 2-D PE array (systolic or unrolled), three SRAMs, DRAM, a vector unit",
        parameters=PARAMETERS,
        memory_levels=("register", "sram", "dram"),  # evodse.model.counts.LEVELS
        energy_components=(
            "mac",
            "registers",
            "ifmap_sram",
            "weight_sram",
            "ofmap_sram",
            "dram",
            "vector",
            "leakage",
        ),
        area_components=(
            "array",
            "ifmap_sram",
            "weight_sram",
            "ofmap_sram",
            "vector",
            "dram_interface",
            "overhead",
        ),
        mappings=DATAFLOWS,
        mapping_key="dataflow",
        design_summary=_systolic_summary,
        cost="evodse.model.cost:systolic_costs",
        features=frozenset({"scalesim", "zigzag", "layer_costs", "partition"}),
    )
)

# The systolic declarations under the names the rest of the package has always imported.
HARDWARE_KEYS = hardware_keys(SYSTOLIC)
OPTIONAL_DEFAULTS: dict[str, Any] = SYSTOLIC.defaults()
INT_KEYS = tuple(p.name for p in PARAMETERS if p.kind == "int" and p.minimum is not None)
CATEGORICAL = SYSTOLIC.categorical
#: The inclusive plausible range of every numeric key that has one (in the key's unit).
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    p.name: p.plausible for p in PARAMETERS if p.plausible is not None
}


def categorical_choices() -> dict[str, tuple[str, ...]]:
    """Allowed names of every categorical hardware key (``dram_type`` from technology.yaml)."""
    return SYSTOLIC.categorical_choices()


def plausible_range(key: str) -> str:
    """``from LOW to HIGH`` of a key of :data:`PLAUSIBLE_RANGES`, for messages."""
    return SYSTOLIC.parameter(key).plausible_text()


def shipped_designs() -> list[str]:
    """Names of the hardware designs shipped with the package."""
    folder = resources.files("evodse.hardware").joinpath("designs")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_hardware(spec: str | Path | Mapping[str, Any] | Accelerator) -> Accelerator:
    """An accelerator from a YAML path, a shipped design name, a mapping, or as is."""
    if isinstance(spec, Accelerator):
        return spec
    if isinstance(spec, Mapping):
        return accelerator_from_dict(spec, source="hardware")
    text = str(spec)
    if text.lower().endswith((".yaml", ".yml")):
        return accelerator_from_dict(load_yaml(text), source=text)
    if text in shipped_designs():
        res = resources.files("evodse.hardware").joinpath("designs", f"{text}.yaml")
        return accelerator_from_dict(parse_yaml(res.read_text("utf-8"), source=text), source=text)
    raise InputError(
        f"expected a hardware .yaml path or a shipped design ({', '.join(shipped_designs())})",
        source=text,
        key="hardware",
    )
