"""DRAM traffic of a GEMM tiled into the three on-chip buffers.

The ``m x n`` output is cut into ``Tm x Tn`` tiles that stay in the ofmap buffer while the whole
reduction ``K`` streams through (so partial sums never go to DRAM); outputs are written once.
What the tiling decides is how often A (inputs) and B (weights) are read from DRAM. Three loop
orders are costed in closed form and the cheapest feasible one is kept:

* **weights resident**: for each ``Tn``-wide slice of B (``K * Tn`` elements in the weight
  buffer), stream all of A. B is read once; A is read ``ceil(N / Tn)`` times unless it fits in
  the ifmap buffer. Needs one column of B (``K`` elements) to fit.
* **inputs resident**: for each band of output rows whose input rows (with the conv halo) fit in
  the ifmap buffer, stream all of B. A is read once (plus halo rows read twice); B is read
  ``ceil(M / Tm)`` times unless it fits in the weight buffer. Needs one output row's input rows
  to fit.
* **outputs resident**: ``Tm * Tn`` fills the ofmap buffer, both A and B stream, A read
  ``ceil(N / Tn)`` and B ``ceil(M / Tm)`` times; ``Tn = sqrt(Ob * |A| * N / (|B| * M))``
  minimizes ``|A| N / Tn + |B| M / Tm`` under ``Tm * Tn = Ob``. Always feasible.

Capacities are in elements of the *usable* half of each double-buffered SRAM (ping-pong: one
half computes while the other fills or drains), so transfers overlap compute; an operand that
fits whole in its SRAM stays resident in all of it (loaded once, before compute: the prologue).
A single-buffered SRAM (``sram_buffering: single``) is usable whole (``resident`` = 1: the
usable part is all of it); its transfers do not overlap compute (:mod:`evodse.model.evaluate`).

**PE registers** (broadcast and row-stationary unrollings, ``register_elems``): the registers
of the array are storage too. ``H_o`` (elements) is the *distinct* data of operand ``o`` they
hold at once, :func:`evodse.model.spatial.spatial_work`'s ``register_held``:
``H_o = P_o * prod(a_d, d relevant to o)`` for ``P_o`` registers per PE and ``a_d`` PEs a fold
of loop ``d`` keeps busy (inputs: divided by the diagonal reuse), i.e. one copy per group of
PEs the operand is multicast to (Eyeriss's 168 x 224-word filter scratchpads hold 75 KB of
words, but a filter row is replicated along its array row: 11 x 224 distinct words on AlexNet
CONV1). A processing pass keeps its share of the tile there while the other operands stream
(Chen et al., ISCA 2016, Sec. V: the mapper sizes each pass so that the filters, ifmap rows
and partial sums it holds fit the scratchpads and the global buffer; JSSC 2017, Sec. III).
Registers are not double-buffered, so the tiling's capacity for ``o`` is ``S_o + H_o``, or
``2 S_o + H_o`` when the operand fits whole in it (``S_o``: the SRAM's usable half). Systolic
arrays (``register_elems`` None) keep their SRAM-only capacities.
Units: elements per GEMM; the caller multiplies by bytes per element and by the GEMM count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodse.model.layers import LayerTable


@dataclass(frozen=True)
class Traffic:
    """DRAM elements moved per GEMM (shape (N, G)) for inputs, weights and outputs."""

    a_elems: np.ndarray
    b_elems: np.ndarray
    out_elems: np.ndarray


def _halo(t: LayerTable, tm: np.ndarray) -> np.ndarray:
    """Input re-read factor (>= 1) when A is cut into bands of ``tm`` output pixels."""
    per_image = t.out_rows * t.out_cols
    te = np.clip(np.floor(tm / t.out_cols), 1, t.out_rows)  # whole output rows per band
    bands = np.ceil(t.out_rows / te)
    # each band reads (its rows - 1) * stride + kernel_rows input rows; bands overlap by halo
    rows_read = (t.out_rows - bands) * t.row_stride + bands * t.kernel_rows
    banded = np.minimum(rows_read, bands * t.in_rows) / t.in_rows
    return np.where(tm >= per_image, 1.0, np.maximum(1.0, banded))


def _capacity(whole, half, held, resident):
    """On-chip elements for one operand: the SRAM's usable ``half`` (all of it, ``resident *
    half``, when the operand fits whole: loaded once) plus ``held`` in the PE registers (not
    double-buffered)."""
    if held is None:
        return np.where(whole <= resident * half, resident * half, half)
    return np.where(whole <= resident * half + held, resident * half + held, half + held)


def dram_traffic(
    t: LayerTable,
    *,
    ifmap_elems,
    weight_elems,
    ofmap_elems,
    register_elems: dict[str, np.ndarray] | None = None,
    resident=2.0,
) -> Traffic:
    """Minimum DRAM traffic over the three loop orders; capacities broadcast as (N, 1).
    ``register_elems``: distinct elements per operand (``input``, ``weight``, ``output``) the
    PE registers hold, (N, G), added to the SRAMs' capacities (None: systolic, SRAMs only).
    ``resident``: a whole SRAM over its usable part (2 double-buffered, 1 single-buffered; (N,
    1) or a scalar)."""
    m, n, k = t.m, t.n, t.k
    a, b = t.a_elems, t.b_elems
    held = register_elems or {}
    ifmap_elems = _capacity(a, ifmap_elems, held.get("input"), resident)
    weight_elems = _capacity(b, weight_elems, held.get("weight"), resident)
    ofmap_elems = _capacity(m * n, ofmap_elems, held.get("output"), resident)
    a_fits = a <= ifmap_elems
    b_fits = b <= weight_elems

    # weights resident
    tn = np.minimum(np.minimum(n, np.floor(weight_elems / k)), np.floor(ofmap_elems))
    ok_w = tn >= 1
    a_w = a * np.where(a_fits, 1.0, np.ceil(n / np.maximum(tn, 1)))
    cost_w = np.where(ok_w, a_w + b, np.inf)

    # inputs resident: output rows whose input rows fit, or whole images
    rows_fit = np.floor(ifmap_elems / t.a_row_elems)
    te = np.minimum(np.floor((rows_fit - t.kernel_rows) / t.row_stride) + 1, t.out_rows)
    images_fit = np.minimum(np.floor(ifmap_elems / (a / t.images)), t.images)
    tm_i = np.where(images_fit >= 1, images_fit * t.out_rows * t.out_cols, te * t.out_cols)
    tm_i = np.minimum(np.minimum(tm_i, m), np.floor(ofmap_elems))
    ok_i = tm_i >= 1
    tm_i = np.maximum(tm_i, 1)
    a_i = a * _halo(t, tm_i)
    b_i = b * np.where(b_fits, 1.0, np.ceil(m / tm_i))
    cost_i = np.where(ok_i, a_i + b_i, np.inf)

    # outputs resident, both operands streamed
    ratio = ofmap_elems * a * n / (b * m)
    tn_o = np.clip(np.round(np.sqrt(ratio)), 1, n)
    tm_o = np.clip(np.floor(ofmap_elems / tn_o), 1, m)
    a_o = a * np.where(a_fits, 1.0, np.ceil(n / tn_o) * _halo(t, tm_o))
    b_o = b * np.where(b_fits, 1.0, np.ceil(m / tm_o))
    cost_o = a_o + b_o

    best = np.argmin(np.stack([cost_w, cost_i, cost_o]), axis=0)
    a_sel = np.choose(best, [a_w, a_i, a_o])
    b_sel = np.choose(best, [np.broadcast_to(b, a_w.shape), b_i, b_o])
    return Traffic(a_elems=a_sel, b_elems=b_sel, out_elems=np.broadcast_to(m * n, a_sel.shape))
