"""Technology tables: the cited constants of ``technology.yaml``, scaled to a node.

All constants are given at the 45 nm reference node; ``area_scale`` and ``energy_scale`` of the
chosen node multiply every logic/SRAM area (um^2) and switching energy (pJ). DRAM energy and
leakage power density are not node-scaled (see the YAML for sources and assumptions).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from evodse.yamlio import parse_yaml

TECHNOLOGY_FILE = "technology.yaml"


@dataclass(frozen=True)
class NodeScale:
    """Scaling of one technology node relative to 45 nm."""

    vdd_v: float
    area_scale: float
    energy_scale: float


@dataclass(frozen=True)
class Technology:
    """The technology tables (units in the field names; values at 45 nm)."""

    nodes: dict[int, NodeScale]
    multiplier_energy_pj: dict[int, float]
    multiplier_area_um2: dict[int, float]
    accumulator_bits: int
    accumulator_add_energy_pj: float
    accumulator_add_area_um2: float
    register_energy_pj_per_bit: float
    register_area_um2_per_bit: float
    sram_energy_pj_per_byte_at_8kib: float
    sram_area_um2_per_kib: float
    dram_energy_pj_per_byte: float
    vector_lane_energy_pj_per_op: float
    vector_lane_area_um2: float
    leakage_mw_per_mm2: float
    overhead_area_fraction: float

    @property
    def precisions(self) -> list[int]:
        """Supported operand precisions (bits)."""
        return sorted(self.multiplier_energy_pj)


@cache
def technology() -> Technology:
    """The package's technology tables (parsed once)."""
    text = resources.files("evodse.hardware").joinpath(TECHNOLOGY_FILE).read_text("utf-8")
    raw = parse_yaml(text, source=TECHNOLOGY_FILE)
    return Technology(
        nodes={int(k): NodeScale(**v) for k, v in raw["nodes"].items()},
        multiplier_energy_pj={int(k): float(v["energy_pj"]) for k, v in raw["multiplier"].items()},
        multiplier_area_um2={int(k): float(v["area_um2"]) for k, v in raw["multiplier"].items()},
        **{
            key: raw[key]
            for key in (
                "accumulator_bits",
                "accumulator_add_energy_pj",
                "accumulator_add_area_um2",
                "register_energy_pj_per_bit",
                "register_area_um2_per_bit",
                "sram_energy_pj_per_byte_at_8kib",
                "sram_area_um2_per_kib",
                "dram_energy_pj_per_byte",
                "vector_lane_energy_pj_per_op",
                "vector_lane_area_um2",
                "leakage_mw_per_mm2",
                "overhead_area_fraction",
            )
        },
    )
