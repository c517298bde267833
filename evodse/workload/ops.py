"""Typed DNN operations with exact shapes.

Every operation is a frozen dataclass describing ONE sample (batch 1); the network carries the
batch size. Each operation knows its multiply-accumulates (``macs``), the element counts of its
input, weight and output tensors, and how it maps to hardware:

* GEMM-like operations (conv2d, linear, matmul) lower to :class:`Gemm`, run on the systolic array;
* all others (pooling, elementwise, normalization, softmax) lower to :class:`VectorWork`, run on
  the vector unit.

``shape_key`` is the operation's type and shape without its name: two layers with equal keys
cost the same, so the cost model evaluates each distinct key once.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from evodse.errors import InputError


@dataclass(frozen=True)
class Gemm:
    """Per-sample GEMM lowering ``out[m, n] = A[m, k] @ B[k, n]``, repeated ``count`` times.

    ``count`` independent GEMMs per sample (conv groups, attention heads). ``a_elems`` is the
    number of *distinct* A-operand elements per GEMM (an im2col matrix repeats ifmap pixels, so for
    a conv this is the ifmap slice, not ``m * k``); ``b_elems`` the B operand (weights);
    ``b_per_sample`` is True when B is an activation (attention), so batching does not share it;
    ``b_kv`` when that activation is the KV cache (keys or values of earlier tokens, read from
    where the cache lives, at the KV-cache width); ``out_kv`` when the output is appended to the
    KV cache. ``experts > 1`` makes B one of ``experts`` routed weight matrices (a mixture of
    experts): each of the ``m`` rows is a (token, chosen expert) pair, ``top_k`` per token, and
    only the experts some token chose are read (see :mod:`evodse.model.layers`).
    ``out_rows``/``out_cols``/``in_rows``/``row_stride``/``kernel_rows`` give the row geometry of
    A for tiling (a conv's output rows and the input rows each needs, with halo); a linear or
    matmul has ``out_rows = in_rows = m`` rows of ``k`` elements each and no halo.
    """

    m: int
    n: int
    k: int
    count: int
    a_elems: int
    b_elems: int
    b_per_sample: bool
    out_rows: int = 1
    out_cols: int = 1
    in_rows: int = 1
    row_stride: int = 1
    kernel_rows: int = 1
    b_kv: bool = False
    out_kv: bool = False
    experts: int = 1
    top_k: int = 1


@dataclass(frozen=True)
class VectorWork:
    """Per-sample work of a non-GEMM operation on the vector unit (ops and DRAM elements);
    ``out_kv`` when the output is appended to the KV cache."""

    ops: int
    in_elems: int
    out_elems: int
    out_kv: bool = False


def _positive(value: int, what: str, op: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{what} must be a positive integer, got {value!r}", key=op)


def _boolean(value: bool, what: str, op: str) -> None:
    if not isinstance(value, bool):
        raise InputError(f"{what} must be true or false, got {value!r}", key=op)


def _non_negative(value: int, what: str, op: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError(f"{what} must be a non-negative integer, got {value!r}", key=op)


@dataclass(frozen=True, kw_only=True)
class Op:
    """Base of all operations: a name plus shape fields; subclasses define the cost hooks."""

    name: str
    kind: ClassVar[str] = "op"

    @property
    def macs(self) -> int:
        """Multiply-accumulates per sample (0 for non-GEMM operations)."""
        gemm = self.gemm()
        return 0 if gemm is None else gemm.m * gemm.n * gemm.k * gemm.count

    @property
    def params(self) -> int:
        """Trainable parameters (weights and biases)."""
        return 0

    @property
    def active_params(self) -> int:
        """Parameters one token uses (a mixture of experts uses only its chosen experts)."""
        return self.params

    @property
    def input_elems(self) -> int:
        """Elements of the activation input(s) per sample."""
        raise NotImplementedError

    @property
    def weight_elems(self) -> int:
        """Elements of the weight tensor (0 when there is none)."""
        return 0

    @property
    def output_elems(self) -> int:
        """Elements of the output tensor per sample."""
        raise NotImplementedError

    def gemm(self) -> Gemm | None:
        """GEMM lowering for the systolic array, or None for vector-unit operations."""
        return None

    def vector(self) -> VectorWork | None:
        """Vector-unit work, or None for GEMM operations."""
        return None

    def shape_key(self) -> tuple:
        """The operation's type and shape fields, without its name: equal keys cost the same."""
        return (type(self), *(getattr(self, f.name) for f in dataclasses.fields(self)[1:]))

    def dims(self, *, explicit: bool = True) -> dict[str, object]:
        """Shape fields as a plain dict (for tables, JSON and workload YAML).

        With ``explicit=False``, fields left at their default value are omitted.
        """
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "name" and (explicit or getattr(self, f.name) != f.default)
        }


@dataclass(frozen=True, kw_only=True)
class Conv2d(Op):
    """2-D convolution, NCHW, with stride, asymmetric padding, dilation and groups."""

    in_channels: int
    out_channels: int
    in_h: int
    in_w: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_bottom: int = 0
    pad_left: int = 0
    pad_right: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1
    bias: bool = False
    kind: ClassVar[str] = "conv2d"

    def __post_init__(self) -> None:
        for f in ("in_channels", "out_channels", "in_h", "in_w", "kernel_h", "kernel_w"):
            _positive(getattr(self, f), f, self.name)
        for f in ("stride_h", "stride_w", "dilation_h", "dilation_w", "groups"):
            _positive(getattr(self, f), f, self.name)
        for f in ("pad_top", "pad_bottom", "pad_left", "pad_right"):
            _non_negative(getattr(self, f), f, self.name)
        _boolean(self.bias, "bias", self.name)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise InputError(
                f"groups={self.groups} must divide in_channels={self.in_channels} and "
                f"out_channels={self.out_channels}",
                key=self.name,
            )
        if self.out_h < 1 or self.out_w < 1:
            raise InputError(
                f"kernel {self.kernel_h}x{self.kernel_w} (dilation {self.dilation_h}x"
                f"{self.dilation_w}) does not fit the padded {self.in_h}x{self.in_w} input",
                key=self.name,
            )

    @property
    def padded_h(self) -> int:
        return self.in_h + self.pad_top + self.pad_bottom

    @property
    def padded_w(self) -> int:
        return self.in_w + self.pad_left + self.pad_right

    @property
    def out_h(self) -> int:
        span = self.dilation_h * (self.kernel_h - 1) + 1
        return (self.padded_h - span) // self.stride_h + 1

    @property
    def out_w(self) -> int:
        span = self.dilation_w * (self.kernel_w - 1) + 1
        return (self.padded_w - span) // self.stride_w + 1

    @property
    def params(self) -> int:
        return self.weight_elems + (self.out_channels if self.bias else 0)

    @property
    def input_elems(self) -> int:
        return self.in_channels * self.in_h * self.in_w

    @property
    def weight_elems(self) -> int:
        return self.out_channels * (self.in_channels // self.groups) * self.kernel_h * self.kernel_w

    @property
    def output_elems(self) -> int:
        return self.out_channels * self.out_h * self.out_w

    def gemm(self) -> Gemm:
        cin_g = self.in_channels // self.groups
        span_h = self.dilation_h * (self.kernel_h - 1) + 1
        span_w = self.dilation_w * (self.kernel_w - 1) + 1
        rows, row_step = _used_extent(self.out_h, self.stride_h, span_h)
        cols, _ = _used_extent(self.out_w, self.stride_w, span_w)
        return Gemm(
            m=self.out_h * self.out_w,
            n=self.out_channels // self.groups,
            k=cin_g * self.kernel_h * self.kernel_w,
            count=self.groups,
            # only the input pixels some window uses are read (a strided 1x1 conv skips the
            # rest); padding is made on chip, not read
            a_elems=cin_g * min(rows, self.in_h) * min(cols, self.in_w),
            b_elems=self.weight_elems // self.groups,
            b_per_sample=False,
            out_rows=self.out_h,
            out_cols=self.out_w,
            in_rows=rows,
            row_stride=row_step,
            kernel_rows=span_h,
        )


def _used_extent(out: int, stride: int, span: int) -> tuple[int, int]:
    """Input rows (padded coordinates) some output window reads, and the step between the
    windows of consecutive output rows as seen in those used rows: windows overlap or touch
    when ``stride <= span``; otherwise the rows between them are never read."""
    if stride <= span:
        return (out - 1) * stride + span, stride
    return out * span, span


@dataclass(frozen=True, kw_only=True)
class Linear(Op):
    """Fully connected layer applied to ``tokens`` rows per sample (1 for a classifier head).

    ``kv_cache``: the output (a key or value projection) is appended to the KV cache.
    """

    in_features: int
    out_features: int
    tokens: int = 1
    bias: bool = True
    kv_cache: bool = False
    kind: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        for f in ("in_features", "out_features", "tokens"):
            _positive(getattr(self, f), f, self.name)
        _boolean(self.bias, "bias", self.name)
        _boolean(self.kv_cache, "kv_cache", self.name)

    @property
    def params(self) -> int:
        return self.weight_elems + (self.out_features if self.bias else 0)

    @property
    def input_elems(self) -> int:
        return self.tokens * self.in_features

    @property
    def weight_elems(self) -> int:
        return self.in_features * self.out_features

    @property
    def output_elems(self) -> int:
        return self.tokens * self.out_features

    def gemm(self) -> Gemm:
        return Gemm(
            m=self.tokens,
            n=self.out_features,
            k=self.in_features,
            count=1,
            a_elems=self.tokens * self.in_features,
            b_elems=self.weight_elems,
            b_per_sample=False,
            out_rows=self.tokens,
            in_rows=self.tokens,
            out_kv=self.kv_cache,
        )


@dataclass(frozen=True, kw_only=True)
class ExpertLinear(Op):
    """A mixture-of-experts linear: ``experts`` weight matrices ``in x out``, each of ``tokens``
    tokens routed to ``top_k`` of them (Mixtral's ``w1``, ``w2``, ``w3``). MACs count the
    chosen experts only; parameters count every expert."""

    in_features: int
    out_features: int
    experts: int
    top_k: int
    tokens: int = 1
    kind: ClassVar[str] = "expert_linear"

    def __post_init__(self) -> None:
        for f in ("in_features", "out_features", "experts", "top_k", "tokens"):
            _positive(getattr(self, f), f, self.name)
        if self.top_k > self.experts:
            raise InputError(
                f"top_k={self.top_k} must not exceed experts={self.experts}", key=self.name
            )

    @property
    def params(self) -> int:
        return self.experts * self.in_features * self.out_features

    @property
    def active_params(self) -> int:
        return self.top_k * self.in_features * self.out_features

    @property
    def input_elems(self) -> int:
        return self.tokens * self.top_k * self.in_features

    @property
    def weight_elems(self) -> int:
        return self.params

    @property
    def output_elems(self) -> int:
        return self.tokens * self.top_k * self.out_features

    def gemm(self) -> Gemm:
        rows = self.tokens * self.top_k  # (token, chosen expert) pairs
        return Gemm(
            m=rows,
            n=self.out_features,
            k=self.in_features,
            count=1,
            a_elems=rows * self.in_features,
            b_elems=self.in_features * self.out_features,
            b_per_sample=False,
            out_rows=rows,
            in_rows=rows,
            experts=self.experts,
            top_k=self.top_k,
        )


@dataclass(frozen=True, kw_only=True)
class MatMul(Op):
    """Batched activation-activation product ``[count, m, k] @ [count, k, n]`` (attention).

    ``kv_cache``: the second operand is the KV cache (the keys of ``QK^T``, the values of
    ``AV``), read from where the cache lives at the KV-cache width.
    """

    m: int
    n: int
    k: int
    count: int = 1
    kv_cache: bool = False
    kind: ClassVar[str] = "matmul"

    def __post_init__(self) -> None:
        for f in ("m", "n", "k", "count"):
            _positive(getattr(self, f), f, self.name)
        _boolean(self.kv_cache, "kv_cache", self.name)

    @property
    def input_elems(self) -> int:
        return self.count * (self.m * self.k + self.k * self.n)

    @property
    def output_elems(self) -> int:
        return self.count * self.m * self.n

    def gemm(self) -> Gemm:
        return Gemm(
            m=self.m,
            n=self.n,
            k=self.k,
            count=self.count,
            a_elems=self.m * self.k,
            b_elems=self.k * self.n,
            b_per_sample=True,
            out_rows=self.m,
            in_rows=self.m,
            b_kv=self.kv_cache,
        )


@dataclass(frozen=True, kw_only=True)
class Pool2d(Op):
    """Max or average pooling over ``kernel`` windows (global pooling: kernel = input size)."""

    channels: int
    in_h: int
    in_w: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_bottom: int = 0
    pad_left: int = 0
    pad_right: int = 0
    mode: Literal["max", "avg"] = "max"
    ceil_mode: bool = False
    kind: ClassVar[str] = "pool"

    def __post_init__(self) -> None:
        for f in ("channels", "in_h", "in_w", "kernel_h", "kernel_w", "stride_h", "stride_w"):
            _positive(getattr(self, f), f, self.name)
        for f in ("pad_top", "pad_bottom", "pad_left", "pad_right"):
            _non_negative(getattr(self, f), f, self.name)
        _boolean(self.ceil_mode, "ceil_mode", self.name)
        if self.mode not in ("max", "avg"):
            raise InputError(f"mode must be 'max' or 'avg', got {self.mode!r}", key=self.name)
        if self.out_h < 1 or self.out_w < 1:
            raise InputError("pooling window does not fit the padded input", key=self.name)

    def _out(self, size: int, kernel: int, stride: int) -> int:
        span = size - kernel
        return (math.ceil(span / stride) if self.ceil_mode else span // stride) + 1

    @property
    def out_h(self) -> int:
        return self._out(self.in_h + self.pad_top + self.pad_bottom, self.kernel_h, self.stride_h)

    @property
    def out_w(self) -> int:
        return self._out(self.in_w + self.pad_left + self.pad_right, self.kernel_w, self.stride_w)

    @property
    def input_elems(self) -> int:
        return self.channels * self.in_h * self.in_w

    @property
    def output_elems(self) -> int:
        return self.channels * self.out_h * self.out_w

    def vector(self) -> VectorWork:
        ops = self.output_elems * self.kernel_h * self.kernel_w
        return VectorWork(ops=ops, in_elems=self.input_elems, out_elems=self.output_elems)


@dataclass(frozen=True, kw_only=True)
class Elementwise(Op):
    """Elementwise operation over ``elements`` outputs with ``inputs`` operands.

    ``ops_per_element`` counts vector-unit operations per output element (1 for add or ReLU;
    a GELU or sigmoid takes several). ``kv_cache``: the output (rotated keys) is appended to the
    KV cache.
    """

    elements: int
    inputs: int = 1
    ops_per_element: int = 1
    function: str = "add"
    kv_cache: bool = False
    kind: ClassVar[str] = "elementwise"

    def __post_init__(self) -> None:
        for f in ("elements", "inputs", "ops_per_element"):
            _positive(getattr(self, f), f, self.name)
        _boolean(self.kv_cache, "kv_cache", self.name)

    @property
    def input_elems(self) -> int:
        return self.elements * self.inputs

    @property
    def output_elems(self) -> int:
        return self.elements

    def vector(self) -> VectorWork:
        return VectorWork(
            ops=self.elements * self.ops_per_element,
            in_elems=self.input_elems,
            out_elems=self.output_elems,
            out_kv=self.kv_cache,
        )


@dataclass(frozen=True, kw_only=True)
class Norm(Op):
    """Batch, layer or RMS normalization of ``elements`` values over ``channels`` channels.

    Operations per element: batch norm at inference is one multiply-add (2 ops); layer norm
    computes mean and variance then normalizes and applies the affine transform (8 ops:
    add, subtract, square, add, subtract, multiply by 1/sigma, scale, shift); RMS norm (Zhang
    and Sennrich 2019; Llama, Mistral) has no mean and no shift (4 ops: square, add, multiply
    by 1/rms, scale). Parameters: a scale and a shift per channel (2 C), RMS norm a scale (C).
    """

    elements: int
    channels: int
    mode: Literal["batch", "layer", "rms"] = "layer"
    kind: ClassVar[str] = "norm"
    _OPS_PER_ELEMENT: ClassVar[dict[str, int]] = {"batch": 2, "layer": 8, "rms": 4}

    def __post_init__(self) -> None:
        for f in ("elements", "channels"):
            _positive(getattr(self, f), f, self.name)
        if self.mode not in self._OPS_PER_ELEMENT:
            raise InputError(
                f"mode must be one of {sorted(self._OPS_PER_ELEMENT)}, got {self.mode!r}",
                key=self.name,
            )

    @property
    def params(self) -> int:
        return (1 if self.mode == "rms" else 2) * self.channels

    @property
    def input_elems(self) -> int:
        return self.elements

    @property
    def output_elems(self) -> int:
        return self.elements

    def vector(self) -> VectorWork:
        ops = self.elements * self._OPS_PER_ELEMENT[self.mode]
        return VectorWork(ops=ops, in_elems=self.elements, out_elems=self.elements)


@dataclass(frozen=True, kw_only=True)
class Softmax(Op):
    """Softmax over rows of length ``row_length``; 5 ops per element (max, sub, exp, sum, div)."""

    rows: int
    row_length: int
    kind: ClassVar[str] = "softmax"
    OPS_PER_ELEMENT: ClassVar[int] = 5

    def __post_init__(self) -> None:
        for f in ("rows", "row_length"):
            _positive(getattr(self, f), f, self.name)

    @property
    def input_elems(self) -> int:
        return self.rows * self.row_length

    @property
    def output_elems(self) -> int:
        return self.rows * self.row_length

    def vector(self) -> VectorWork:
        n = self.rows * self.row_length
        return VectorWork(ops=n * self.OPS_PER_ELEMENT, in_elems=n, out_elems=n)


OP_TYPES: dict[str, type[Op]] = {
    cls.kind: cls
    for cls in (Conv2d, Linear, ExpertLinear, MatMul, Pool2d, Elementwise, Norm, Softmax)
}
