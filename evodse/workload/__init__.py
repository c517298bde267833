"""Workload IR (operations, networks), the built-in zoo, and importers (YAML, ONNX)."""

from evodse.workload.loader import load_workload
from evodse.workload.network import Network
from evodse.workload.ops import (
    OP_TYPES,
    Conv2d,
    Elementwise,
    ExpertLinear,
    Gemm,
    Linear,
    MatMul,
    Norm,
    Op,
    Pool2d,
    Softmax,
    VectorWork,
)


def from_onnx(path, input_shapes=None, batch=None, strict=False):
    """Import an ONNX model as a :class:`Network` (needs the ``onnx`` extra)."""
    from evodse.workload.onnx_import import from_onnx as _from_onnx

    return _from_onnx(path, input_shapes=input_shapes, batch=batch, strict=strict)


__all__ = [
    "OP_TYPES",
    "Conv2d",
    "Elementwise",
    "ExpertLinear",
    "Gemm",
    "Linear",
    "MatMul",
    "Network",
    "Norm",
    "Op",
    "Pool2d",
    "Softmax",
    "VectorWork",
    "from_onnx",
    "load_workload",
]
