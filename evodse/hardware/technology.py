"""Technology tables: the cited constants of ``technology.yaml`` and the CACTI SRAM table.

Lookups are vectorized over designs: every function takes arrays of nodes (nm), capacities,
widths or precisions and returns arrays. Units are in the names (pJ, um^2, mm^2, mW).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from evodse.yamlio import parse_yaml

TECHNOLOGY_FILE = "technology.yaml"


@dataclass(frozen=True)
class NodeScale:
    """Classical scaling of one technology node relative to 45 nm."""

    vdd_v: float
    area_scale: float
    energy_scale: float


@dataclass(frozen=True)
class DramType:
    """One DRAM technology: access energy, channel bandwidth, interface area per channel."""

    energy_pj_per_bit: float
    channel_gbps: float
    interface_area_mm2: float


@dataclass(frozen=True)
class SramTable:
    """CACTI points: ``values[field][node][width]`` aligned with ``capacity_kib``."""

    capacity_kib: np.ndarray
    port_width_bits: np.ndarray
    values: dict[str, dict[int, dict[int, np.ndarray]]]


@dataclass(frozen=True)
class SramCost:
    """Per design: read and write energy per byte, area and leakage of one SRAM."""

    read_pj_per_byte: np.ndarray
    write_pj_per_byte: np.ndarray
    area_mm2: np.ndarray
    leakage_mw: np.ndarray


@dataclass(frozen=True)
class Technology:
    """The technology tables (units in the field names)."""

    nodes: dict[int, NodeScale]
    accumulator_bits: int
    multiply_energy_pj: dict[int, dict[int, float]]  # node (45, 7) -> precision -> pJ
    accumulate_energy_pj: dict[int, float]  # node (45, 7) -> pJ
    multiplier_area_um2: dict[int, float]
    accumulator_add_area_um2: float
    register_energy_pj_per_bit: float
    register_area_um2_per_bit: float
    sram: SramTable
    sram_energy_node_exponent: float
    dram: dict[str, DramType]
    vector_lane_energy_pj_per_op: float
    vector_lane_area_um2: float
    leakage_mw_per_mm2: float
    overhead_area_fraction: float

    @property
    def precisions(self) -> list[int]:
        """Supported operand precisions (bits)."""
        return sorted(self.multiplier_area_um2)

    def scale(self, field: str, node_nm: np.ndarray) -> np.ndarray:
        """Classical ``area_scale`` or ``energy_scale`` of each node."""
        return _lookup({n: getattr(s, field) for n, s in self.nodes.items()}, node_nm)

    def mac_energy_pj(
        self, node_nm: np.ndarray, bits: np.ndarray, other_bits: np.ndarray | None = None
    ) -> np.ndarray:
        """Energy of one multiply-accumulate (pJ): multiply ``bits`` x ``other_bits`` (default
        ``bits``) + 32-bit add.

        45 and 7 nm are tabulated; nodes between interpolate geometrically in the node, nodes
        above 45 nm scale the 45 nm value by ``energy_scale`` (technology.yaml). An ``a x b``
        multiplier costs the geometric mean of the ``a x a`` and ``b x b`` ones
        (:meth:`multiply`)."""
        e45 = self.multiply(self.multiply_energy_pj[45], bits, other_bits)
        e7 = self.multiply(self.multiply_energy_pj[7], bits, other_bits)
        e45 = e45 + self.accumulate_energy_pj[45]
        e7 = e7 + self.accumulate_energy_pj[7]
        node = np.asarray(node_nm, dtype=np.float64)
        w = np.clip(np.log(45.0 / node) / np.log(45.0 / 7.0), 0.0, 1.0)
        between = e45 * (e7 / e45) ** w
        return np.where(node > 45, e45 * self.scale("energy_scale", node), between)

    @staticmethod
    def multiply(table: dict[int, float], bits, other_bits=None) -> np.ndarray:
        """A multiplier's cost (energy or area) from a per-width ``table`` of square (``b x b``)
        multipliers. An ``a x b`` array multiplier has ``a * b`` partial-product cells, so it
        costs ``sqrt(cost(a) * cost(b))``, exactly ``a * b`` where the table grows as bits^2
        (technology.yaml, ``mac``); equal widths read the table."""
        own = _lookup(table, bits)
        if other_bits is None:
            return own
        other = _lookup(table, other_bits)
        return np.where(np.asarray(bits) == np.asarray(other_bits), own, np.sqrt(own * other))

    def sram_cost(
        self, node_nm: np.ndarray, capacity_kib: np.ndarray, port_width_bits: np.ndarray
    ) -> SramCost:
        """CACTI cost of SRAMs: per-access energy divided by the port's bytes.

        The capacity is interpolated log-log between CACTI's power-of-two points (and
        extrapolated along the end segments); the port width is rounded up to a tabulated width
        (32 to 2048 bits). Nodes below 22 nm: see ``sram_energy_node_exponent``."""
        node = np.asarray(node_nm, dtype=np.float64)
        kib = np.asarray(capacity_kib, dtype=np.float64)
        widths = self.sram.port_width_bits
        w_index = np.searchsorted(widths, np.minimum(port_width_bits, widths[-1]))
        width = widths[w_index]
        base_node = np.where(np.isin(node, list(self._sram_nodes)), node, 22.0)
        out = {f: np.empty(node.shape) for f in _SRAM_FIELDS}
        for n in np.unique(base_node):
            for w in np.unique(width):
                mask = (base_node == n) & (width == w)
                for f in _SRAM_FIELDS:
                    out[f][mask] = self._sram_interp(f, int(n), int(w), kib[mask])
        below = node < 22
        energy_k = np.where(below, (node / 22.0) ** self.sram_energy_node_exponent, 1.0)
        area_k = np.where(below, self.scale("area_scale", node) / self.nodes[22].area_scale, 1.0)
        port_bytes = width / 8.0
        return SramCost(
            read_pj_per_byte=out["read_energy_pj"] * energy_k / port_bytes,
            write_pj_per_byte=out["write_energy_pj"] * energy_k / port_bytes,
            area_mm2=out["area_mm2"] * area_k,
            leakage_mw=out["leakage_power_mw"] * area_k,
        )

    @property
    def _sram_nodes(self) -> tuple[int, ...]:
        return tuple(next(iter(self.sram.values.values())))

    def _sram_interp(self, field: str, node: int, width: int, kib: np.ndarray) -> np.ndarray:
        caps = self.sram.capacity_kib
        values = self.sram.values[field][node][width]
        ok = np.isfinite(values) & (values > 0)
        x, y = np.log(caps[ok]), np.log(values[ok])
        lx = np.log(kib)
        inner = np.interp(lx, x, y)
        lo_slope = (y[1] - y[0]) / (x[1] - x[0])
        hi_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        extra = np.where(lx < x[0], y[0] + lo_slope * (lx - x[0]), inner)
        extra = np.where(lx > x[-1], y[-1] + hi_slope * (lx - x[-1]), extra)
        return np.exp(extra)


_SRAM_FIELDS = ("read_energy_pj", "write_energy_pj", "area_mm2", "leakage_power_mw")


def _lookup(table: dict[int, float], keys) -> np.ndarray:
    keys = np.asarray(keys)
    values, inverse = np.unique(keys, return_inverse=True)
    return np.asarray([table[int(v)] for v in values])[inverse].reshape(keys.shape)


def _sram_table(name: str) -> SramTable:
    text = resources.files("evodse.hardware").joinpath(name).read_text("utf-8")
    raw = parse_yaml(text, source=name)

    def arr(values: list) -> np.ndarray:
        return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)

    values: dict[str, dict[int, dict[int, np.ndarray]]] = {f: {} for f in _SRAM_FIELDS}
    for node, by_width in raw["node_nm"].items():
        for f in _SRAM_FIELDS:
            values[f][int(node)] = {int(w): arr(v[f]) for w, v in by_width.items()}
    return SramTable(
        capacity_kib=np.asarray(raw["capacity_kib"], dtype=np.float64),
        port_width_bits=np.asarray(raw["port_width_bits"], dtype=np.float64),
        values=values,
    )


@cache
def technology() -> Technology:
    """The package's technology tables (parsed once)."""
    text = resources.files("evodse.hardware").joinpath(TECHNOLOGY_FILE).read_text("utf-8")
    raw = parse_yaml(text, source=TECHNOLOGY_FILE)
    mac = raw["mac"]
    return Technology(
        nodes={int(k): NodeScale(**v) for k, v in raw["nodes"].items()},
        accumulator_bits=int(mac["accumulator_bits"]),
        multiply_energy_pj={
            int(n): {int(b): float(e) for b, e in row.items()}
            for n, row in mac["multiply_energy_pj"].items()
        },
        accumulate_energy_pj={int(n): float(e) for n, e in mac["accumulate_energy_pj"].items()},
        multiplier_area_um2={int(b): float(a) for b, a in mac["multiplier_area_um2"].items()},
        accumulator_add_area_um2=float(mac["accumulator_add_area_um2"]),
        register_energy_pj_per_bit=float(raw["register_energy_pj_per_bit"]),
        register_area_um2_per_bit=float(raw["register_area_um2_per_bit"]),
        sram=_sram_table(raw["sram_table"]),
        sram_energy_node_exponent=float(raw["sram_energy_node_exponent"]),
        dram={name: DramType(**spec) for name, spec in raw["dram"].items()},
        vector_lane_energy_pj_per_op=float(raw["vector_lane_energy_pj_per_op"]),
        vector_lane_area_um2=float(raw["vector_lane_area_um2"]),
        leakage_mw_per_mm2=float(raw["leakage_mw_per_mm2"]),
        overhead_area_fraction=float(raw["overhead_area_fraction"]),
    )
