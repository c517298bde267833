"""Spatial unrollings of the PE array, as a registry of named entries (``dataflow`` names).

Loop dimensions (ZigZag's names; Mei et al., IEEE TC 2021): ``B`` batch, ``K`` output
channels, ``C`` input channels (per group), ``OX``/``OY`` output width/height, ``FX``/``FY``
kernel width/height, ``G`` groups. A GEMM ``out[M, N] = A[M, K] @ B[K, N]`` (linear layers,
attention) is a 1x1 conv with ``OY = M`` (tokens x batch), ``OX = 1``, ``C = K``, ``K = N`` and
``G`` = heads or count (:mod:`evodse.model.layers`).

Each entry assigns loops to the array's two edges (rows = ``pe_rows``, cols = ``pe_cols``).
An :class:`Unroll` has a size that is

* an integer (fixed: the Edge TPU's ``OY 4``),
* ``"fit"``: the loop's own size, at most what is left of the edge (row-stationary ``FY``), or
* ``"rest"``: what is left of the edge after every other size on it, ``floor(edge / product)``
  (at most one per edge; NVDLA's ``C rest`` x ``K rest``).

Fixed and ``fit`` sizes are taken in the order listed, each capped at the room left on the
edge (so a 2-row array holds ``OY 2`` of a declared ``OY 4``). A loop unrolled beyond its size
wastes those PEs (ZigZag's semantics); nothing is substituted (a depthwise layer on ``nvdla``,
``C = 1``, uses one row).

Which operands an unrolling multicasts and which it reduces follows from loop relevance
(:data:`RELEVANT`): an operand is *multicast* when a loop irrelevant to it is unrolled (inputs
over ``K``; weights over ``B``, ``OX``, ``OY``), outputs are *spatially reduced* when ``C``,
``FX`` or ``FY`` is unrolled (:func:`spatial_roles`). Inputs are also partly relevant to
``OX``/``FX`` and ``OY``/``FY`` together: unrolling both (the row-stationary ``FY`` x ``OY``)
reuses an input row diagonally (Chen et al., ISCA 2016, Sec. IV.B).

Kinds: ``systolic`` (SCALE-Sim's ws / os / is: operands move between neighbouring PEs with a
skewed fill and drain; their cycles and counts are :mod:`evodse.model.compute`'s, unchanged),
``broadcast`` (multicast buses and adder trees: NVDLA, Edge TPU, Ascend, Tesla, Meta) and
``row_stationary`` (Eyeriss: filter rows multicast along array rows, input rows diagonally,
partial sums accumulated up the columns). Non-systolic entries declare a ``temporal_order``
(innermost loop first) that decides which operand the PE registers keep
(:mod:`evodse.model.spatial`).

========  ==============  ===========================  ======================  ==================
name      kind            rows                         cols                    source
========  ==============  ===========================  ======================  ==================
ws        systolic        C FY FX (GEMM K)             K (GEMM N)              SCALE-Sim
os        systolic        B OY OX (GEMM M)             K (GEMM N)              SCALE-Sim
is        systolic        C FY FX (GEMM K)             B OY OX (GEMM M)        SCALE-Sim
nvdla     broadcast       C rest                       K rest                  NVDLA CMAC
rs        row_stationary  FY fit, C rest               OY fit, K rest          Eyeriss
edge_tpu  broadcast       C rest, OY 4                 K rest, OX 4            ZigZag edge_tpu
ascend    broadcast       C rest, OY 2                 K rest, OX 2            ZigZag ascend
tesla     broadcast       OX 8, OY rest                K rest                  ZigZag tesla_npu
meta      broadcast       C 2, OX 4, OY rest           K rest                  ZigZag meta_proto
========  ==============  ===========================  ======================  ==================

On a 32 x 32 array edge_tpu, ascend, tesla and meta reproduce ZigZag 3.9.1's shipped spatial
mappings (K8 C8 OX4 OY4, K16 C16 OX2 OY2, K32 OX8 OY4, K32 C2 OX4 OY4). ``auto`` chooses, per
layer, among the ``systolic`` entries (:data:`AUTO_CHOICES`).

Systolic entries also carry a :class:`SpatialMapping` in GEMM terms (derived from their loops):
one GEMM dimension along the rows, one along the columns, the third streamed in time; the
operand whose loops are all on the array is held in the PEs (stationary). ``preload`` is true
where the stationary operand is loaded before streaming (``R`` cycles per fold);
``reduces_in_array`` where partial sums flow through the array and leave it once per row fold
(ws, is); os keeps them in the PEs until the output is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evodse.hardware.template import DATAFLOWS

LOOPS = ("B", "K", "C", "OX", "OY", "FX", "FY", "G")
#: The loops each operand's index depends on (inputs: through IX = OX + FX, IY = OY + FY).
RELEVANT: dict[str, frozenset[str]] = {
    "input": frozenset({"B", "C", "OX", "OY", "FX", "FY", "G"}),
    "weight": frozenset({"K", "C", "FX", "FY", "G"}),
    "output": frozenset({"B", "K", "OX", "OY", "G"}),
}
OPERANDS = tuple(RELEVANT)
#: The loops of each GEMM dimension (a GEMM as a conv).
GEMM_LOOPS = {"m": ("B", "OY", "OX"), "n": ("K",), "k": ("C", "FY", "FX")}
Kind = Literal["systolic", "broadcast", "row_stationary"]


@dataclass(frozen=True)
class SpatialMapping:
    """A systolic entry in GEMM terms: which dimension sits on the rows, the columns, in time."""

    name: str
    rows: str  # one of "m", "n", "k"
    cols: str
    stream: str
    stationary: str  # operand held in the PEs: "input", "weight" or "output"
    preload: bool
    reduces_in_array: bool


@dataclass(frozen=True)
class Unroll:
    """One loop on one array edge: a fixed size, ``"fit"`` (the loop's size) or ``"rest"``."""

    loop: str
    size: int | Literal["fit", "rest"]

    def __post_init__(self) -> None:
        assert self.loop in LOOPS, self.loop
        assert self.size in ("fit", "rest") or (isinstance(self.size, int) and self.size >= 1)


@dataclass(frozen=True)
class Unrolling:
    """A named spatial unrolling: the loops on the rows and the columns, the kind of array,
    and (non-systolic kinds) the temporal loop order, innermost first, and the pipeline
    cycles a layer adds to its temporal iterations (fill and drain of the operand and
    accumulator registers, once per layer)."""

    name: str
    kind: Kind
    rows: tuple[Unroll, ...]
    cols: tuple[Unroll, ...]
    source: str
    temporal_order: tuple[str, ...] = LOOPS
    pipeline_cycles: int = 0

    def __post_init__(self) -> None:
        for edge in (self.rows, self.cols):
            assert sum(u.size == "rest" for u in edge) <= 1, f"{self.name}: one rest per edge"
        assert sorted(self.temporal_order) == sorted(LOOPS), self.name

    @property
    def unrolled(self) -> frozenset[str]:
        return frozenset(u.loop for u in (*self.rows, *self.cols))

    @property
    def reduction(self) -> Literal["tree", "chain"]:
        """How spatially reduced partial sums are added: an adder tree (one register write per
        output per cycle) or PE to PE (every PE writes its partial sum)."""
        return "tree" if self.kind == "broadcast" else "chain"

    def mapping(self) -> SpatialMapping:
        """The GEMM view of a systolic entry."""
        assert self.kind == "systolic", self.name
        dims = {
            edge: next(d for d, loops in GEMM_LOOPS.items() if loops[0] == units[0].loop)
            for edge, units in (("rows", self.rows), ("cols", self.cols))
        }
        stream = next(d for d in GEMM_LOOPS if d not in dims.values())
        stationary = next(op for op in OPERANDS if not RELEVANT[op] & frozenset(GEMM_LOOPS[stream]))
        reduces = bool(self.unrolled - RELEVANT["output"])
        return SpatialMapping(
            name=self.name,
            rows=dims["rows"],
            cols=dims["cols"],
            stream=stream,
            stationary=stationary,
            preload=stationary != "output",
            reduces_in_array=reduces,
        )


def spatial_roles(unrolling: Unrolling) -> dict[str, str]:
    """Per operand, what the array does to it: ``multicast`` (inputs, weights), ``reduced``
    (outputs), ``unicast`` or ``kept`` (outputs not reduced: accumulated in place), from the
    unrolled loops irrelevant to each operand."""
    roles = {}
    for op in OPERANDS:
        irrelevant = unrolling.unrolled - RELEVANT[op]
        if op == "output":
            roles[op] = "reduced" if irrelevant else "kept"
        else:
            roles[op] = "multicast" if irrelevant else "unicast"
    return roles


def _gemm_edge(dim: str) -> tuple[Unroll, ...]:
    return tuple(Unroll(loop, "fit") for loop in GEMM_LOOPS[dim])


def _rest(loop: str) -> Unroll:
    return Unroll(loop, "rest")


#: Weight-stationary broadcast arrays stream output pixels innermost (NVDLA: a weight block
#: stays in the CMAC while a stripe of pixels passes; Edge TPU, Ascend likewise in ZigZag's
#: shipped mappings); output-stationary ones (Tesla, Meta) reduce innermost.
_PIXELS_INNER = ("OX", "OY", "B", "FX", "FY", "C", "K", "G")
_REDUCTION_INNER = ("FX", "FY", "C", "OX", "OY", "B", "K", "G")
_BROADCAST_PIPELINE = 2  # one cycle to latch the multicast operands, one to register the sum

UNROLLINGS: dict[str, Unrolling] = {
    u.name: u
    for u in (
        Unrolling("ws", "systolic", _gemm_edge("k"), _gemm_edge("n"), "SCALE-Sim"),
        Unrolling("os", "systolic", _gemm_edge("m"), _gemm_edge("n"), "SCALE-Sim"),
        Unrolling("is", "systolic", _gemm_edge("k"), _gemm_edge("m"), "SCALE-Sim"),
        Unrolling(
            "nvdla",
            "broadcast",
            (_rest("C"),),
            (_rest("K"),),
            "NVDLA CMAC: atomic-C x atomic-K MACs (nvdla.org hw/v1/ias/unit_description)",
            _PIXELS_INNER,
            _BROADCAST_PIPELINE,
        ),
        Unrolling(
            "rs",
            "row_stationary",
            (Unroll("FY", "fit"), _rest("C")),
            (Unroll("OY", "fit"), _rest("K")),
            "Eyeriss row-stationary (Chen et al., ISCA 2016 Sec. IV; JSSC 2017 Sec. III)",
            # a PE runs 1-D convolutions: a filter row (FX) against p filters (K) and q channels
            # (C) of its input row, sliding along OX; folds of FY, OY outside
            ("FX", "K", "C", "OX", "FY", "OY", "B", "G"),
            _BROADCAST_PIPELINE,
        ),
        Unrolling(
            "edge_tpu",
            "broadcast",
            (_rest("C"), Unroll("OY", 4)),
            (_rest("K"), Unroll("OX", 4)),
            "ZigZag 3.9.1 edge_tpu_like: K8 C8 OX4 OY4 on 32 x 32",
            _PIXELS_INNER,
            _BROADCAST_PIPELINE,
        ),
        Unrolling(
            "ascend",
            "broadcast",
            (_rest("C"), Unroll("OY", 2)),
            (_rest("K"), Unroll("OX", 2)),
            "ZigZag 3.9.1 ascend_like: K16 C16 OX2 OY2 on 32 x 32",
            _PIXELS_INNER,
            _BROADCAST_PIPELINE,
        ),
        Unrolling(
            "tesla",
            "broadcast",
            (Unroll("OX", 8), _rest("OY")),
            (_rest("K"),),
            "ZigZag 3.9.1 tesla_npu_like: K32 OX8 OY4 on 32 x 32",
            _REDUCTION_INNER,
            _BROADCAST_PIPELINE,
        ),
        Unrolling(
            "meta",
            "broadcast",
            (Unroll("C", 2), Unroll("OX", 4), _rest("OY")),
            (_rest("K"),),
            "ZigZag 3.9.1 meta_prototype_like: K32 C2 OX4 OY4 on 32 x 32",
            _REDUCTION_INNER,
            _BROADCAST_PIPELINE,
        ),
    )
}
assert tuple(UNROLLINGS) == DATAFLOWS, "every dataflow of the template needs an unrolling"

#: The entries ``auto`` chooses among, per layer (the systolic ones: ws, os, is).
AUTO_CHOICES = tuple(name for name, u in UNROLLINGS.items() if u.kind == "systolic")
MAPPINGS: dict[str, SpatialMapping] = {name: UNROLLINGS[name].mapping() for name in AUTO_CHOICES}
