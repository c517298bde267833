"""Prices: what each counted byte, MAC and vector op costs on each design, and the area.

Per design (arrays shaped (N, 1) to broadcast over layer entries), from the technology tables
(``hardware/technology.yaml``, ``sram_cacti.yaml``):

* ``pj_per_byte[(level, operand, direction)]``: register writes at ``register_energy_pj_per_bit
  * 8`` (node-scaled; PE registers are flip-flops, whose energy is spent when a value is
  clocked in, so reads are counted but not priced); each SRAM at CACTI's read or write energy
  per access of its port divided by the port's bytes (ports: ifmap ``R * activation_bits``,
  weight ``C * max(weight_bits, kv_bits)``, ofmap ``C * 32`` bits, the widths the array reads
  and writes per cycle; the KV cache goes through the weight SRAM's port); DRAM
  at the ``dram_type``'s pJ/bit * 8.
* ``mac_pj_by_operand`` per kind of second operand (multiply + 32-bit add): ``weight``
  (weight x activation bits, also ``mac_pj``), ``kv`` (KV-cache x activation bits),
  ``activation`` (activation x activation); with one ``precision_bits`` all three are equal.
  ``vector_pj_per_op``.
* ``leakage_mw``: logic leakage density times logic area, plus CACTI's SRAM leakage.
* ``area_mm2`` by component: ``array`` (``R * C`` PEs: an activation x max(weight, KV) bits
  multiplier, 32-bit adder, registers: for the systolic ws / os / is (and ``auto``) the two
  moving operands, ``pe_stationary_regs`` stationary values of the wider operand and a 32-bit
  accumulator; for the other unrollings ``pe_input_regs`` activations, ``pe_weight_regs``
  weights and ``pe_output_regs`` 32-bit partial sums), the three
  SRAMs (CACTI), ``vector``, ``dram_interface`` (PHY + controller per DRAM channel) and
  ``overhead`` (a fraction of the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodse.hardware.technology import SramCost, Technology, technology
from evodse.hardware.template import SYSTOLIC, categorical_choices
from evodse.model.counts import KEYS, Key
from evodse.model.designs import AUTO, DATAFLOW_CODE, Designs
from evodse.model.mappings import AUTO_CHOICES

#: Area by component (mm^2), as the systolic template declares them.
AREA_COMPONENTS = SYSTOLIC.area_components
_SRAM_OF = {"input": "ifmap", "weight": "weight", "kv": "weight", "output": "ofmap"}


@dataclass(frozen=True, eq=False)
class Prices:
    """Per-design prices (arrays (N, 1)) and area by component (arrays (N,)). ``mac_pj`` is
    a weight GEMM's MAC; ``mac_pj_by_operand`` by the kind of the GEMM's second operand
    (``weight``, ``kv``, ``activation``)."""

    pj_per_byte: dict[Key, np.ndarray]
    mac_pj: np.ndarray
    mac_pj_by_operand: dict[str, np.ndarray]
    vector_pj_per_op: np.ndarray
    leakage_mw: np.ndarray
    area_mm2: dict[str, np.ndarray]


#: Per dataflow code: the array is systolic (ws, os, is, or auto choosing among them).
_SYSTOLIC_CODE = np.isin(
    np.arange(len(DATAFLOW_CODE)), [AUTO, *(DATAFLOW_CODE[name] for name in AUTO_CHOICES)]
)


def _systolic(dataflow: np.ndarray) -> np.ndarray:
    """Designs whose array is systolic."""
    return _SYSTOLIC_CODE[dataflow.astype(np.int64)]


#: Technology lookups of one design already made, (lookup, its arguments) -> value, for the
#: technology tables they came from (``_UNIFORM_MEMO[0]``).
_UNIFORM_MEMO: list = [None, {}]


def _per_design(tech: Technology, name: str, fn, *columns: np.ndarray) -> np.ndarray:
    """``fn(*columns)``, a technology lookup (``name``) elementwise in its (N,) arguments;
    when every design has the same arguments (a search varies neither the node nor the operand
    widths in most spaces), looked up for the first design once per process and repeated."""
    n = len(columns[0])
    if not n or not all((c == c[0]).all() for c in columns):
        return fn(*columns)
    if _UNIFORM_MEMO[0] is not tech or len(_UNIFORM_MEMO[1]) > _SRAM_MEMO_SIZE:
        _UNIFORM_MEMO[:] = [tech, {}]
    key = (name, *(float(c[0]) for c in columns))
    value = _UNIFORM_MEMO[1].get(key)
    if value is None:
        value = _UNIFORM_MEMO[1][key] = fn(*(c[:1] for c in columns))
    return np.repeat(value, n)


#: CACTI costs already looked up, for the technology tables they came from
#: (``_SRAM_MEMO[0]``): per node (nm), the (capacity KiB + 1j * port bits) keys, sorted, and
#: their (read pJ/B, write pJ/B, area mm^2, leakage mW) rows.
_SRAM_MEMO: list = [None, {}]
_SRAM_MEMO_SIZE = 1 << 16  # keys per node: emptied when full


def _sram_cost(tech: Technology, node: np.ndarray, kib: np.ndarray, width: np.ndarray) -> SramCost:
    """:meth:`Technology.sram_cost`, each distinct (node, capacity, port width) looked up once
    per process (a search draws its SRAMs from a few values; the lookup interpolates in a
    Python loop over nodes and widths, and its value depends on those three numbers alone)."""
    if _SRAM_MEMO[0] is not tech:
        _SRAM_MEMO[:] = [tech, {}]
    # the port width as the lookup rounds it (up to a tabulated width): fewer distinct keys
    widths = tech.sram.port_width_bits
    width = widths[np.searchsorted(widths, np.minimum(width, widths[-1]))]
    key = kib + 1j * width  # both float64s exactly; sorted by capacity, then width
    if len(node) and (node == node[0]).all():
        values = _sram_rows(tech, float(node[0]), key)
    else:
        values = np.empty((len(node), 4))
        for nm in np.unique(node):
            at = node == nm
            values[at] = _sram_rows(tech, float(nm), key[at])
    return SramCost(
        read_pj_per_byte=values[:, 0],
        write_pj_per_byte=values[:, 1],
        area_mm2=values[:, 2],
        leakage_mw=values[:, 3],
    )


def _sram_rows(tech: Technology, node: float, key: np.ndarray) -> np.ndarray:
    """The memo's rows (N, 4) of SRAMs ``key`` at ``node``, the missing ones looked up."""
    memo = _SRAM_MEMO[1]
    keys, rows = memo.get(node, (np.empty(0, np.complex128), np.empty((0, 4))))
    at = np.searchsorted(keys, key)
    if not len(keys) or not (keys[np.minimum(at, len(keys) - 1)] == key).all():
        new = np.setdiff1d(key, keys)  # sorted, distinct
        if len(keys) + len(new) > _SRAM_MEMO_SIZE:  # emptied, then this call's keys
            keys, rows, new = keys[:0], rows[:0], np.unique(key)
        cost = tech.sram_cost(np.full(len(new), node), new.real.copy(), new.imag.copy())
        looked = np.stack(
            [cost.read_pj_per_byte, cost.write_pj_per_byte, cost.area_mm2, cost.leakage_mw], 1
        )
        keys, rows = np.concatenate([keys, new]), np.concatenate([rows, looked])
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        memo[node] = (keys, rows)
        at = np.searchsorted(keys, key)
    return rows[at]


def prices(d: Designs) -> Prices:
    """The prices and areas of every design."""
    tech = technology()
    col = lambda x: np.asarray(x, dtype=np.float64)[:, None]  # noqa: E731
    node = d.technology_nm
    act_bits, w_bits, kv_bits = (d.bits(k) for k in ("activation_bits", "weight_bits", "kv_bits"))
    b_bits = np.maximum(w_bits, kv_bits)  # the widest operand the weight port carries
    e_scale = _per_design(tech, "energy_scale", lambda nm: tech.scale("energy_scale", nm), node)
    a_scale = _per_design(tech, "area_scale", lambda nm: tech.scale("area_scale", nm), node)
    acc_bits = d.accumulator_bits
    ports = {
        "ifmap": d.pe_rows * act_bits,
        "weight": d.pe_cols * b_bits,
        "ofmap": d.pe_cols * acc_bits,
    }
    n = len(node)
    every = _sram_cost(  # the three SRAMs in one lookup
        tech,
        np.tile(node, len(ports)),
        np.concatenate([getattr(d, f"{name}_sram_kib") for name in ports]),
        np.concatenate(list(ports.values())),
    )
    srams = {
        name: SramCost(
            read_pj_per_byte=every.read_pj_per_byte[i * n : (i + 1) * n],
            write_pj_per_byte=every.write_pj_per_byte[i * n : (i + 1) * n],
            area_mm2=every.area_mm2[i * n : (i + 1) * n],
            leakage_mw=every.leakage_mw[i * n : (i + 1) * n],
        )
        for i, name in enumerate(ports)
    }
    names = categorical_choices()["dram_type"]
    dram_types = [tech.dram[n] for n in names]
    type_index = d.dram_type.astype(int)
    dram_pj_per_byte = np.asarray([t.energy_pj_per_bit * 8 for t in dram_types])[type_index]
    register_pj_per_byte = tech.register_energy_pj_per_bit * 8 * e_scale
    # flip-flops: the energy is spent when a value is clocked in
    register = {"write": col(register_pj_per_byte), "read": col(0.0 * register_pj_per_byte)}
    sram = {
        name: {"read": col(cost.read_pj_per_byte), "write": col(cost.write_pj_per_byte)}
        for name, cost in srams.items()
    }
    dram = col(dram_pj_per_byte)
    pj: dict[Key, np.ndarray] = {}
    for level, operand, direction in KEYS:
        if level == "register":
            pj[(level, operand, direction)] = register[direction]
        elif level == "sram":
            pj[(level, operand, direction)] = sram[_SRAM_OF[operand]][direction]
        else:
            pj[(level, operand, direction)] = dram

    mult_area = _per_design(
        tech,
        "multiplier_area",
        lambda a, b: tech.multiply(tech.multiplier_area_um2, a, b),
        act_bits,
        b_bits,
    )
    wide = np.maximum(act_bits, b_bits)
    systolic = act_bits + b_bits + d.pe_stationary_regs * wide + acc_bits
    files = d.pe_input_regs * act_bits + d.pe_weight_regs * b_bits + d.pe_output_regs * acc_bits
    register_bits = np.where(_systolic(d.dataflow), systolic, files)
    pe_um2 = (
        mult_area + tech.accumulator_add_area_um2 + register_bits * tech.register_area_um2_per_bit
    )
    um2 = 1e-6
    interface = np.asarray([t.interface_area_mm2 for t in dram_types])[type_index]
    # channels (or HBM stacks) the bandwidth needs
    per_channel = np.asarray([t.channel_gbps for t in dram_types])[type_index]
    channels = np.ceil(d.dram_bandwidth_gbps / per_channel - 1e-9)
    area = {
        "array": d.pe_rows * d.pe_cols * pe_um2 * a_scale * um2,
        "ifmap_sram": srams["ifmap"].area_mm2,
        "weight_sram": srams["weight"].area_mm2,
        "ofmap_sram": srams["ofmap"].area_mm2,
        "vector": d.vector_lanes * tech.vector_lane_area_um2 * a_scale * um2,
        "dram_interface": channels * interface,
    }
    area["overhead"] = tech.overhead_area_fraction * sum(
        area[k] for k in ("array", "ifmap_sram", "weight_sram", "ofmap_sram", "vector")
    )
    weight_mac = col(_per_design(tech, "mac", tech.mac_energy_pj, node, act_bits, w_bits))
    same = np.array_equal(act_bits, w_bits)  # one width (the default): one price for all
    mac = {
        "weight": weight_mac,
        "kv": weight_mac
        if same and np.array_equal(kv_bits, w_bits)
        else col(_per_design(tech, "mac", tech.mac_energy_pj, node, act_bits, kv_bits)),
        "activation": weight_mac
        if same
        else col(_per_design(tech, "mac", tech.mac_energy_pj, node, act_bits)),
    }
    logic_mm2 = area["array"] + area["vector"] + area["dram_interface"] + area["overhead"]
    sram_leak = sum(s.leakage_mw for s in srams.values())
    return Prices(
        pj_per_byte=pj,
        mac_pj=mac["weight"],
        mac_pj_by_operand=mac,
        vector_pj_per_op=col(tech.vector_lane_energy_pj_per_op * e_scale),
        leakage_mw=col(tech.leakage_mw_per_mm2 * logic_mm2 + sram_leak),
        area_mm2={k: area[k] for k in AREA_COMPONENTS},
    )
