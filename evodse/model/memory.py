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

**Output stationary** (the systolic ``os``, ``fold`` given): the array finishes the outputs of
one fold (``Rf x Cf``: ``R`` rows of ``M`` by ``C * P`` columns of ``N``, ``P`` stationary
registers per PE) only when the whole reduction ``K`` of that fold streams through it before
the next fold starts (SCALE-Sim's os fold order, ``systolic_compute_os.py``). A tile of several
folds is therefore either computed **fold by fold** (outputs final at the output width, no
partial-sum traffic; an operand is reused across the tile's folds only when its SRAM holds the
whole-``K`` band a fold needs) or **accumulated**: ``K`` streams in chunks through every fold
of the tile and the partial sums wait in the ofmap SRAM at the accumulator width between chunks
(ZigZag 3.9.1's LOMA schedules both; docs/validation.md, the ZigZag backend). Per order:

* weights resident, fold by fold: the ``R x K`` band of A (elements, im2col view, at most
  ``|A|``) is reused across the slice's ``Tn / Cf`` column folds when it fits the ifmap
  buffer, else read once per column fold: A read ``ceil(N / Tn)`` or ``ceil(N / min(Tn, Cf))``
  times.
* inputs resident, fold by fold: the ``K x Cf`` band of B is reused across the band's
  ``Tm / Rf`` row folds when it fits the weight buffer, else read once per row fold: B read
  ``ceil(M / Tm)`` or ``ceil(M / min(Tm, Rf))`` times.
* folds streamed: one fold at a time, each fold's whole-``K`` bands from DRAM: rows outer
  (A's ``R x K`` band, if it fits, serves the row's column folds: A read once, else
  ``ceil(N / Cf)`` times; B read ``ceil(M / Rf)`` times) or columns outer (the same with the
  roles swapped), the cheaper; A with the halo of ``Rf``-pixel bands. No tile at all: this is
  the order ZigZag's latency-optimal mapping takes when partial sums would spill.
* outputs resident, accumulated: ``Tm * Tn`` fills the ofmap buffer **at the accumulator
  width** (``Ob_acc`` elements; ``Tn`` as above with ``Ob_acc``); ``K`` streams in chunks of
  ``kc = min(K, floor(I / Tm), floor(W / Tn))`` (the chunk of A and of B the ifmap and weight
  buffers hold; ``K`` for an operand that fits whole), ``nk = ceil(K / kc)`` chunks; a tile of
  more than one fold writes ``M N (nk - 1)`` partial sums to the ofmap SRAM and reads as many
  back (``psum_elems``; a one-fold tile accumulates in the PEs: 0). The tile fits its buffer,
  so partial sums never spill to DRAM.

The cheapest is the fewest DRAM elements (A + B) over the four; ties go to the earlier order
(weights, inputs, folds, outputs: no partial-sum traffic first).
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
    # partial sums written to the ofmap SRAM (as many read back), accumulator width (os only)
    psum_elems: np.ndarray | float = 0.0


@dataclass(frozen=True)
class OutputFold:
    """An output-stationary array's fold, (N, 1) each: ``rows`` (of M) and ``cols`` (of N)
    outputs the PEs finish at once, and ``psum_elems``, the ofmap buffer's usable elements at
    the accumulator width."""

    rows: np.ndarray
    cols: np.ndarray
    psum_elems: np.ndarray


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
    fold: OutputFold | None = None,
) -> Traffic:
    """Minimum DRAM traffic over the three loop orders; capacities broadcast as (N, 1).
    ``register_elems``: distinct elements per operand (``input``, ``weight``, ``output``) the
    PE registers hold, (N, G), added to the SRAMs' capacities (None: systolic, SRAMs only).
    ``resident``: a whole SRAM over its usable part (2 double-buffered, 1 single-buffered; (N,
    1) or a scalar). ``fold``: the entries run output stationary (module docstring)."""
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
    tn = np.maximum(tn, 1)
    if fold is not None:  # fold by fold: the R x K band of A reused across column folds
        band_a = np.minimum(fold.rows * k, a) <= ifmap_elems
        tn = np.where(band_a, tn, np.minimum(tn, fold.cols))
    a_w = a * np.where(a_fits, 1.0, np.ceil(n / tn))
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
    if fold is not None:  # fold by fold: the K x Cf band of B reused across row folds
        band_b = np.minimum(k * fold.cols, b) <= weight_elems
        b_i = b * np.where(
            b_fits, 1.0, np.ceil(m / np.where(band_b, tm_i, np.minimum(tm_i, fold.rows)))
        )
    else:
        b_i = b * np.where(b_fits, 1.0, np.ceil(m / tm_i))
    cost_i = np.where(ok_i, a_i + b_i, np.inf)

    # outputs resident, both operands streamed (os: partial sums at the accumulator width)
    if fold is not None:
        ofmap_elems = _capacity(m * n, fold.psum_elems, held.get("output"), resident)
    ratio = ofmap_elems * a * n / (b * m)
    tn_o = np.clip(np.round(np.sqrt(ratio)), 1, n)
    tm_o = np.clip(np.floor(ofmap_elems / tn_o), 1, m)
    a_o = a * np.where(a_fits, 1.0, np.ceil(n / tn_o) * _halo(t, tm_o))
    b_o = b * np.where(b_fits, 1.0, np.ceil(m / tm_o))
    cost_o = a_o + b_o

    if fold is None:
        best = np.argmin(np.stack([cost_w, cost_i, cost_o]), axis=0)
        a_sel = np.choose(best, [a_w, a_i, a_o])
        b_sel = np.choose(best, [np.broadcast_to(b, a_w.shape), b_i, b_o])
        return Traffic(a_elems=a_sel, b_elems=b_sel, out_elems=np.broadcast_to(m * n, a_sel.shape))

    # os, folds streamed: each fold's A band (with its halo) and B band come from DRAM; the
    # band of the outer loop's operand serves the inner folds when it fits its buffer
    a_fold = a * _halo(t, fold.rows)
    a_per_col = np.where(a_fits, a, a_fold * np.ceil(n / fold.cols))
    b_per_row = np.where(b_fits, b, b * np.ceil(m / fold.rows))
    a_rows_outer = np.where(a_fits, a, np.where(band_a, a_fold, a_per_col))  # rows outer
    b_cols_outer = np.where(b_fits, b, np.where(band_b, b, b_per_row))  # columns outer
    rows_outer = a_rows_outer + b_per_row <= a_per_col + b_cols_outer
    a_f = np.where(rows_outer, a_rows_outer, a_per_col)
    b_f = np.where(rows_outer, b_per_row, b_cols_outer)

    # os, outputs resident and accumulated: chunks of K the ifmap and weight buffers hold for
    # the tile (all of K for an operand that fits whole)
    kc_a = np.where(a_fits, k, np.floor(ifmap_elems / tm_o))
    kc_b = np.where(b_fits, k, np.floor(weight_elems / tn_o))
    chunks = np.ceil(k / np.clip(np.minimum(kc_a, kc_b), 1, k))
    several = (tm_o > fold.rows) | (tn_o > fold.cols)
    psum_o = np.where(several, m * n * (chunks - 1), 0.0)

    best = np.argmin(np.stack([cost_w, cost_i, a_f + b_f, cost_o]), axis=0)
    a_sel = np.choose(best, [a_w, a_i, a_f, a_o])
    b_sel = np.choose(best, [np.broadcast_to(b, a_w.shape), b_i, b_f, b_o])
    return Traffic(
        a_elems=a_sel,
        b_elems=b_sel,
        out_elems=np.broadcast_to(m * n, a_sel.shape),
        psum_elems=np.where(best == 3, psum_o, 0.0),
    )
