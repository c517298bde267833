"""Write a :class:`~evodse.workload.network.Network` as an ONNX model (for round trips and viewers).

Every operation becomes the standard ONNX node(s) that :mod:`evodse.workload.onnx_import` maps
back to exactly the same operation, named after the layer:

==============================  ===========================================================
evodse operation                ONNX
==============================  ===========================================================
``Conv2d``                      ``Conv`` (pads, strides, dilations, group; bias as input B)
``Linear`` (``tokens == 1``)    ``Gemm`` with ``transB=1`` (bias as input C)
``Linear`` (``tokens > 1``)     ``MatMul`` on ``[batch, tokens, in]`` (+ ``Add`` of the bias)
``MatMul``                      ``MatMul`` of two activations ``[batch, count, m, k]`` and
                                ``[batch, count, k, n]``
``Pool2d``                      ``MaxPool`` / ``AveragePool`` (pads, strides, ``ceil_mode``)
``Norm`` batch / layer          ``BatchNormalization`` on ``[batch, C, elements/C]`` /
                                ``LayerNormalization`` on ``[batch, elements/C, C]``
                                (RMS norm: custom, ``RMSNormalization`` needs opset 23)
``Softmax``                     ``Softmax`` (last axis) on ``[batch, rows, row_length]``
``Elementwise``                 the activation or arithmetic operator with the same
                                ``function`` and ``ops_per_element`` (``Relu``, ``Add``,
                                ``Sum``, ``LRN``, the erf decomposition of GELU, ...)
==============================  ===========================================================

An operation with no exact standard equivalent (an ``ExpertLinear``, an operation reading or
writing the KV cache (``kv_cache``), an elementwise function or operation count
evodse's importer would not reproduce, a pool whose ONNX output size differs, a norm whose
elements are not a multiple of its channels) is written as a node of the custom domain
``ai.evodse`` (``Op``, with the operation's fields as attributes): evodse reads it back exactly,
other ONNX tools see an unknown operator.

What is lost: weight values (every weight is a ``ConstantOfShape`` of zeros, so files stay a few
kilobytes), and the graph's connectivity, which the IR does not keep: an operation reads the
previous operation's output when the element counts agree (through a ``Reshape`` if needed) and
otherwise a fresh graph input of the right shape; the second operand of a two-input elementwise
or of a ``MatMul`` is always a graph input. Layer names, shapes and the batch size are kept, so
``from_onnx(to_onnx(net))`` has the same operations as ``net``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from evodse.errors import InputError
from evodse.workload.network import Network
from evodse.workload.onnx_import import ACTIVATIONS, EVODSE_DOMAIN, GELU_OPS, lrn_ops_per_element
from evodse.workload.ops import (
    Conv2d,
    Elementwise,
    Linear,
    MatMul,
    Norm,
    Op,
    Pool2d,
    Softmax,
)

__all__ = ["network_to_onnx", "to_onnx"]

OPSET = 17

# Unary activations written as the plain ONNX operator (no extra inputs or attributes needed).
_UNARY = {
    function: op_type
    for op_type, (function, _) in ACTIVATIONS.items()
    if op_type not in ("PRelu", "Clip", "Gelu", "Mish", "ThresholdedRelu", "Celu", "Not")
}
_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "max": "Max", "min": "Min"}


def to_onnx(network: Network, path: str | Path) -> Path:
    """Write ``network`` to ``path`` as an ONNX model; returns the path."""
    onnx = _onnx()
    model = network_to_onnx(network)
    path = Path(path)
    try:
        onnx.save(model, str(path))
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
    return path


def network_to_onnx(network: Network) -> Any:
    """The ``onnx.ModelProto`` for ``network`` (see the module docstring for the mapping)."""
    onnx = _onnx()
    return _Exporter(onnx, network).build()


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError(
            "exporting ONNX models needs the 'onnx' package (pip install 'evodse[onnx]')"
        ) from None
    return onnx


def _onnx_pool_out(size: int, kernel: int, stride: int, begin: int, end: int, ceil: bool) -> int:
    """Output size of an ONNX pool as ONNX Runtime and PyTorch compute it: in ceil mode a last
    window that would start in the end padding is dropped (Pool2d keeps it; some ONNX shape
    inference versions do too), so such pools are written as ``ai.evodse.Op`` nodes."""
    span = size + begin + end - kernel
    if not ceil:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + begin:
        out -= 1
    return out


class _Exporter:
    def __init__(self, onnx: Any, network: Network) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.net = network
        self.batch = network.batch
        self.nodes: list[Any] = []
        self.inputs: list[Any] = []
        self.initializers: list[Any] = []
        self.value_info: list[Any] = []
        self.prev: tuple[str, tuple[int, ...]] | None = None
        self.custom = False
        self.tensors: set[str] = set()

    # ---------------------------------------------------------------- plumbing

    def tensor(self, base: str) -> str:
        name, k = base, 2
        while name in self.tensors:
            name, k = f"{base}_{k}", k + 1
        self.tensors.add(name)
        return name

    def node(self, op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs):
        self.nodes.append(self.helper.make_node(op_type, inputs, outputs, name=name, **attrs))

    def graph_input(self, base: str, shape: tuple[int, ...]) -> str:
        name = self.tensor(base)
        self.inputs.append(
            self.helper.make_tensor_value_info(name, self.onnx.TensorProto.FLOAT, list(shape))
        )
        return name

    def int64s(self, base: str, values: list[int]) -> str:
        name = self.tensor(base)
        self.initializers.append(
            self.helper.make_tensor(name, self.onnx.TensorProto.INT64, [len(values)], values)
        )
        return name

    def scalar(self, base: str, value: float) -> str:
        name = self.tensor(base)
        self.initializers.append(
            self.helper.make_tensor(name, self.onnx.TensorProto.FLOAT, [], [value])
        )
        return name

    def weight(self, base: str, shape: list[int]) -> str:
        """A zero weight of ``shape`` computed by ConstantOfShape (keeps the file tiny)."""
        dims = self.int64s(f"{base}_shape", shape)
        out = self.tensor(base)
        self.node("ConstantOfShape", [dims], [out], name=base, value=self._zero())
        return out

    def _zero(self) -> Any:
        return self.helper.make_tensor("value", self.onnx.TensorProto.FLOAT, [1], [0.0])

    def source(self, op: Op, shape: tuple[int, ...]) -> str:
        """The tensor feeding ``op``: the previous output (reshaped) or a new graph input."""
        if self.prev is not None and math.prod(self.prev[1]) == math.prod(shape):
            name, prev_shape = self.prev
            if prev_shape == shape:
                return name
            out = self.tensor(f"{op.name}/reshaped")
            target = self.int64s(f"{op.name}/reshape_shape", list(shape))
            self.node("Reshape", [name, target], [out], name=f"{op.name}/reshape")
            return out
        return self.graph_input(f"{op.name}/input", shape)

    def output(self, op: Op, shape: tuple[int, ...], annotate: bool = False) -> str:
        name = self.tensor(f"{op.name}/output")
        self.prev = (name, shape)
        if annotate:
            self.value_info.append(
                self.helper.make_tensor_value_info(name, self.onnx.TensorProto.FLOAT, list(shape))
            )
        return name

    # ---------------------------------------------------------------- build

    def build(self) -> Any:
        for op in self.net.ops:
            method = getattr(self, f"_{op.kind}", None)
            # the KV-cache flags have no ONNX equivalent: kept by the custom node
            if getattr(op, "kv_cache", False) or method is None or not method(op):
                self._custom(op)
        assert self.prev is not None
        out_name, out_shape = self.prev
        outputs = [
            self.helper.make_tensor_value_info(
                out_name, self.onnx.TensorProto.FLOAT, list(out_shape)
            )
        ]
        graph = self.helper.make_graph(
            self.nodes,
            self.net.name,
            self.inputs,
            outputs,
            initializer=self.initializers,
            value_info=self.value_info,
        )
        opsets = [self.helper.make_opsetid("", OPSET)]
        if self.custom:
            opsets.append(self.helper.make_opsetid(EVODSE_DOMAIN, 1))
        model = self.helper.make_model(
            graph, opset_imports=opsets, producer_name="evodse", ir_version=8
        )
        model.doc_string = f"evodse network {self.net.name!r}, batch {self.batch}"
        return model

    def _custom(self, op: Op) -> bool:
        self.custom = True
        b = self.batch
        x = self.source(op, (b, op.input_elems))
        y = self.output(op, (b, op.output_elems), annotate=True)
        attrs = {"kind": op.kind}
        for key, value in op.dims().items():
            attrs[key] = int(value) if isinstance(value, bool) else value
        node = self.helper.make_node("Op", [x], [y], name=op.name, domain=EVODSE_DOMAIN)
        # fields such as Elementwise.inputs clash with make_node's keywords: add them directly
        node.attribute.extend(self.helper.make_attribute(k, v) for k, v in attrs.items())
        self.nodes.append(node)
        return True

    def _conv2d(self, op: Conv2d) -> bool:
        b = self.batch
        x = self.source(op, (b, op.in_channels, op.in_h, op.in_w))
        inputs = [
            x,
            self.weight(
                f"{op.name}.weight",
                [op.out_channels, op.in_channels // op.groups, op.kernel_h, op.kernel_w],
            ),
        ]
        if op.bias:
            inputs.append(self.weight(f"{op.name}.bias", [op.out_channels]))
        y = self.output(op, (b, op.out_channels, op.out_h, op.out_w))
        self.node(
            "Conv",
            inputs,
            [y],
            name=op.name,
            kernel_shape=[op.kernel_h, op.kernel_w],
            strides=[op.stride_h, op.stride_w],
            pads=[op.pad_top, op.pad_left, op.pad_bottom, op.pad_right],
            dilations=[op.dilation_h, op.dilation_w],
            group=op.groups,
        )
        return True

    def _linear(self, op: Linear) -> bool:
        b = self.batch
        if op.tokens == 1:
            x = self.source(op, (b, op.in_features))
            inputs = [x, self.weight(f"{op.name}.weight", [op.out_features, op.in_features])]
            if op.bias:
                inputs.append(self.weight(f"{op.name}.bias", [op.out_features]))
            y = self.output(op, (b, op.out_features))
            self.node("Gemm", inputs, [y], name=op.name, transB=1)
            return True
        x = self.source(op, (b, op.tokens, op.in_features))
        w = self.weight(f"{op.name}.weight", [op.in_features, op.out_features])
        if not op.bias:
            y = self.output(op, (b, op.tokens, op.out_features))
            self.node("MatMul", [x, w], [y], name=op.name)
            return True
        t = self.tensor(f"{op.name}/matmul")
        self.node("MatMul", [x, w], [t], name=op.name)
        bias = self.weight(f"{op.name}.bias", [op.out_features])
        y = self.output(op, (b, op.tokens, op.out_features))
        self.node("Add", [t, bias], [y], name=f"{op.name}/bias_add")
        return True

    def _matmul(self, op: MatMul) -> bool:
        b = self.batch
        a = self.source(op, (b, op.count, op.m, op.k))
        other = self.graph_input(f"{op.name}/input_b", (b, op.count, op.k, op.n))
        y = self.output(op, (b, op.count, op.m, op.n))
        self.node("MatMul", [a, other], [y], name=op.name)
        return True

    def _pool(self, op: Pool2d) -> bool:
        pads = (op.pad_top, op.pad_left, op.pad_bottom, op.pad_right)
        out = (
            _onnx_pool_out(
                op.in_h, op.kernel_h, op.stride_h, op.pad_top, op.pad_bottom, op.ceil_mode
            ),
            _onnx_pool_out(
                op.in_w, op.kernel_w, op.stride_w, op.pad_left, op.pad_right, op.ceil_mode
            ),
        )
        too_wide = (
            max(op.pad_top, op.pad_bottom) >= op.kernel_h
            or max(op.pad_left, op.pad_right) >= op.kernel_w
        )
        if out != (op.out_h, op.out_w) or too_wide:
            return False
        b = self.batch
        x = self.source(op, (b, op.channels, op.in_h, op.in_w))
        y = self.output(op, (b, op.channels, op.out_h, op.out_w))
        self.node(
            "MaxPool" if op.mode == "max" else "AveragePool",
            [x],
            [y],
            name=op.name,
            kernel_shape=[op.kernel_h, op.kernel_w],
            strides=[op.stride_h, op.stride_w],
            pads=list(pads),
            ceil_mode=int(op.ceil_mode),
        )
        return True

    def _norm(self, op: Norm) -> bool:
        if op.elements % op.channels or op.mode == "rms":  # RMSNormalization is opset 23
            return False
        b, rest = self.batch, op.elements // op.channels
        if op.mode == "batch":
            x = self.source(op, (b, op.channels, rest))
            stats = self.weight(f"{op.name}.stats", [op.channels])
            y = self.output(op, (b, op.channels, rest))
            self.node("BatchNormalization", [x, stats, stats, stats, stats], [y], name=op.name)
            return True
        x = self.source(op, (b, rest, op.channels))
        gamma = self.weight(f"{op.name}.weight", [op.channels])
        beta = self.weight(f"{op.name}.bias", [op.channels])
        y = self.output(op, (b, rest, op.channels))
        self.node("LayerNormalization", [x, gamma, beta], [y], name=op.name, axis=-1)
        return True

    def _softmax(self, op: Softmax) -> bool:
        shape = (self.batch, op.rows, op.row_length)
        x = self.source(op, shape)
        y = self.output(op, shape)
        self.node("Softmax", [x], [y], name=op.name, axis=-1)
        return True

    def _elementwise(self, op: Elementwise) -> bool:
        b, f, n = self.batch, op.function, op.inputs
        shape = (b, op.elements)
        if n == 1 and f in _UNARY and ACTIVATIONS[_UNARY[f]][1] == op.ops_per_element:
            x = self.source(op, shape)
            self.node(_UNARY[f], [x], [self.output(op, shape)], name=op.name)
            return True
        if n == 1 and f == "clip" and op.ops_per_element == ACTIVATIONS["Clip"][1]:
            x = self.source(op, shape)
            lo, hi = self.scalar(f"{op.name}/min", 0.0), self.scalar(f"{op.name}/max", 6.0)
            self.node("Clip", [x, lo, hi], [self.output(op, shape)], name=op.name)
            return True
        if n == 1 and f == "gelu" and op.ops_per_element == GELU_OPS:
            self._gelu(op, shape)
            return True
        if n == 1 and f == "lrn" and op.ops_per_element >= 5 and op.ops_per_element % 2:
            size = op.ops_per_element - 4
            assert lrn_ops_per_element(size) == op.ops_per_element
            shape4 = (b, op.elements, 1, 1)
            x = self.source(op, shape4)
            self.node("LRN", [x], [self.output(op, shape4)], name=op.name, size=size)
            return True
        if n == 2 and f in _BINARY and op.ops_per_element == 1:
            x = self.source(op, shape)
            other = self.graph_input(f"{op.name}/input_b", shape)
            self.node(_BINARY[f], [x, other], [self.output(op, shape)], name=op.name)
            return True
        if n >= 3 and f == "add" and op.ops_per_element == n - 1:
            x = self.source(op, shape)
            others = [self.graph_input(f"{op.name}/input_{i}", shape) for i in range(1, n)]
            self.node("Sum", [x, *others], [self.output(op, shape)], name=op.name)
            return True
        return False

    def _gelu(self, op: Elementwise, shape: tuple[int, ...]) -> None:
        """x * 0.5 * (1 + erf(x / sqrt(2))) as Div, Erf, Add, Mul, Mul (fused back on import)."""
        x = self.source(op, shape)
        t1, t2, t3, t4 = (self.tensor(f"{op.name}/t{i}") for i in range(1, 5))
        self.node("Div", [x, self.scalar(f"{op.name}/sqrt2", math.sqrt(2.0))], [t1], name=op.name)
        self.node("Erf", [t1], [t2], name=f"{op.name}/erf")
        self.node("Add", [t2, self.scalar(f"{op.name}/one", 1.0)], [t3], name=f"{op.name}/add")
        self.node("Mul", [x, t3], [t4], name=f"{op.name}/mul")
        half = self.scalar(f"{op.name}/half", 0.5)
        self.node("Mul", [t4, half], [self.output(op, shape)], name=f"{op.name}/half_mul")
