"""Cost of a network on N designs in one vectorized pass: cycles, latency, energy, area.

Per distinct layer shape and design (arrays of shape (N, U)):

* ``compute_cycles``: compute-bound cycles on the unit that runs the layer: the systolic array
  for GEMMs (:mod:`evodse.model.compute`), ``ceil(ops / vector_lanes)`` for vector operations.
* ``memory_cycles``: DRAM-bound cycles, ``dram_bytes / (dram_bandwidth_gbps * 1e9 /
  (frequency_mhz * 1e6))`` with the traffic of the best tiling (:mod:`evodse.model.memory`).
* ``cycles = max(compute_cycles, memory_cycles) + exposed``: double buffering overlaps transfers
  with compute; what cannot overlap is the prologue and epilogue, one array-sized block
  (``R * C`` elements, or ``vector_lanes`` for vector ops) of each operand loaded before the
  first fold and of the output stored after the last, at DRAM bandwidth.
* ``energy_pj`` by component: ``mac`` (multiplier + 32-bit accumulate per MAC), ``registers``
  (PE pipeline registers: two operands and the accumulator per MAC), ``ifmap_sram``,
  ``weight_sram``, ``ofmap_sram`` (bytes read and written x pJ/byte of a buffer that size),
  ``dram`` (bytes x pJ/byte), ``vector`` (vector-unit ops) and ``leakage`` (leakage power x
  latency). Constants come from ``hardware/technology.yaml``, scaled to the design's node.

Per design: ``area_mm2`` by component (``array``, three SRAMs, ``vector``, ``overhead``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from evodse.hardware.technology import technology
from evodse.hardware.template import DATAFLOWS, Accelerator
from evodse.model.compute import array_work
from evodse.model.designs import AUTO, Designs
from evodse.model.layers import LayerTable, layer_table
from evodse.model.memory import dram_traffic
from evodse.workload.network import Network

ENERGY_COMPONENTS = (
    "mac",
    "registers",
    "ifmap_sram",
    "weight_sram",
    "ofmap_sram",
    "dram",
    "vector",
    "leakage",
)
AREA_COMPONENTS = ("array", "ifmap_sram", "weight_sram", "ofmap_sram", "vector", "overhead")
_PJ_PER_MW_S = 1e9  # 1 mW for 1 s = 1e-3 J = 1e9 pJ


@dataclass(frozen=True)
class _DesignConstants:
    """Per-design quantities, each shaped (N, 1) to broadcast against layers."""

    rows: np.ndarray
    cols: np.ndarray
    bytes_per_elem: np.ndarray
    ifmap_elems: np.ndarray
    weight_elems: np.ndarray
    ofmap_elems: np.ndarray  # output precision (os)
    ofmap_psum_elems: np.ndarray  # accumulator precision (ws, is)
    acc_bytes: float
    dram_bytes_per_cycle: np.ndarray
    lanes: np.ndarray
    mac_pj: np.ndarray
    register_pj_per_mac: np.ndarray
    ifmap_pj_per_byte: np.ndarray
    weight_pj_per_byte: np.ndarray
    ofmap_pj_per_byte: np.ndarray
    dram_pj_per_byte: float
    vector_pj_per_op: np.ndarray
    area_mm2: dict[str, np.ndarray]  # (N,) each
    leakage_mw: np.ndarray  # (N, 1)


def _lookup(table: dict[int, float], keys: np.ndarray) -> np.ndarray:
    values, inverse = np.unique(keys, return_inverse=True)
    return np.asarray([table[int(v)] for v in values])[inverse].reshape(keys.shape)


def _constants(d: Designs) -> _DesignConstants:
    tech = technology()
    col = lambda x: np.asarray(x, dtype=np.float64)[:, None]  # noqa: E731
    e_scale = _lookup({n: s.energy_scale for n, s in tech.nodes.items()}, d.technology_nm)
    a_scale = _lookup({n: s.area_scale for n, s in tech.nodes.items()}, d.technology_nm)
    bits = d.precision_bits
    nbytes = bits / 8
    acc_bytes = tech.accumulator_bits / 8

    def sram_pj_per_byte(kib: np.ndarray) -> np.ndarray:
        # access energy grows with sqrt(capacity); technology.yaml cites the fit
        return tech.sram_energy_pj_per_byte_at_8kib * np.sqrt(kib / 8.0) * e_scale

    mult_e = _lookup(tech.multiplier_energy_pj, bits)
    mult_a = _lookup(tech.multiplier_area_um2, bits)
    register_bits = 2 * bits + tech.accumulator_bits
    pe_um2 = mult_a + tech.accumulator_add_area_um2 + register_bits * tech.register_area_um2_per_bit
    um2 = 1e-6
    area = {
        "array": d.pe_rows * d.pe_cols * pe_um2 * a_scale * um2,
        "ifmap_sram": d.ifmap_sram_kib * tech.sram_area_um2_per_kib * a_scale * um2,
        "weight_sram": d.weight_sram_kib * tech.sram_area_um2_per_kib * a_scale * um2,
        "ofmap_sram": d.ofmap_sram_kib * tech.sram_area_um2_per_kib * a_scale * um2,
        "vector": d.vector_lanes * tech.vector_lane_area_um2 * a_scale * um2,
    }
    area["overhead"] = tech.overhead_area_fraction * sum(area.values())
    total_area = sum(area.values())
    half = 0.5  # double buffering: half of each SRAM is usable for the current tile
    return _DesignConstants(
        rows=col(d.pe_rows),
        cols=col(d.pe_cols),
        bytes_per_elem=col(nbytes),
        ifmap_elems=col(d.ifmap_sram_kib * 1024 * half / nbytes),
        weight_elems=col(d.weight_sram_kib * 1024 * half / nbytes),
        ofmap_elems=col(d.ofmap_sram_kib * 1024 * half / nbytes),
        ofmap_psum_elems=col(d.ofmap_sram_kib * 1024 * half / acc_bytes),
        acc_bytes=acc_bytes,
        dram_bytes_per_cycle=col(d.dram_bandwidth_gbps * 1e9 / (d.frequency_mhz * 1e6)),
        lanes=col(d.vector_lanes),
        mac_pj=col((mult_e + tech.accumulator_add_energy_pj) * e_scale),
        register_pj_per_mac=col(register_bits * tech.register_energy_pj_per_bit * e_scale),
        ifmap_pj_per_byte=col(sram_pj_per_byte(d.ifmap_sram_kib)),
        weight_pj_per_byte=col(sram_pj_per_byte(d.weight_sram_kib)),
        ofmap_pj_per_byte=col(sram_pj_per_byte(d.ofmap_sram_kib)),
        dram_pj_per_byte=tech.dram_energy_pj_per_byte,
        vector_pj_per_op=col(tech.vector_lane_energy_pj_per_op * e_scale),
        area_mm2=area,
        leakage_mw=col(tech.leakage_mw_per_mm2 * total_area),
    )


def _gemm_flow(code: int, t: LayerTable, c: _DesignConstants) -> dict[str, np.ndarray]:
    """Cycles, DRAM bytes and dynamic energy of every GEMM shape under one dataflow."""
    work = array_work(code, rows=c.rows, cols=c.cols, m=t.m, n=t.n, k=t.k, count=t.count)
    psums_in_array = code == 1  # os accumulates in the PEs
    ofmap_cap = c.ofmap_elems if psums_in_array else c.ofmap_psum_elems
    traffic = dram_traffic(
        t, ifmap_elems=c.ifmap_elems, weight_elems=c.weight_elems, ofmap_elems=ofmap_cap
    )
    b = c.bytes_per_elem
    a_dram = traffic.a_elems * t.count
    b_dram = traffic.b_elems * t.count
    o_dram = traffic.out_elems * t.count
    dram_bytes = (a_dram + b_dram + o_dram) * b
    block = c.rows * c.cols
    exposed = np.minimum(t.a_elems, block) + np.minimum(t.b_elems, block)
    exposed = (exposed + np.minimum(t.m * t.n, block)) * b / c.dram_bytes_per_cycle
    memory_cycles = dram_bytes / c.dram_bytes_per_cycle
    outputs = t.m * t.n * t.count
    if psums_in_array:  # finished outputs written once at output precision
        ofmap_bytes = outputs * b
    else:  # partial sums at accumulator width
        ofmap_bytes = (work.psum_writes + work.psum_reads) * c.acc_bytes
    macs = t.macs[: t.n_gemm]
    return {
        "compute_cycles": work.compute_cycles,
        "memory_cycles": memory_cycles,
        "cycles": np.maximum(work.compute_cycles, memory_cycles) + exposed,
        "dram_bytes": dram_bytes,
        "mac": macs * c.mac_pj,
        "registers": macs * c.register_pj_per_mac,
        "ifmap_sram": (work.ifmap_reads + a_dram) * b * c.ifmap_pj_per_byte,
        "weight_sram": (work.weight_reads + b_dram) * b * c.weight_pj_per_byte,
        # + final outputs read out to DRAM
        "ofmap_sram": (ofmap_bytes + o_dram * b) * c.ofmap_pj_per_byte,
        "dram": dram_bytes * c.dram_pj_per_byte,
        "vector": 0.0 * memory_cycles,
    }


def _vector_shapes(t: LayerTable, c: _DesignConstants) -> dict[str, np.ndarray]:
    """Cycles, DRAM bytes and dynamic energy of every vector-unit shape."""
    b = c.bytes_per_elem
    compute = np.ceil(t.vector_ops / c.lanes)
    in_bytes, out_bytes = t.vector_in_elems * b, t.vector_out_elems * b
    dram_bytes = in_bytes + out_bytes
    memory = dram_bytes / c.dram_bytes_per_cycle
    exposed = np.minimum(t.vector_in_elems, c.lanes) + np.minimum(t.vector_out_elems, c.lanes)
    exposed = exposed * b / c.dram_bytes_per_cycle
    zero = 0.0 * memory
    return {
        "compute_cycles": compute,
        "memory_cycles": memory,
        "cycles": np.maximum(compute, memory) + exposed,
        "dram_bytes": dram_bytes,
        "mac": zero,
        "registers": zero,
        "ifmap_sram": 2 * in_bytes * c.ifmap_pj_per_byte,  # fill from DRAM, read by the unit
        "weight_sram": zero,
        "ofmap_sram": 2 * out_bytes * c.ofmap_pj_per_byte,  # written by the unit, drained
        "dram": dram_bytes * c.dram_pj_per_byte,
        "vector": t.vector_ops * c.vector_pj_per_op,
    }


_SHAPE_KEYS = ("compute_cycles", "memory_cycles", "cycles", "dram_bytes", *ENERGY_COMPONENTS[:-1])


def _select_flows(d: Designs, t: LayerTable, c: _DesignConstants):
    """Per (design, GEMM shape) metrics of the design's dataflow (best per layer for auto)."""
    codes = d.dataflow.astype(np.int64)
    needed = range(len(DATAFLOWS)) if (codes == AUTO).any() else sorted(set(codes.tolist()))
    flows = {code: _gemm_flow(code, t, c) for code in needed}
    shape = (len(d), t.n_gemm)
    choice = np.broadcast_to(codes[:, None], shape).copy()
    if (codes == AUTO).any():
        cycles = np.stack([flows[f]["cycles"] for f in range(len(DATAFLOWS))])
        energy = np.stack(
            [sum(flows[f][k] for k in ENERGY_COMPONENTS[:-1]) for f in range(len(DATAFLOWS))]
        )
        energy = np.where(cycles == cycles.min(axis=0), energy, np.inf)
        best = np.argmin(energy, axis=0)  # fastest, ties broken by energy
        auto_rows = codes == AUTO
        choice[auto_rows] = best[auto_rows]
    out = {}
    for key in _SHAPE_KEYS:
        value = np.zeros(shape)
        for code, metrics in flows.items():
            mask = choice == code
            value = np.where(mask, np.broadcast_to(metrics[key], shape), value)
        out[key] = value
    return out, choice


@dataclass(frozen=True, eq=False)
class NetworkCost:
    """Costs of one network on N designs. Shape-level arrays are (N, U); totals are (N,).

    Per-layer values are ``layer(key)`` (N, L); totals sum layers (duplicates counted).
    """

    network: Network
    designs: Designs
    table: LayerTable
    shape_metrics: dict[str, np.ndarray]
    shape_dataflow: np.ndarray  # (N, U) dataflow code per shape; -1 for vector shapes
    area_breakdown_mm2: dict[str, np.ndarray]

    def layer(self, key: str) -> np.ndarray:
        """Per-layer metric (N, L): a shape metric, ``latency_s``, ``energy_pj``, ``utilization``
        or ``dataflow``."""
        if key == "dataflow":
            return self.shape_dataflow[:, self.table.slot]
        if key == "latency_s":
            return self.layer("cycles") / (self.designs.frequency_mhz[:, None] * 1e6)
        if key == "energy_pj":
            return self._shape_energy[:, self.table.slot]
        if key == "utilization":
            return self._shape_utilization[:, self.table.slot]
        return self.shape_metrics[key][:, self.table.slot]

    def _total(self, shape_values: np.ndarray) -> np.ndarray:
        # a row-wise sum, not a BLAS product: a design's total must not depend on how many
        # designs are evaluated with it (chunked and whole-population runs agree to the bit)
        return (shape_values * self.table.multiplicity).sum(axis=1)

    @cached_property
    def _shape_energy(self) -> np.ndarray:
        return sum(self.shape_metrics[k] for k in ENERGY_COMPONENTS)

    @cached_property
    def _shape_utilization(self) -> np.ndarray:
        pes = (self.designs.pe_rows * self.designs.pe_cols)[:, None]
        return self.table.macs[None, :] / (self.shape_metrics["cycles"] * pes)

    @cached_property
    def cycles(self) -> np.ndarray:
        return self._total(self.shape_metrics["cycles"])

    @property
    def latency_s(self) -> np.ndarray:
        return self.cycles / (self.designs.frequency_mhz * 1e6)

    @cached_property
    def energy_breakdown_pj(self) -> dict[str, np.ndarray]:
        return {k: self._total(self.shape_metrics[k]) for k in ENERGY_COMPONENTS}

    @cached_property
    def energy_pj(self) -> np.ndarray:
        return sum(self.energy_breakdown_pj.values())

    @property
    def area_mm2(self) -> np.ndarray:
        return sum(self.area_breakdown_mm2.values())

    @cached_property
    def dram_bytes(self) -> np.ndarray:
        return self._total(self.shape_metrics["dram_bytes"])

    @property
    def macs(self) -> int:
        return self.network.macs

    @property
    def utilization(self) -> np.ndarray:
        """Array utilization over the whole network: MACs / (cycles * PEs)."""
        return self.macs / (self.cycles * self.designs.pe_rows * self.designs.pe_cols)

    @property
    def power_w(self) -> np.ndarray:
        """Average power: energy / latency (W)."""
        return self.energy_pj * 1e-12 / self.latency_s


def as_designs(hardware: Designs | Accelerator | Sequence[Accelerator]) -> Designs:
    """Accept one accelerator, a list of them, or :class:`Designs`."""
    return hardware if isinstance(hardware, Designs) else Designs.from_accelerators(hardware)


def evaluate(hardware: Designs | Accelerator | Sequence[Accelerator], network: Network):
    """Cost of ``network`` on every design of ``hardware`` (see module docstring)."""
    d = as_designs(hardware)
    t = layer_table(network)
    c = _constants(d)
    gemm, choice = _select_flows(d, t, c)
    vec = _vector_shapes(t, c)
    n = len(d)
    metrics = {}
    for key in _SHAPE_KEYS:
        metrics[key] = np.concatenate(
            [
                np.broadcast_to(gemm[key], (n, t.n_gemm)),
                np.broadcast_to(vec[key], (n, t.n_shapes - t.n_gemm)),
            ],
            axis=1,
        )
    latency = metrics["cycles"] / (d.frequency_mhz[:, None] * 1e6)
    metrics["leakage"] = c.leakage_mw * latency * _PJ_PER_MW_S
    dataflow = np.concatenate([choice, np.full((n, t.n_shapes - t.n_gemm), -1)], axis=1)
    return NetworkCost(
        network=network,
        designs=d,
        table=t,
        shape_metrics=metrics,
        shape_dataflow=dataflow,
        area_breakdown_mm2=c.area_mm2,
    )
