"""evodse layers and designs -> SCALE-Sim 3.0.0 runs (see docs/validation.md).

A GEMM layer becomes ONE single-layer SCALE-Sim run, repeated ``repeat`` times:

* ``conv`` mode (a conv topology row) for a conv2d at batch 1 with equal strides and no
  dilation: the input is pre-padded (asymmetric pads folded in) and trimmed to the rows/columns
  the windows reach, ``(out - 1) * stride + kernel``, so SCALE-Sim's ceil-mode output size equals
  evodse's floor-mode one; grouped/depthwise convs simulate one group (``channels/groups`` in,
  ``filters/groups`` out) and repeat it ``groups`` times (SCALE-Sim has no grouped conv).
* ``gemm`` mode (SCALE-Sim's ``M, N, K`` input) for everything else with the exact GEMM of the
  cost model: a conv at batch ``B`` (``M = B * out_h * out_w``; SCALE-Sim has no batch), unequal
  strides or dilation (exact GEMM shape, but SCALE-Sim then sees an ``M x K`` ifmap with no
  im2col reuse), linear (``M = batch * tokens``), matmul (one ``m x k @ k x n`` repeated
  ``count * batch`` times).

Vector-unit layers (pool, elementwise, norm, softmax) have no SCALE-Sim equivalent: they keep
the model's cycles and are marked not simulated.

Hardware: array ``pe_rows x pe_cols`` and the dataflow the model used for the layer (the design's,
or the model's per-layer choice for ``auto``). SCALE-Sim counts one-byte words, so an SRAM of
``S`` KiB holding ``S * 1024 * 8 / precision_bits`` elements is given as ``S * 8 /
precision_bits`` "kB". DRAM bandwidth in USER mode, in words per cycle, ``dram_bandwidth_gbps *
1e9 / (frequency_mhz * 1e6) / bytes_per_element``, rounded to an integer >= 1 (SCALE-Sim takes
integers); each of SCALE-Sim's three operand interfaces (ifmap, filter, ofmap) gets it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from evodse.hardware.template import Accelerator
from evodse.model.compute import groups_per_fold
from evodse.model.mappings import MAPPINGS
from evodse.workload.ops import Conv2d, Op


@dataclass(frozen=True)
class SimHardware:
    """What SCALE-Sim sees of a design (for one dataflow)."""

    rows: int
    cols: int
    dataflow: str  # ws | os | is
    ifmap_kb: int  # SCALE-Sim "kB" = 1024 elements
    filter_kb: int
    ofmap_kb: int
    bandwidth: int  # words per cycle, per operand interface

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SimLayer:
    """One single-layer SCALE-Sim run. ``conv`` mode uses the conv fields, ``gemm`` mode m/n/k."""

    mode: str  # "conv" | "gemm"
    ifmap_h: int = 0
    ifmap_w: int = 0
    filter_h: int = 0
    filter_w: int = 0
    channels: int = 0
    num_filters: int = 0
    stride: int = 1
    m: int = 0
    n: int = 0
    k: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def gemm_dims(self) -> tuple[int, int, int]:
        """(P, M, W) as SCALE-Sim builds them: output pixels, filters, window size."""
        if self.mode == "gemm":
            return self.m, self.n, self.k
        oh = math.ceil((self.ifmap_h - self.filter_h + self.stride) / self.stride)
        ow = math.ceil((self.ifmap_w - self.filter_w + self.stride) / self.stride)
        return oh * ow, self.num_filters, self.filter_h * self.filter_w * self.channels

    def label(self) -> str:
        if self.mode == "gemm":
            return f"gemm M{self.m} N{self.n} K{self.k}"
        return (
            f"conv {self.ifmap_h}x{self.ifmap_w}x{self.channels} "
            f"k{self.filter_h}x{self.filter_w}/{self.stride} -> {self.num_filters}"
        )


@dataclass(frozen=True)
class LayerMapping:
    """How one evodse layer is simulated: ``layer`` run ``repeat`` times, or not at all."""

    layer: SimLayer | None
    repeat: int = 1
    note: str = ""


def words_per_cycle(hw: Accelerator) -> float:
    """DRAM bandwidth in elements per cycle (exact, before SCALE-Sim's integer rounding)."""
    return hw.dram_bandwidth_gbps * 1e9 / (hw.frequency_mhz * 1e6) / (hw.precision_bits / 8)


def sim_hardware(hw: Accelerator, dataflow: str) -> SimHardware:
    """The SCALE-Sim configuration of design ``hw`` running ``dataflow``."""

    def kb(kib: float) -> int:
        return max(1, round(kib * 8 / hw.precision_bits))

    return SimHardware(
        rows=hw.pe_rows,
        cols=hw.pe_cols,
        dataflow=dataflow,
        ifmap_kb=kb(hw.ifmap_sram_kib),
        filter_kb=kb(hw.weight_sram_kib),
        ofmap_kb=kb(hw.ofmap_sram_kib),
        bandwidth=max(1, round(words_per_cycle(hw))),
    )


def map_layer(
    op: Op, batch: int, *, hw: Accelerator | None = None, dataflow: str | None = None
) -> LayerMapping:
    """The SCALE-Sim run(s) of one evodse layer at batch ``batch`` (see module docstring).

    With ``hw`` and ``dataflow``, independent GEMMs the model packs block-diagonally into one
    fold (:func:`evodse.model.compute.groups_per_fold`) become one GEMM of the packed size
    (zeros off the diagonal), repeated once per fold: the same folds and cycles."""
    g = op.gemm()
    if g is None:
        return LayerMapping(None, 0, "vector unit: not simulated (model cycles kept)")
    packed = _packed(op, batch, hw, dataflow)
    if packed is not None:
        return packed
    if isinstance(op, Conv2d):
        same_stride = op.stride_h == op.stride_w
        no_dilation = op.dilation_h == 1 and op.dilation_w == 1
        if batch == 1 and same_stride and no_dilation:
            s = op.stride_h
            layer = SimLayer(
                mode="conv",
                ifmap_h=(op.out_h - 1) * s + op.kernel_h,
                ifmap_w=(op.out_w - 1) * s + op.kernel_w,
                filter_h=op.kernel_h,
                filter_w=op.kernel_w,
                channels=op.in_channels // op.groups,
                num_filters=op.out_channels // op.groups,
                stride=s,
            )
            note = f"one group of {op.groups}" if op.groups > 1 else ""
            return LayerMapping(layer, op.groups, note)
        why = []
        if batch > 1:
            why.append(f"batch {batch}")
        if not same_stride:
            why.append("unequal strides")
        if not no_dilation:
            why.append("dilation")
        note = "exact GEMM (" + ", ".join(why) + "): no im2col reuse in SCALE-Sim's memory"
        if op.groups > 1:
            note += f"; one group of {op.groups}"
        return LayerMapping(SimLayer(mode="gemm", m=g.m * batch, n=g.n, k=g.k), g.count, note)
    images = 1 if g.b_per_sample else batch
    repeat = g.count * (batch if g.b_per_sample else 1)
    note = f"one of {repeat} independent GEMMs" if repeat > 1 else ""
    return LayerMapping(SimLayer(mode="gemm", m=g.m * images, n=g.n, k=g.k), repeat, note)


def _packed(op: Op, batch: int, hw: Accelerator | None, dataflow: str | None):
    """The packed-GEMM mapping when the model packs more than one group per fold, else None."""
    g = op.gemm()
    if hw is None or dataflow is None:
        return None
    images = 1 if g.b_per_sample else batch
    m, count = g.m * images, g.count * (batch if g.b_per_sample else 1)
    mapping = MAPPINGS[dataflow]
    p = int(
        groups_per_fold(mapping, rows=hw.pe_rows, cols=hw.pe_cols, m=m, n=g.n, k=g.k, count=count)
    )
    if p <= 1:
        return None
    dims = {"m": m, "n": g.n, "k": g.k}
    for d in (mapping.rows, mapping.cols):
        dims[d] *= p
    note = f"{p} of {count} independent GEMMs packed block-diagonally per fold"
    return LayerMapping(SimLayer(mode="gemm", **dims), math.ceil(count / p), note)


def demand_rows(hw: SimHardware, layer: SimLayer) -> int:
    """Demand rows SCALE-Sim simulates for one run (its stall-free compute cycles + 1):
    ``folds * per_fold`` (docs/scalesim_conventions.md). Run time grows with it."""
    p, m, w = layer.gemm_dims()
    r, c = hw.rows, hw.cols
    if hw.dataflow == "os":
        sr, sc, t, fill = p, m, w, r + c - 2
    elif hw.dataflow == "ws":
        sr, sc, t, fill = w, m, p, 2 * r + c - 2
    else:
        sr, sc, t, fill = w, p, m, 2 * r + c - 2
    return math.ceil(sr / r) * math.ceil(sc / c) * (t + fill)
