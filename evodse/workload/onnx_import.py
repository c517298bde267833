"""Import an ONNX model as a :class:`~evodse.workload.network.Network`.

Shapes come from ONNX shape inference with data propagation, so weights may be initializers,
graph inputs, or tensors computed by nodes (``ConstantOfShape``, ``Unsqueeze`` of a weight, ...).
Each ONNX node becomes at most one evodse operation, named after the node (``node.name``, or
``<OpType>_<index>`` for unnamed nodes; collisions get a ``_2``, ``_3`` ... suffix):

* compute operators map to :class:`Conv2d`, :class:`Linear`, :class:`MatMul`, :class:`Pool2d`,
  :class:`Norm`, :class:`Softmax` or :class:`Elementwise`;
* data-movement operators (Reshape, Concat, Transpose, Gather, Pad, Resize, ...) are folded away
  and only counted in the :class:`ImportReport`;
* nodes computing only on constants (weight preprocessing) are folded away too;
* a bias ``Add`` after a MatMul/Conv, the per-channel ``Mul``/``Add`` after a normalization, the
  erf form of GELU and the decomposed ``ReduceMean/Sub/Pow/.../Sqrt/Div`` layer norm are fused
  into one operation;
* any other operator is reported in one warning (an error with ``strict=True``).

The IR describes one sample: the leading dimension of the graph input is the batch, and every
operation's shape is divided by it. See ``docs/onnx.md`` for the full operator table.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evodse.errors import InputError
from evodse.workload.network import Network
from evodse.workload.ops import (
    OP_TYPES,
    Conv2d,
    Elementwise,
    Linear,
    MatMul,
    Norm,
    Op,
    Pool2d,
    Softmax,
)

__all__ = [
    "ACTIVATIONS",
    "DATA_MOVEMENT",
    "EVODSE_DOMAIN",
    "GELU_OPS",
    "ImportReport",
    "OnnxImport",
    "OnnxImportWarning",
    "from_onnx",
    "import_onnx",
    "lrn_ops_per_element",
    "parse_input_shape",
    "parse_input_shapes",
]

#: Custom ONNX domain written by :mod:`evodse.workload.onnx_export` for operations that have no
#: exact standard-ONNX equivalent (``ai.evodse.Op`` carries the operation's fields as attributes).
EVODSE_DOMAIN = "ai.evodse"

#: GELU, exact (erf) form: x/sqrt(2), erf, +1, times x, times 0.5.
GELU_OPS = 5

#: Unary activations and math: ONNX op type -> (evodse ``function``, vector ops per element).
ACTIVATIONS: dict[str, tuple[str, int]] = {
    "Relu": ("relu", 1),  # max(x, 0)
    "LeakyRelu": ("leaky_relu", 2),  # multiply, select
    "PRelu": ("prelu", 2),  # multiply, select
    "ThresholdedRelu": ("thresholded_relu", 2),  # compare, select
    "Clip": ("clip", 2),  # max, min
    "Sigmoid": ("sigmoid", 4),  # negate, exp, add 1, reciprocal
    "HardSigmoid": ("hard_sigmoid", 4),  # multiply, add, max, min
    "Tanh": ("tanh", 5),  # (e^2x - 1) / (e^2x + 1): multiply, exp, subtract, add, divide
    "Gelu": ("gelu", GELU_OPS),  # opset 20; the erf decomposition is fused to the same op
    "HardSwish": ("hard_swish", 5),  # x * clip(x + 3, 0, 6) / 6: add, max, min, multiply, scale
    "Elu": ("elu", 3),  # exp, subtract 1 and scale, select
    "Selu": ("selu", 4),  # exp, subtract, scale, select
    "Celu": ("celu", 4),
    "Softplus": ("softplus", 3),  # exp, add 1, log
    "Softsign": ("softsign", 3),  # abs, add 1, divide
    "Mish": ("mish", 9),  # x * tanh(softplus(x))
    "Erf": ("erf", 1),
    "Exp": ("exp", 1),
    "Log": ("log", 1),
    "Sqrt": ("sqrt", 1),
    "Reciprocal": ("reciprocal", 1),
    "Neg": ("neg", 1),
    "Abs": ("abs", 1),
    "Sign": ("sign", 1),
    "Floor": ("floor", 1),
    "Ceil": ("ceil", 1),
    "Round": ("round", 1),
    "Sin": ("sin", 1),
    "Cos": ("cos", 1),
    "Not": ("not", 1),
}

#: Binary / n-ary elementwise operators -> evodse ``function`` (1 op per element per extra operand).
BINARY: dict[str, str] = {
    "Add": "add",
    "Sum": "add",
    "Sub": "sub",
    "Mul": "mul",
    "Div": "div",
    "Pow": "pow",
    "Max": "max",
    "Min": "min",
    "Mean": "mean",
    "Mod": "mod",
    "Equal": "equal",
    "Less": "less",
    "LessOrEqual": "less_equal",
    "Greater": "greater",
    "GreaterOrEqual": "greater_equal",
    "And": "and",
    "Or": "or",
    "Xor": "xor",
    "Where": "where",
}

#: Reductions: one vector op per *input* element (``elements`` is the input size).
REDUCTIONS: dict[str, tuple[str, int]] = {
    "ReduceMean": ("reduce_mean", 1),
    "ReduceSum": ("reduce_sum", 1),
    "ReduceMax": ("reduce_max", 1),
    "ReduceMin": ("reduce_min", 1),
    "ReduceProd": ("reduce_prod", 1),
    "ReduceSumSquare": ("reduce_sum_square", 2),
    "ReduceL1": ("reduce_l1", 2),
    "ReduceL2": ("reduce_l2", 2),
    "ReduceLogSumExp": ("reduce_log_sum_exp", 2),
    "ArgMax": ("argmax", 1),
    "ArgMin": ("argmin", 1),
    "CumSum": ("cumsum", 1),
}

#: Operators that only move, copy or reshape data (or compute shapes): folded away.
DATA_MOVEMENT = frozenset(
    {
        "Cast",
        "CastLike",
        "Compress",
        "Concat",
        "Constant",
        "ConstantOfShape",
        "DepthToSpace",
        "Dropout",
        "Expand",
        "EyeLike",
        "Flatten",
        "Gather",
        "GatherElements",
        "GatherND",
        "Identity",
        "NonZero",
        "OneHot",
        "Pad",
        "Range",
        "Reshape",
        "Resize",
        "ReverseSequence",
        "ScatterElements",
        "ScatterND",
        "Shape",
        "Size",
        "Slice",
        "SpaceToDepth",
        "Split",
        "Squeeze",
        "Tile",
        "Transpose",
        "Trilu",
        "Unsqueeze",
        "Upsample",
    }
)

# Nodes whose outputs never depend on activation values.
_ALWAYS_CONSTANT = frozenset(
    {"Constant", "Shape", "Size", "EyeLike", "RandomNormal", "RandomUniform", "Range"}
)

# Input slots that hold weights: a graph input (without initializer) used only in such slots is
# a weight, not a network input. ``MatMul`` slot 1 counts only for a 2-D tensor.
_WEIGHT_SLOTS: dict[str, frozenset[int]] = {
    "Conv": frozenset({1, 2}),
    "ConvTranspose": frozenset({1, 2}),
    "Gemm": frozenset({1, 2}),
    "MatMul": frozenset({1}),
    "BatchNormalization": frozenset({1, 2, 3, 4}),
    "LayerNormalization": frozenset({1, 2}),
    "InstanceNormalization": frozenset({1, 2}),
    "GroupNormalization": frozenset({1, 2}),
    "RMSNormalization": frozenset({1}),
    "PRelu": frozenset({1}),
    "Clip": frozenset({1, 2}),
    "Gather": frozenset({0}),
    "Reshape": frozenset({1}),
    "Resize": frozenset({1, 2, 3}),
    "Upsample": frozenset({1}),
    "Pad": frozenset({1, 2, 3}),
    "Slice": frozenset({1, 2, 3, 4}),
    "Squeeze": frozenset({1}),
    "Unsqueeze": frozenset({1}),
    "Expand": frozenset({1}),
    "Tile": frozenset({1}),
    "Split": frozenset({1}),
    "ConstantOfShape": frozenset({0}),
}

_NORMS = frozenset(
    {
        "BatchNormalization",
        "LayerNormalization",
        "InstanceNormalization",
        "GroupNormalization",
        "RMSNormalization",
    }
)
_POOLS = frozenset({"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool"})
_OTHER_COMPUTE = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul", "Softmax", "LogSoftmax"})
_LRN = "LRN"
KNOWN_OPS = (
    DATA_MOVEMENT
    | _ALWAYS_CONSTANT
    | _NORMS
    | _POOLS
    | _OTHER_COMPUTE
    | frozenset(ACTIVATIONS)
    | frozenset(BINARY)
    | frozenset(REDUCTIONS)
    | {_LRN}
)


def lrn_ops_per_element(size: int) -> int:
    """Vector ops per element of LRN (window ``size``).

    Square, ``size - 1`` window adds, scale by alpha/size, add bias, pow(beta), divide.
    """
    return size + 4


class OnnxImportWarning(UserWarning):
    """Operators of the ONNX model were left out of the imported workload."""


@dataclass
class ImportReport:
    """What happened to each ONNX node during import.

    ``mapped`` counts nodes that became an evodse operation, ``fused`` nodes merged into a
    neighbouring operation (bias adds, normalization affine, GELU / layer-norm decompositions),
    ``folded`` data-movement nodes on activations, ``constant`` nodes computing only on weights,
    and ``unknown`` operators evodse does not model (left out). ``origins`` maps each evodse
    layer name to the ONNX node names it came from.
    """

    source: str
    graph_batch: int = 1
    opset: int = 0
    mapped: Counter = field(default_factory=Counter)
    fused: Counter = field(default_factory=Counter)
    folded: Counter = field(default_factory=Counter)
    constant: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    origins: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def nodes(self) -> int:
        """Total ONNX nodes seen."""
        return sum(
            sum(c.values())
            for c in (self.mapped, self.fused, self.folded, self.constant, self.unknown)
        )

    def summary(self) -> str:
        """A short multi-line human-readable summary."""

        def fmt(counter: Counter) -> str:
            return ", ".join(f"{k} x{v}" for k, v in sorted(counter.items())) or "-"

        return "\n".join(
            [
                f"{self.source}: {self.nodes} ONNX nodes (opset {self.opset}, batch "
                f"{self.graph_batch})",
                f"  mapped:   {fmt(self.mapped)}",
                f"  fused:    {fmt(self.fused)}",
                f"  folded:   {fmt(self.folded)}",
                f"  constant: {fmt(self.constant)}",
                f"  unknown:  {fmt(self.unknown)}",
            ]
        )


@dataclass(frozen=True)
class OnnxImport:
    """An imported network and its :class:`ImportReport`."""

    network: Network
    report: ImportReport


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def from_onnx(
    path: str | Path,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    batch: int | None = None,
    strict: bool = False,
) -> Network:
    """Import an ONNX model file as a :class:`Network`.

    ``input_shapes`` maps graph-input names to full shapes (including the batch dimension) and
    fixes dynamic dimensions; ``batch`` sets the network's batch size (default: the leading
    dimension of the graph input). Unknown operators are left out with one
    :class:`OnnxImportWarning`, or raise :class:`InputError` when ``strict``.
    """
    return import_onnx(path, input_shapes=input_shapes, batch=batch, strict=strict).network


def import_onnx(
    path: str | Path,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    batch: int | None = None,
    strict: bool = False,
) -> OnnxImport:
    """Like :func:`from_onnx` but also returns the :class:`ImportReport`."""
    source = str(path)
    if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or batch < 1):
        raise InputError(f"batch must be a positive integer, got {batch!r}", key="batch")
    onnx = _onnx_module(source)
    model = _load(onnx, path, source)
    try:
        return _Importer(onnx, model, source, input_shapes, batch, strict).run()
    except InputError:
        raise
    except Exception as exc:  # never a raw traceback from onnx internals
        raise InputError(
            f"cannot import the ONNX model ({type(exc).__name__}: {_first_line(exc)})",
            source=source,
        ) from None


def parse_input_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """Parse ``NAME=1x3x224x224`` (``,`` also separates dimensions) into ``(name, dims)``."""
    where = "--input-shape"
    if not isinstance(text, str) or "=" not in text:
        raise InputError(f"expected NAME=DIMS such as data=1x3x224x224, got {text!r}", key=where)
    name, _, dims_text = text.rpartition("=")
    name = name.strip()
    if not name:
        raise InputError(f"missing the input name before '=' in {text!r}", key=where)
    parts = [p.strip() for p in re.split(r"[x,X*]", dims_text.strip())]
    if not dims_text.strip() or any(not re.fullmatch(r"\d+", p) for p in parts):
        raise InputError(
            f"dimensions must be positive integers separated by 'x', got {dims_text!r} in {text!r}",
            key=where,
        )
    dims = tuple(int(p) for p in parts)
    if any(d < 1 for d in dims):
        raise InputError(f"dimensions must be positive, got {dims_text!r} in {text!r}", key=where)
    return name, dims


def parse_input_shapes(texts: Sequence[str] | None) -> dict[str, tuple[int, ...]]:
    """Parse repeated ``--input-shape`` values into a dict; a name given twice is an error."""
    shapes: dict[str, tuple[int, ...]] = {}
    for text in texts or ():
        name, dims = parse_input_shape(text)
        if name in shapes:
            raise InputError(f"input {name!r} is given twice", key="--input-shape")
        shapes[name] = dims
    return shapes


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


def _onnx_module(source: str) -> Any:
    try:
        import onnx
        import onnx.shape_inference
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError(
            "importing ONNX models needs the 'onnx' package (pip install 'evodse[onnx]')",
            source=source,
        ) from None
    return onnx


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def _load(onnx: Any, path: str | Path, source: str) -> Any:
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", source=source)
    if not p.is_file():
        raise InputError("not a file", source=source)
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:
        raise InputError(
            f"not a readable ONNX model (is the file truncated or not ONNX?): {_first_line(exc)}",
            source=source,
        ) from None
    if model.functions:  # model-local functions (newer exporters): inline them when possible
        try:
            from onnx import inliner

            model = inliner.inline_local_functions(model)
        except Exception:
            pass  # their calls are then reported as unknown operators
    graph = model.graph
    if model.ir_version < 1 or not model.HasField("graph") or not graph.node:
        raise InputError("not an ONNX model: the file holds no graph nodes", source=source)
    produced = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    for node in graph.node:
        produced.update(node.output)
    for node in graph.node:
        for name in node.input:
            if name and name not in produced:
                raise InputError(
                    f"the ONNX graph is incomplete (truncated or corrupt file?): node "
                    f"{node.name or node.op_type!r} reads tensor {name!r} that nothing produces",
                    source=source,
                )
    for out in graph.output:
        if out.name not in produced:
            raise InputError(
                f"the ONNX graph is incomplete (truncated or corrupt file?): graph output "
                f"{out.name!r} is never produced",
                source=source,
            )
    return model


# --------------------------------------------------------------------------------------------
# The importer
# --------------------------------------------------------------------------------------------

Shape = tuple[Any, ...]  # ints for known dims, str (dim_param) or None for unknown ones


@dataclass
class _Entry:
    op: Op
    nodes: list[str]


def _prod(values: Sequence[int]) -> int:
    return math.prod(values) if values else 1


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b, strict=True):
        if x != y and 1 not in (x, y):
            raise InputError(f"shapes {a} and {b} do not broadcast")
        out.append(max(x, y))
    return tuple(out)


def _fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "unknown"
    return "x".join(str(d) if isinstance(d, int) else (d or "?") for d in shape) or "scalar"


class _Importer:
    def __init__(
        self,
        onnx: Any,
        model: Any,
        source: str,
        input_shapes: Mapping[str, Sequence[int]] | None,
        batch: int | None,
        strict: bool,
    ) -> None:
        self.onnx = onnx
        self.model = model
        self.graph = model.graph
        self.source = source
        self.batch = batch
        self.strict = strict
        self.opset = 0
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = imp.version
        self.report = ImportReport(source=source, opset=self.opset)
        self.nodes = self._sorted_nodes()
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(i)
        self.producer_node: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            for name in node.output:
                if name:
                    self.producer_node[name] = i
        self.graph_outputs = {o.name for o in self.graph.output}
        self.weight_inputs = self._weight_inputs()
        self.data_inputs = [
            vi
            for vi in self.graph.input
            if vi.name not in self.initializers and vi.name not in self.weight_inputs
        ]
        self._apply_input_shapes(input_shapes or {})
        self.shapes = self._infer_shapes()
        self.const = self._constant_tensors()
        self.graph_batch = self._graph_batch()
        self.report.graph_batch = self.graph_batch
        self.entries: list[_Entry] = []
        self.entry_of: dict[str, int] = {}  # activation tensor -> index of the entry producing it
        self.names: set[str] = set()
        self.unknown_outputs: dict[str, str] = {}
        self._strict_diag: str | None = None

    # ---------------------------------------------------------------- graph preparation

    def _sorted_nodes(self) -> list[Any]:
        nodes = list(self.graph.node)
        available = {i.name for i in self.graph.input} | {t.name for t in self.graph.initializer}
        available.add("")
        done = [False] * len(nodes)
        order: list[Any] = []
        progress = True
        while progress and len(order) < len(nodes):
            progress = False
            for i, node in enumerate(nodes):
                if not done[i] and all(name in available for name in node.input):
                    done[i] = True
                    order.append(node)
                    available.update(node.output)
                    progress = True
        if len(order) < len(nodes):
            stuck = next(n for i, n in enumerate(nodes) if not done[i])
            raise InputError(
                f"the ONNX graph has a cycle at node {stuck.name or stuck.op_type!r}",
                source=self.source,
            )
        self.index_of = {id(n): i for i, n in enumerate(nodes)}  # original positions
        return order

    def _node_label(self, node: Any) -> str:
        return node.name or f"{node.op_type}_{self.index_of[id(node)]}"

    def _weight_inputs(self) -> set[str]:
        ranks = {
            vi.name: len(vi.type.tensor_type.shape.dim)
            for vi in self.graph.input
            if vi.type.tensor_type.HasField("shape")
        }
        weights = set()
        for vi in self.graph.input:
            if vi.name in self.initializers:
                continue
            uses = [
                (self.nodes[i], slot)
                for i in self.consumers.get(vi.name, [])
                for slot, name in enumerate(self.nodes[i].input)
                if name == vi.name
            ]
            if not uses:
                continue
            if all(self._weight_slot(node, slot, ranks.get(vi.name)) for node, slot in uses):
                weights.add(vi.name)
        return weights

    @staticmethod
    def _weight_slot(node: Any, slot: int, rank: int | None) -> bool:
        if node.domain not in ("", "ai.onnx") or slot not in _WEIGHT_SLOTS.get(node.op_type, ()):
            return False
        return node.op_type != "MatMul" or rank == 2

    def _apply_input_shapes(self, input_shapes: Mapping[str, Sequence[int]]) -> None:
        by_name = {vi.name: vi for vi in self.graph.input if vi.name not in self.initializers}
        for name, dims in input_shapes.items():
            if name not in by_name:
                names = ", ".join(repr(v.name) for v in self.data_inputs[:6]) or "none"
                if len(self.data_inputs) > 6:
                    names += f", ... ({len(self.data_inputs) - 6} more)"
                raise InputError(
                    f"--input-shape names {name!r}, which is not an input of the graph "
                    f"(graph inputs: {names})",
                    source=self.source,
                )
            try:
                dims = tuple(int(d) for d in dims)
            except (TypeError, ValueError):
                raise InputError(
                    f"shape for input {name!r} must be a sequence of integers, got {dims!r}",
                    source=self.source,
                ) from None
            if any(d < 1 for d in dims):
                raise InputError(
                    f"shape for input {name!r} must have positive dimensions, got {dims}",
                    source=self.source,
                )
            tt = by_name[name].type.tensor_type
            if tt.HasField("shape") and len(tt.shape.dim) != len(dims):
                raise InputError(
                    f"input {name!r} has rank {len(tt.shape.dim)} "
                    f"({_fmt_shape(self._vi_shape(by_name[name]))}), but the given shape "
                    f"{'x'.join(map(str, dims))} has rank {len(dims)}",
                    source=self.source,
                )
            del tt.shape.dim[:]
            for d in dims:
                tt.shape.dim.add().dim_value = d
        # A symbolic leading dimension of a data input is the batch: fix it to 1 (the IR is per
        # sample; any value gives the same per-sample shapes). Fix the same symbol elsewhere too.
        batch_symbols = set()
        for vi in self.data_inputs:
            dims = vi.type.tensor_type.shape.dim
            if len(dims) >= 2 and not dims[0].HasField("dim_value") and dims[0].dim_param:
                batch_symbols.add(dims[0].dim_param)
            elif len(dims) >= 2 and not dims[0].HasField("dim_value"):
                dims[0].dim_value = 1
        for vi in self.data_inputs:
            for d in vi.type.tensor_type.shape.dim:
                if not d.HasField("dim_value") and d.dim_param in batch_symbols:
                    d.dim_value = 1

    @staticmethod
    def _vi_shape(vi: Any) -> Shape | None:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            return None
        return tuple(
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim
        )

    def _infer_shapes(self) -> dict[str, Shape | None]:
        try:
            inferred = self.onnx.shape_inference.infer_shapes(
                self.model, check_type=False, strict_mode=False, data_prop=True
            )
        except Exception as exc:
            raise InputError(
                f"ONNX shape inference failed: {_first_line(exc)}", source=self.source
            ) from None
        shapes: dict[str, Shape | None] = {}
        g = inferred.graph
        for vi in (*g.input, *g.value_info, *g.output):
            if vi.type.HasField("tensor_type"):
                shapes[vi.name] = self._vi_shape(vi)
        for t in self.graph.initializer:
            shapes[t.name] = tuple(int(d) for d in t.dims)
        return shapes

    def _constant_tensors(self) -> set[str]:
        const = set(self.initializers) | self.weight_inputs
        for node in self.nodes:
            inputs = [i for i in node.input if i]
            if node.op_type in _ALWAYS_CONSTANT or all(i in const for i in inputs):
                const.update(o for o in node.output if o)
        return const

    def _graph_batch(self) -> int:
        for vi in self.data_inputs:
            shape = self.shapes.get(vi.name) or self._vi_shape(vi)
            if shape and len(shape) >= 2 and isinstance(shape[0], int) and shape[0] > 0:
                return shape[0]
        return 1

    # ---------------------------------------------------------------- helpers

    def shape(self, tensor: str, node: Any) -> tuple[int, ...]:
        shape = self.shapes.get(tensor)
        if shape is not None and all(isinstance(d, int) and d > 0 for d in shape):
            return shape
        label = self._node_label(node)
        if shape is not None and any(isinstance(d, int) and d == 0 for d in shape):
            raise InputError(
                f"tensor {tensor!r} (read by node {label!r}) is empty ({_fmt_shape(shape)})",
                source=self.source,
                key=label,
            )
        if shape is not None:
            raise InputError(
                f"tensor {tensor!r} (read by node {label!r}) has unresolved dimensions "
                f"{_fmt_shape(shape)}; fix the graph's dynamic dimensions with --input-shape "
                f"NAME=DIMS (input_shapes=...){self._inputs_hint()}",
                source=self.source,
                key=label,
            )
        reason = ""
        producer = self.producer_node.get(tensor)
        if tensor in self.unknown_outputs:
            reason = f" (it is produced by the unsupported operator {self.unknown_outputs[tensor]})"
        elif producer is not None and self.nodes[producer].domain not in ("", "ai.onnx"):
            reason = f" (it is produced by operator {self._op_label(self.nodes[producer])})"
        else:
            diag = self._strict_diagnostic()
            reason = f": {diag}" if diag else ""
            symbolic = self._inputs_hint()
            if symbolic:
                reason += f"; if dimensions are dynamic, set them with --input-shape{symbolic}"
        raise InputError(
            f"ONNX shape inference could not infer the shape of tensor {tensor!r} (read by node "
            f"{label!r}){reason}",
            source=self.source,
            key=label,
        )

    def _inputs_hint(self) -> str:
        dynamic = []
        for vi in self.data_inputs:
            shape = self._vi_shape(vi)
            if shape is None or any(not isinstance(d, int) or d < 1 for d in shape):
                dynamic.append(f"{vi.name}={_fmt_shape(shape)}")
        if len(dynamic) > 6:
            dynamic[6:] = [f"... ({len(dynamic) - 6} more)"]
        return f" (dynamic graph inputs: {', '.join(dynamic)})" if dynamic else ""

    def _strict_diagnostic(self) -> str:
        if self._strict_diag is None:
            try:
                self.onnx.shape_inference.infer_shapes(
                    self.model, check_type=True, strict_mode=True, data_prop=True
                )
                self._strict_diag = ""
            except Exception as exc:
                self._strict_diag = _first_line(exc)
        return self._strict_diag

    def numel(self, tensor: str, node: Any) -> int:
        return _prod(self.shape(tensor, node))

    def per_sample(self, total: int, node: Any, what: str) -> int:
        if total % self.graph_batch:
            label = self._node_label(node)
            raise InputError(
                f"node {label!r}: {what} ({total}) is not a multiple of the graph batch "
                f"{self.graph_batch}, so it cannot be described per sample",
                source=self.source,
                key=label,
            )
        return total // self.graph_batch

    def copies(self, n: int, node: Any) -> int:
        """Images per sample of a convolution or pooling whose tensor has leading dimension n."""
        return self.per_sample(n, node, "the leading (batch) dimension")

    def attrs(self, node: Any) -> dict[str, Any]:
        out = {}
        for a in node.attribute:
            value = self.onnx.helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            out[a.name] = value
        return out

    def const_value(self, tensor: str) -> Any | None:
        """The numpy value of a constant tensor held by an initializer or Constant node."""
        from onnx import numpy_helper

        if tensor in self.initializers:
            try:
                return numpy_helper.to_array(self.initializers[tensor])
            except Exception:
                return None
        i = self.producer_node.get(tensor)
        if i is not None and self.nodes[i].op_type == "Constant":
            for a in self.nodes[i].attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
                if a.name in ("value_ints", "value_int", "value_floats", "value_float"):
                    import numpy as np

                    return np.array(self.onnx.helper.get_attribute_value(a))
        return None

    def is_const(self, tensor: str) -> bool:
        return tensor in self.const

    @staticmethod
    def _op_label(node: Any) -> str:
        return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"

    def unique(self, name: str) -> str:
        if name not in self.names:
            self.names.add(name)
            return name
        k = 2
        while f"{name}_{k}" in self.names:
            k += 1
        self.names.add(f"{name}_{k}")
        return f"{name}_{k}"

    def emit(self, op: Op, nodes: Sequence[Any], output: str) -> None:
        self.entries.append(_Entry(op=op, nodes=[self._node_label(n) for n in nodes]))
        self.entry_of[output] = len(self.entries) - 1

    def single_consumer(self, tensor: str, node_index: int) -> bool:
        return tensor not in self.graph_outputs and self.consumers.get(tensor, []) == [node_index]

    # ---------------------------------------------------------------- main walk

    def run(self) -> OnnxImport:
        unknown_types = Counter(self._op_label(n) for n in self.nodes if not self._known(n))
        if unknown_types and self.strict:
            raise InputError(
                f"the model uses operators evodse does not support: {_fmt_counts(unknown_types)} "
                "(without --strict they are left out with a warning)",
                source=self.source,
            )
        fused_into = self._find_patterns()
        for i, node in enumerate(self.nodes):
            label = self._node_label(node)
            try:
                if i in fused_into:
                    self._emit_pattern(i, fused_into[i])
                else:
                    self._map_node(i, node)
            except InputError as exc:
                if exc.source:
                    raise
                raise InputError(exc.detail, source=self.source, key=exc.key or label) from None
            except Exception as exc:
                raise InputError(
                    f"cannot import node {label!r} ({node.op_type}): {_first_line(exc)}",
                    source=self.source,
                    key=label,
                ) from None
        if self.report.unknown:
            message = (
                f"{self.source}: left out ONNX operators evodse does not support: "
                f"{_fmt_counts(self.report.unknown)} (use --strict to make this an error)"
            )
            if self.strict:
                raise InputError(
                    f"the model uses operators evodse does not support: "
                    f"{_fmt_counts(self.report.unknown)}",
                    source=self.source,
                )
            warnings.warn(message, OnnxImportWarning, stacklevel=4)
        if not self.entries:
            seen = self.report.folded + self.report.constant + self.report.unknown
            raise InputError(
                "the ONNX graph has no operation evodse can model, only data movement, constants "
                f"or unsupported operators ({_fmt_counts(seen)})",
                source=self.source,
            )
        ops = tuple(e.op for e in self.entries)
        self.report.origins = {e.op.name: tuple(e.nodes) for e in self.entries}
        name = Path(self.source).stem or self.graph.name or "onnx_model"
        network = Network(name=name, ops=ops, batch=self.batch or self.graph_batch)
        return OnnxImport(network=network, report=self.report)

    def _known(self, node: Any) -> bool:
        if node.domain == EVODSE_DOMAIN:
            return node.op_type == "Op"
        return node.domain in ("", "ai.onnx") and node.op_type in KNOWN_OPS

    def _map_node(self, i: int, node: Any) -> None:
        op_type = node.op_type
        label = self._op_label(node)
        if not self._known(node):
            self.report.unknown[label] += 1
            for out in node.output:
                self.unknown_outputs[out] = label
            return
        outputs = [o for o in node.output if o]
        if outputs and all(o in self.const for o in outputs):
            self.report.constant[label] += 1
            return
        if node.domain == EVODSE_DOMAIN:
            self._evodse_op(node)
            return
        if op_type in DATA_MOVEMENT or op_type in _ALWAYS_CONSTANT:
            self.report.folded[label] += 1
            return
        handler = _HANDLERS.get(op_type)
        if handler is not None:
            done = handler(self, i, node)
        elif op_type in ACTIVATIONS:
            done = self._activation(i, node)
        elif op_type in BINARY:
            done = self._binary(i, node)
        elif op_type in REDUCTIONS:
            done = self._reduction(i, node)
        else:  # pragma: no cover - KNOWN_OPS and the dispatch agree
            raise AssertionError(op_type)
        if done == "fused":
            self.report.fused[label] += 1
        elif done == "unsupported":
            pass
        else:
            self.report.mapped[label] += 1

    def _name(self, node: Any) -> str:
        return self.unique(self._node_label(node))

    def _unsupported(self, node: Any, variant: str) -> str:
        label = f"{self._op_label(node)}({variant})"
        self.report.unknown[label] += 1
        for out in node.output:
            self.unknown_outputs[out] = label
        return "unsupported"

    # ---------------------------------------------------------------- convolutions

    def _spatial_pads(
        self,
        attrs: Mapping[str, Any],
        sizes: Sequence[int],
        kernel: Sequence[int],
        strides: Sequence[int],
        dilations: Sequence[int],
    ) -> tuple[list[int], list[int]]:
        n = len(sizes)
        auto = attrs.get("auto_pad", "NOTSET") or "NOTSET"
        if auto == "NOTSET":
            pads = [int(p) for p in attrs.get("pads", [0] * (2 * n))]
            if len(pads) != 2 * n:
                raise InputError(f"pads must have {2 * n} values, got {pads}")
            return pads[:n], pads[n:]
        if auto == "VALID":
            return [0] * n, [0] * n
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            begins, ends = [], []
            for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
                out = -(-size // s)
                total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                small, big = total // 2, total - total // 2
                begins.append(small if auto == "SAME_UPPER" else big)
                ends.append(big if auto == "SAME_UPPER" else small)
            return begins, ends
        raise InputError(f"unknown auto_pad {auto!r}")

    def _conv(self, i: int, node: Any) -> str | None:
        xs = self.shape(node.input[0], node)
        ws = self.shape(node.input[1], node)
        spatial = len(xs) - 2
        if spatial not in (1, 2):
            return self._unsupported(node, f"{spatial}-D")
        a = self.attrs(node)
        group = int(a.get("group", 1))
        kernel = [int(k) for k in a.get("kernel_shape", ws[2:])]
        strides = [int(s) for s in a.get("strides", [1] * spatial)]
        dil = [int(d) for d in a.get("dilations", [1] * spatial)]
        begins, ends = self._spatial_pads(a, xs[2:], kernel, strides, dil)
        if ws[1] * group != xs[1]:
            raise InputError(
                f"weight {_fmt_shape(ws)} with group={group} does not match {xs[1]} input channels"
            )
        if spatial == 1:  # 1-D: height 1
            kernel, strides, dil = [1, *kernel], [1, *strides], [1, *dil]
            begins, ends, hw = [0, *begins], [0, *ends], (1, xs[2])
        else:
            hw = (xs[2], xs[3])
        has_bias = len(node.input) > 2 and bool(node.input[2])
        op = Conv2d(
            name=self._node_label(node),
            in_channels=xs[1],
            out_channels=ws[0],
            in_h=hw[0],
            in_w=hw[1],
            kernel_h=kernel[0],
            kernel_w=kernel[1],
            stride_h=strides[0],
            stride_w=strides[1],
            pad_top=begins[0],
            pad_left=begins[1],
            pad_bottom=ends[0],
            pad_right=ends[1],
            dilation_h=dil[0],
            dilation_w=dil[1],
            groups=group,
            bias=has_bias,
        )
        out = self.shapes.get(node.output[0])
        expected = (
            (op.out_channels, op.out_w) if spatial == 1 else (op.out_channels, op.out_h, op.out_w)
        )
        if out and all(isinstance(d, int) for d in out) and tuple(out[1:]) != expected:
            raise InputError(
                f"computed output {op.out_channels}x{op.out_h}x{op.out_w} disagrees with ONNX "
                f"shape inference {_fmt_shape(out)}"
            )
        self._emit_copies(op, node, node.output[0], self.copies(xs[0], node))
        return None

    def _emit_copies(self, op: Op, node: Any, output: str, copies: int) -> None:
        """Emit ``op`` (named after its node) once per image of a sample (usually once)."""
        label = op.name
        if copies == 1:
            self.emit(replace(op, name=self.unique(label)), [node], output)
            return
        for k in range(copies):
            self.emit(replace(op, name=self.unique(f"{label}#{k}")), [node], output)

    def _conv_transpose(self, i: int, node: Any) -> str | None:
        """Lowered to the col2im GEMM: a 1x1 conv from Cin to Cout*kh*kw channels per group.

        A transposed conv multiplies every input pixel by the whole (Cin/g) x (Cout/g * kh*kw)
        weight slice of its group and scatter-adds the products into the output (col2im). Its
        MACs are in_h*in_w*Cin*(Cout/g)*kh*kw, exactly those of a stride-1 1x1 Conv2d over the
        input with in_channels=Cin, out_channels=Cout*kh*kw and the same groups; the weight count
        is equal too. Strides, pads, dilations and output_padding only change where the products
        land, not how many there are. The overlap-add and the bias are not modeled.
        """
        xs = self.shape(node.input[0], node)
        ws = self.shape(node.input[1], node)
        spatial = len(xs) - 2
        if spatial not in (1, 2):
            return self._unsupported(node, f"{spatial}-D")
        a = self.attrs(node)
        group = int(a.get("group", 1))
        kernel = [int(k) for k in a.get("kernel_shape", ws[2:])]
        cout = ws[1] * group
        hw = (1, xs[2]) if spatial == 1 else (xs[2], xs[3])
        op = Conv2d(
            name=self._node_label(node),
            in_channels=xs[1],
            out_channels=cout * _prod(kernel),
            in_h=hw[0],
            in_w=hw[1],
            kernel_h=1,
            kernel_w=1,
            groups=group,
            bias=False,
        )
        self._emit_copies(op, node, node.output[0], self.copies(xs[0], node))
        return None

    # ---------------------------------------------------------------- pooling

    def _pool(self, i: int, node: Any) -> str | None:
        xs = self.shape(node.input[0], node)
        spatial = len(xs) - 2
        if spatial not in (1, 2):
            return self._unsupported(node, f"{spatial}-D")
        op_type = node.op_type
        mode = "max" if op_type in ("MaxPool", "GlobalMaxPool") else "avg"
        sizes = list(xs[2:])
        if op_type.startswith("Global"):
            kernel, strides, begins, ends, ceil = (
                sizes,
                [1] * spatial,
                [0] * spatial,
                [0] * spatial,
                0,
            )
        else:
            a = self.attrs(node)
            kernel = [int(k) for k in a["kernel_shape"]]
            strides = [int(s) for s in a.get("strides", [1] * spatial)]
            dil = [int(d) for d in a.get("dilations", [1] * spatial)]
            begins, ends = self._spatial_pads(a, sizes, kernel, strides, dil)
            # Pool2d has no dilation: use the dilated window span (right output size).
            kernel = [d * (k - 1) + 1 for k, d in zip(kernel, dil, strict=True)]
            ceil = int(a.get("ceil_mode", 0))
        if spatial == 1:
            sizes, kernel, strides = [1, *sizes], [1, *kernel], [1, *strides]
            begins, ends = [0, *begins], [0, *ends]
        op = Pool2d(
            name=self._node_label(node),
            channels=xs[1],
            in_h=sizes[0],
            in_w=sizes[1],
            kernel_h=kernel[0],
            kernel_w=kernel[1],
            stride_h=strides[0],
            stride_w=strides[1],
            pad_top=begins[0],
            pad_left=begins[1],
            pad_bottom=ends[0],
            pad_right=ends[1],
            mode=mode,
            ceil_mode=bool(ceil),
        )
        op = self._fit_ceil_pool(op, self.shapes.get(node.output[0]), spatial)
        self._emit_copies(op, node, node.output[0], self.copies(xs[0], node))
        return None

    @staticmethod
    def _fit_ceil_pool(op: Pool2d, out: Shape | None, spatial: int) -> Pool2d:
        """Match ONNX's ceil mode, which drops a last window starting in the end padding.

        Pool2d's ceil-mode formula keeps that window; removing end padding that only such a
        window would read gives ONNX's output size with the same windows.
        """
        if not op.ceil_mode or not out or not all(isinstance(d, int) for d in out):
            return op
        want_h, want_w = (1, out[2]) if spatial == 1 else (out[2], out[3])
        while op.out_h > want_h and op.pad_bottom > 0:
            op = replace(op, pad_bottom=op.pad_bottom - 1)
        while op.out_w > want_w and op.pad_right > 0:
            op = replace(op, pad_right=op.pad_right - 1)
        return op

    # ---------------------------------------------------------------- GEMMs

    def _gemm(self, i: int, node: Any) -> str | None:
        a_s = self.shape(node.input[0], node)
        b_s = self.shape(node.input[1], node)
        if len(a_s) != 2 or len(b_s) != 2:
            raise InputError(f"Gemm needs 2-D operands, got {_fmt_shape(a_s)}, {_fmt_shape(b_s)}")
        at = self.attrs(node)
        m, k = (a_s[1], a_s[0]) if at.get("transA", 0) else a_s
        k2, n = (b_s[1], b_s[0]) if at.get("transB", 0) else b_s
        if k != k2:
            raise InputError(f"Gemm inner dimensions differ: {k} and {k2}")
        has_c = len(node.input) > 2 and bool(node.input[2])
        name = self._name(node)
        if self.is_const(node.input[1]):
            op: Op = Linear(
                name=name,
                in_features=k,
                out_features=n,
                tokens=self.per_sample(m, node, "the number of rows"),
                bias=has_c,
            )
        else:
            op = MatMul(name=name, m=self.per_sample(m, node, "the number of rows"), n=n, k=k)
        self.emit(op, [node], node.output[0])
        return None

    def _matmul(self, i: int, node: Any) -> str | None:
        a_name, b_name = node.input[0], node.input[1]
        a_s = self.shape(a_name, node)
        b_s = self.shape(b_name, node)
        if len(a_s) == 1:
            a_s = (1, *a_s)
        if len(b_s) == 1:
            b_s = (*b_s, 1)
        m, k = a_s[-2:]
        k2, n = b_s[-2:]
        if k != k2:
            raise InputError(
                f"MatMul inner dimensions differ: {_fmt_shape(a_s)} @ {_fmt_shape(b_s)}"
            )
        batch_shape = _broadcast(a_s[:-2], b_s[:-2])
        count = _prod(batch_shape)
        name = self._name(node)
        op: Op
        if self.is_const(b_name) and _prod(b_s[:-2]) == 1:
            tokens = self.per_sample(count * m, node, "the number of rows")
            op = Linear(name=name, in_features=k, out_features=n, tokens=tokens, bias=False)
        elif self.is_const(a_name) and _prod(a_s[:-2]) == 1:  # W @ x: columns of x are tokens
            tokens = self.per_sample(count * n, node, "the number of columns")
            op = Linear(name=name, in_features=k, out_features=m, tokens=tokens, bias=False)
        elif count % self.graph_batch == 0:
            op = MatMul(name=name, m=m, n=n, k=k, count=count // self.graph_batch)
        else:
            op = MatMul(name=name, m=self.per_sample(m * count, node, "rows"), n=n, k=k)
        self.emit(op, [node], node.output[0])
        return None

    # ---------------------------------------------------------------- vector operations

    def _norm(self, i: int, node: Any) -> str | None:
        xs = self.shape(node.input[0], node)
        elements = self.per_sample(_prod(xs), node, "the number of elements")
        if node.op_type == "BatchNormalization":
            mode, channels = "batch", xs[1] if len(xs) > 1 else xs[0]
        elif node.op_type in ("LayerNormalization", "RMSNormalization"):
            axis = int(self.attrs(node).get("axis", -1)) % len(xs)
            mode = "rms" if node.op_type == "RMSNormalization" else "layer"
            channels = _prod(xs[axis:])
        else:  # Instance / Group normalization: statistics per (sample, group), C affine params
            mode, channels = "layer", xs[1]
        op = Norm(name=self._name(node), elements=elements, channels=channels, mode=mode)
        self.emit(op, [node], node.output[0])
        return None

    def _softmax(self, i: int, node: Any) -> str | None:
        xs = self.shape(node.input[0], node)
        default = -1 if self.opset >= 13 else 1
        axis = int(self.attrs(node).get("axis", default)) % len(xs)
        if self.opset >= 13:
            row = xs[axis]
            rows = _prod(xs) // row
        else:  # opset < 13 coerces the input to 2-D [prod(shape[:axis]), prod(shape[axis:])]
            row = _prod(xs[axis:])
            rows = _prod(xs[:axis])
        op = Softmax(
            name=self._name(node),
            rows=self.per_sample(rows, node, "the number of rows"),
            row_length=row,
        )
        self.emit(op, [node], node.output[0])
        return None

    def _lrn(self, i: int, node: Any) -> str | None:
        size = int(self.attrs(node)["size"])
        return self._elementwise(node, "lrn", lrn_ops_per_element(size), 1, node.input[0])

    def _elementwise(
        self, node: Any, function: str, ops: int, inputs: int, tensor: str, nodes: Sequence = ()
    ) -> None:
        elements = self.per_sample(self.numel(tensor, node), node, "the number of elements")
        op = Elementwise(
            name=self._name(node),
            elements=elements,
            inputs=inputs,
            ops_per_element=ops,
            function=function,
        )
        self.emit(op, [node, *nodes], node.output[0])

    def _activation(self, i: int, node: Any) -> str | None:
        function, ops = ACTIVATIONS[node.op_type]
        if node.op_type == "Gelu" and self.attrs(node).get("approximate", "none") == "tanh":
            function = "gelu_tanh"
        self._elementwise(node, function, ops, 1, node.output[0])
        return None

    def _reduction(self, i: int, node: Any) -> str | None:
        function, ops = REDUCTIONS[node.op_type]
        self._elementwise(node, function, ops, 1, node.input[0])
        return None

    def _binary(self, i: int, node: Any) -> str | None:
        inputs = [t for t in node.input if t]
        variable = [t for t in inputs if not self.is_const(t)]
        function = BINARY[node.op_type]
        if len(variable) == 1 and len(inputs) == 2 and self._fold(i, node, variable[0]):
            return "fused"
        ops = max(1, len(inputs) - 1) if node.op_type != "Where" else 1
        self._elementwise(node, function, ops, len(variable), node.output[0])
        return None

    def _fold(self, i: int, node: Any, x: str) -> bool:
        """Fold ``x (+-*/) constant`` into the operation producing x, when that is exact."""
        c = next(t for t in node.input if t and t != x)
        entry_index = self.entry_of.get(x)
        if entry_index is None or not self.single_consumer(x, i):
            return False
        entry = self.entries[entry_index]
        op = entry.op
        c_shape = self.shape(c, node)
        x_shape = self.shape(x, node)
        numel = _prod(c_shape)
        is_add = node.op_type in ("Add", "Sub", "Sum")
        if node.op_type in ("Sub", "Div") and node.input[0] != x:
            return False  # c - x and c / x are not affine in the usual sense
        if isinstance(op, (Conv2d, Linear)) and is_add and not op.bias:
            if isinstance(op, Conv2d):
                channels, axis = op.out_channels, 1
            else:
                channels, axis = op.out_features, len(x_shape) - 1
            if numel != channels or not _along(c_shape, x_shape, axis):
                return False
            entry.op = replace(op, bias=True)
        elif isinstance(op, Norm):
            axis = 1 if op.mode == "batch" else len(x_shape) - 1
            if not (numel == 1 or (numel <= op.channels and _along(c_shape, x_shape, axis))):
                return False
        else:
            return False
        entry.nodes.append(self._node_label(node))
        self.entry_of[node.output[0]] = entry_index
        return True

    def _evodse_op(self, node: Any) -> None:
        a = self.attrs(node)
        kind = a.pop("kind", None)
        if kind not in OP_TYPES:
            raise InputError(f"{EVODSE_DOMAIN}.Op has unknown kind {kind!r}")
        for key, value in a.items():
            if key in ("bias", "ceil_mode", "kv_cache"):
                a[key] = bool(value)
        op = OP_TYPES[kind](name=self._name(node), **a)
        self.emit(op, [node], node.output[0])
        self.report.mapped[self._op_label(node)] += 1

    # ---------------------------------------------------------------- fused patterns

    def _find_patterns(self) -> dict[int, tuple[str, list[int]]]:
        """Node index -> (pattern kind, indices of the pattern's nodes, emitted at the last)."""
        claimed: dict[int, tuple[str, list[int]]] = {}
        for i, node in enumerate(self.nodes):
            if node.domain not in ("", "ai.onnx") or i in claimed:
                continue
            found = None
            if node.op_type == "Erf":
                found = ("gelu", self._match_gelu(i))
            elif node.op_type == "ReduceMean":
                found = ("layernorm", self._match_layernorm(i))
            if found and found[1] and not any(j in claimed for j in found[1]):
                for j in found[1]:
                    claimed[j] = (found[0], found[1])
        return claimed

    def _only_consumer(self, tensor: str) -> tuple[int, Any] | None:
        users = self.consumers.get(tensor, [])
        if tensor in self.graph_outputs or len(set(users)) != 1:
            return None
        return users[0], self.nodes[users[0]]

    def _other(self, node: Any, tensor: str) -> str | None:
        others = [t for t in node.input if t != tensor]
        if len(node.input) != 2 or len(others) != 1:
            return None
        return others[0]

    def _match_gelu(self, erf_i: int) -> list[int]:
        erf = self.nodes[erf_i]
        pre_i = self.producer_node.get(erf.input[0])
        if pre_i is None:
            return []
        pre = self.nodes[pre_i]
        if pre.op_type not in ("Div", "Mul") or len(pre.input) != 2:
            return []
        x, c = pre.input
        if pre.op_type == "Mul" and self.is_const(x):
            x, c = c, x
        if self.is_const(x) or not self.is_const(c):
            return []
        if self._only_consumer(pre.output[0]) is None:
            return []
        nxt = self._only_consumer(erf.output[0])
        if nxt is None or nxt[1].op_type != "Add":
            return []
        add_i, add = nxt
        if not self.is_const(self._other(add, erf.output[0]) or ""):
            return []
        indices = [pre_i, erf_i, add_i]
        cur = add.output[0]
        saw_x = saw_half = False
        for _ in range(2):
            nxt = self._only_consumer(cur)
            if nxt is None or nxt[1].op_type != "Mul":
                return []
            mul_i, mul = nxt
            other = self._other(mul, cur)
            if other is None:
                return []
            if other == x:
                saw_x = True
            elif self.is_const(other):
                saw_half = True
            else:
                half_i = self.producer_node.get(other)
                half = self.nodes[half_i] if half_i is not None else None
                if (
                    half is None
                    or half.op_type != "Mul"
                    or x not in half.input
                    or not self.is_const(self._other(half, x) or "")
                    or self._only_consumer(other) != (mul_i, mul)
                ):
                    return []
                indices.append(half_i)
                saw_x = saw_half = True
            indices.append(mul_i)
            cur = mul.output[0]
            if saw_x and saw_half:
                return sorted(indices)
        return []

    def _axes(self, node: Any) -> tuple[int, ...] | None:
        a = self.attrs(node)
        if "axes" in a:
            return tuple(int(v) for v in a["axes"])
        if len(node.input) > 1 and node.input[1]:
            value = self.const_value(node.input[1])
            return None if value is None else tuple(int(v) for v in value.reshape(-1))
        return None

    def _match_layernorm(self, r1_i: int) -> list[int]:
        r1 = self.nodes[r1_i]
        x = r1.input[0]
        axes = self._axes(r1)
        if axes is None:
            return []
        step = self._only_consumer(r1.output[0])
        if step is None or step[1].op_type != "Sub" or list(step[1].input) != [x, r1.output[0]]:
            return []
        sub_i, sub = step
        d = sub.output[0]
        users = sorted(set(self.consumers.get(d, [])))
        if d in self.graph_outputs or len(users) != 2:
            return []
        sq = next(
            (
                j
                for j in users
                if (self.nodes[j].op_type == "Pow" and self.is_const(self.nodes[j].input[1]))
                or (self.nodes[j].op_type == "Mul" and list(self.nodes[j].input) == [d, d])
            ),
            None,
        )
        div_j = next((j for j in users if j != sq and self.nodes[j].op_type == "Div"), None)
        if sq is None or div_j is None or self.nodes[div_j].input[0] != d:
            return []
        chain = [r1_i, sub_i, sq]
        cur = self.nodes[sq].output[0]
        for op_type in ("ReduceMean", "Add", "Sqrt"):
            step = self._only_consumer(cur)
            if step is None or step[1].op_type != op_type:
                return []
            j, nd = step
            if op_type == "ReduceMean" and self._axes(nd) != axes:
                return []
            if op_type == "Add" and not self.is_const(self._other(nd, cur) or ""):
                return []
            chain.append(j)
            cur = nd.output[0]
        step = self._only_consumer(cur)
        if step is None or step[0] != div_j:
            return []
        chain.append(div_j)
        cur = self.nodes[div_j].output[0]
        for op_type in ("Mul", "Add"):  # optional affine gamma, beta
            step = self._only_consumer(cur)
            if step is None or step[1].op_type != op_type:
                break
            if not self.is_const(self._other(step[1], cur) or ""):
                break
            chain.append(step[0])
            cur = step[1].output[0]
        return sorted(chain)

    def _emit_pattern(self, i: int, pattern: tuple[str, list[int]]) -> None:
        kind, indices = pattern
        node = self.nodes[i]
        if i == indices[0]:  # the first node names the fused operation
            self.report.mapped[self._op_label(node)] += 1
        else:
            self.report.fused[self._op_label(node)] += 1
        if i != indices[-1]:
            return
        first = self.nodes[indices[0]]
        others = [self.nodes[j] for j in indices if j != indices[0]]
        out = node.output[0]
        if kind == "gelu":
            elements = self.per_sample(self.numel(out, node), node, "the number of elements")
            op: Op = Elementwise(
                name=self._name(first), elements=elements, function="gelu", ops_per_element=GELU_OPS
            )
        else:
            xs = self.shape(first.input[0], first)
            axes = self._axes(first) or (-1,)
            channels = _prod([xs[a % len(xs)] for a in axes])
            elements = self.per_sample(_prod(xs), first, "the number of elements")
            op = Norm(name=self._name(first), elements=elements, channels=channels, mode="layer")
        self.entries.append(
            _Entry(op=op, nodes=[self._node_label(first), *(self._node_label(n) for n in others)])
        )
        self.entry_of[out] = len(self.entries) - 1


def _along(c_shape: Sequence[int], x_shape: Sequence[int], axis: int) -> bool:
    """Whether a constant of shape c_shape broadcast against x_shape varies only along ``axis``."""
    offset = len(x_shape) - len(c_shape)
    if offset < 0:
        return False
    return all(d == 1 or offset + j == axis for j, d in enumerate(c_shape))


def _fmt_counts(counter: Counter) -> str:
    return ", ".join(
        f"{k} x{v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    )


_HANDLERS = {
    "Conv": _Importer._conv,
    "ConvTranspose": _Importer._conv_transpose,
    "Gemm": _Importer._gemm,
    "MatMul": _Importer._matmul,
    "MaxPool": _Importer._pool,
    "AveragePool": _Importer._pool,
    "LpPool": _Importer._pool,
    "GlobalAveragePool": _Importer._pool,
    "GlobalMaxPool": _Importer._pool,
    "BatchNormalization": _Importer._norm,
    "LayerNormalization": _Importer._norm,
    "InstanceNormalization": _Importer._norm,
    "GroupNormalization": _Importer._norm,
    "RMSNormalization": _Importer._norm,
    "Softmax": _Importer._softmax,
    "LogSoftmax": _Importer._softmax,
    "LRN": _Importer._lrn,
}
