"""Cycles and accesses of the broadcast and row-stationary unrollings (not systolic).

An :class:`~evodse.model.mappings.Unrolling` puts loops on the array's rows and columns
(sizes ``U_d``, :func:`unrolled_sizes`); every other iteration runs in time. Units: cycles and
elements (all ``count`` GEMMs of an entry, the whole batch).

**Cycles.** ``t_d = ceil(L_d / U_d)`` temporal iterations of loop ``d`` of size ``L_d`` (``L_d``
itself where ``U_d = 1``: the expected, possibly fractional, expert count of a mixture of
experts); the array does one spatial step per cycle, so
``compute_cycles = prod_d t_d + pipeline_cycles`` (``G`` included: groups run one after
another unless an entry unrolls ``G``). Unrolling beyond a loop's size wastes PEs and shows as
utilization ``MACs / (cycles * rows * cols) < 1`` (a depthwise layer on ``nvdla``: ``C = 1``, one
row busy). ``pipeline_cycles`` (2: one cycle to latch the multicast operands into the PEs, one
to register the accumulated sum) is paid once per layer: broadcast arrays fill no skew
(ZigZag's ideal latency, Mei et al., IEEE TC 2021, without its stall terms).

**Spatial reuse** (ZigZag's spatial-mapping semantics): per cycle, a loop unrolled that is
irrelevant to an operand multicasts it (inputs over ``K``, weights over ``B``/``OX``/``OY``) and
reduces outputs (``C``, ``FX``, ``FY``: an adder tree for ``broadcast`` arrays, PE to PE up the
columns for ``row_stationary``, Chen et al., ISCA 2016, Sec. IV.B). Unrolling ``OX`` with ``FX``
(or ``OY`` with ``FY``) reads an input row diagonally: ``(a_OX - 1) * stride + a_FX`` distinct
inputs feed ``a_OX * a_FX`` PEs (``a_d = L_d / t_d``, the average PEs a fold of ``d`` uses).

**Temporal reuse in PE registers.** Each entry declares a temporal loop order (innermost
first). For operand ``o`` with ``P_o`` registers per PE (``pe_input_regs``, ``pe_weight_regs``,
``pe_output_regs``; elements), the loops from the innermost outwards are kept in registers while
the operand's footprint (the product of the relevant loops' ``t_d`` so far; inputs: the sliding
window ``min(ox fx, (ox - 1) s + fx)`` along each axis) fits in ``P_o``; the first relevant loop
that does not fit ends the prefix. Every loop irrelevant to ``o`` outside the prefix re-reads it
from its SRAM (Timeloop/ZigZag stationarity for a fixed order; no loop is split across levels):

====================  ===================================================================
SRAM accesses         elements
====================  ===================================================================
weights read          ``|W| * prod_(d irrelevant to W, outside prefix) t_d``
inputs read           ``M K count * prod_(K outside prefix) t_K / (spatial x temporal window
                      reuse)``, at least the distinct inputs ``|A|``
partial sums          ``R_O = prod_(C, FX, FY outside prefix) t_d``; ``R_O = 1``: the ``|O|``
                      finished outputs written once at the output width; else ``|O| R_O``
                      written and ``|O| (R_O - 1)`` read back at the accumulator width
====================  ===================================================================

PE registers: every MAC reads an input and a weight; each SRAM read is written into every PE
it is multicast to. Partial sums: a ``tree`` reduction writes and reads one accumulator per
output per cycle (``MACs / fan-in``), a ``chain`` every PE's (``MACs``).

**Register holdings** (``register_held``, elements): the distinct data of each operand the
array's registers hold at once, ``P_o * prod(a_d, d relevant to o)`` (one copy per multicast
group; inputs divided by the diagonal reuse; partial sums: one per reduction group). The DRAM
tiling counts it as on-chip capacity (:mod:`evodse.model.memory`).
"""

from __future__ import annotations

import functools

import numpy as np

from evodse.model.compute import ArrayWork
from evodse.model.mappings import LOOPS, RELEVANT, Unrolling

_REDUCTION = tuple(d for d in LOOPS if d not in RELEVANT["output"])


def unrolled_sizes(unrolling: Unrolling, *, rows, cols, loops) -> dict[str, np.ndarray]:
    """Spatial size ``U_d`` of every loop (1 where not unrolled): fixed and ``fit`` sizes in
    the listed order, each capped at the room left on its edge, then ``rest`` fills it."""
    sizes = dict.fromkeys(LOOPS, 1.0)
    for edge, units in ((rows, unrolling.rows), (cols, unrolling.cols)):
        used = 1.0
        for unit in units:
            if unit.size == "rest":
                continue
            want = loops[unit.loop] if unit.size == "fit" else float(unit.size)
            size = np.minimum(want, np.floor(edge / used))
            sizes[unit.loop] = sizes[unit.loop] * size
            used = used * size
        for unit in units:
            if unit.size == "rest":
                sizes[unit.loop] = sizes[unit.loop] * np.floor(edge / used)
    return sizes


def temporal_sizes(sizes: dict, loops: dict) -> dict[str, np.ndarray]:
    """``t_d = ceil(L_d / U_d)`` (``L_d`` where ``U_d = 1``)."""
    return {d: np.where(sizes[d] == 1, loops[d], np.ceil(loops[d] / sizes[d])) for d in LOOPS}


def _product(values) -> np.ndarray:
    """Elementwise product of arrays that broadcast together."""
    return functools.reduce(np.multiply, values, np.float64(1.0))


def _window(o, f, stride):
    """Distinct inputs along one axis that ``o`` outputs x ``f`` kernel taps read."""
    return np.minimum(o * f, (o - 1) * stride + f)


def _prefix(unrolling: Unrolling, operand: str, t: dict, regs, strides) -> tuple:
    """Register prefix of one operand: its re-read factor (irrelevant loops outside the
    prefix) and, for inputs, the temporal window reuse inside it."""
    relevant = RELEVANT[operand]
    inside = np.asarray(True)
    refetch = 1.0
    kept = dict.fromkeys(LOOPS, 1.0)  # t_d of the relevant loops in the prefix
    for d in unrolling.temporal_order:
        if d not in relevant:
            refetch = np.where(inside, refetch, refetch * t[d])
            continue
        trial = {**kept, d: kept[d] * t[d]}
        footprint = _footprint(operand, trial, strides)
        inside = inside & (footprint <= regs)
        kept[d] = np.where(inside, trial[d], kept[d])
    if operand != "input":
        return refetch, 1.0
    sx, sy = strides
    reuse = (kept["OX"] * kept["FX"] / _window(kept["OX"], kept["FX"], sx)) * (
        kept["OY"] * kept["FY"] / _window(kept["OY"], kept["FY"], sy)
    )
    return refetch, reuse


def _footprint(operand: str, kept: dict, strides) -> np.ndarray:
    if operand != "input":
        return _product(kept[d] for d in RELEVANT[operand])
    sx, sy = strides
    rest = kept["B"] * kept["C"] * kept["G"]
    return rest * _window(kept["OX"], kept["FX"], sx) * _window(kept["OY"], kept["FY"], sy)


def spatial_work(unrolling: Unrolling, *, rows, cols, regs, t_layer) -> ArrayWork:
    """Cycles and accesses of every GEMM entry of ``t_layer`` (a LayerTable) on arrays of
    ``rows x cols`` PEs; ``regs`` maps ``input``/``weight``/``output`` to registers per PE.
    Designs broadcast as (N, 1), entries as (1, G)."""
    loops = t_layer.loops
    strides = (t_layer.stride_x, t_layer.stride_y)
    sizes = unrolled_sizes(unrolling, rows=rows, cols=cols, loops=loops)
    t = temporal_sizes(sizes, loops)
    cycles = _product(t[d] for d in LOOPS) + unrolling.pipeline_cycles
    used = {d: loops[d] / t[d] for d in LOOPS}  # average PEs a fold of d keeps busy
    m, n, k, count = t_layer.m, t_layer.n, t_layer.k, t_layer.count
    macs = count * m * n * k + 0.0 * cycles
    outputs = count * m * n

    w_refetch, _ = _prefix(unrolling, "weight", t, regs["weight"], strides)
    weight_reads = t_layer.b_elems * count * w_refetch
    weight_fanout = _product(used[d] for d in LOOPS if d not in RELEVANT["weight"])

    i_refetch, temporal_reuse = _prefix(unrolling, "input", t, regs["input"], strides)
    sx, sy = strides
    diagonal = (used["OX"] * used["FX"] / _window(used["OX"], used["FX"], sx)) * (
        used["OY"] * used["FY"] / _window(used["OY"], used["FY"], sy)
    )
    im2col = count * m * k
    input_reads = np.maximum(
        im2col * i_refetch / (diagonal * temporal_reuse), t_layer.a_elems * count
    )
    input_fanout = used["K"] * diagonal

    o_refetch, _ = _prefix(unrolling, "output", t, regs["output"], strides)
    final = o_refetch == 1
    psum_writes = np.where(final, 0.0, outputs * o_refetch)
    psum_reads = np.where(final, 0.0, outputs * (o_refetch - 1))
    output_writes = np.where(final, outputs, 0.0)
    fan_in = _product(used[d] for d in _REDUCTION)
    # distinct elements in the registers: one copy per PE group the operand is multicast to
    groups = {op: _product(used[d] for d in RELEVANT[op]) for op in RELEVANT}
    groups["input"] = groups["input"] / diagonal
    accumulate = macs / fan_in if unrolling.reduction == "tree" else macs
    return ArrayWork(
        compute_cycles=cycles,
        input_reads=input_reads + 0.0 * cycles,
        weight_reads=weight_reads + 0.0 * cycles,
        psum_writes=psum_writes,
        psum_reads=psum_reads,
        output_writes=output_writes + 0.0 * cycles,
        register_writes={
            "input": input_reads * input_fanout,
            "weight": weight_reads * weight_fanout,
            "output": accumulate,
        },
        register_reads={"input": macs, "weight": macs, "output": accumulate},
        register_held={op: regs[op] * groups[op] for op in RELEVANT},
    )
