"""Systolic-array compute cycles and the array's accesses to its buffers and registers.

Per spatial mapping (:mod:`evodse.model.mappings`: rows ``Sr``, columns ``Sc``, streamed ``T``)
a GEMM is cut into ``fr = ceil(Sr / R)`` row folds and ``fc = ceil(Sc / C)`` column folds.

Cycles (SCALE-Sim 3.0.0's count, ``systolic_compute_{os,ws,is}.py``; docs/scalesim_conventions.md):
one fold takes ``T + R + C - 2`` cycles for os (the streamed steps plus the skewed fill and
drain) and ``T + R + (R + C - 2)`` for ws and is (``R`` more to preload the stationary operand).
The array's size, not the fold's, sets the pipeline depth: edge folds pay the full fill and drain.

Two extensions, both off in SCALE-Sim's own mapping (``pe_stationary_regs = 1``, no packing):

* **Stationary registers** (``P = pe_stationary_regs``): each PE holds ``P`` stationary values,
  so the array holds ``P`` column folds at once and interleaves them: the moving operand that
  enters along the rows is reused ``P`` times before the next one enters, and the fill and drain
  are paid once per group of ``P`` column folds: ``gc = ceil(fc / P)`` groups.
* **Group packing**: independent GEMMs of a layer (conv groups, attention heads) whose folds are
  smaller than the array sit side by side on its diagonal (block-diagonal: each group gets its
  own rows, which carry its own inputs, and its own columns, which carry its own outputs), up to
  ``p = min(count, floor(R / Sr), floor(C / Sc))`` groups per fold. A depthwise 3x3 conv (Sr = 9
  under ws) packs 3 channels into 32 rows. ``count`` GEMMs then take ``ceil(count / p)`` folds.

``cycles = ceil(count / p) * fr * (fc * (T + preload) + gc * (R + C - 2))``; with ``P = 1`` and
``p = 1`` this is SCALE-Sim's ``count * fr * fc * (T + preload + R + C - 2)``.

Accesses (elements, all ``count`` GEMMs; ``MACs = count * M * N * K``):

====  ===========  ===========  =============================================================
flow  inputs read  weights      partial sums in the ofmap SRAM (accumulator width)
====  ===========  ===========  =============================================================
ws    ``M K gc``   ``K N``      ``M N fr`` written, ``M N (fr - 1)`` read back
os    ``M K gc``   ``K N fr``   none: the ``M N`` finished outputs are written once
is    ``M K``      ``K N gc``   ``M N fr`` written, ``M N (fr - 1)`` read back
====  ===========  ===========  =============================================================

(inputs from the ifmap SRAM, weights from the weight SRAM, elements; derived from each
mapping's declared edges: a stationary operand is read once, the operand entering along the
rows once per column group ``gc``, the one entering along the columns once per row fold ``fr``)

PE registers: every MAC reads the stationary value and passes each moving value (and the
partial sum, at accumulator width) through a pipeline register: one write and one read per MAC
for each moving operand and for the partial sum; the stationary register is written once per
value loaded from SRAM (os: the accumulator is read and written every MAC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodse.model.mappings import SpatialMapping


@dataclass(frozen=True)
class ArrayWork:
    """Per (design, GEMM) cycles and accesses (elements) of one spatial mapping."""

    compute_cycles: np.ndarray
    input_reads: np.ndarray  # ifmap SRAM -> array
    weight_reads: np.ndarray  # weight SRAM -> array
    psum_writes: np.ndarray  # array -> ofmap SRAM, accumulator width (ws, is)
    psum_reads: np.ndarray  # ofmap SRAM -> array, accumulator width (ws, is)
    output_writes: np.ndarray  # array -> ofmap SRAM, finished outputs at output width (os)
    register_writes: dict[str, np.ndarray]  # per operand; "output" at accumulator width
    register_reads: dict[str, np.ndarray]
    # distinct elements of each operand the PE registers hold at once (non-systolic entries;
    # the DRAM tiling counts them as on-chip capacity, evodse.model.memory)
    register_held: dict[str, np.ndarray] | None = None


def array_work(
    mapping: SpatialMapping, *, rows, cols, regs, m, n, k, count, pack_groups: bool = True
) -> ArrayWork:
    """Cycles and accesses of ``count`` GEMMs ``[m, k] @ [k, n]`` on ``rows x cols`` arrays.

    All arguments broadcast: ``rows``/``cols``/``regs`` as (N, 1) over designs, GEMM dims as
    (1, G). ``pack_groups=False`` gives SCALE-Sim's mapping (one group after another).
    """
    dims = {"m": m, "n": n, "k": k}
    sr, sc, t = dims[mapping.rows], dims[mapping.cols], dims[mapping.stream]
    fr = np.ceil(sr / rows)
    fc = np.ceil(sc / cols)
    if pack_groups:
        packed = groups_per_fold(mapping, rows=rows, cols=cols, m=m, n=n, k=k, count=count)
    else:
        packed = np.ones(np.broadcast(fr, count).shape)
    gc = np.ceil(fc / regs)
    preload = rows if mapping.preload else 0
    folds = np.ceil(count / packed)
    cycles = folds * fr * (fc * (t + preload) + gc * (rows + cols - 2))
    macs = count * m * n * k
    mk, kn, mn = count * m * k, count * k * n, count * m * n
    zero = 0.0 * cycles
    inputs = _sram_reads(mapping, "input", mk, fr=fr, gc=gc) + zero
    weights = _sram_reads(mapping, "weight", kn, fr=fr, gc=gc) + zero
    if mapping.reduces_in_array:
        psum_writes, psum_reads, outputs = mn * fr, mn * (fr - 1), zero
    else:
        psum_writes, psum_reads, outputs = zero, zero, mn + zero
    every_mac = macs + zero
    reads = {"input": every_mac, "weight": every_mac, "output": every_mac}
    writes = dict(reads)
    if mapping.stationary == "weight":
        writes["weight"] = weights
    elif mapping.stationary == "input":
        writes["input"] = inputs
    return ArrayWork(
        compute_cycles=cycles,
        input_reads=inputs,
        weight_reads=weights,
        psum_writes=psum_writes,
        psum_reads=psum_reads,
        output_writes=outputs,
        register_writes=writes,
        register_reads=reads,
    )


#: The GEMM dimensions of each input operand: ``A[m, k]`` (inputs), ``B[k, n]`` (weights).
_OPERAND_DIMS = {"input": frozenset("mk"), "weight": frozenset("kn")}


def _sram_reads(mapping: SpatialMapping, operand: str, size, *, fr, gc):
    """Elements of an input operand read from its SRAM: once when it is stationary, once per
    column group when it enters along the rows (its dimensions are the streamed one and the
    rows'), once per row fold when it enters along the columns."""
    if mapping.stationary == operand:
        return size
    if _OPERAND_DIMS[operand] == frozenset((mapping.stream, mapping.rows)):
        return size * gc
    return size * fr


def groups_per_fold(mapping: SpatialMapping, *, rows, cols, m, n, k, count) -> np.ndarray:
    """Independent GEMMs packed block-diagonally into one fold (1 when a GEMM's rows or
    columns do not fit the array; at most ``count``)."""
    dims = {"m": m, "n": n, "k": k}
    sr, sc = dims[mapping.rows], dims[mapping.cols]
    across = np.minimum(np.floor(rows / sr), np.floor(cols / sc))  # 0 where a GEMM is too big
    return np.clip(across, 1, count)
