"""A small Llama-style decoder built with the onnx package's helpers (as an exporter writes one:
RMS norm decomposed, RoPE as elementwise products, grouped-query attention by reshapes) imports
with the MACs of the zoo's decoder of the same shape, and the zoo's own export round-trips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from evodse.workload.zoo import zoo_network

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from evodse.workload.onnx_export import to_onnx  # noqa: E402
from evodse.workload.onnx_import import from_onnx  # noqa: E402

HIDDEN, HEADS, KV_HEADS, FFN, LAYERS, VOCAB, SEQ = 64, 4, 2, 128, 2, 100, 8
HEAD_DIM = HIDDEN // HEADS
GROUP = HEADS // KV_HEADS


class _Graph:
    def __init__(self) -> None:
        self.nodes: list = []
        self.inits: list = []

    def const(self, name: str, array) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name: str, shape) -> str:
        return self.const(name, np.zeros(shape, dtype=np.float32))

    def node(self, op: str, inputs, name: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attrs))
        return name

    def reshape(self, x: str, shape, name: str) -> str:
        return self.node("Reshape", [x, self.const(f"{name}_shape", np.asarray(shape))], name)

    def rms_norm(self, x: str, p: str) -> str:
        sq = self.node("Mul", [x, x], f"{p}_sq")
        mean = self.node("ReduceMean", [sq], f"{p}_mean", axes=[-1], keepdims=1)
        eps = self.const(f"{p}_eps", np.asarray(1e-5, dtype=np.float32))
        rms = self.node("Sqrt", [self.node("Add", [mean, eps], f"{p}_add")], f"{p}_rms")
        normed = self.node("Div", [x, rms], f"{p}_div")
        return self.node("Mul", [normed, self.weight(f"{p}_w", [HIDDEN])], f"{p}_scale")

    def rope(self, x: str, width: int, p: str) -> str:
        cos = self.weight(f"{p}_cos", [SEQ, width])
        sin = self.weight(f"{p}_sin", [SEQ, width])
        a = self.node("Mul", [x, cos], f"{p}_cos_mul")
        b = self.node("Mul", [x, sin], f"{p}_sin_mul")
        return self.node("Add", [a, b], f"{p}_rot")

    def block(self, x: str, i: int) -> str:
        p = f"l{i}"
        h = self.rms_norm(x, f"{p}_ln1")
        q = self.rope(
            self.node("MatMul", [h, self.weight(f"{p}_wq", [HIDDEN, HIDDEN])], f"{p}_q"),
            HIDDEN,
            f"{p}_qr",
        )
        kv_width = KV_HEADS * HEAD_DIM
        k = self.rope(
            self.node("MatMul", [h, self.weight(f"{p}_wk", [HIDDEN, kv_width])], f"{p}_k"),
            kv_width,
            f"{p}_kr",
        )
        v = self.node("MatMul", [h, self.weight(f"{p}_wv", [HIDDEN, kv_width])], f"{p}_v")
        # the query heads sharing a key-value head, stacked: [1, kv_heads, seq * group, head_dim]
        qh = self.node(
            "Transpose",
            [self.reshape(q, [1, SEQ, HEADS, HEAD_DIM], f"{p}_q4")],
            f"{p}_qt",
            perm=[0, 2, 1, 3],
        )
        qg = self.reshape(qh, [1, KV_HEADS, GROUP * SEQ, HEAD_DIM], f"{p}_qg")
        kt = self.node(
            "Transpose",
            [self.reshape(k, [1, SEQ, KV_HEADS, HEAD_DIM], f"{p}_k4")],
            f"{p}_kt",
            perm=[0, 2, 3, 1],
        )
        vt = self.node(
            "Transpose",
            [self.reshape(v, [1, SEQ, KV_HEADS, HEAD_DIM], f"{p}_v4")],
            f"{p}_vt",
            perm=[0, 2, 1, 3],
        )
        scores = self.node("MatMul", [qg, kt], f"{p}_scores")
        probs = self.node("Softmax", [scores], f"{p}_probs", axis=-1)
        ctx = self.node("MatMul", [probs, vt], f"{p}_ctx")
        ctx = self.reshape(
            self.node(
                "Transpose",
                [self.reshape(ctx, [1, HEADS, SEQ, HEAD_DIM], f"{p}_c4")],
                f"{p}_ct",
                perm=[0, 2, 1, 3],
            ),
            [1, SEQ, HIDDEN],
            f"{p}_c3",
        )
        o = self.node("MatMul", [ctx, self.weight(f"{p}_wo", [HIDDEN, HIDDEN])], f"{p}_o")
        x = self.node("Add", [x, o], f"{p}_res1")
        h = self.rms_norm(x, f"{p}_ln2")
        gate = self.node("MatMul", [h, self.weight(f"{p}_wg", [HIDDEN, FFN])], f"{p}_gate")
        silu = self.node("Mul", [gate, self.node("Sigmoid", [gate], f"{p}_sig")], f"{p}_silu")
        up = self.node("MatMul", [h, self.weight(f"{p}_wu", [HIDDEN, FFN])], f"{p}_up")
        act = self.node("Mul", [silu, up], f"{p}_act")
        down = self.node("MatMul", [act, self.weight(f"{p}_wd", [FFN, HIDDEN])], f"{p}_down")
        return self.node("Add", [x, down], f"{p}_res2")


def _decoder(path) -> None:
    g = _Graph()
    x = "x"
    for i in range(LAYERS):
        x = g.block(x, i)
    x = g.rms_norm(x, "norm")
    g.node("MatMul", [x, g.weight("lm_head", [HIDDEN, VOCAB])], "logits")
    graph = helper.make_graph(
        g.nodes,
        "tiny_llama",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SEQ, HIDDEN])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, SEQ, VOCAB])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _zoo_twin():
    return zoo_network(
        "llama3_2_1b",
        seq_len=SEQ,
        hidden=HIDDEN,
        heads=HEADS,
        kv_heads=KV_HEADS,
        ffn=FFN,
        layers=LAYERS,
        vocab=VOCAB,
        logits="all",
    )


def test_helper_built_decoder_imports_with_the_zoo_macs(tmp_path):
    path = tmp_path / "tiny_llama.onnx"
    _decoder(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = from_onnx(str(path))
    twin = _zoo_twin()
    assert net.macs == twin.macs
    gemm_macs = sorted(op.macs for op in net.ops if op.macs)
    assert gemm_macs == sorted(op.macs for op in twin.ops if op.macs)


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_zoo_decoder_export_round_trips(tmp_path, phase):
    net = zoo_network("mixtral_8x7b", phase=phase, seq_len=16, layers=2, batch=2)
    back = from_onnx(str(to_onnx(net, tmp_path / f"{phase}.onnx")))
    assert back.ops == net.ops and back.batch == 2 and back.macs == net.macs


def test_rms_normalization_imports_as_an_rms_norm(tmp_path):
    node = helper.make_node("RMSNormalization", ["x", "g"], ["y"], name="norm", axis=-1)
    graph = helper.make_graph(
        [node],
        "rms",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SEQ, HIDDEN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, SEQ, HIDDEN])],
        initializer=[numpy_helper.from_array(np.ones(HIDDEN, dtype=np.float32), "g")],
    )
    path = tmp_path / "rms.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), str(path))
    (op,) = from_onnx(str(path)).ops
    assert (op.mode, op.channels, op.elements, op.params) == ("rms", HIDDEN, SEQ * HIDDEN, HIDDEN)
