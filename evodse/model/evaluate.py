"""Cost of a network on N designs in one vectorized pass: counts, cycles, latency, energy, area.

For every distinct layer entry and design (arrays (N, U)):

1. **Counts** (:mod:`evodse.model.counts`): the bytes moved at each level (PE registers, the
   operand's SRAM, DRAM), per operand and direction. GEMMs: the array's accesses to its buffers
   and registers (:mod:`evodse.model.compute`) and the DRAM traffic of the best tiling
   (:mod:`evodse.model.memory`); every DRAM read fills its SRAM, every output leaves the ofmap
   SRAM once. A design with ``act_sram: shared`` tiles each GEMM layer with the split of its
   ifmap + ofmap SRAMs (:data:`SHARED_SPLITS` or the declared one) that moves the fewest DRAM
   bytes (:func:`_tiling`); partial sums are ``accumulator_bits`` wide, including those of an
   output-stationary tile of several folds that accumulates in the ofmap SRAM (written and read
   back once per chunk of the reduction, :mod:`evodse.model.memory`). Vector operations read
   their inputs and write their outputs through the ifmap and ofmap SRAMs. What ``fusion``
   keeps on chip is neither written to nor read from DRAM: ``ops`` applies a vector op in the
   producing GEMM's output path (its input never reaches an SRAM); ``on_chip`` also keeps any
   linked activation (:mod:`evodse.model.layers`) that fits in the usable part of both the
   ofmap and the ifmap SRAM (of a shared buffer: half of it).
2. **Cycles**: ``compute_cycles`` on the unit that runs the layer (the array, or
   ``ceil(ops / vector_lanes)`` on the vector unit); ``memory_cycles = dram_bytes /
   (dram_bandwidth_gbps * 1e9 / (frequency_mhz * 1e6))``; ``cycles = exposed + max(compute,
   memory - exposed)``: double buffering overlaps the DRAM traffic with compute except the
   prologue and epilogue transfers (``exposed``), which are part of that traffic;
   ``sram_buffering: single`` overlaps nothing, ``cycles = compute + memory``.
   A GEMM's prologue is its first input tile (the input whole when it fits the ifmap SRAM, else
   the SRAM's usable part, of the layer's split when shared) and the first fold's weights
   (``R * C``), its epilogue the last fold's outputs (``R * C``); a vector op streams (one
   lane-wide block in, one out). All at DRAM bandwidth; nothing is exposed for data that stays
   on chip.
3. **Energy** (pJ) = counts x prices (:mod:`evodse.model.prices`): ``mac``, ``registers``,
   ``ifmap_sram``, ``weight_sram``, ``ofmap_sram``, ``dram``, ``vector`` and ``leakage``
   (leakage power x latency). **Area** (mm^2) per design by component.

GEMMs run on the array under the design's spatial unrolling (:mod:`evodse.model.mappings`):
the systolic ws / os / is (:mod:`evodse.model.compute`) or a broadcast or row-stationary
unrolling (:mod:`evodse.model.spatial`); ``auto`` picks, per layer, the fastest of ws / os / is,
ties broken by dynamic energy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from evodse.hardware.template import DATAFLOWS, SYSTOLIC, Accelerator
from evodse.model.compute import array_work
from evodse.model.counts import AccessCounts, Key, picker, select
from evodse.model.designs import AUTO, Designs, encode
from evodse.model.layers import JoinedTables, LayerTable, joined_tables
from evodse.model.mappings import AUTO_CHOICES, MAPPINGS, UNROLLINGS
from evodse.model.memory import OutputFold, Traffic, dram_traffic
from evodse.model.prices import AREA_COMPONENTS, Prices, prices
from evodse.model.spatial import spatial_work
from evodse.workload.network import Network

#: Energy by component (pJ), as the systolic template declares them.
ENERGY_COMPONENTS = SYSTOLIC.energy_components
_PJ_PER_MW_S = 1e9  # 1 mW for 1 s = 1e-3 J = 1e9 pJ
_SRAM_COMPONENT = {
    "input": "ifmap_sram",
    "weight": "weight_sram",
    "kv": "weight_sram",
    "output": "ofmap_sram",
}
__all__ = [
    "AREA_COMPONENTS",
    "ENERGY_COMPONENTS",
    "NetworkCost",
    "evaluate",
    "evaluate_networks",
]


@dataclass(frozen=True)
class _Capacities:
    """Per-design sizes, each (N, 1): elements of the usable part of each SRAM (double-buffered:
    its half, ping-pong, one half computes while the other fills or drains; single-buffered:
    all of it) and transfer rates.

    Widths (bytes per element): ``act_bytes`` for inputs and outputs, ``kv_bytes`` for the KV
    cache, ``b_bytes`` for each GEMM's second operand (its weights, the KV cache or another
    activation; (N, G) when the widths differ, else (N, 1)); ``weight_elems`` is at
    ``b_bytes``; ``acc_bytes`` for partial sums (the design's ``accumulator_bits`` / 8, a scalar
    when every design has the same). ``kv_on_chip`` (N, U), per entry: its network's whole KV
    cache fits in the usable part of the weight SRAM (None: no entry touches a KV cache).
    ``resident``: a whole SRAM over its usable part (2 double-, 1 single-buffered). ``single``:
    designs whose SRAMs are single-buffered (None: none is). ``act_pool_bytes``: for designs
    whose ifmap and ofmap SRAMs are one shared buffer, its usable bytes (0 for the others;
    None: no design shares)."""

    rows: np.ndarray
    cols: np.ndarray
    regs: np.ndarray
    pe_regs: dict[str, np.ndarray]  # registers per PE by operand (broadcast, row-stationary)
    act_bytes: np.ndarray
    b_bytes: np.ndarray
    kv_bytes: np.ndarray
    kv_on_chip: np.ndarray | None
    acc_bytes: float | np.ndarray
    ifmap_elems: np.ndarray
    weight_elems: np.ndarray
    ofmap_elems: np.ndarray  # at output precision (os)
    ofmap_psum_elems: np.ndarray  # at accumulator precision (ws, is)
    dram_bytes_per_cycle: np.ndarray
    lanes: np.ndarray
    resident: float | np.ndarray
    single: np.ndarray | None
    act_pool_bytes: np.ndarray | None


def _accumulator_bytes(d: Designs) -> float | np.ndarray:
    """Partial-sum width (bytes) per design (N,), ``accumulator_bits / 8``; a scalar when every
    design has the same."""
    bits = d.accumulator_bits
    return float(bits[0]) / 8 if (bits == bits[0]).all() else bits / 8


def _capacities(d: Designs, t: LayerTable) -> _Capacities:
    col = lambda x: np.asarray(x, dtype=np.float64)[:, None]  # noqa: E731
    act, weight, kv = (col(d.bits(k) / 8) for k in ("activation_bits", "weight_bits", "kv_bits"))
    acc_bytes = _accumulator_bytes(d)
    single = d.sram_buffering == encode("sram_buffering", "single")
    half = np.where(single, 1.0, 0.5) if single.any() else 0.5  # usable part of each SRAM
    if np.array_equal(act, weight) and np.array_equal(act, kv):
        b_bytes = act  # one width for every operand: no per-entry arrays
    else:
        b_bytes = np.where(t.b_kv > 0, kv, np.where(t.b_act > 0, act, weight))
    weight_sram_bytes = col(d.weight_sram_kib * 1024 * half)
    shared = d.act_sram == encode("act_sram", "shared")
    pool = (d.ifmap_sram_kib + d.ofmap_sram_kib) * 1024 * half
    return _Capacities(
        rows=col(d.pe_rows),
        cols=col(d.pe_cols),
        regs=col(d.pe_stationary_regs),
        pe_regs={op: col(getattr(d, f"pe_{op}_regs")) for op in ("input", "weight", "output")},
        act_bytes=act,
        b_bytes=b_bytes,
        kv_bytes=kv,
        kv_on_chip=np.broadcast_to(t.kv_cache_elems * kv <= weight_sram_bytes, (len(d), t.n_shapes))
        if t.has_kv
        else None,
        acc_bytes=col(acc_bytes) if np.ndim(acc_bytes) else acc_bytes,
        ifmap_elems=col(d.ifmap_sram_kib * 1024 * half) / act,
        weight_elems=weight_sram_bytes / b_bytes,
        ofmap_elems=col(d.ofmap_sram_kib * 1024 * half) / act,
        ofmap_psum_elems=col(d.ofmap_sram_kib * 1024 * half / acc_bytes),
        dram_bytes_per_cycle=col(d.dram_bandwidth_gbps * 1e9 / (d.frequency_mhz * 1e6)),
        lanes=col(d.vector_lanes),
        resident=col(1.0 / half) if single.any() else 2.0,
        single=col(single) > 0 if single.any() else None,
        act_pool_bytes=col(np.where(shared, pool, 0.0)) if shared.any() else None,
    )


@dataclass(frozen=True)
class _OnChip:
    """Per (design, entry): the layer's linked input / its output stays on chip."""

    fused_in: np.ndarray
    input: np.ndarray
    fused_out: np.ndarray
    output: np.ndarray


def _on_chip(d: Designs, t: LayerTable, c: _Capacities) -> _OnChip:
    mode = d.fusion[:, None]
    ops = mode >= encode("fusion", "ops")
    keep = mode == encode("fusion", "on_chip")
    room = np.minimum(c.ifmap_elems, c.ofmap_elems)  # elements at the operand width
    if c.act_pool_bytes is not None:  # a shared buffer: half of it (>= the smaller of any split)
        room = np.where(c.act_pool_bytes > 0, c.act_pool_bytes / 2 / c.act_bytes, room)
    fused_in = ops & (t.fused_in > 0)
    fused_out = ops & (t.fused_out > 0)
    kept_in = keep & (t.in_linked > 0) & ~fused_in & (t.link_in_elems <= room)
    kept_out = keep & (t.out_linked > 0) & ~fused_out & (t.out_elems <= room)
    return _OnChip(
        fused_in=fused_in,
        input=fused_in | kept_in,
        fused_out=fused_out,
        output=fused_out | kept_out,
    )


@dataclass(frozen=True)
class _Flow:
    """Counts and cycles of some entries under one mapping (arrays (N, entries))."""

    counts: AccessCounts
    compute_cycles: np.ndarray
    exposed_bytes: np.ndarray


#: Ifmap shares (fractions of the buffer) a shared ifmap/ofmap buffer is tried at, besides
#: the declared ``ifmap_sram_kib`` (first: it wins ties). Sixteenths (ours): 6.75 KiB steps of
#: Eyeriss's 108 KiB.
SHARED_SPLITS = tuple(k / 16 for k in range(1, 16))


def _tiling(
    t: LayerTable,
    c: _Capacities,
    reduces: np.ndarray,
    held: dict[str, np.ndarray] | None,
    in_on_chip: np.ndarray,
    fold: OutputFold | None = None,
) -> tuple[Traffic, np.ndarray]:
    """The DRAM traffic of every GEMM entry and the ifmap SRAM elements (usable) it was tiled
    with. A design whose ifmap and ofmap SRAMs share one buffer takes, per entry, the split of
    :data:`SHARED_SPLITS` (or its declared one) that moves the fewest DRAM bytes (inputs not
    kept on chip, weights; outputs do not depend on it); ties go to the declared split, then to
    the smaller ifmap share. ``fold``: output stationary (:mod:`evodse.model.memory`)."""

    declared = dram_traffic(
        t,
        ifmap_elems=c.ifmap_elems,
        weight_elems=c.weight_elems,
        ofmap_elems=np.where(reduces, c.ofmap_psum_elems, c.ofmap_elems),
        register_elems=held,
        resident=c.resident,
        fold=fold,
    )
    if c.act_pool_bytes is None or not (c.act_pool_bytes > 0).any() or not t.n_gemm:
        return declared, c.ifmap_elems
    shape = np.broadcast_shapes(reduces.shape, declared.a_elems.shape)
    # the shared designs' rows, once per candidate split, in one call: (splits x rows, G)
    rows = np.flatnonzero(c.act_pool_bytes[:, 0] > 0)
    k = len(SHARED_SPLITS)

    def tiled(x):
        if not np.ndim(x):
            return x
        x = np.broadcast_to(x, (shape[0], np.shape(x)[-1]))[rows]
        return np.tile(x, (k, 1))

    pool, act, acc = tiled(c.act_pool_bytes), tiled(c.act_bytes), tiled(c.acc_bytes)
    in_bytes = pool * np.repeat(SHARED_SPLITS, len(rows))[:, None]
    out_bytes = pool - in_bytes
    if fold is not None:
        fold = OutputFold(rows=tiled(fold.rows), cols=tiled(fold.cols), psum_elems=out_bytes / acc)
    split = dram_traffic(
        t,
        ifmap_elems=in_bytes / act,
        weight_elems=tiled(c.weight_elems),
        ofmap_elems=np.where(tiled(reduces), out_bytes / acc, out_bytes / act),
        register_elems=None if held is None else {o: tiled(v) for o, v in held.items()},
        resident=tiled(c.resident),
        fold=fold,
    )
    g = shape[1]
    a_opts = np.concatenate(
        [np.broadcast_to(declared.a_elems, shape)[rows][None], split.a_elems.reshape(k, -1, g)]
    )
    b_opts = np.concatenate(
        [
            np.broadcast_to(declared.b_elems, shape)[rows][None],
            np.broadcast_to(split.b_elems, (k * len(rows), g)).reshape(k, -1, g),
        ]
    )
    in_opts = np.concatenate(
        [
            np.broadcast_to(c.ifmap_elems, shape)[rows][None],
            np.broadcast_to(in_bytes / act, (k * len(rows), g)).reshape(k, -1, g),
        ]
    )
    a_bytes = np.broadcast_to(c.act_bytes, shape)[rows]
    b_bytes = np.broadcast_to(c.b_bytes, shape)[rows]
    kept = np.broadcast_to(in_on_chip, shape)[rows]
    moved = np.where(kept, 0.0, a_opts) * a_bytes + b_opts * b_bytes
    best = np.argmin(moved, axis=0)[None]  # first minimum: the declared split, then smaller
    a_elems = np.broadcast_to(declared.a_elems, shape).copy()
    b_elems = np.broadcast_to(declared.b_elems, shape).copy()
    ifmap = np.broadcast_to(c.ifmap_elems, shape).copy()
    a_elems[rows] = np.take_along_axis(a_opts, best, axis=0)[0]
    b_elems[rows] = np.take_along_axis(b_opts, best, axis=0)[0]
    ifmap[rows] = np.take_along_axis(in_opts, best, axis=0)[0]
    psum = declared.psum_elems
    if fold is not None:
        p_opts = np.concatenate(
            [
                np.broadcast_to(declared.psum_elems, shape)[rows][None],
                np.broadcast_to(split.psum_elems, (k * len(rows), g)).reshape(k, -1, g),
            ]
        )
        psum = np.broadcast_to(declared.psum_elems, shape).copy()
        psum[rows] = np.take_along_axis(p_opts, best, axis=0)[0]
    traffic = Traffic(
        a_elems=a_elems, b_elems=b_elems, out_elems=declared.out_elems, psum_elems=psum
    )
    return traffic, ifmap


def _gemm_flow(name: str, t: LayerTable, c: _Capacities, on: _OnChip) -> _Flow:
    """Counts and cycles of every GEMM entry under one spatial unrolling."""
    g = t.n_gemm
    fold = None
    if UNROLLINGS[name].kind == "systolic":
        mapping = MAPPINGS[name]
        work = array_work(
            mapping, rows=c.rows, cols=c.cols, regs=c.regs, m=t.m, n=t.n, k=t.k, count=t.count
        )
        if mapping.stationary == "output":  # one fold: R x (C * P) outputs in the PEs
            fold = OutputFold(rows=c.rows, cols=c.cols * c.regs, psum_elems=c.ofmap_psum_elems)
    else:
        work = spatial_work(UNROLLINGS[name], rows=c.rows, cols=c.cols, regs=c.pe_regs, t_layer=t)
    # partial sums that leave the array are buffered at the accumulator width
    reduces = work.psum_writes > 0
    in_on_chip, out_on_chip = on.input[:, :g], on.output[:, :g]
    traffic, ifmap_elems = _tiling(t, c, reduces, work.register_held, in_on_chip, fold)
    # an accumulated os tile: partial sums to the ofmap SRAM and back between chunks of K
    psums = traffic.psum_elems * t.count
    b, bb, acc = c.act_bytes, c.b_bytes, c.acc_bytes
    a_dram = np.where(in_on_chip, 0.0, traffic.a_elems * t.count)
    b_dram = traffic.b_elems * t.count
    outputs = t.m * t.n * t.count
    o_dram = np.where(out_on_chip, 0.0, outputs)
    counts: dict[Key, np.ndarray] = {
        ("dram", "input", "read"): a_dram * b,
        ("dram", "weight", "read"): b_dram * bb,
        ("dram", "output", "write"): o_dram * b,
        ("sram", "input", "write"): a_dram * b,
        ("sram", "input", "read"): work.input_reads * b,
        ("sram", "weight", "write"): b_dram * bb,
        ("sram", "weight", "read"): work.weight_reads * bb,
        ("sram", "output", "write"): (work.psum_writes + psums) * acc + work.output_writes * b,
        ("sram", "output", "read"): (work.psum_reads + psums) * acc + outputs * b,
    }
    for operand, width in (("input", b), ("weight", bb), ("output", acc)):
        counts[("register", operand, "read")] = work.register_reads[operand] * width
        counts[("register", operand, "write")] = work.register_writes[operand] * width
    # prologue: the first input tile (the input whole when it fits the ifmap SRAM, else the
    # buffer's usable half) and the first fold's weights before the array starts; epilogue:
    # the last fold's outputs drained
    block = c.rows * c.cols
    a_whole = t.a_elems * t.count
    whole_a = a_whole <= c.resident * ifmap_elems
    first_a = np.where(whole_a, a_whole, np.minimum(a_whole, ifmap_elems))
    first_a = np.where(in_on_chip, 0.0, first_a)
    first_b = np.minimum(t.b_elems, block)
    last_o = np.where(out_on_chip, 0.0, np.minimum(t.m * t.n, block))
    first_b = first_b * bb
    if t.has_kv:
        kv_on_chip = c.kv_on_chip[:, :g]
        _route_kv(counts, c, kv_on_chip, b_kv=t.b_kv > 0, out_kv=t.out_kv[:g] > 0)
        first_b = np.where((t.b_kv > 0) & kv_on_chip, 0.0, first_b)
        last_o = np.where((t.out_kv[:g] > 0) & kv_on_chip, 0.0, last_o)
    exposed = (first_a + last_o) * b + first_b
    macs = np.broadcast_to(t.macs[:g], work.compute_cycles.shape)
    return _Flow(
        counts=AccessCounts(bytes=counts, macs=macs, vector_ops=0.0 * macs),
        compute_cycles=work.compute_cycles,
        exposed_bytes=exposed,
    )


def _vector_flow(t: LayerTable, c: _Capacities, on: _OnChip) -> _Flow:
    """Counts and cycles of every vector entry."""
    g = t.n_gemm
    b = c.act_bytes
    fused_in, in_on_chip = on.fused_in[:, g:], on.input[:, g:]
    fused_out, out_on_chip = on.fused_out[:, g:], on.output[:, g:]
    linked = t.link_in_elems[g:]
    in_dram = np.where(in_on_chip, t.vector_in_elems - linked, t.vector_in_elems)
    in_sram = in_dram + np.where(in_on_chip & ~fused_in, linked, 0.0)  # kept: read from SRAM
    out_dram = np.where(out_on_chip, 0.0, t.vector_out_elems)
    out_sram = np.where(fused_out, 0.0, t.vector_out_elems)
    counts: dict[Key, np.ndarray] = {
        ("dram", "input", "read"): in_dram * b,
        ("dram", "output", "write"): out_dram * b,
        ("sram", "input", "write"): in_dram * b,
        ("sram", "input", "read"): in_sram * b,
        ("sram", "output", "write"): out_sram * b,
        ("sram", "output", "read"): out_sram * b,
    }
    if t.has_kv:
        out_kv = t.out_kv[g:] > 0
        kv_on_chip = c.kv_on_chip[:, g:]
        _route_kv(counts, c, kv_on_chip, b_kv=None, out_kv=out_kv)
        out_dram = np.where(out_kv & kv_on_chip, 0.0, out_dram)
    compute = np.ceil(t.vector_ops / c.lanes)
    # a vector op streams: one lane-wide block in before it starts, one out after it ends
    exposed = np.minimum(in_dram, c.lanes) + np.minimum(out_dram, c.lanes)
    ops = np.broadcast_to(t.vector_ops, compute.shape)
    return _Flow(
        counts=AccessCounts(bytes=counts, macs=0.0 * ops, vector_ops=ops),
        compute_cycles=compute,
        exposed_bytes=exposed * b,
    )


#: The keys :func:`_route_kv` adds for a KV-cache B operand, and for outputs appended to it.
_KV_OPERAND_KEYS: tuple[Key, ...] = tuple(
    (level, "kv", direction)
    for level, direction in (
        ("dram", "read"),
        ("sram", "write"),
        ("sram", "read"),
        ("register", "read"),
        ("register", "write"),
    )
)
_KV_OUTPUT_KEYS: tuple[Key, ...] = (("dram", "kv", "write"), ("sram", "kv", "write"))


def _kv_keys(t: LayerTable) -> set[Key]:
    """The KV-cache keys a pass over ``t`` alone counts."""
    return set(_KV_OPERAND_KEYS if t.b_kv.any() else ()) | set(
        _KV_OUTPUT_KEYS if t.out_kv.any() else ()
    )


def _route_kv(
    counts: dict[Key, np.ndarray],
    c: _Capacities,
    on: np.ndarray,
    *,
    b_kv: np.ndarray | None,
    out_kv: np.ndarray,
) -> None:
    """Move the KV cache's traffic to the ``kv`` operand, in place: a B operand that is the
    cache (``b_kv``, per entry) and an output appended to it (``out_kv``, rewritten at the
    KV-cache width). A cache that fits on chip (``on``, per entry) is read from and written to
    the weight SRAM only: no DRAM traffic, and no DRAM fills of the SRAM."""
    if b_kv is not None and b_kv.any():
        for level, _, direction in _KV_OPERAND_KEYS:
            key = (level, "weight", direction)
            counts[(level, "kv", direction)] = np.where(b_kv, counts[key], 0.0)
            counts[key] = np.where(b_kv, 0.0, counts[key])
        counts[("dram", "kv", "read")] = np.where(on, 0.0, counts[("dram", "kv", "read")])
        counts[("sram", "kv", "write")] = np.where(on, 0.0, counts[("sram", "kv", "write")])
    if out_kv.any():
        out = counts[("dram", "output", "write")]
        new = np.where(out_kv, out, 0.0) * (c.kv_bytes / c.act_bytes)
        counts[("dram", "output", "write")] = np.where(out_kv, 0.0, out)
        counts[("dram", "kv", "write")] = np.where(on, 0.0, new)
        stored = np.where(on, new, 0.0)
        counts[("sram", "kv", "write")] = counts.get(("sram", "kv", "write"), 0.0) + stored


def _mac_price(t: LayerTable, p: Prices, entries: int) -> np.ndarray:
    """Energy of one MAC per (design, entry) of the first ``entries`` entries: the weight,
    KV-cache or activation price by the kind of each GEMM's second operand."""
    by = p.mac_pj_by_operand
    same = np.array_equal(by["weight"], by["kv"]) and np.array_equal(by["weight"], by["activation"])
    if same or not (t.b_kv.any() or t.b_act.any()):
        return p.mac_pj
    pad = np.zeros(max(entries - t.n_gemm, 0))
    kv = np.concatenate([t.b_kv, pad])[:entries] > 0
    act = np.concatenate([t.b_act, pad])[:entries] > 0
    return np.where(kv, by["kv"], np.where(act, by["activation"], by["weight"]))


_DYNAMIC = ("mac", "vector", "registers", "ifmap_sram", "weight_sram", "ofmap_sram", "dram")


def _dynamic_energy(
    counts: AccessCounts,
    p: Prices,
    mac_pj: np.ndarray,
    out: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Energy components (pJ) of counts, leakage excluded (``mac_pj`` per design or entry),
    written to ``out``'s arrays (else to new ones)."""
    if out is None:
        out = {name: np.empty(np.shape(counts.macs)) for name in _DYNAMIC}
    np.multiply(counts.macs, mac_pj, out=out["mac"])
    np.multiply(counts.vector_ops, p.vector_pj_per_op, out=out["vector"])
    for name in _DYNAMIC[2:]:
        out[name][...] = 0.0
    for key, value in counts.bytes.items():
        level, operand = key[0], key[1]
        name = {"register": "registers", "dram": "dram"}.get(level) or _SRAM_COMPONENT[operand]
        np.add(out[name], value * p.pj_per_byte[key], out=out[name])
    return {name: out[name] for name in _DYNAMIC}


def _cycles(flow: _Flow, c: _Capacities) -> tuple[np.ndarray, np.ndarray]:
    """Memory cycles and total cycles: the prologue and epilogue transfers, and between them
    compute overlapped with the rest of the DRAM traffic (double-buffered SRAMs); compute plus
    all of the DRAM traffic (single-buffered)."""
    memory = flow.counts.level("dram") / c.dram_bytes_per_cycle
    exposed = flow.exposed_bytes / c.dram_bytes_per_cycle
    # exposed + max(compute, memory - exposed), written so that cycles >= memory exactly
    cycles = np.maximum(exposed + flow.compute_cycles, memory)
    if c.single is not None:  # single-buffered SRAMs: every transfer waits for or on compute
        cycles = np.where(c.single, flow.compute_cycles + memory, cycles)
    return memory, cycles


@dataclass(frozen=True, eq=False)
class NetworkCost:
    """Costs of one network on N designs. Entry-level arrays are (N, U); totals are (N,).

    ``counts`` holds the bytes moved per level, operand and direction; energy is counts x
    ``prices``. Per-layer values are ``layer(key)`` (N, L); totals sum layers (duplicates
    counted).
    """

    network: Network
    designs: Designs
    table: LayerTable
    counts: AccessCounts
    shape_metrics: dict[str, np.ndarray]  # cycles, dram_bytes and energy components (N, U)
    shape_dataflow: np.ndarray  # (N, U) dataflow code per entry; -1 for vector entries
    prices: Prices
    # (components, N, U): shape_metrics' energy components (the same arrays), stacked in
    # ENERGY_COMPONENTS order
    shape_energy_pj: np.ndarray

    @property
    def area_breakdown_mm2(self) -> dict[str, np.ndarray]:
        return self.prices.area_mm2

    def layer(self, key: str) -> np.ndarray:
        """Per-layer metric (N, L): a shape metric, ``latency_s``, ``energy_pj``,
        ``utilization`` or ``dataflow``."""
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
        # one row-wise sum per component, as _total's
        totals = (self.shape_energy_pj * self.table.multiplicity).sum(axis=2)
        return dict(zip(ENERGY_COMPONENTS, totals, strict=True))

    @cached_property
    def energy_pj(self) -> np.ndarray:
        return sum(self.energy_breakdown_pj.values())

    @property
    def area_mm2(self) -> np.ndarray:
        return sum(self.area_breakdown_mm2.values())

    @cached_property
    def dram_bytes(self) -> np.ndarray:
        return self._total(self.shape_metrics["dram_bytes"])

    def total_bytes(self, key: Key) -> np.ndarray:
        """Bytes moved over the whole network at one (level, operand, direction)."""
        return self._total(self.counts[key])

    @property
    def macs(self) -> int:
        return self.table.network_macs

    @property
    def utilization(self) -> np.ndarray:
        """Array utilization over the whole network: MACs / (cycles * PEs)."""
        return self.macs / (self.cycles * self.designs.pe_rows * self.designs.pe_cols)

    @property
    def power_w(self) -> np.ndarray:
        """Average power of the chip and its DRAM: energy / latency (W)."""
        return self.energy_pj * 1e-12 / self.latency_s

    @property
    def chip_power_w(self) -> np.ndarray:
        """Average power of the accelerator die alone: every energy component but DRAM
        transfers (leakage included), over latency (W)."""
        onchip_pj = self.energy_pj - self.energy_breakdown_pj["dram"]
        return onchip_pj * 1e-12 / self.latency_s


def as_designs(hardware: Designs | Accelerator | Sequence[Accelerator]) -> Designs:
    """Accept one accelerator, a list of them, or :class:`Designs`."""
    return hardware if isinstance(hardware, Designs) else Designs.from_accelerators(hardware)


def _take(value, rows: np.ndarray):
    """Rows ``rows`` of a per-design array (designs first), dict of them, or a scalar."""
    if isinstance(value, dict):
        return {k: _take(v, rows) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.ndim:
        return value[rows]
    return value


def _subset(obj, rows: np.ndarray):
    """A per-design dataclass (capacities, on-chip flags, prices) restricted to ``rows``."""
    return dataclasses.replace(
        obj, **{f.name: _take(getattr(obj, f.name), rows) for f in fields(obj)}
    )


@dataclass(frozen=True)
class _Chosen:
    """Per (design, GEMM entry) of some designs: the chosen mapping's counts and cycles."""

    counts: AccessCounts
    compute: np.ndarray
    memory: np.ndarray
    cycles: np.ndarray
    choice: np.ndarray


def _fixed(code: int, t: LayerTable, c: _Capacities, on: _OnChip) -> _Chosen:
    flow = _gemm_flow(DATAFLOWS[code], t, c, on)
    memory, cycles = _cycles(flow, c)
    choice = np.full(cycles.shape, code)
    return _Chosen(flow.counts, flow.compute_cycles, memory, cycles, choice)


def _auto(t: LayerTable, c: _Capacities, on: _OnChip, p: Prices) -> _Chosen:
    """Every entry of ``AUTO_CHOICES``, then per layer the fastest, ties broken by dynamic
    energy, then by their order (argmin takes the first)."""
    codes = [DATAFLOWS.index(name) for name in AUTO_CHOICES]
    options = {code: _fixed(code, t, c, on) for code in codes}
    total = np.stack([o.cycles for o in options.values()])
    mac_pj = _mac_price(t, p, t.n_gemm)
    energy = [sum(_dynamic_energy(o.counts, p, mac_pj).values()) for o in options.values()]
    energy = np.where(total == total.min(axis=0), np.stack(energy), np.inf)
    choice = np.asarray(codes)[np.argmin(energy, axis=0)]
    pick = picker(choice, codes)
    return _Chosen(
        counts=select(choice, {code: o.counts for code, o in options.items()}),
        compute=pick(lambda code: options[code].compute),
        memory=pick(lambda code: options[code].memory),
        cycles=pick(lambda code: options[code].cycles),
        choice=choice,
    )


def _gemm_choice(d: Designs, t: LayerTable, c: _Capacities, on: _OnChip, p: Prices) -> _Chosen:
    """Per (design, GEMM entry): the design's mapping (best per layer for auto). Each mapping
    is evaluated only on the designs that use it."""
    codes = d.dataflow.astype(np.int64)
    shape = (len(d), t.n_gemm)
    groups = {int(code): np.flatnonzero(codes == code) for code in np.unique(codes)}
    if len(groups) == 1:  # one mapping for all: no gather, no scatter
        code = next(iter(groups))
        return _auto(t, c, on, p) if code == AUTO else _fixed(code, t, c, on)
    out = {"compute": np.empty(shape), "memory": np.empty(shape), "cycles": np.empty(shape)}
    choice = np.empty(shape, dtype=np.int64)
    bytes_: dict[Key, np.ndarray] = {}
    macs = np.empty(shape)
    for code, rows in groups.items():
        c_rows, on_rows = _subset(c, rows), _subset(on, rows)
        if code == AUTO:
            part = _auto(t, c_rows, on_rows, _subset(p, rows))
        else:
            part = _fixed(code, t, c_rows, on_rows)
        for name in out:
            out[name][rows] = getattr(part, name)
        choice[rows] = part.choice
        macs[rows] = part.counts.macs
        for key, value in part.counts.bytes.items():
            if key not in bytes_:
                bytes_[key] = np.zeros(shape)
            bytes_[key][rows] = value
    counts = AccessCounts(bytes=bytes_, macs=macs, vector_ops=np.zeros(shape))
    return _Chosen(counts=counts, choice=choice, **out)


def evaluate(
    hardware: Designs | Accelerator | Sequence[Accelerator],
    network: Network,
    *,
    design_prices: Prices | None = None,
) -> NetworkCost:
    """Cost of ``network`` on every design of ``hardware`` (see module docstring).
    ``design_prices``: ``prices(hardware)`` when already computed (they depend on the designs
    only, so several networks on the same designs share them)."""
    return evaluate_networks(hardware, [network], design_prices=design_prices)[0]


def evaluate_networks(
    hardware: Designs | Accelerator | Sequence[Accelerator],
    networks: Sequence[Network],
    *,
    design_prices: Prices | None = None,
) -> list[NetworkCost]:
    """Cost of every network of ``networks`` on every design of ``hardware``, the same as
    :func:`evaluate` on each, in one pass over their joined layer tables
    (:func:`~evodse.model.layers.joined_tables`): a call's fixed cost is paid once."""
    d = as_designs(hardware)
    if not networks:
        return []
    joined = joined_tables(tuple(networks))
    t = joined.table
    c = _capacities(d, t)
    p = prices(d) if design_prices is None else design_prices
    on = _on_chip(d, t, c)
    n = len(d)
    gemm = _gemm_choice(d, t, c, on, p)
    vec = _vector_flow(t, c, on)
    v_memory, v_cycles = _cycles(vec, c)
    keys = sorted(set(gemm.counts.bytes) | set(vec.counts.bytes))
    zero_g, zero_v = np.zeros((n, t.n_gemm)), np.zeros((n, t.n_shapes - t.n_gemm))
    placed = _place(
        joined,
        n,
        [(gemm.counts.bytes.get(k, zero_g), vec.counts.bytes.get(k, zero_v)) for k in keys]
        + [
            (gemm.counts.macs, vec.counts.macs),
            (gemm.counts.vector_ops, vec.counts.vector_ops),
            (gemm.compute, vec.compute_cycles),
            (gemm.memory, v_memory),
            (gemm.cycles, v_cycles),
        ],
    )
    counts = AccessCounts(
        bytes=dict(zip(keys, placed, strict=False)), macs=placed[-5], vector_ops=placed[-4]
    )
    metrics = {"compute_cycles": placed[-3], "memory_cycles": placed[-2], "cycles": placed[-1]}
    metrics["dram_bytes"] = counts.level("dram")
    mac_pj = _mac_price(t, p, t.n_shapes)
    if np.shape(mac_pj)[-1] > 1:  # per entry: placed as the counts are
        mac_pj = _place(joined, n, [(mac_pj[:, : t.n_gemm], mac_pj[:, t.n_gemm :])])[0]
    energy = np.empty((len(ENERGY_COMPONENTS), n, t.n_shapes))  # ENERGY_COMPONENTS order
    rows = dict(zip(ENERGY_COMPONENTS, energy, strict=True))
    metrics.update(_dynamic_energy(counts, p, mac_pj, out=rows))
    latency = metrics["cycles"] / (d.frequency_mhz[:, None] * 1e6)
    metrics["leakage"] = np.multiply(p.leakage_mw * latency, _PJ_PER_MW_S, out=rows["leakage"])
    dataflow = _place(joined, n, [(gemm.choice, -1)], dtype=np.int64)[0]
    if len(networks) == 1:
        parts = [(networks[0], t, counts, metrics, dataflow, energy)]
    else:
        parts = [
            _part(net, part, cols, counts, metrics, dataflow, energy)
            for net, part, cols in zip(networks, joined.parts, joined.columns, strict=True)
        ]
    return [
        NetworkCost(
            network=net,
            designs=d,
            table=table,
            counts=part_counts,
            shape_metrics=part_metrics,
            shape_dataflow=part_dataflow,
            prices=p,
            shape_energy_pj=part_energy,
        )
        for net, table, part_counts, part_metrics, part_dataflow, part_energy in parts
    ]


def _place(joined: JoinedTables, n: int, pairs: list, dtype=np.float64) -> np.ndarray:
    """Per (GEMM entries (N, G), vector entries (N, V)) pair of the joined table, each
    broadcast to its N rows: the entries placed network by network, (pairs, N, U)."""
    g = joined.table.n_gemm
    v = joined.table.n_shapes - g
    out = np.empty((len(pairs), n, g + v), dtype)
    for row, (gemm, vector) in zip(out, pairs, strict=True):
        for part, size, moves in ((gemm, g, joined.gemm_moves), (vector, v, joined.vector_moves)):
            if np.shape(part) != (n, size):
                part = np.broadcast_to(part, (n, size))
            for dst, src in moves:
                row[:, dst] = part[:, src]
    return out


def _part(net: Network, table: LayerTable, cols: slice, counts, metrics, dataflow, energy):
    """One network's columns of a joined pass, with the counts its own pass lists (a KV-cache
    key only where it touches a KV cache)."""
    kv = _kv_keys(table)
    return (
        net,
        table,
        AccessCounts(
            bytes={k: v[:, cols] for k, v in counts.bytes.items() if k[1] != "kv" or k in kv},
            macs=counts.macs[:, cols],
            vector_ops=counts.vector_ops[:, cols],
        ),
        {k: v[:, cols] for k, v in metrics.items()},
        dataflow[:, cols],
        energy[:, :, cols],
    )
