"""Lower a network into arrays over its distinct layer shapes (duplicates are evaluated once)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from evodse.workload.network import Network


@dataclass(frozen=True, eq=False)
class LayerTable:
    """Distinct shapes of a network at its batch size, GEMM shapes first, then vector ones.

    GEMM arrays (shape (G,)) describe one of ``count`` independent GEMMs ``[m, k] @ [k, n]``
    with the batch folded in: weights shared across the batch put it into ``m`` (``images``
    samples); activation-activation products (attention) repeat per sample in ``count``.
    ``a_elems`` is the distinct input elements of one GEMM, in ``images`` blocks of ``in_rows``
    rows of ``a_row_elems`` elements. Vector arrays (shape (V,)) hold ops and DRAM elements.
    ``slot[l]`` maps layer ``l`` to its distinct shape; ``multiplicity`` counts layers per shape.
    """

    m: np.ndarray
    n: np.ndarray
    k: np.ndarray
    count: np.ndarray
    a_elems: np.ndarray
    b_elems: np.ndarray
    images: np.ndarray
    out_rows: np.ndarray
    out_cols: np.ndarray
    in_rows: np.ndarray
    row_stride: np.ndarray
    kernel_rows: np.ndarray
    a_row_elems: np.ndarray
    vector_ops: np.ndarray
    vector_in_elems: np.ndarray
    vector_out_elems: np.ndarray
    slot: np.ndarray
    multiplicity: np.ndarray
    macs: np.ndarray  # per distinct shape, whole batch (vector shapes: 0)

    @property
    def n_gemm(self) -> int:
        return len(self.m)

    @property
    def n_shapes(self) -> int:
        return len(self.multiplicity)


@lru_cache(maxsize=64)
def layer_table(network: Network) -> LayerTable:
    """The :class:`LayerTable` of ``network`` (cached per network and batch)."""
    shapes, index = network.unique_shapes()
    gemm_ids = [i for i, op in enumerate(shapes) if op.gemm() is not None]
    vector_ids = [i for i, op in enumerate(shapes) if op.gemm() is None]
    order = gemm_ids + vector_ids
    position = np.empty(len(shapes), dtype=np.int64)
    position[order] = np.arange(len(order))
    batch = network.batch
    gemms = [shapes[i].gemm() for i in gemm_ids]
    vectors = [shapes[i].vector() for i in vector_ids]

    def col(values: list) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    images = col([1 if g.b_per_sample else batch for g in gemms])
    slot = position[np.asarray(index, dtype=np.int64)]
    macs = col([g.m * g.n * g.k * g.count * batch for g in gemms] + [0] * len(vectors))
    return LayerTable(
        m=col([g.m for g in gemms]) * images,
        n=col([g.n for g in gemms]),
        k=col([g.k for g in gemms]),
        count=col([g.count * (batch if g.b_per_sample else 1) for g in gemms]),
        a_elems=col([g.a_elems for g in gemms]) * images,
        b_elems=col([g.b_elems for g in gemms]),
        images=images,
        out_rows=col([g.out_rows for g in gemms]),
        out_cols=col([g.out_cols for g in gemms]),
        in_rows=col([g.in_rows for g in gemms]),
        row_stride=col([g.row_stride for g in gemms]),
        kernel_rows=col([g.kernel_rows for g in gemms]),
        a_row_elems=col([g.a_elems / g.in_rows for g in gemms]),
        vector_ops=col([v.ops * batch for v in vectors]),
        vector_in_elems=col([v.in_elems * batch for v in vectors]),
        vector_out_elems=col([v.out_elems * batch for v in vectors]),
        slot=slot,
        multiplicity=np.bincount(slot, minlength=len(shapes)).astype(np.float64),
        macs=macs,
    )
