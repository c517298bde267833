"""The parameterized accelerator template: a systolic array, three SRAMs, DRAM, a vector unit.

Hardware YAML keys (a public contract)::

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

The three ``pe_*_regs`` are read by the broadcast and row-stationary unrollings; the systolic
dataflows (ws, os, is) hold ``pe_stationary_regs`` stationary values per PE instead.

The optional keys and their defaults are ``OPTIONAL_DEFAULTS``; the three operand widths
(``OPERAND_BITS``) default to ``None``, which means ``precision_bits``; the range a numeric key
must lie in is ``PLAUSIBLE_RANGES``. Categorical keys (``dataflow``, ``dram_type``, ``fusion``)
take one of the names in ``CATEGORICAL``; the cost model stores each as the index of its name in
that tuple.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from evodse.errors import InputError
from evodse.hardware.technology import technology
from evodse.yamlio import check_keys, load_yaml, parse_yaml

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
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "pe_stationary_regs": 1,
    **dict.fromkeys(PE_REGS, 1),
    "dram_type": "lpddr5",
    "fusion": "ops",
    **dict.fromkeys(OPERAND_BITS),
}

INT_KEYS = (
    "pe_rows",
    "pe_cols",
    "precision_bits",
    "vector_lanes",
    "technology_nm",
    "pe_stationary_regs",
    *PE_REGS,
)
_FLOAT_KEYS = (
    "ifmap_sram_kib",
    "weight_sram_kib",
    "ofmap_sram_kib",
    "dram_bandwidth_gbps",
    "frequency_mhz",
)

#: Physical plausibility: the inclusive range of every numeric key (in the key's unit). Wide on
#: purpose (the largest chips built sit well inside: TPU v1 has a 256x256 array, 28 MiB of SRAM,
#: 34 GB/s at 700 MHz; an HBM3 accelerator has about 3,000 GB/s), they catch unit slips (bytes
#: given as KiB, Hz as MHz) and typos, not bold designs. ``precision_bits`` and
#: ``technology_nm`` take the values listed in technology.yaml instead.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "pe_rows": (1, 4096),  # PEs
    "pe_cols": (1, 4096),  # PEs
    "ifmap_sram_kib": (0.0625, 1048576),  # KiB: 64 bytes to 1 GiB
    "weight_sram_kib": (0.0625, 1048576),  # KiB
    "ofmap_sram_kib": (0.0625, 1048576),  # KiB
    "dram_bandwidth_gbps": (0.01, 100000),  # GB/s
    "frequency_mhz": (1, 10000),  # MHz: 1 MHz to 10 GHz
    "vector_lanes": (1, 65536),  # lanes
    "pe_stationary_regs": (1, 1024),  # registers per PE
    **dict.fromkeys(PE_REGS, (1, 65536)),  # elements per PE
}


def plausible_range(key: str) -> str:
    """``from LOW to HIGH`` of a key of :data:`PLAUSIBLE_RANGES`, for messages."""
    low, high = PLAUSIBLE_RANGES[key]
    return " to ".join(f"{v:.0f}" if float(v).is_integer() else f"{v:g}" for v in (low, high))


def check_plausible(key: str, value: float, *, source: str | None) -> None:
    """InputError naming ``key`` and its allowed range when ``value`` lies outside it."""
    low, high = PLAUSIBLE_RANGES[key]
    if not low <= value <= high:
        raise InputError(
            f"expected a value from {plausible_range(key)} (physically plausible), got {value!r}",
            source=source,
            key=key,
        )


@dataclass(frozen=True, kw_only=True)
class Accelerator:
    """One accelerator design. Construct through :func:`accelerator_from_dict` to validate."""

    pe_rows: int
    pe_cols: int
    dataflow: str
    ifmap_sram_kib: float
    weight_sram_kib: float
    ofmap_sram_kib: float
    dram_bandwidth_gbps: float
    frequency_mhz: float
    precision_bits: int
    vector_lanes: int
    technology_nm: int
    pe_stationary_regs: int = OPTIONAL_DEFAULTS["pe_stationary_regs"]
    dram_type: str = OPTIONAL_DEFAULTS["dram_type"]
    fusion: str = OPTIONAL_DEFAULTS["fusion"]
    weight_bits: int | None = None
    activation_bits: int | None = None
    kv_bits: int | None = None
    pe_input_regs: int = OPTIONAL_DEFAULTS["pe_input_regs"]
    pe_weight_regs: int = OPTIONAL_DEFAULTS["pe_weight_regs"]
    pe_output_regs: int = OPTIONAL_DEFAULTS["pe_output_regs"]
    name: str = "custom"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the YAML keys."""
        return dataclasses.asdict(self)

    def operand_bits(self, key: str) -> int:
        """The width (bits) of ``weight_bits``, ``activation_bits`` or ``kv_bits``, resolved."""
        value = getattr(self, key)
        return self.precision_bits if value is None else value

    def replace(self, **changes: Any) -> Accelerator:
        """A validated copy with some parameters changed."""
        return accelerator_from_dict({**self.to_dict(), **changes})


HARDWARE_KEYS = tuple(f.name for f in dataclasses.fields(Accelerator))


def categorical_choices() -> dict[str, tuple[str, ...]]:
    """Allowed names of every categorical hardware key (``dram_type`` from technology.yaml)."""
    return {
        "dataflow": DATAFLOW_CHOICES,
        "dram_type": tuple(technology().dram),
        "fusion": FUSION_MODES,
    }


CATEGORICAL = ("dataflow", "dram_type", "fusion")


def design_summary(hw: Mapping[str, Any]) -> str:
    """One line for a design (an :meth:`Accelerator.to_dict` or a run's ``hardware`` record):
    array and dataflow, SRAMs, vector lanes and DRAM, the form every report and page uses."""
    dram = f"{hw['dram_type']} " if hw.get("dram_type") else ""
    return (
        f"{hw['pe_rows']}x{hw['pe_cols']} {hw['dataflow']}, SRAM {hw['ifmap_sram_kib']:g}/"
        f"{hw['weight_sram_kib']:g}/{hw['ofmap_sram_kib']:g} KiB, {hw['vector_lanes']} lanes, "
        f"{dram}{hw['dram_bandwidth_gbps']:g} GB/s"
    )


def accelerator_from_dict(data: Mapping[str, Any], *, source: str | None = None) -> Accelerator:
    """Validate a mapping with the hardware keys and build an :class:`Accelerator`."""
    required = [k for k in HARDWARE_KEYS if k != "name" and k not in OPTIONAL_DEFAULTS]
    check_keys(data, allowed=HARDWARE_KEYS, required=required, source=source)
    data = {**OPTIONAL_DEFAULTS, **data}
    values: dict[str, Any] = {"name": str(data.get("name", "custom"))}
    for key in INT_KEYS:
        value = data[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"expected a positive integer, got {value!r}", source=source, key=key)
        if key in PLAUSIBLE_RANGES:
            check_plausible(key, value, source=source)
        values[key] = value
    for key in _FLOAT_KEYS:
        value = data[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value <= 0:
            raise InputError(f"expected a positive number, got {value!r}", source=source, key=key)
        check_plausible(key, value, source=source)
        values[key] = float(value)
    for key, choices in categorical_choices().items():
        if data[key] not in choices:
            raise InputError(
                f"expected one of {list(choices)}, got {data[key]!r}", source=source, key=key
            )
        values[key] = data[key]
    tech = technology()
    for key in OPERAND_BITS:
        value = data[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        values[key] = value
    for key in ("precision_bits", *OPERAND_BITS):
        value = values[key]
        if value is None and key != "precision_bits":
            continue
        if isinstance(value, bool) or value not in tech.precisions:
            raise InputError(
                f"expected one of {tech.precisions} (technology.yaml), got {value!r}",
                source=source,
                key=key,
            )
    if values["technology_nm"] not in tech.nodes:
        raise InputError(
            f"expected one of {sorted(tech.nodes)} (technology.yaml), got "
            f"{values['technology_nm']}",
            source=source,
            key="technology_nm",
        )
    return Accelerator(**values)


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
