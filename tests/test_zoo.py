"""The built-in workload zoo: shapes, published MAC and parameter counts, keyword behaviour."""

from __future__ import annotations

import itertools

import pytest

from evodse.errors import InputError
from evodse.workload.network import Network
from evodse.workload.ops import Conv2d, Elementwise, Linear, MatMul, Softmax
from evodse.workload.zoo import DEFAULT_WIDTHS, STAGE_NAMES, ZOO, zoo_names, zoo_network

NAMES = sorted(ZOO)
CNNS = sorted(DEFAULT_WIDTHS)

EXPECTED_NAMES = {
    "alexnet",
    "vgg16",
    "googlenet",
    "resnet18",
    "resnet50",
    "mobilenet_v1",
    "mobilenet_v2",
    "squeezenet1_1",
    "densenet121",
    "efficientnet_b0",
    "vit_b16",
    "bert_base",
    "gpt2_prefill",
    "gpt2_decode",
    "llama3_2_1b",
    "llama3_1_8b",
    "mistral_7b",
    "mixtral_8x7b",
}


# --- independent references for the transformers (from the architecture, not the zoo) ---------


def _encoder_macs(layers: int, tokens: int, keys: int, hidden: int, heads: int, ffn: int) -> int:
    """Per-layer QKV + output projection + FFN linears, plus QK^T and AV over all heads."""
    linears = tokens * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = 2 * heads * tokens * keys * (hidden // heads)
    return layers * (linears + attention)


def _bert_macs(seq: int) -> int:
    return _encoder_macs(12, seq, seq, 768, 12, 3072)


def _gpt2_prefill_macs(seq: int) -> int:
    return _encoder_macs(12, seq, seq, 768, 12, 3072) + 768 * 50257  # LM head, last token


def _gpt2_decode_macs(kv_len: int) -> int:
    return _encoder_macs(12, 1, kv_len + 1, 768, 12, 3072) + 768 * 50257


# Decoders (HF config.json of each model): hidden, layers, heads, kv_heads, ffn, vocab, experts,
# top_k, sliding window; tied LM head or not.
DECODERS = {
    "llama3_2_1b": (2048, 16, 32, 8, 8192, 128256, 1, 1, None, True),
    "llama3_1_8b": (4096, 32, 32, 8, 14336, 128256, 1, 1, None, False),
    "mistral_7b": (4096, 32, 32, 8, 14336, 32000, 1, 1, 4096, False),
    "mixtral_8x7b": (4096, 32, 32, 8, 14336, 32000, 8, 2, None, False),
}


def decoder_macs(name: str, *, tokens: int, keys: int, head_tokens: int = 1) -> int:
    """Per-sample MACs of a decoder from its config: per layer the Q, K, V, O projections, the
    gate, up and down projections of ``top_k`` experts (and the router of a mixture), and
    ``QK^T`` + ``AV`` over every query head; plus the LM head on ``head_tokens`` tokens."""
    hidden, layers, heads, kv_heads, ffn, vocab, experts, top_k, window, _ = DECODERS[name]
    head_dim = hidden // heads
    keys = keys if window is None else min(keys, window)
    projections = hidden * (heads + 2 * kv_heads) * head_dim + heads * head_dim * hidden
    mlp = 3 * hidden * ffn * top_k + (hidden * experts if experts > 1 else 0)
    attention = 2 * heads * head_dim * keys
    return layers * (tokens * (projections + mlp) + tokens * attention) + (
        head_tokens * hidden * vocab
    )


# Published MACs at 224x224 (transformers: default sequence), batch 1.
PUBLISHED_MACS = {
    # torchvision model docs, "GFLOPS" column (actually GMACs), weights *_IMAGENET1K_V1
    "alexnet": 0.71e9,
    "vgg16": 15.47e9,
    "googlenet": 1.50e9,
    "resnet18": 1.81e9,
    "resnet50": 4.09e9,
    "mobilenet_v2": 0.30e9,
    "squeezenet1_1": 0.35e9,
    "densenet121": 2.83e9,
    "efficientnet_b0": 0.39e9,
    "vit_b16": 17.56e9,
    # Howard et al. 2017, arXiv:1704.04861, Table 8: 1.0 MobileNet-224, 569 M mult-adds
    "mobilenet_v1": 0.569e9,
    # computed from the architecture (HF bert-base-uncased / gpt2 configs), see above
    "bert_base": _bert_macs(128),
    "gpt2_prefill": _gpt2_prefill_macs(128),
    "gpt2_decode": _gpt2_decode_macs(1024),
    # decoders at the zoo default: a 1024-token prompt (prefill), computed from the configs
    **{name: decoder_macs(name, tokens=1024, keys=1024) for name in DECODERS},
}

# Published parameter counts and what of them is not an operation here (embedding tables,
# position embeddings, class token, pooler). Sources: torchvision model docs "Params";
# Keras applications MobileNet(alpha=1.0) trainable parameters; HuggingFace bert-base-uncased
# (BertModel) and gpt2 (GPT2LMHeadModel, LM head tied to the token embedding).
PUBLISHED_PARAMS = {
    "alexnet": (61_100_840, 0),
    "vgg16": (138_357_544, 0),
    "googlenet": (6_624_904, 0),
    "resnet18": (11_689_512, 0),
    "resnet50": (25_557_032, 0),
    "mobilenet_v1": (4_231_976, 0),
    "mobilenet_v2": (3_504_872, 0),
    "squeezenet1_1": (1_235_496, 0),
    "densenet121": (7_978_856, 0),
    "efficientnet_b0": (5_288_548, 0),
    # class token 768 + position embedding 197 * 768
    "vit_b16": (86_567_656, 768 + 197 * 768),
    # word 30522*768 + position 512*768 + token type 2*768 tables, pooler 768*768 + 768
    "bert_base": (109_482_240, (30522 + 512 + 2) * 768 + 768 * 768 + 768),
    # position embedding 1024 * 768 (the token embedding is the tied LM head, counted)
    "gpt2_prefill": (124_439_808, 1024 * 768),
    "gpt2_decode": (124_439_808, 1024 * 768),
    # HF safetensors counts; an untied token embedding (vocab * hidden) is no operation here
    "llama3_2_1b": (1_235_814_400, 0),
    "llama3_1_8b": (8_030_261_248, 128256 * 4096),
    "mistral_7b": (7_241_732_096, 32000 * 4096),
    "mixtral_8x7b": (46_702_792_704, 32000 * 4096),
}
UNTIED = {"llama3_1_8b", "mistral_7b", "mixtral_8x7b"}

# Networks whose convs (apart from squeeze-excite fc1/fc2) carry a folded batch norm.
FOLDED_BN = {
    "googlenet",
    "resnet18",
    "resnet50",
    "mobilenet_v1",
    "mobilenet_v2",
    "densenet121",
    "efficientnet_b0",
}


def _folded_bn_channels(name: str, net: Network) -> int:
    """Channels of folded BNs: published counts have 2*C for each, we keep C (the conv bias)."""
    if name not in FOLDED_BN:
        return 0
    return sum(
        op.out_channels
        for op in net.ops
        if isinstance(op, Conv2d) and op.bias and not op.name.endswith((".fc1", ".fc2"))
    )


def _check_residual_adds(net: Network) -> None:
    """A residual add follows the layer producing one operand: same element count."""
    for prev, op in itertools.pairwise(net.ops):
        if isinstance(op, Elementwise) and op.function == "add" and "embed" not in op.name:
            assert op.inputs == 2
            assert prev.output_elems == op.elements, op.name


@pytest.fixture(scope="module")
def nets() -> dict[str, Network]:
    return {name: zoo_network(name) for name in NAMES}


# --- registry --------------------------------------------------------------------------------


def test_zoo_has_exactly_the_documented_names():
    assert set(ZOO) == EXPECTED_NAMES
    assert zoo_names() == sorted(EXPECTED_NAMES)
    assert set(PUBLISHED_MACS) == EXPECTED_NAMES
    assert set(STAGE_NAMES) == set(DEFAULT_WIDTHS)
    for name, widths in DEFAULT_WIDTHS.items():
        assert len(STAGE_NAMES[name]) == len(widths)


def test_unknown_name_raises_input_error_listing_workloads():
    with pytest.raises(InputError) as info:
        zoo_network("resnet51")
    message = str(info.value)
    assert info.value.key == "workload"
    assert "'resnet51'" in message
    for name in NAMES:
        assert name in message
    assert ".yaml" in message and ".onnx" in message


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        zoo_network("resnet50", depth=101)
    with pytest.raises(TypeError):
        zoo_network("bert_base", kv_len=3)


def test_loader_resolves_zoo_names():
    from evodse.workload.loader import load_workload

    net = load_workload("resnet18", batch=4)
    assert net.name == "resnet18"
    assert net.macs == 4 * zoo_network("resnet18").macs


# --- every network ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_builds_and_is_valid(name, nets):
    net = nets[name]
    assert isinstance(net, Network)
    assert net.name == (f"{name}_prefill" if name in DECODERS else name) and net.batch == 1
    assert net.macs > 0 and net.params > 0
    names = [op.name for op in net.ops]
    assert len(names) == len(set(names)) and all(names)
    Network(name=net.name, ops=net.ops)  # re-validates
    assert all(op.macs >= 0 for op in net.ops)


@pytest.mark.parametrize("name", NAMES)
def test_residual_adds_match_the_tensor_they_add_to(name, nets):
    _check_residual_adds(nets[name])


@pytest.mark.parametrize("name", NAMES)
def test_published_macs_within_2_percent(name, nets):
    published = PUBLISHED_MACS[name]
    assert nets[name].macs == pytest.approx(published, rel=0.02)


@pytest.mark.parametrize("name", NAMES)
def test_params_match_published_count_exactly_after_documented_differences(name, nets):
    """Ours + (C per folded BN) + (non-operation embeddings) == the published count."""
    net = nets[name]
    published, not_ops = PUBLISHED_PARAMS[name]
    assert net.params + _folded_bn_channels(name, net) + not_ops == published
    # and the raw difference is small: BN shifts and embeddings are a minor share (BERT aside)
    if name != "bert_base" and not name.startswith("gpt2") and name not in UNTIED:
        assert net.params == pytest.approx(published, rel=0.01)


def test_transformer_macs_match_independent_formulas(nets):
    assert nets["bert_base"].macs == _bert_macs(128)
    assert nets["gpt2_prefill"].macs == _gpt2_prefill_macs(128)
    assert nets["gpt2_decode"].macs == _gpt2_decode_macs(1024)
    vit = 196 * 768 * 3 * 16 * 16 + _encoder_macs(12, 197, 197, 768, 12, 3072) + 768 * 1000
    assert nets["vit_b16"].macs == vit


# --- CNN keywords ----------------------------------------------------------------------------


def test_resnet50_resolution_scales_macs():
    base = zoo_network("resnet50")
    fc = 2048 * 1000
    # at 448 every feature map doubles in each dimension: conv MACs x4, the FC unchanged
    assert zoo_network("resnet50", resolution=448).macs == 4 * (base.macs - fc) + fc
    # at 112 the 7x7 map becomes 4x4 (ceil), so slightly more than a quarter
    assert zoo_network("resnet50", resolution=112).macs / base.macs == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize("name", CNNS)
def test_resolution_changes_macs(name, nets):
    big = zoo_network(name, resolution=320)
    assert big.macs > 1.8 * nets[name].macs
    assert big.params == nets[name].params  # adaptive / global pools keep the classifier


@pytest.mark.parametrize("name", CNNS)
def test_widths_doubled_stays_valid_and_grows_macs(name, nets):
    widths = tuple(2 * w for w in DEFAULT_WIDTHS[name])
    net = zoo_network(name, widths=widths)
    Network(name=net.name, ops=net.ops)
    assert 3.0 * nets[name].macs < net.macs <= 4.0 * nets[name].macs
    assert net.params > nets[name].params


@pytest.mark.parametrize("name", CNNS)
def test_explicit_default_widths_equal_default(name, nets):
    assert zoo_network(name, widths=list(DEFAULT_WIDTHS[name])).ops == nets[name].ops


@pytest.mark.parametrize("name", CNNS)
def test_uneven_widths_build_consistent_networks(name):
    # alternately halve and widen by 1.5: neighbouring stages no longer keep their ratios
    widths = tuple(
        max(1, round(w * (0.5 if i % 2 else 1.5))) for i, w in enumerate(DEFAULT_WIDTHS[name])
    )
    net = zoo_network(name, widths=widths)
    Network(name=net.name, ops=net.ops)
    _check_residual_adds(net)


def test_widths_set_stage_outputs_exactly_for_single_conv_stages():
    net = zoo_network("resnet50", widths=(32, 128, 320, 640, 1536))
    convs = {op.name: op for op in net.ops if isinstance(op, Conv2d)}
    assert convs["conv1"].out_channels == 32
    assert convs["layer1.0.conv3"].out_channels == 128
    assert convs["layer1.0.conv1"].out_channels == 32  # bottleneck = out / 4
    assert convs["layer1.0.downsample.0"].in_channels == 32  # stem 32 != 128 -> projection
    assert convs["layer4.2.conv3"].out_channels == 1536
    fc = next(op for op in net.ops if isinstance(op, Linear))
    assert fc.in_features == 1536
    # resnet18 stem narrower than layer1 needs a projection that the default does not have
    assert not any(op.name == "layer1.0.downsample.0" for op in zoo_network("resnet18").ops)
    r18 = zoo_network("resnet18", widths=(32, 64, 128, 256, 512))
    assert any(op.name == "layer1.0.downsample.0" for op in r18.ops)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"resolution": 0}, "resolution"),
        ({"resolution": 224.0}, "resolution"),
        ({"resolution": True}, "resolution"),
        ({"resolution": 8}, "resolution"),  # too small for the layers
        ({"widths": (64, 256)}, "widths"),
        ({"widths": (64, 256, 512, 1024, 0)}, "widths"),
        ({"widths": (64, 256, 512, 1024, 2048.0)}, "widths"),
        ({"widths": "wide"}, "widths"),
    ],
)
def test_bad_cnn_arguments_raise_input_error(kwargs, key):
    with pytest.raises(InputError) as info:
        zoo_network("vgg16" if kwargs.get("resolution") == 8 else "resnet50", **kwargs)
    assert info.value.key == key


# --- transformer keywords --------------------------------------------------------------------


def test_bert_seq_len():
    net = zoo_network("bert_base", seq_len=512)
    assert net.macs == _bert_macs(512)
    qk = next(op for op in net.ops if isinstance(op, MatMul))
    assert (qk.m, qk.k, qk.n, qk.count) == (512, 64, 512, 12)
    softmax = next(op for op in net.ops if isinstance(op, Softmax))
    assert (softmax.rows, softmax.row_length) == (12 * 512, 512)
    assert not any(op.name == "lm_head" for op in net.ops)  # encoder only


def test_gpt2_decode_kv_len():
    net = zoo_network("gpt2_decode", kv_len=100)
    assert net.macs == _gpt2_decode_macs(100)
    matmuls = [op for op in net.ops if isinstance(op, MatMul)]
    assert {(op.m, op.k, op.n) for op in matmuls} == {(1, 64, 101), (1, 101, 64)}
    assert all(op.tokens == 1 for op in net.ops if isinstance(op, Linear))
    assert zoo_network("gpt2_decode", kv_len=0).macs == _gpt2_decode_macs(0)
    longer = zoo_network("gpt2_decode", kv_len=2047)
    assert longer.macs - net.macs == 12 * 2 * 12 * 64 * (2048 - 101)


def test_gpt2_logits_option():
    last = zoo_network("gpt2_prefill")
    every = zoo_network("gpt2_prefill", logits="all")
    none = zoo_network("gpt2_prefill", logits="none")
    assert every.macs - last.macs == 127 * 768 * 50257
    assert last.macs - none.macs == 768 * 50257
    with pytest.raises(InputError):
        zoo_network("gpt2_prefill", logits="some")


def test_transformer_shape_keywords():
    small = zoo_network("bert_base", hidden=256, heads=4, ffn=1024, layers=2)
    assert small.macs == _encoder_macs(2, 128, 128, 256, 4, 1024)
    vit = zoo_network("vit_b16", resolution=384)
    qk = next(op for op in vit.ops if isinstance(op, MatMul))
    assert qk.m == qk.n == 24 * 24 + 1
    head = vit.ops[-1]
    assert isinstance(head, Linear) and head.tokens == 1


@pytest.mark.parametrize(
    ("name", "kwargs", "key"),
    [
        ("bert_base", {"hidden": 768, "heads": 10}, "heads"),
        ("vit_b16", {"heads": 0}, "heads"),
        ("gpt2_prefill", {"layers": -1}, "layers"),
        ("gpt2_prefill", {"seq_len": 0}, "seq_len"),
        ("gpt2_decode", {"kv_len": -1}, "kv_len"),
        ("bert_base", {"ffn": 1.5}, "ffn"),
        ("vit_b16", {"resolution": 200}, "resolution"),
    ],
)
def test_bad_transformer_arguments_raise_input_error(name, kwargs, key):
    with pytest.raises(InputError) as info:
        zoo_network(name, **kwargs)
    assert info.value.key == key


@pytest.mark.parametrize("name", CNNS)
def test_stage_names_point_at_layers(name, nets):
    names = [op.name for op in nets[name].ops]
    for stage in STAGE_NAMES[name]:
        first = stage.replace(",", "-").split("-")[0]
        assert any(n == first or n.startswith(first + ".") for n in names), stage
