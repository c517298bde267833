"""Lower a network into arrays over its distinct layers (duplicates are evaluated once).

Two layers are the same entry when their shapes are equal *and* they sit in the same place of
the producer-consumer chain (see ``fused_in`` / ``in_linked`` below): whether a tensor crosses
DRAM depends on the neighbours.

Links between layers. A workload is an ordered list, so the edge from a layer to the next is
inferred: layer ``l`` *links* to layer ``l + 1`` when the next layer's primary input has exactly
as many elements as this layer's output (a residual add's second operand, a concat or a branch
that reads an older tensor does not link). ``fused_in[l]`` marks a vector operation that
consumes the output of a GEMM, or of a vector operation itself fused, through such a link: with
``fusion: ops`` it is applied on the GEMM's way out, with no DRAM round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from evodse.workload.network import Network
from evodse.workload.ops import Conv2d, Elementwise, Gemm, MatMul, Norm, Op, Softmax


@dataclass(frozen=True, eq=False)
class LayerTable:
    """Distinct layers of a network at its batch size, GEMM entries first, then vector ones.

    GEMM arrays (shape (G,)) describe one of ``count`` independent GEMMs ``[m, k] @ [k, n]``
    with the batch folded in: weights shared across the batch put it into ``m`` (``images``
    samples); activation-activation products (attention) repeat per sample in ``count``.
    ``a_elems`` is the distinct input elements of one GEMM that some window reads, in
    ``images`` blocks of ``in_rows`` rows of ``a_row_elems`` elements. Vector arrays (shape
    (V,)) hold ops and elements. Link arrays (shape (U,), all entries, 0/1 floats):
    ``in_linked``/``out_linked`` (the input comes from the previous layer, the output goes to
    the next), ``fused_in``/``fused_out`` (the vector op applied on the producer's way out);
    ``link_in_elems`` and ``out_elems`` are the linked input's and the output's elements (whole
    batch). ``slot[l]`` maps layer ``l`` to its entry; ``multiplicity`` counts layers per entry.

    KV cache and operand kinds: ``b_kv`` (G,) marks GEMMs whose B is the KV cache, ``b_act``
    (G,) those whose B is another activation; ``out_kv`` (U,) entries whose output is appended
    to the KV cache; ``kv_cache_elems`` is the whole cache the network reads (all layers, the
    whole batch, elements) and ``has_kv`` whether any entry touches it.

    Mixture of experts (a GEMM with ``experts > 1``): the batch's ``T`` tokens each choose
    ``top_k`` experts; with routing uniform and independent across tokens, the expected number
    of distinct experts chosen is ``E * (1 - (1 - top_k / E) ** T)`` (exactly ``top_k`` for one
    token; every expert once a few dozen tokens are routed). The entry is that many GEMMs
    (``count``, fractional as an expectation), each with its share ``T * top_k / count`` of the
    (token, expert) rows: MACs count the chosen experts, weight traffic the experts touched.

    Conv loop dimensions (ZigZag's names, for the spatial unrollings of
    :mod:`evodse.model.mappings`): ``loops[d]`` (G,) for ``d`` in B K C OX OY FX FY G, with
    ``B * OY * OX = m``, ``K = n``, ``C * FY * FX = k``, ``G = count``. A conv: ``B`` the
    batch, ``C``/``K`` channels per group, ``G`` groups. Any other GEMM is a 1x1 conv with
    ``OY = m`` (tokens x batch), ``OX = B = FX = FY = 1``. ``stride_x``/``stride_y`` (G,): the
    conv's strides (1 for other GEMMs).
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
    in_linked: np.ndarray
    out_linked: np.ndarray
    fused_in: np.ndarray
    fused_out: np.ndarray
    link_in_elems: np.ndarray
    out_elems: np.ndarray
    slot: np.ndarray
    multiplicity: np.ndarray
    macs: np.ndarray  # per entry, whole batch (vector entries: 0)
    b_kv: np.ndarray
    b_act: np.ndarray
    out_kv: np.ndarray
    kv_cache_elems: float | np.ndarray  # per entry (U,) in a joined table (JoinedTables)
    has_kv: bool
    loops: dict[str, np.ndarray]
    stride_x: np.ndarray
    stride_y: np.ndarray
    network_macs: int  # the network's multiply-accumulates, whole batch (``Network.macs``)

    @property
    def n_gemm(self) -> int:
        return len(self.m)

    @property
    def n_shapes(self) -> int:
        return len(self.multiplicity)


def primary_input_elems(op: Op) -> int:
    """Elements per sample of the input a layer may take straight from the previous layer."""
    if isinstance(op, Elementwise):
        return op.elements
    if isinstance(op, Norm):
        return op.elements
    if isinstance(op, Softmax):
        return op.rows * op.row_length
    if isinstance(op, MatMul):
        return op.count * op.m * op.k
    return op.input_elems


def links(ops: tuple[Op, ...]) -> tuple[list[bool], list[bool]]:
    """Per layer: is its input the previous layer's output; is it a vector op fused into a GEMM
    (directly or through a chain of fused vector ops)."""
    linked = [False] * len(ops)
    fused = [False] * len(ops)
    for i in range(1, len(ops)):
        linked[i] = primary_input_elems(ops[i]) == ops[i - 1].output_elems
        producer_on_array = ops[i - 1].gemm() is not None or fused[i - 1]
        fused[i] = linked[i] and ops[i].vector() is not None and producer_on_array
    return linked, fused


#: The tables of the networks last asked for, by object identity (each held, so its id is not
#: reused while it is here): a network asked for again skips hashing its every layer.
_BY_IDENTITY: dict[int, tuple[Network, LayerTable]] = {}
_IDENTITY_SLOTS = 64


def layer_table(network: Network) -> LayerTable:
    """The :class:`LayerTable` of ``network`` (cached per network and batch: networks are
    immutable, and an equal network gives the same table)."""
    held = _BY_IDENTITY.get(id(network))
    if held is not None and held[0] is network:
        return held[1]
    table = _layer_table(network)
    if len(_BY_IDENTITY) >= _IDENTITY_SLOTS:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(network)] = (network, table)
    return table


@lru_cache(maxsize=64)
def _layer_table(network: Network) -> LayerTable:
    ops = network.ops
    linked, fused = links(ops)
    n = len(ops)
    out_linked = [i + 1 < n and linked[i + 1] for i in range(n)]
    fused_out = [i + 1 < n and fused[i + 1] for i in range(n)]
    keys: dict[tuple, int] = {}
    firsts: list[int] = []
    index = []
    for i, op in enumerate(ops):
        key = (op.shape_key(), linked[i], out_linked[i], fused[i], fused_out[i])
        j = keys.setdefault(key, len(keys))
        if j == len(firsts):
            firsts.append(i)
        index.append(j)
    gemm_ids = [j for j, i in enumerate(firsts) if ops[i].gemm() is not None]
    vector_ids = [j for j, i in enumerate(firsts) if ops[i].gemm() is None]
    order = gemm_ids + vector_ids
    position = np.empty(len(firsts), dtype=np.int64)
    position[order] = np.arange(len(order))
    batch = network.batch
    gemms = [ops[firsts[j]].gemm() for j in gemm_ids]
    vectors = [ops[firsts[j]].vector() for j in vector_ids]
    entry_ops = [ops[firsts[j]] for j in order]
    entry_layers = [firsts[j] for j in order]

    def col(values: list) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    images = col([1 if g.b_per_sample else batch for g in gemms])
    slot = position[np.asarray(index, dtype=np.int64)]
    macs = col([g.m * g.n * g.k * g.count * batch for g in gemms] + [0] * len(vectors))
    routed = col([g.experts > 1 for g in gemms]) > 0
    touched = col([experts_touched(g, batch) for g in gemms])  # 1 for dense GEMMs
    rows = col([g.m for g in gemms]) * images / touched  # (token, expert) rows per expert
    multiplicity = np.bincount(slot, minlength=len(firsts)).astype(np.float64)
    kv_elems = sum(
        g.b_elems * g.count * batch * multiplicity[position[j]]
        for j, g in zip(gemm_ids, gemms, strict=True)
        if g.b_kv
    )
    out_kv = col([(op.gemm() or op.vector()).out_kv for op in entry_ops])
    b_kv = col([g.b_kv for g in gemms])
    m = rows
    count = col([g.count * (batch if g.b_per_sample else 1) for g in gemms]) * touched
    convs = [op if isinstance(op, Conv2d) else None for op in entry_ops[: len(gemms)]]
    loops = _loops(
        convs,
        m=m,
        n=col([g.n for g in gemms]),
        k=col([g.k for g in gemms]),
        count=count,
        batch=batch,
    )
    return LayerTable(
        m=m,
        n=col([g.n for g in gemms]),
        k=col([g.k for g in gemms]),
        count=count,
        a_elems=col([g.a_elems for g in gemms]) * images / touched,
        b_elems=col([g.b_elems for g in gemms]),
        images=np.where(routed, 1.0, images),
        out_rows=np.where(routed, rows, col([g.out_rows for g in gemms])),
        out_cols=col([g.out_cols for g in gemms]),
        in_rows=np.where(routed, rows, col([g.in_rows for g in gemms])),
        row_stride=col([g.row_stride for g in gemms]),
        kernel_rows=col([g.kernel_rows for g in gemms]),
        a_row_elems=col([g.a_elems / g.in_rows for g in gemms]),
        vector_ops=col([v.ops * batch for v in vectors]),
        vector_in_elems=col([v.in_elems * batch for v in vectors]),
        vector_out_elems=col([v.out_elems * batch for v in vectors]),
        in_linked=col([linked[i] for i in entry_layers]),
        out_linked=col([out_linked[i] for i in entry_layers]),
        fused_in=col([fused[i] for i in entry_layers]),
        fused_out=col([fused_out[i] for i in entry_layers]),
        link_in_elems=col([primary_input_elems(op) * batch for op in entry_ops]),
        out_elems=col([op.output_elems * batch for op in entry_ops]),
        slot=slot,
        multiplicity=multiplicity,
        macs=macs,
        b_kv=b_kv,
        b_act=col([g.b_per_sample and not g.b_kv for g in gemms]),
        out_kv=out_kv,
        kv_cache_elems=float(kv_elems),
        has_kv=bool(b_kv.any() or out_kv.any()),
        loops=loops,
        stride_x=col([1 if c is None else c.stride_w for c in convs]),
        stride_y=col([1 if c is None else c.stride_h for c in convs]),
        network_macs=network.macs,
    )


def _loops(convs: list[Conv2d | None], *, m, n, k, count, batch: int) -> dict[str, np.ndarray]:
    """The conv loop sizes of every GEMM entry (see :class:`LayerTable`)."""

    def pick(conv_value, other: np.ndarray) -> np.ndarray:
        values = [other[i] if c is None else conv_value(c) for i, c in enumerate(convs)]
        return np.asarray(values, dtype=np.float64)

    one = np.ones(len(convs))
    return {
        "B": pick(lambda c: batch, one),
        "K": n,
        "C": pick(lambda c: c.in_channels // c.groups, k),
        "OX": pick(lambda c: c.out_w, one),
        "OY": pick(lambda c: c.out_h, m),
        "FX": pick(lambda c: c.kernel_w, one),
        "FY": pick(lambda c: c.kernel_h, one),
        "G": count,
    }


def experts_touched(gemm: Gemm, batch: int) -> float:
    """Expected distinct experts a mixture-of-experts GEMM reads for ``batch`` samples (1 for a
    dense GEMM): ``E * (1 - (1 - top_k / E) ** tokens)``, routing uniform and independent."""
    if gemm.experts == 1:
        return 1.0
    tokens = gemm.m * batch / gemm.top_k
    return gemm.experts * (1.0 - (1.0 - gemm.top_k / gemm.experts) ** tokens)


@dataclass(frozen=True, eq=False)
class JoinedTables:
    """Several networks' tables as one (evaluated in one pass), and how to split its results.

    ``table`` holds every network's GEMM entries (network by network), then every network's
    vector entries; its ``kv_cache_elems`` is per entry (U,): each entry's network's cache.
    Results come out per network side by side: network ``i``'s entries are the columns
    ``columns[i]`` of the output (its GEMM entries, then its vector ones, as in its own table);
    ``gemm_moves`` and ``vector_moves`` are (output columns, columns of the GEMM or vector
    part of ``table``) pairs of slices that place them there."""

    table: LayerTable
    parts: tuple[LayerTable, ...]
    columns: tuple[slice, ...]
    gemm_moves: tuple[tuple[slice, slice], ...]
    vector_moves: tuple[tuple[slice, slice], ...]


_JOINED: dict[tuple[int, ...], tuple[tuple[Network, ...], JoinedTables]] = {}


def joined_tables(networks: tuple[Network, ...]) -> JoinedTables:
    """The :class:`JoinedTables` of ``networks`` (cached by their identities, held; one
    network's is its own table)."""
    ids = tuple(id(net) for net in networks)
    held = _JOINED.get(ids)
    if held is not None and all(a is b for a, b in zip(held[0], networks, strict=True)):
        return held[1]
    joined = _join([layer_table(net) for net in networks])
    if len(_JOINED) >= _IDENTITY_SLOTS:
        _JOINED.clear()
    _JOINED[ids] = (tuple(networks), joined)
    return joined


#: Per-part fields of :class:`LayerTable` (GEMM ones (G,), vector ones (V,)), and fields over
#: every entry ((U,): GEMM entries first), as a joined table puts them side by side.
_PART_FIELDS = (
    "m",
    "n",
    "k",
    "count",
    "a_elems",
    "b_elems",
    "images",
    "out_rows",
    "out_cols",
    "in_rows",
    "row_stride",
    "kernel_rows",
    "a_row_elems",
    "b_kv",
    "b_act",
    "stride_x",
    "stride_y",
    "vector_ops",
    "vector_in_elems",
    "vector_out_elems",
)
_ENTRY_FIELDS = (
    "in_linked",
    "out_linked",
    "fused_in",
    "fused_out",
    "link_in_elems",
    "out_elems",
    "multiplicity",
    "macs",
    "out_kv",
)


def _join(parts: list[LayerTable]) -> JoinedTables:
    """The tables ``parts`` as one: every GEMM entry (part by part), then every vector one."""
    gemm_sizes = [p.n_gemm for p in parts]
    vector_sizes = [p.n_shapes - p.n_gemm for p in parts]
    g_total = sum(gemm_sizes)
    columns, gemm_moves, vector_moves = [], [], []
    out = g_in = v_in = 0
    to_joined = []  # each part's entries, renumbered to the joined table's
    for g, v in zip(gemm_sizes, vector_sizes, strict=True):
        columns.append(slice(out, out + g + v))
        gemm_moves.append((slice(out, out + g), slice(g_in, g_in + g)))
        vector_moves.append((slice(out + g, out + g + v), slice(v_in, v_in + v)))
        to_joined.append(np.r_[g_in : g_in + g, g_total + v_in : g_total + v_in + v])
        out, g_in, v_in = out + g + v, g_in + g, v_in + v
    table = parts[0]
    if len(parts) > 1:

        def entries(values: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(
                [v[: p.n_gemm] for v, p in zip(values, parts, strict=True)]
                + [v[p.n_gemm :] for v, p in zip(values, parts, strict=True)]
            )

        table = LayerTable(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in _PART_FIELDS},
            **{name: entries([getattr(p, name) for p in parts]) for name in _ENTRY_FIELDS},
            slot=np.concatenate([j[p.slot] for j, p in zip(to_joined, parts, strict=True)]),
            kv_cache_elems=entries([np.full(p.n_shapes, p.kv_cache_elems) for p in parts]),
            has_kv=any(p.has_kv for p in parts),
            loops={d: np.concatenate([p.loops[d] for p in parts]) for d in parts[0].loops},
            network_macs=sum(p.network_macs for p in parts),
        )
    return JoinedTables(
        table=table,
        parts=tuple(parts),
        columns=tuple(columns),
        gemm_moves=tuple(gemm_moves),
        vector_moves=tuple(vector_moves),
    )
