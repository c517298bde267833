"""Systolic-array compute cycles and on-chip buffer accesses per dataflow.

A GEMM ``out[M, N] = A[M, K] @ B[K, N]`` maps onto an ``R x C`` array as in SCALE-Sim
(Samajdar et al., ISPASS 2020, Sec. III; details in docs/scalesim_conventions.md):

====  ======================  ================================  =========================
flow  rows (Sr)               columns (Sc)                      streamed (T)
====  ======================  ================================  =========================
os    M (output pixels)       N (filters)                       K (window R*S*C)
ws    K (window)              N (filters)                       M (output pixels)
is    K (window)              M (output pixels)                 N (filters)
====  ======================  ================================  =========================

The operands are cut into ``ceil(Sr / R) * ceil(Sc / C)`` folds run one after another. A fold
takes (unit: cycles) ``T + R + C - 2`` for os (the ``T`` streamed steps plus the skewed fill
and drain across the array) and ``2R + C + T - 2`` for ws and is (plus ``R`` cycles to preload
the stationary operand). The array's size, not the fold's, sets the pipeline depth, so edge folds
pay the full fill and drain while using part of the array: that is the edge under-utilization.
Independent GEMMs (conv groups, attention heads) run one after another, so a depthwise conv uses
one array column. These are SCALE-Sim 3.0.0's cycle counts (``systolic_compute_{os,ws,is}.py``),
which it reports one lower per layer (a 0-based last-cycle index); see
docs/scalesim_conventions.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: dataflow code -> (rows operand, columns operand, streamed operand) among "m", "n", "k"
MAPPING = {0: ("k", "n", "m"), 1: ("m", "n", "k"), 2: ("k", "m", "n")}  # ws, os, is


@dataclass(frozen=True)
class ArrayWork:
    """Per (design, GEMM) cycles and buffer accesses (elements) for one dataflow."""

    compute_cycles: np.ndarray
    ifmap_reads: np.ndarray
    weight_reads: np.ndarray
    psum_writes: np.ndarray  # partial sums written to the ofmap buffer (accumulator width)
    psum_reads: np.ndarray  # partial sums read back for accumulation (accumulator width)


def array_work(code: int, *, rows, cols, m, n, k, count) -> ArrayWork:
    """Cycles and SRAM reads of ``count`` GEMMs on an ``rows x cols`` array, one dataflow.

    All arguments broadcast: ``rows``/``cols`` as (N, 1) over designs, GEMM dims as (1, G).
    Buffer reads count elements moved from each SRAM into the array (SCALE-Sim's SRAM reads):
    a stationary operand is read once per fold that holds it; a streamed one once per fold
    column/row it passes through.
    """
    dims = {"m": m, "n": n, "k": k}
    sr, sc, t = (dims[d] for d in MAPPING[code])
    row_folds = np.ceil(sr / rows)
    col_folds = np.ceil(sc / cols)
    preload = 0 if code == 1 else rows  # ws/is load the stationary operand first
    cycles = count * row_folds * col_folds * (t + preload + rows + cols - 2)
    mk, kn, mn = m * k, k * n, m * n
    if code == 1:  # os: both inputs streamed, sums accumulate in the PEs
        ifmap, weight = mk * np.ceil(n / cols), kn * np.ceil(m / rows)
        psum_writes, psum_reads = 0 * mn, 0 * mn
    elif code == 0:  # ws: weights preloaded once, inputs streamed per column fold
        ifmap, weight = mk * np.ceil(n / cols), kn
        psum_writes, psum_reads = mn * np.ceil(k / rows), mn * (np.ceil(k / rows) - 1)
    else:  # is: inputs preloaded once, weights streamed per column fold
        ifmap, weight = mk, kn * np.ceil(m / cols)
        psum_writes, psum_reads = mn * np.ceil(k / rows), mn * (np.ceil(k / rows) - 1)
    return ArrayWork(
        compute_cycles=cycles,
        ifmap_reads=count * ifmap,
        weight_reads=count * weight,
        psum_writes=count * psum_writes,
        psum_reads=count * psum_reads,
    )
