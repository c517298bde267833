"""ONNX import (and export): real model graphs, hand-worked small graphs, errors, round trips."""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from evodse.errors import InputError  # noqa: E402
from evodse.hardware import load_hardware, shipped_designs  # noqa: E402
from evodse.model import evaluate  # noqa: E402
from evodse.workload import load_workload  # noqa: E402
from evodse.workload.network import Network  # noqa: E402
from evodse.workload.onnx_export import network_to_onnx, to_onnx  # noqa: E402
from evodse.workload.onnx_import import (  # noqa: E402
    GELU_OPS,
    OnnxImportWarning,
    from_onnx,
    import_onnx,
    lrn_ops_per_element,
    parse_input_shape,
    parse_input_shapes,
)
from evodse.workload.ops import (  # noqa: E402
    Conv2d,
    Elementwise,
    Linear,
    MatMul,
    Norm,
    Pool2d,
    Softmax,
)
from evodse.workload.zoo import zoo_names, zoo_network  # noqa: E402

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_MODELS = [
    "bvlc_alexnet",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "shufflenet",
    "squeezenet",
    "vgg19",
    "zfnet512",
]

F = TensorProto.FLOAT


# ------------------------------------------------------------------------------------------------
# helpers


def _save(tmp_path: Path, nodes, inputs, outputs, *, initializers=(), opset=17, name="g") -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def _vi(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, F, shape)


def _init(name: str, shape) -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def _ints(name: str, values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _scalar(name: str, value: float) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def _import_quiet(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return import_onnx(path, **kwargs)


def _single_conv(tmp_path, x_shape, w_shape, **attrs) -> Conv2d:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)]
    path = _save(
        tmp_path, nodes, [_vi("x", x_shape)], [_vi("y", None)], initializers=[_init("w", w_shape)]
    )
    net = _import_quiet(path).network
    assert len(net.ops) == 1
    return net.ops[0]


# ------------------------------------------------------------------------------------------------
# the nine light model graphs shipped with onnx, against an independent count


def _independent_count(path: Path) -> dict:
    """MACs and layer inventory straight from onnx's own shape inference (no evodse code)."""
    model = onnx.load(str(path))
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    shapes = {}
    for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    for t in model.graph.initializer:
        shapes[t.name] = list(t.dims)
    macs = 0
    convs = {}
    counts = Counter()
    for index, node in enumerate(model.graph.node):
        counts[node.op_type] += 1
        name = node.name or f"{node.op_type}_{index}"
        if node.op_type == "Conv":
            x, w, y = shapes[node.input[0]], shapes[node.input[1]], shapes[node.output[0]]
            macs += math.prod(y) * w[1] * w[2] * w[3]  # each output: Cin/g * kh * kw products
            convs[name] = {
                "in_channels": x[1],
                "in_h": x[2],
                "in_w": x[3],
                "out_channels": y[1],
                "out_h": y[2],
                "out_w": y[3],
                "kernel": (w[2], w[3]),
                "groups": x[1] // w[1],
            }
        elif node.op_type == "Gemm":
            a, b = shapes[node.input[0]], shapes[node.input[1]]
            attrs = {at.name: helper.get_attribute_value(at) for at in node.attribute}
            m = a[1] if attrs.get("transA") else a[0]
            k = a[0] if attrs.get("transA") else a[1]
            n = b[0] if attrs.get("transB") else b[1]
            macs += m * n * k
        elif node.op_type == "MatMul":
            macs += math.prod(shapes[node.output[0]]) * shapes[node.input[0]][-1]
    return {"macs": macs, "convs": convs, "counts": counts}


@pytest.mark.parametrize("model", LIGHT_MODELS)
def test_light_models_match_an_independent_count(model):
    path = LIGHT / f"light_{model}.onnx"
    start = time.perf_counter()
    result = _import_quiet(path, strict=True)  # no unknown operators, no warnings
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    net, report = result.network, result.report
    ref = _independent_count(path)

    assert net.batch == 1
    assert net.macs == ref["macs"]
    kinds = Counter(type(op).__name__ for op in net.ops)
    counts = ref["counts"]
    assert kinds["Conv2d"] == counts["Conv"]
    assert kinds["Linear"] == counts["Gemm"]
    assert kinds.get("MatMul", 0) == counts["MatMul"]
    assert (
        kinds["Pool2d"] == counts["MaxPool"] + counts["AveragePool"] + counts["GlobalAveragePool"]
    )
    assert kinds["Softmax"] == counts["Softmax"]
    assert (
        sum(isinstance(op, Norm) and op.mode == "batch" for op in net.ops)
        == counts["BatchNormalization"]
    )
    # activations, LRN and residual sums; the per-channel Mul/Add after BN fold into the Norm
    assert kinds["Elementwise"] == counts["Relu"] + counts["LRN"] + counts["Sum"]
    assert report.fused["Mul"] == counts["Mul"] and report.fused["Add"] == counts["Add"]
    assert report.nodes == sum(counts.values())

    by_name = {op.name: op for op in net.ops}
    assert len(ref["convs"]) == counts["Conv"]
    for name, want in ref["convs"].items():
        op = by_name[name]
        assert isinstance(op, Conv2d)
        got = {
            "in_channels": op.in_channels,
            "in_h": op.in_h,
            "in_w": op.in_w,
            "out_channels": op.out_channels,
            "out_h": op.out_h,
            "out_w": op.out_w,
            "kernel": (op.kernel_h, op.kernel_w),
            "groups": op.groups,
        }
        assert got == want, name


@pytest.mark.parametrize(
    ("model", "zoo_name"), [("resnet50", "resnet50"), ("densenet121", "densenet121")]
)
def test_light_models_match_the_zoo_builders(model, zoo_name):
    # the zoo builds these from the papers / torchvision, independently of any ONNX file
    net = _import_quiet(LIGHT / f"light_{model}.onnx").network
    assert net.macs == zoo_network(zoo_name).macs


def test_light_model_layer_names_trace_back_to_nodes():
    path = LIGHT / "light_inception_v1.onnx"
    model = onnx.load(str(path))
    labels = {n.name or f"{n.op_type}_{i}" for i, n in enumerate(model.graph.node)}
    result = _import_quiet(path)
    for op in result.network.ops:
        assert op.name in labels
        assert result.report.origins[op.name][0] == op.name
    first_conv = next(n for n in model.graph.node if n.op_type == "Conv")
    assert result.network.ops[0].name == first_conv.name


def test_light_model_with_a_larger_batch_via_input_shape():
    # squeezenet has no hard-coded batch in a Reshape, so the batch dimension can change
    path = LIGHT / "light_squeezenet.onnx"
    one = _import_quiet(path).network
    four = _import_quiet(path, input_shapes={"data_0": (4, 3, 224, 224)}).network
    assert four.batch == 4
    assert four.ops == one.ops  # per-sample description
    assert four.macs == 4 * one.macs


def test_hard_coded_batch_reshape_cannot_take_another_batch():
    # alexnet reshapes to a constant [1, 9216]: batch 4 makes the graph inconsistent
    path = LIGHT / "light_bvlc_alexnet.onnx"
    with pytest.raises(InputError) as err:
        from_onnx(path, input_shapes={"data_0": (4, 3, 224, 224)})
    assert err.value.source == str(path)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------------
# convolutions, worked by hand


def test_depthwise_conv_with_dilation_and_asymmetric_pads(tmp_path):
    # ONNX pads are [top, left, bottom, right] for 2-D
    op = _single_conv(
        tmp_path, [1, 8, 20, 20], [8, 1, 3, 3], group=8, dilations=[2, 2], pads=[1, 2, 3, 0]
    )
    assert (op.pad_top, op.pad_left, op.pad_bottom, op.pad_right) == (1, 2, 3, 0)
    assert (op.dilation_h, op.dilation_w, op.groups) == (2, 2, 8)
    # span 5: out_h = (20 + 1 + 3 - 5) + 1 = 20, out_w = (20 + 2 + 0 - 5) + 1 = 18
    assert (op.out_h, op.out_w) == (20, 18)
    assert op.macs == 20 * 18 * 8 * 9  # one 3x3 filter per channel
    assert op.params == 8 * 9


def test_grouped_strided_conv(tmp_path):
    op = _single_conv(
        tmp_path, [1, 16, 15, 15], [32, 4, 3, 3], group=4, strides=[2, 2], pads=[1, 1, 1, 1]
    )
    assert (op.out_h, op.out_w) == (8, 8)  # (15 + 2 - 3) // 2 + 1
    assert op.groups == 4 and op.stride_h == op.stride_w == 2
    assert op.macs == 8 * 8 * 32 * 4 * 3 * 3  # each output reads 16/4 channels


@pytest.mark.parametrize(
    ("auto_pad", "pads"), [("SAME_UPPER", (0, 0, 1, 1)), ("SAME_LOWER", (1, 1, 0, 0))]
)
def test_same_padding(tmp_path, auto_pad, pads):
    # out = ceil(7 / 2) = 4; total padding (4 - 1) * 2 + 2 - 7 = 1; UPPER puts it at the end
    op = _single_conv(tmp_path, [1, 3, 7, 7], [4, 3, 2, 2], strides=[2, 2], auto_pad=auto_pad)
    assert (op.pad_top, op.pad_left, op.pad_bottom, op.pad_right) == pads
    assert (op.out_h, op.out_w) == (4, 4)
    assert op.macs == 4 * 4 * 4 * 3 * 2 * 2


def test_valid_padding_and_default_kernel_shape(tmp_path):
    op = _single_conv(tmp_path, [1, 3, 9, 9], [5, 3, 3, 3], auto_pad="VALID")
    assert (op.out_h, op.out_w, op.pad_top) == (7, 7, 0)
    assert op.macs == 7 * 7 * 5 * 3 * 9


def test_conv_1d_is_a_conv2d_of_height_1(tmp_path):
    op = _single_conv(tmp_path, [1, 4, 50], [8, 4, 5], pads=[2, 2])
    assert (op.in_h, op.in_w, op.kernel_h, op.kernel_w) == (1, 50, 1, 5)
    assert (op.pad_left, op.pad_right, op.pad_top, op.pad_bottom) == (2, 2, 0, 0)
    assert op.macs == 50 * 8 * 4 * 5


@pytest.mark.parametrize("group", [1, 2])
def test_conv_transpose_lowering_keeps_its_macs(tmp_path, group):
    cin, cout, k, size = 8, 4, 3, 10
    nodes = [
        helper.make_node(
            "ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2], group=group, pads=[1] * 4
        )
    ]
    w = _init("w", [cin, cout // group, k, k])  # ConvTranspose weights are [Cin, Cout/g, kh, kw]
    path = _save(
        tmp_path, nodes, [_vi("x", [1, cin, size, size])], [_vi("y", None)], initializers=[w]
    )
    (op,) = _import_quiet(path).network.ops
    # every input pixel meets every weight of its group once
    assert op.macs == size * size * cin * (cout // group) * k * k
    assert op.weight_elems == cin * (cout // group) * k * k
    assert (op.in_h, op.in_w, op.kernel_h, op.groups) == (size, size, 1, group)


def test_conv_bias_input_and_weights_as_graph_inputs(tmp_path):
    # the weight and bias are graph inputs without initializers: still weights, not activations
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["y"], name="c", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["y"], ["z"], name="r"),
    ]
    inputs = [_vi("x", [2, 3, 8, 8]), _vi("w", [6, 3, 3, 3]), _vi("b", [6])]
    path = _save(tmp_path, nodes, inputs, [_vi("z", None)])
    net = _import_quiet(path).network
    assert net.batch == 2
    assert net.ops == (
        Conv2d(
            name="c",
            in_channels=3,
            out_channels=6,
            in_h=8,
            in_w=8,
            kernel_h=3,
            kernel_w=3,
            pad_top=1,
            pad_bottom=1,
            pad_left=1,
            pad_right=1,
            bias=True,
        ),
        Elementwise(name="r", elements=6 * 8 * 8, function="relu"),
    )


def test_images_folded_into_the_batch_dimension_become_copies(tmp_path):
    # a 2-frame clip per sample reshaped to [2, C, H, W] runs the conv twice per sample
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["frames"]),
        helper.make_node("Conv", ["frames", "w"], ["y"], name="conv"),
    ]
    inits = [_ints("shape", [2, 3, 8, 8]), _init("w", [4, 3, 3, 3])]
    path = _save(tmp_path, nodes, [_vi("x", [1, 2, 3, 8, 8])], [_vi("y", None)], initializers=inits)
    net = _import_quiet(path).network
    assert [op.name for op in net.ops] == ["conv#0", "conv#1"]
    assert net.macs == 2 * 6 * 6 * 4 * 3 * 9


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cin_g=st.integers(1, 4),
    cout_g=st.integers(1, 4),
    groups=st.integers(1, 3),
    size=st.tuples(st.integers(5, 14), st.integers(5, 14)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pads=st.tuples(*[st.integers(0, 2)] * 4),
    auto_pad=st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]),
)
def test_conv_output_shape_agrees_with_onnx(
    tmp_path, cin_g, cout_g, groups, size, kernel, stride, dilation, pads, auto_pad
):
    cin, cout = cin_g * groups, cout_g * groups
    attrs = {"group": groups, "strides": list(stride), "dilations": list(dilation)}
    if auto_pad == "NOTSET":
        attrs["pads"] = list(pads)
    else:
        attrs["auto_pad"] = auto_pad
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)]
    x_shape = [1, cin, *size]
    w_shape = [cout, cin_g, *kernel]
    graph = helper.make_graph(
        nodes, "g", [_vi("x", x_shape)], [_vi("y", None)], [_init("w", w_shape)]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    out = onnx.shape_inference.infer_shapes(model).graph.output[0].type.tensor_type.shape.dim
    out = [d.dim_value for d in out]
    path = tmp_path / "conv.onnx"
    onnx.save(model, str(path))
    if min(out) < 1:
        return
    (op,) = from_onnx(path).ops
    assert [op.out_channels, op.out_h, op.out_w] == out[1:]
    assert op.macs == math.prod(out) * cin_g * kernel[0] * kernel[1]


# ------------------------------------------------------------------------------------------------
# GEMMs


@pytest.mark.parametrize("trans_a", [0, 1])
def test_gemm_with_trans_b(tmp_path, trans_a):
    # x is [batch=2, 100]; with transA the Gemm reads its transpose [100, 2]
    nodes = [helper.make_node("Transpose", ["x"], ["a"], perm=[1, 0])] if trans_a else []
    nodes.append(
        helper.make_node(
            "Gemm", ["a" if trans_a else "x", "w", "c"], ["y"], name="fc", transA=trans_a, transB=1
        )
    )
    inits = [_init("w", [50, 100]), _init("c", [50])]
    path = _save(tmp_path, nodes, [_vi("x", [2, 100])], [_vi("y", None)], initializers=inits)
    net = _import_quiet(path).network
    assert net.ops == (Linear(name="fc", in_features=100, out_features=50, tokens=1, bias=True),)
    assert net.batch == 2
    assert net.macs == 2 * 100 * 50


def test_matmul_batched_broadcast_of_two_activations(tmp_path):
    nodes = [helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")]
    inputs = [_vi("a", [2, 3, 5, 7]), _vi("b", [2, 1, 7, 4])]
    path = _save(tmp_path, nodes, inputs, [_vi("y", None)])
    net = _import_quiet(path).network
    assert net.batch == 2
    assert net.ops == (MatMul(name="mm", m=5, n=4, k=7, count=3),)
    assert net.macs == 2 * 3 * 5 * 4 * 7


def test_matmul_with_weights_is_linear_and_batched_weights_are_matmul(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="proj"),  # [1,3,5,7] @ [1,7,4]
        helper.make_node("MatMul", ["h", "wb"], ["y"], name="per_head"),  # @ [3,4,6]
    ]
    inits = [_init("w", [1, 7, 4]), _init("wb", [3, 4, 6])]
    path = _save(tmp_path, nodes, [_vi("x", [1, 3, 5, 7])], [_vi("y", None)], initializers=inits)
    net = _import_quiet(path).network
    assert net.ops == (
        Linear(name="proj", in_features=7, out_features=4, tokens=15, bias=False),
        MatMul(name="per_head", m=5, n=6, k=4, count=3),
    )


def test_bias_add_folds_into_linear_but_not_other_constants(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
        helper.make_node("Add", ["h", "b"], ["hb"], name="fc_bias"),
        helper.make_node("Relu", ["hb"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "c"], ["y"], name="shift"),  # not after a GEMM: kept
    ]
    inits = [_init("w", [8, 16]), _init("b", [16]), _init("c", [16])]
    path = _save(tmp_path, nodes, [_vi("x", [1, 10, 8])], [_vi("y", None)], initializers=inits)
    result = _import_quiet(path)
    assert result.network.ops == (
        Linear(name="fc", in_features=8, out_features=16, tokens=10, bias=True),
        Elementwise(name="relu", elements=160, function="relu"),
        Elementwise(name="shift", elements=160, function="add"),
    )
    assert result.report.origins["fc"] == ("fc", "fc_bias")
    assert result.report.fused == Counter({"Add": 1})


# ------------------------------------------------------------------------------------------------
# a transformer encoder block, worked by hand

T, D, H, DH, FFN = 16, 64, 4, 16, 256


def _encoder_block(tmp_path, x_shape=(1, T, D)) -> Path:
    def linear(name, x, fin, fout, weight):
        return [
            helper.make_node("MatMul", [x, f"{name}_w"], [f"{name}_mm"], name=name),
            helper.make_node(
                "Add", [f"{name}_mm", f"{name}_b"], [f"{name}_out"], name=f"{name}_add"
            ),
        ], weight(f"{name}_w", fin, fout)

    inits = [
        _init("ln1_g", [D]),
        _init("ln1_b", [D]),
        _init("ln2_g", [D]),
        _init("ln2_b", [D]),
        _scalar("eps", 1e-5),
        _scalar("two", 2.0),
        _scalar("sqrt_dh", math.sqrt(DH)),
        _scalar("sqrt2", math.sqrt(2.0)),
        _scalar("one", 1.0),
        _scalar("half", 0.5),
        _ints("heads_shape", [0, 0, H, DH]),
        _ints("merge_shape", [0, 0, D]),
    ]
    inits += [_init(f"{n}_b", [d]) for n, d in (("q", D), ("k", D), ("v", D), ("o", D))]
    inits += [_init("ffn1_b", [FFN]), _init("ffn2_b", [D])]
    extra_inputs = []
    extra_nodes = []

    def as_initializer(name, fin, fout):
        inits.append(_init(name, [fin, fout]))

    def as_constant_of_shape(name, fin, fout):
        inits.append(_ints(f"{name}_shape", [fin, fout]))
        extra_nodes.append(helper.make_node("ConstantOfShape", [f"{name}_shape"], [name]))

    def as_graph_input(name, fin, fout):
        extra_inputs.append(_vi(name, [fin, fout]))

    nodes = [helper.make_node("LayerNormalization", ["x", "ln1_g", "ln1_b"], ["ln1"], name="ln1")]
    for name, weight in (("q", as_initializer), ("k", as_constant_of_shape), ("v", as_graph_input)):
        new, _ = linear(name, "ln1", D, D, weight)
        nodes += new
    nodes += [
        helper.make_node("Reshape", ["q_out", "heads_shape"], ["q_heads"]),
        helper.make_node("Transpose", ["q_heads"], ["q_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["k_out", "heads_shape"], ["k_heads"]),
        helper.make_node("Transpose", ["k_heads"], ["k_t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["v_out", "heads_shape"], ["v_heads"]),
        helper.make_node("Transpose", ["v_heads"], ["v_t"], perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["q_t", "k_t"], ["scores"], name="qk"),
        helper.make_node("Div", ["scores", "sqrt_dh"], ["scaled"], name="scale"),
        helper.make_node("Softmax", ["scaled"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v_t"], ["ctx"], name="av"),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx_t", "merge_shape"], ["ctx_m"]),
    ]
    new, _ = linear("o", "ctx_m", D, D, as_initializer)
    nodes += new
    nodes += [
        helper.make_node("Add", ["x", "o_out"], ["res1"], name="add1"),
        # LayerNorm decomposed as older exporters write it
        helper.make_node("ReduceMean", ["res1"], ["mu"], name="ln2_mean", axes=[-1]),
        helper.make_node("Sub", ["res1", "mu"], ["dev"], name="ln2_sub"),
        helper.make_node("Pow", ["dev", "two"], ["dev2"], name="ln2_pow"),
        helper.make_node("ReduceMean", ["dev2"], ["var"], name="ln2_var", axes=[-1]),
        helper.make_node("Add", ["var", "eps"], ["var_eps"], name="ln2_eps"),
        helper.make_node("Sqrt", ["var_eps"], ["std"], name="ln2_sqrt"),
        helper.make_node("Div", ["dev", "std"], ["normed"], name="ln2_div"),
        helper.make_node("Mul", ["normed", "ln2_g"], ["scaled2"], name="ln2_gamma"),
        helper.make_node("Add", ["scaled2", "ln2_b"], ["ln2"], name="ln2_beta"),
    ]
    new, _ = linear("ffn1", "ln2", D, FFN, as_constant_of_shape)
    nodes += new
    nodes += [  # GELU, erf form as exported by PyTorch
        helper.make_node("Div", ["ffn1_out", "sqrt2"], ["g0"], name="gelu_div"),
        helper.make_node("Erf", ["g0"], ["g1"], name="gelu_erf"),
        helper.make_node("Add", ["g1", "one"], ["g2"], name="gelu_add"),
        helper.make_node("Mul", ["ffn1_out", "g2"], ["g3"], name="gelu_mul"),
        helper.make_node("Mul", ["g3", "half"], ["gelu"], name="gelu_half"),
    ]
    new, _ = linear("ffn2", "gelu", FFN, D, as_initializer)
    nodes += new
    nodes.append(helper.make_node("Add", ["ln2", "ffn2_out"], ["y"], name="add2"))
    return _save(
        tmp_path,
        extra_nodes + nodes,
        [_vi("x", list(x_shape)), *extra_inputs],
        [_vi("y", None)],
        initializers=inits,
        name="encoder",
    )


def _expected_encoder_ops():
    def lin(name, fin, fout):
        return Linear(name=name, in_features=fin, out_features=fout, tokens=T, bias=True)

    return (
        Norm(name="ln1", elements=T * D, channels=D, mode="layer"),
        lin("q", D, D),
        lin("k", D, D),
        lin("v", D, D),
        MatMul(name="qk", m=T, n=T, k=DH, count=H),
        Elementwise(name="scale", elements=H * T * T, function="div"),
        Softmax(name="softmax", rows=H * T, row_length=T),
        MatMul(name="av", m=T, n=DH, k=T, count=H),
        lin("o", D, D),
        Elementwise(name="add1", elements=T * D, inputs=2, function="add"),
        Norm(name="ln2_mean", elements=T * D, channels=D, mode="layer"),
        lin("ffn1", D, FFN),
        Elementwise(name="gelu_div", elements=T * FFN, function="gelu", ops_per_element=GELU_OPS),
        lin("ffn2", FFN, D),
        Elementwise(name="add2", elements=T * D, inputs=2, function="add"),
    )


def test_transformer_encoder_block(tmp_path):
    result = _import_quiet(_encoder_block(tmp_path), strict=True)
    net = result.network
    assert net.ops == _expected_encoder_ops()
    # 4 projections of D x D, two attention products over H heads, FFN up and down
    by_hand = T * (4 * D * D + 2 * D * FFN) + 2 * H * T * T * DH
    assert by_hand == 819_200
    assert net.macs == by_hand
    report = result.report
    assert report.origins["ln2_mean"] == (
        "ln2_mean",
        "ln2_sub",
        "ln2_pow",
        "ln2_var",
        "ln2_eps",
        "ln2_sqrt",
        "ln2_div",
        "ln2_gamma",
        "ln2_beta",
    )
    assert report.origins["gelu_div"][0] == "gelu_div" and len(report.origins["gelu_div"]) == 5
    assert report.folded == Counter({"Reshape": 4, "Transpose": 4})
    assert report.constant == Counter({"ConstantOfShape": 2})


def test_gelu_written_as_half_x_times_one_plus_erf(tmp_path):
    # HuggingFace BERT: x * 0.5 * (1 + erf(x * 0.7071)), with the half taken from x first
    nodes = [
        helper.make_node("Mul", ["c_rsqrt2", "x"], ["s"], name="g_scale"),
        helper.make_node("Erf", ["s"], ["e"], name="g_erf"),
        helper.make_node("Add", ["e", "one"], ["e1"], name="g_add"),
        helper.make_node("Mul", ["x", "half"], ["xh"], name="g_half"),
        helper.make_node("Mul", ["xh", "e1"], ["y"], name="g_out"),
    ]
    inits = [_scalar("c_rsqrt2", 0.7071), _scalar("one", 1.0), _scalar("half", 0.5)]
    path = _save(tmp_path, nodes, [_vi("x", [1, 3, 8])], [_vi("y", None)], initializers=inits)
    result = _import_quiet(path)
    assert result.network.ops == (
        Elementwise(name="g_scale", elements=24, function="gelu", ops_per_element=GELU_OPS),
    )
    assert sorted(result.report.origins["g_scale"]) == sorted(n.name for n in nodes)


def test_erf_without_the_gelu_pattern_stays_elementwise(tmp_path):
    nodes = [
        helper.make_node("Erf", ["x"], ["e"], name="erf"),
        helper.make_node("Add", ["e", "one"], ["y"], name="add"),
    ]
    path = _save(
        tmp_path, nodes, [_vi("x", [1, 8])], [_vi("y", None)], initializers=[_scalar("one", 1.0)]
    )
    assert [op.function for op in _import_quiet(path).network.ops] == ["erf", "add"]


def test_dynamic_dimensions_need_input_shapes(tmp_path):
    path = _encoder_block(tmp_path, x_shape=("batch", "seq", D))
    with pytest.raises(InputError) as err:
        from_onnx(path)
    message = str(err.value)
    assert err.value.source == str(path)
    assert "--input-shape" in message and "x=1xseqx64" in message
    net = _import_quiet(path, input_shapes={"x": (2, T, D)}).network
    assert net.batch == 2
    assert net.ops == _expected_encoder_ops()
    assert net.macs == 2 * 819_200
    assert from_onnx(path, input_shapes={"x": (2, T, D)}, batch=8).batch == 8


def test_input_shapes_errors(tmp_path):
    path = _encoder_block(tmp_path)
    with pytest.raises(InputError, match=r"not an input of the graph.*'x'"):
        from_onnx(path, input_shapes={"data": (1, T, D)})
    with pytest.raises(InputError, match="rank 3"):
        from_onnx(path, input_shapes={"x": (1, T)})
    with pytest.raises(InputError, match="batch"):
        from_onnx(path, batch=0)


# ------------------------------------------------------------------------------------------------
# vector operations


def test_pools_norms_softmax_and_activations(tmp_path):
    x = [1, 8, 14, 14]
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "s", "s", "s"], ["bn"], name="bn"),
        helper.make_node("Mul", ["bn", "scale"], ["bn_s"], name="bn_scale"),  # folded into bn
        helper.make_node("Clip", ["bn_s", "lo", "hi"], ["r6"], name="relu6"),
        helper.make_node(
            "MaxPool", ["r6"], ["mp"], name="mp", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1
        ),
        helper.make_node(
            "AveragePool", ["mp"], ["ap"], name="ap", kernel_shape=[2, 2], auto_pad="SAME_UPPER"
        ),
        helper.make_node("LRN", ["ap"], ["lrn"], name="lrn", size=5),
        helper.make_node("HardSwish", ["lrn"], ["hs"], name="hs"),
        helper.make_node("GlobalAveragePool", ["hs"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Sigmoid", ["flat"], ["sig"], name="sig"),
        helper.make_node("Softmax", ["sig"], ["y"], name="sm"),
    ]
    inits = [_init("s", [8]), _init("scale", [8, 1, 1]), _scalar("lo", 0.0), _scalar("hi", 6.0)]
    path = _save(tmp_path, nodes, [_vi("x", x)], [_vi("y", None)], initializers=inits)
    net = _import_quiet(path).network
    n = 8 * 14 * 14
    assert net.ops == (
        Norm(name="bn", elements=n, channels=8, mode="batch"),
        Elementwise(name="relu6", elements=n, function="clip", ops_per_element=2),
        Pool2d(
            name="mp",
            channels=8,
            in_h=14,
            in_w=14,
            kernel_h=3,
            kernel_w=3,
            stride_h=2,
            stride_w=2,
            ceil_mode=True,
        ),
        Pool2d(
            name="ap",
            channels=8,
            in_h=7,
            in_w=7,
            kernel_h=2,
            kernel_w=2,
            pad_bottom=1,
            pad_right=1,
            mode="avg",
        ),
        Elementwise(name="lrn", elements=8 * 49, function="lrn", ops_per_element=9),
        Elementwise(name="hs", elements=8 * 49, function="hard_swish", ops_per_element=5),
        Pool2d(name="gap", channels=8, in_h=7, in_w=7, kernel_h=7, kernel_w=7, mode="avg"),
        Elementwise(name="sig", elements=8, function="sigmoid", ops_per_element=4),
        Softmax(name="sm", rows=1, row_length=8),
    )
    assert lrn_ops_per_element(5) == 9
    assert net.macs == 0


@pytest.mark.parametrize(("opset", "rows", "row_length"), [(11, 1, 50), (13, 10, 5)])
def test_softmax_axis_default_depends_on_opset(tmp_path, opset, rows, row_length):
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="sm")]
    path = _save(tmp_path, nodes, [_vi("x", [1, 10, 5])], [_vi("y", None)], opset=opset)
    assert _import_quiet(path).network.ops == (
        Softmax(name="sm", rows=rows, row_length=row_length),
    )


def test_data_movement_is_folded_and_counted(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Split", ["r"], ["a", "b"], axis=1, num_outputs=2),
        helper.make_node("Concat", ["b", "a"], ["c"], axis=1),
        helper.make_node("Pad", ["c", "pads"], ["p"]),
        helper.make_node("Resize", ["p", "", "scales"], ["u"]),
        helper.make_node("Gather", ["u", "idx"], ["g"], axis=1),
        helper.make_node("Unsqueeze", ["g", "ax"], ["un"]),
        helper.make_node("Squeeze", ["un", "ax"], ["sq"]),
        helper.make_node("Identity", ["sq"], ["id"]),
        helper.make_node("Dropout", ["id"], ["dr"]),
        helper.make_node("Cast", ["dr"], ["y"], to=F),
    ]
    inits = [
        _ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]),
        numpy_helper.from_array(np.asarray([1, 1, 2, 2], dtype=np.float32), "scales"),
        _ints("idx", [0, 1, 2]),
        _ints("ax", [0]),
    ]
    path = _save(
        tmp_path, nodes, [_vi("x", [1, 4, 6, 6])], [_vi("y", None)], initializers=inits, opset=18
    )
    result = _import_quiet(path)
    assert result.network.ops == (Elementwise(name="relu", elements=144, function="relu"),)
    assert sum(result.report.folded.values()) == 10
    assert result.report.folded["Resize"] == 1


def test_unnamed_and_duplicate_node_names(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Sigmoid", ["a"], ["b"], name="act"),
        helper.make_node("Tanh", ["b"], ["y"], name="act"),
    ]
    path = _save(tmp_path, nodes, [_vi("x", [1, 5])], [_vi("y", None)])
    assert [op.name for op in _import_quiet(path).network.ops] == ["Relu_0", "act", "act_2"]


# ------------------------------------------------------------------------------------------------
# unknown operators and errors


def _graph_with_unknown_ops(tmp_path) -> Path:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Hardmax", ["r"], ["h1"], name="hm1"),
        helper.make_node("Hardmax", ["h1"], ["h2"], name="hm2"),
        helper.make_node("LpNormalization", ["h2"], ["y"], name="lp"),
    ]
    return _save(tmp_path, nodes, [_vi("x", [1, 10])], [_vi("y", None)])


def test_unknown_operators_warn_once_with_counts(tmp_path):
    path = _graph_with_unknown_ops(tmp_path)
    with pytest.warns(OnnxImportWarning) as record:
        result = import_onnx(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert "Hardmax x2" in message and "LpNormalization x1" in message and "--strict" in message
    assert result.network.ops == (Elementwise(name="relu", elements=10, function="relu"),)
    assert result.report.unknown == Counter({"Hardmax": 2, "LpNormalization": 1})


def test_strict_turns_unknown_operators_into_an_error(tmp_path):
    path = _graph_with_unknown_ops(tmp_path)
    with pytest.raises(InputError) as err:
        from_onnx(path, strict=True)
    assert "Hardmax x2" in str(err.value) and "LpNormalization x1" in str(err.value)
    assert err.value.source == str(path)
    with pytest.raises(InputError, match="Hardmax"):
        load_workload(str(path), strict=True)


def test_unknown_custom_operator_blocks_shapes_downstream(tmp_path):
    nodes = [
        helper.make_node("Fancy", ["x"], ["f"], name="fancy", domain="com.example"),
        helper.make_node("Conv", ["f", "w"], ["y"], name="conv"),
    ]
    graph = helper.make_graph(
        nodes, "g", [_vi("x", [1, 3, 8, 8])], [_vi("y", None)], [_init("w", [4, 3, 3, 3])]
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    )
    path = tmp_path / "custom.onnx"
    onnx.save(model, str(path))
    with (
        pytest.raises(InputError, match=r"unsupported operator com\.example\.Fancy"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        from_onnx(path)


@pytest.mark.parametrize(
    "content",
    [
        b"this is not an ONNX model\n" * 20,
        b"name: tiny\nlayers: []\n",
        b"",
        "truncated",
    ],
)
def test_unreadable_files_give_one_input_error(tmp_path, content):
    path = tmp_path / "bad.onnx"
    if content == "truncated":
        content = (LIGHT / "light_resnet50.onnx").read_bytes()[:1000]
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        from_onnx(path)
    assert err.value.source == str(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_models_at_any_length(tmp_path, fraction):
    data = (LIGHT / "light_densenet121.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(InputError):
        from_onnx(path)


def test_every_model_shipped_with_onnx_imports_or_fails_cleanly():
    # pytorch-converted, pytorch-operator and simple test models: never a raw exception
    models = sorted((LIGHT.parent).glob("*/*/model.onnx"))
    outcomes = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OnnxImportWarning)
        for path in models:
            try:
                from_onnx(path)
                outcomes["ok"] += 1
            except InputError as exc:
                assert exc.source == str(path)
                outcomes["error"] += 1
    assert outcomes["ok"] > 0


def test_graph_of_only_data_movement(tmp_path):
    nodes = [helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])]
    path = _save(tmp_path, nodes, [_vi("x", [2, 3])], [_vi("y", None)])
    with pytest.raises(InputError, match=r"no operation evodse can model.*Transpose x1"):
        from_onnx(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        from_onnx(tmp_path / "nope.onnx")


def test_graph_whose_shapes_cannot_be_inferred(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),  # 8 != 9
        helper.make_node("Relu", ["h"], ["y"], name="relu"),
    ]
    path = _save(
        tmp_path, nodes, [_vi("x", [1, 4, 8])], [_vi("y", None)], initializers=[_init("w", [9, 3])]
    )
    with pytest.raises(InputError) as err:
        from_onnx(path)
    assert err.value.source == str(path)
    assert "\n" not in str(err.value)


def test_channel_mismatch_in_conv(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    path = _save(
        tmp_path,
        nodes,
        [_vi("x", [1, 3, 8, 8])],
        [_vi("y", None)],
        initializers=[_init("w", [4, 5, 3, 3])],
    )
    with pytest.raises(InputError, match="conv"):
        from_onnx(path)


def test_parse_input_shape():
    assert parse_input_shape("data=1x3x224x224") == ("data", (1, 3, 224, 224))
    assert parse_input_shape("gpu_0/data_0=2,3,32,32") == ("gpu_0/data_0", (2, 3, 32, 32))
    assert parse_input_shape("a=b=7") == ("a=b", (7,))
    assert parse_input_shapes(["x=1x2", "y=3"]) == {"x": (1, 2), "y": (3,)}
    for bad in ["data", "=1x3", "data=", "data=1x?x3", "data=1x0x3", "data=-1x3", "data=1xx3"]:
        with pytest.raises(InputError) as err:
            parse_input_shape(bad)
        assert err.value.key == "--input-shape"
    with pytest.raises(InputError, match="twice"):
        parse_input_shapes(["x=1", "x=2"])


# ------------------------------------------------------------------------------------------------
# round trips through onnx_export


@pytest.mark.parametrize("name", zoo_names())
def test_zoo_round_trip_gives_the_same_network(tmp_path, name):
    net = zoo_network(name)
    path = to_onnx(net, tmp_path / f"{name}.onnx")
    assert path.stat().st_size < 500_000  # weights are ConstantOfShape, not data
    back = _import_quiet(path, strict=True).network
    assert back.batch == net.batch
    assert back.macs == net.macs
    assert back.params == net.params
    assert back.ops == net.ops


def test_zoo_round_trip_gives_the_same_cost_model_results(tmp_path):
    designs = [load_hardware(name) for name in shipped_designs()]
    for name in ("resnet50", "bert_base", "mobilenet_v2"):
        net = zoo_network(name).with_batch(3)
        back = from_onnx(to_onnx(net, tmp_path / f"{name}.onnx"))
        assert back.batch == 3
        a, b = evaluate(designs, net), evaluate(designs, back)
        assert a.macs == b.macs
        np.testing.assert_array_equal(a.cycles, b.cycles)
        np.testing.assert_array_equal(a.energy_pj, b.energy_pj)
        np.testing.assert_array_equal(a.dram_bytes, b.dram_bytes)
        np.testing.assert_array_equal(a.layer("cycles"), b.layer("cycles"))


def test_round_trip_of_operations_without_a_standard_equivalent(tmp_path):
    ops = (
        Conv2d(
            name="c",
            in_channels=4,
            out_channels=6,
            in_h=9,
            in_w=7,
            kernel_h=3,
            kernel_w=2,
            stride_h=2,
            pad_top=1,
            pad_right=1,
            dilation_w=2,
            groups=2,
            bias=True,
        ),
        Pool2d(
            name="p_edge",
            channels=6,
            in_h=6,
            in_w=6,
            kernel_h=2,
            kernel_w=2,
            stride_h=2,
            stride_w=2,
            pad_bottom=1,
            ceil_mode=True,
        ),  # ONNX drops the last window
        Norm(name="odd", elements=35, channels=6, mode="batch"),  # 35 is not a multiple of 6
        Elementwise(name="swish", elements=35, function="silu", ops_per_element=5),
        Elementwise(name="add3", elements=35, inputs=3, function="add"),
        Elementwise(name="gelu", elements=35, function="gelu", ops_per_element=GELU_OPS),
        Elementwise(name="lrn", elements=35, function="lrn", ops_per_element=9),
        Elementwise(name="relu", elements=35, function="relu"),
        Linear(name="fc", in_features=35, out_features=5, tokens=1, bias=False),
        Softmax(name="sm", rows=1, row_length=5),
        MatMul(name="mm", m=1, n=3, k=5, count=1),
    )
    net = Network(name="odd", ops=ops, batch=2)
    model = network_to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    custom = {n.name for n in model.graph.node if n.domain == "ai.evodse"}
    assert custom == {"p_edge", "odd", "swish", "add3"}
    back = _import_quiet(to_onnx(net, tmp_path / "odd.onnx"), strict=True).network
    assert back.ops == ops and back.batch == 2


def test_every_exportable_elementwise_function_round_trips(tmp_path):
    from evodse.workload.onnx_export import _BINARY, _UNARY
    from evodse.workload.onnx_import import ACTIVATIONS

    ops = [
        Elementwise(name=f, elements=12, function=f, ops_per_element=ACTIVATIONS[op_type][1])
        for f, op_type in sorted(_UNARY.items())
    ]
    ops += [Elementwise(name=f"bin_{f}", elements=12, inputs=2, function=f) for f in _BINARY]
    ops.append(Elementwise(name="sum4", elements=12, inputs=4, function="add", ops_per_element=3))
    net = Network(name="elementwise", ops=tuple(ops), batch=3)
    model = network_to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    assert not any(n.domain for n in model.graph.node)  # all standard operators
    back = _import_quiet(to_onnx(net, tmp_path / "e.onnx"), strict=True).network
    assert back.ops == net.ops and back.batch == 3


def test_loader_accepts_onnx_paths(tmp_path):
    path = _encoder_block(tmp_path, x_shape=("n", T, D))
    net = load_workload(str(path), batch=4)
    assert net.batch == 4 and net.ops == _expected_encoder_ops()
