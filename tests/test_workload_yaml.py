"""The workload YAML format (evodse/workload/loader.py): shorthands, explicit fields, errors,
and the round trip network -> YAML -> network."""

from __future__ import annotations

import pytest
import yaml

from evodse.workload import (
    Conv2d,
    Elementwise,
    Linear,
    MatMul,
    Network,
    Norm,
    Pool2d,
    Softmax,
    load_workload,
)
from evodse.workload.loader import network_from_yaml, network_to_yaml_dict

CONV = {
    "name": "c1",
    "op": "conv2d",
    "in_channels": 4,
    "out_channels": 8,
    "in_h": 8,
    "in_w": 8,
    "kernel": 3,
}
POOL = {"name": "p1", "op": "pool", "channels": 4, "in_h": 8, "in_w": 8, "kernel": 2}


def one_layer(write_yaml, **layer):
    """Load a workload whose only layer is ``layer``; return that operation."""
    return network_from_yaml(write_yaml({"layers": [layer]})).ops[0]


# ------------------------------------------------------------------------------------------------
# The format


def test_the_tiny_cnn_fixture(data_dir):
    net = network_from_yaml(data_dir / "tiny_cnn.yaml")
    assert net.name == "tiny_cnn" and net.batch == 1
    assert [op.name for op in net.ops] == [
        "conv1",
        "pool1",
        "dw2",
        "pw2",
        "add2",
        "gap",
        "fc",
        "prob",
    ]
    conv1, pool1, dw2, pw2, add2, gap, fc, prob = net.ops
    assert conv1 == Conv2d(
        name="conv1",
        in_channels=3,
        out_channels=16,
        in_h=32,
        in_w=32,
        kernel_h=3,
        kernel_w=3,
        pad_top=1,
        pad_bottom=1,
        pad_left=1,
        pad_right=1,
        bias=True,
    )
    assert (pool1.out_h, pool1.out_w, pool1.stride_h, pool1.mode) == (16, 16, 2, "max")
    assert dw2.groups == 16 and (dw2.out_h, dw2.out_w) == (16, 16)
    assert (pw2.kernel_h, pw2.kernel_w, pw2.output_elems) == (1, 1, 32 * 16 * 16)
    assert add2 == Elementwise(name="add2", elements=8192, inputs=2)
    assert (gap.mode, gap.out_h, gap.out_w) == ("avg", 1, 1)
    assert fc == Linear(name="fc", in_features=32, out_features=10)
    assert prob == Softmax(name="prob", rows=1, row_length=10)
    # MACs by hand: conv1 16*32*32*27 + dw2 16*16*16*9 + pw2 32*16*16*16 + fc 32*10
    assert net.macs == 16 * 32 * 32 * 27 + 16 * 16 * 16 * 9 + 32 * 16 * 16 * 16 + 32 * 10


def test_the_tiny_transformer_fixture(data_dir):
    net = load_workload(data_dir / "tiny_transformer.yaml")
    assert net.name == "tiny_transformer" and net.batch == 2
    qk = net.ops[2]
    assert qk == MatMul(name="qk", m=8, k=8, n=8, count=2)
    assert net.ops[0] == Norm(name="ln1", elements=128, channels=16, mode="layer")
    assert load_workload(data_dir / "tiny_transformer.yaml", batch=3).batch == 3


def test_name_defaults_to_file_stem_and_batch_to_one(write_yaml):
    net = network_from_yaml(write_yaml({"layers": [CONV]}, "my_net.yaml"))
    assert (net.name, net.batch) == ("my_net", 1)


def test_int_shorthands_set_both_dimensions(write_yaml):
    op = one_layer(write_yaml, **CONV, stride=2, padding=1, dilation=2)
    assert (op.kernel_h, op.kernel_w) == (3, 3)
    assert (op.stride_h, op.stride_w) == (2, 2)
    assert (op.dilation_h, op.dilation_w) == (2, 2)
    assert (op.pad_top, op.pad_bottom, op.pad_left, op.pad_right) == (1, 1, 1, 1)


def test_pair_shorthands_are_height_then_width(write_yaml):
    layer = {**CONV, "kernel": [3, 5], "in_w": 12}
    op = one_layer(write_yaml, **layer, stride=[1, 2], dilation=[2, 1], padding=[1, 2])
    assert (op.kernel_h, op.kernel_w) == (3, 5)
    assert (op.stride_h, op.stride_w) == (1, 2)
    assert (op.dilation_h, op.dilation_w) == (2, 1)
    # padding [h, w]: top = bottom = h, left = right = w
    assert (op.pad_top, op.pad_bottom, op.pad_left, op.pad_right) == (1, 1, 2, 2)


def test_asymmetric_padding_list_is_top_bottom_left_right(write_yaml):
    op = one_layer(write_yaml, **CONV, padding=[0, 1, 2, 3])
    assert (op.pad_top, op.pad_bottom, op.pad_left, op.pad_right) == (0, 1, 2, 3)
    # out = (in + pads - kernel) // stride + 1
    assert (op.out_h, op.out_w) == ((8 + 0 + 1 - 3) + 1, (8 + 2 + 3 - 3) + 1)


def test_explicit_fields_equal_the_shorthands(write_yaml):
    explicit = {k: v for k, v in CONV.items() if k != "kernel"}
    explicit.update(
        kernel_h=3,
        kernel_w=3,
        stride_h=2,
        stride_w=2,
        pad_top=1,
        pad_bottom=1,
        pad_left=1,
        pad_right=1,
        dilation_h=1,
        dilation_w=1,
        groups=2,
        bias=True,
    )
    short = {**CONV, "stride": 2, "padding": 1, "groups": 2, "bias": True}
    assert one_layer(write_yaml, **explicit) == one_layer(write_yaml, **short)


def test_pool_shorthands(write_yaml):
    op = one_layer(write_yaml, **POOL, stride=[2, 1], padding=[1, 0], mode="avg", ceil_mode=True)
    assert op == Pool2d(
        name="p1",
        channels=4,
        in_h=8,
        in_w=8,
        kernel_h=2,
        kernel_w=2,
        stride_h=2,
        stride_w=1,
        pad_top=1,
        pad_bottom=1,
        mode="avg",
        ceil_mode=True,
    )


def test_every_op_type_from_yaml(write_yaml):
    layers = [
        CONV,
        {**POOL, "in_h": 6, "in_w": 6},
        {"name": "fc", "op": "linear", "in_features": 8, "out_features": 4, "tokens": 3},
        {"name": "mm", "op": "matmul", "m": 2, "n": 3, "k": 4, "count": 5},
        {"name": "ew", "op": "elementwise", "elements": 10, "inputs": 2, "ops_per_element": 3},
        {"name": "bn", "op": "norm", "elements": 10, "channels": 2, "mode": "batch"},
        {"name": "sm", "op": "softmax", "rows": 2, "row_length": 5},
    ]
    net = network_from_yaml(write_yaml({"name": "all", "batch": 4, "layers": layers}))
    assert [op.kind for op in net.ops] == [
        "conv2d",
        "pool",
        "linear",
        "matmul",
        "elementwise",
        "norm",
        "softmax",
    ]
    assert net.batch == 4
    assert net.ops[3].macs == 2 * 3 * 4 * 5


# ------------------------------------------------------------------------------------------------
# Errors: InputError naming the file and the key


def check_error(raises_naming, write_yaml, data, *parts):
    path = write_yaml(data)
    with raises_naming(str(path), *parts):
        network_from_yaml(path)


@pytest.mark.parametrize(
    ("layer", "parts"),
    [
        ({**CONV, "op": "conv3d"}, ("layers[0]", "conv3d", "op")),
        ({k: v for k, v in CONV.items() if k != "op"}, ("layers[0]", "op")),
        ({**CONV, "kernel_size": 3}, ("layers[0].kernel_size", "unknown key")),
        ({**POOL, "dilation": 2}, ("layers[0].dilation", "unknown key")),
        ({**CONV, "kernel_h": 3}, ("layers[0]", "'kernel'", "'kernel_h'")),
        ({**CONV, "stride": 1, "stride_w": 1}, ("layers[0]", "'stride'", "'stride_w'")),
        ({**CONV, "padding": 1, "pad_left": 0}, ("layers[0]", "'padding'", "'pad_left'")),
        ({**CONV, "padding": [1, 2, 3]}, ("layers[0].padding",)),
        ({**CONV, "kernel": [3]}, ("layers[0].kernel",)),
        ({**CONV, "kernel": "3"}, ("layers[0].kernel",)),
        ({**CONV, "in_h": 0}, ("layers[0] (c1)", "in_h", "positive")),
        ({**CONV, "out_channels": -8}, ("layers[0] (c1)", "out_channels", "positive")),
        ({**CONV, "in_w": 2.5}, ("layers[0] (c1)", "in_w")),
        ({**CONV, "in_w": "8"}, ("layers[0] (c1)", "in_w")),
        ({**CONV, "stride": 0}, ("layers[0] (c1)", "stride_h")),
        ({**CONV, "padding": -1}, ("layers[0] (c1)", "pad_top")),
        ({**CONV, "groups": 3}, ("layers[0] (c1)", "groups=3")),
        ({**CONV, "groups": 0}, ("layers[0] (c1)", "groups")),
        ({**CONV, "kernel": 9}, ("layers[0] (c1)", "kernel 9x9")),
        ({k: v for k, v in CONV.items() if k != "in_h"}, ("layers[0]", "in_h")),
        ({k: v for k, v in CONV.items() if k != "name"}, ("layers[0]", "'name'")),
        ({**POOL, "mode": "min"}, ("layers[0] (p1)", "mode")),
        ({"name": "n", "op": "norm", "elements": 4, "channels": 0}, ("layers[0] (n)", "channels")),
        ({"name": "n", "op": "norm", "elements": 4, "channels": 2, "mode": "group"}, ("mode",)),
        (
            {"name": "f", "op": "linear", "in_features": 4, "out_features": 2, "tokens": 0},
            ("tokens",),
        ),
        ({"name": "m", "op": "matmul", "m": 1, "n": 1, "k": 1, "count": 0}, ("count",)),
        ({"name": "s", "op": "softmax", "rows": 0, "row_length": 1}, ("rows",)),
        ({"name": "e", "op": "elementwise", "elements": 0}, ("elements",)),
    ],
)
def test_bad_layer(raises_naming, write_yaml, layer, parts):
    check_error(raises_naming, write_yaml, {"layers": [layer]}, *parts)


def test_bad_layer_is_located_by_index(raises_naming, write_yaml):
    layers = [CONV, {**CONV, "name": "c2", "in_h": 0}]
    check_error(raises_naming, write_yaml, {"layers": layers}, "layers[1] (c2)", "in_h")


@pytest.mark.parametrize(
    ("data", "parts"),
    [
        ({"layers": []}, ("layers", "non-empty")),
        ({"layers": None}, ("layers",)),
        ({"layers": {"c1": CONV}}, ("layers",)),
        ({"name": "x"}, ("missing", "layers")),
        ({"layers": [CONV], "model": "x"}, ("model", "unknown key")),
        ({"layers": [CONV], "batch": 0}, ("batch",)),
        ({"layers": [CONV], "batch": "2"}, ("batch",)),
        ({"layers": [3]}, ("layers[0]", "mapping")),
        ([CONV], ("top level", "mapping")),
    ],
)
def test_bad_top_level(raises_naming, write_yaml, data, parts):
    check_error(raises_naming, write_yaml, data, *parts)


def test_duplicate_layer_names(raises_naming, write_yaml):
    layers = [CONV, {**CONV, "in_h": 9}]
    check_error(raises_naming, write_yaml, {"layers": layers}, "unique", "c1")


def test_duplicate_yaml_keys(raises_naming, write_yaml):
    text = "layers:\n  - {name: a, op: softmax, rows: 1, rows: 2, row_length: 3}\n"
    check_error(raises_naming, write_yaml, text, "duplicate", "rows", "line 2")


def test_missing_and_malformed_files(raises_naming, write_yaml, tmp_path):
    with raises_naming(str(tmp_path / "none.yaml"), "not found"):
        network_from_yaml(tmp_path / "none.yaml")
    check_error(raises_naming, write_yaml, "layers: [\n", "invalid YAML")


@pytest.mark.parametrize(
    ("layer", "key"),
    [
        ({**POOL, "in_h": 7, "in_w": 7, "stride": 2, "ceil_mode": "no"}, "ceil_mode"),
        ({**CONV, "bias": "no"}, "bias"),
        ({"name": "f", "op": "linear", "in_features": 4, "out_features": 2, "bias": 0}, "bias"),
    ],
)
def test_bool_fields_must_be_booleans(raises_naming, write_yaml, layer, key):
    check_error(raises_naming, write_yaml, {"layers": [layer]}, key)


# ------------------------------------------------------------------------------------------------
# Round trip


def round_trip(net: Network, write_yaml) -> Network:
    path = write_yaml(network_to_yaml_dict(net), "round_trip.yaml")
    return network_from_yaml(path)


def test_round_trip_of_every_op(write_yaml, every_op_network):
    net = every_op_network.with_batch(3)
    assert round_trip(net, write_yaml) == net


def test_round_trip_of_the_fixtures(write_yaml, data_dir):
    for name in ("tiny_cnn", "tiny_transformer"):
        net = network_from_yaml(data_dir / f"{name}.yaml")
        assert round_trip(net, write_yaml) == net


def test_round_trip_with_tricky_names(write_yaml):
    ops = tuple(
        Softmax(name=name, rows=1, row_length=2)
        for name in ("1", "true", "null", "a: b", "- x", "layer.0.attn", "ü")
    )
    net = Network(name="007", ops=ops)
    assert round_trip(net, write_yaml) == net


def test_yaml_dict_is_plain_yaml(every_op_network):
    data = network_to_yaml_dict(every_op_network)
    assert yaml.safe_load(yaml.safe_dump(data)) == data
    assert data["layers"][0]["op"] == "conv2d"
    assert data["layers"][0]["pad_left"] == 2


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "bert_base"])
def test_round_trip_of_zoo_networks(write_yaml, name):
    net = load_workload(name)
    assert round_trip(net, write_yaml) == net
