"""Decoder LLMs: published counts, options, the KV cache as traffic, per-operand precision, and
the physical limits (bandwidth for decode, peak MAC rate for prefill)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evodse.errors import InputError
from evodse.hardware import accelerator_from_dict
from evodse.hardware.technology import technology
from evodse.model import evaluate
from evodse.workload import ExpertLinear, Linear, MatMul, Network, load_workload
from evodse.workload.zoo import zoo_network
from evodse.workload.zoo_llm import CONFIGS, untied_embedding_params

NAMES = sorted(CONFIGS)
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Published totals (HF model cards; Mixtral paper): parameters, and active ones per token.
PUBLISHED = {
    "llama3_2_1b": (1.24e9, None),
    "llama3_1_8b": (8.03e9, None),
    "mistral_7b": (7.24e9, None),
    "mixtral_8x7b": (46.7e9, 12.9e9),
}

#: ample compute: a 512 x 512 array at 2 GHz with every dataflow to pick from
BIG = {
    "name": "big",
    "pe_rows": 512,
    "pe_cols": 512,
    "dataflow": "auto",
    "ifmap_sram_kib": 4096,
    "weight_sram_kib": 4096,
    "ofmap_sram_kib": 2048,
    "dram_bandwidth_gbps": 64,
    "frequency_mhz": 2000,
    "precision_bits": 8,
    "vector_lanes": 512,
    "technology_nm": 7,
    "dram_type": "hbm3",
}


def _hw(**changes):
    return accelerator_from_dict({**BIG, **changes})


def _kv_elems(name: str, *, keys: int, batch: int = 1) -> int:
    """Keys and values of every layer for ``keys`` tokens (elements), from the config."""
    c = CONFIGS[name]
    keys = keys if c.window is None else min(keys, c.window)
    return 2 * c.layers * c.kv_heads * (c.hidden // c.heads) * keys * batch


def _weight_elems_read(net: Network) -> float:
    """Weight elements a pass must read at least once: every dense GEMM weight, and of each
    mixture-of-experts layer the experts the batch's tokens are expected to choose."""
    total = 0.0
    for op in net.ops:
        if isinstance(op, Linear):
            total += op.weight_elems
        elif isinstance(op, ExpertLinear):
            tokens = op.tokens * net.batch
            touched = op.experts * (1 - (1 - op.top_k / op.experts) ** tokens)
            total += touched * op.in_features * op.out_features
    return total


# --- counts against the published numbers -------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_parameters_within_1_percent_of_published(name):
    net = zoo_network(name)
    c = CONFIGS[name]
    total = net.params + untied_embedding_params(c)
    assert total == c.published_params  # the exact HF count
    published, active = PUBLISHED[name]
    assert total == pytest.approx(published, rel=0.01)
    if active is not None:
        active_total = net.active_params + untied_embedding_params(c)
        assert active_total == c.published_active_params
        assert active_total == pytest.approx(active, rel=0.01)
    else:
        assert net.active_params == net.params


@pytest.mark.parametrize("name", NAMES)
def test_decode_macs_per_token_are_the_active_weights_plus_attention(name):
    """One decoded token multiplies every active weight once (no embedding lookup, a tied head
    counted once) plus ``QK^T`` and ``AV`` over the cache: ``2 * layers * hidden * keys``."""
    c = CONFIGS[name]
    net = zoo_network(name, phase="decode", kv_len=2047)
    norms = c.hidden * (2 * c.layers + 1)  # RMS-norm scales: parameters, not MACs
    weights = net.active_params - norms
    keys = 2048 if c.window is None else min(2048, c.window)
    assert net.macs == weights + 2 * c.layers * c.hidden * keys
    published_active = c.published_active_params or c.published_params
    per_token = weights + untied_embedding_params(c)
    assert per_token == pytest.approx(published_active, rel=0.01)


def test_sliding_window_caps_keys_and_cache():
    short = zoo_network("mistral_7b", phase="decode", kv_len=4095)
    long = zoo_network("mistral_7b", phase="decode", kv_len=32000)
    assert short.macs == long.macs
    qk = next(op for op in long.ops if isinstance(op, MatMul))
    assert (qk.m, qk.k, qk.n, qk.count, qk.kv_cache) == (4, 128, 4096, 8, True)
    llama = zoo_network("llama3_1_8b", phase="decode", kv_len=32000)
    assert next(op for op in llama.ops if isinstance(op, MatMul)).n == 32001


def test_options_from_a_workload_spec():
    net = load_workload("llama3_1_8b:phase=decode,kv_len=4096,batch=8")
    assert (net.name, net.batch) == ("llama3_1_8b_decode", 8)
    assert next(op for op in net.ops if isinstance(op, MatMul)).n == 4097
    assert load_workload("llama3_2_1b:phase=decode").ops[6].n == 1025  # kv_len = seq_len
    prefill = load_workload("llama3_2_1b:seq_len=256")
    assert all(op.tokens == 256 for op in prefill.ops[:-1] if isinstance(op, Linear))
    assert prefill.ops[-1].tokens == 1  # the LM head on the last token


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ("llama3_1_8b:phase=train", "phase"),
        ("llama3_1_8b:kv_len=-1", "kv_len"),
        ("llama3_1_8b:heads=32,kv_heads=5", "kv_heads"),
        ("llama3_1_8b:batch=0", "batch"),
        ("llama3_1_8b:logits=most", "logits"),
        ("llama3_1_8b:phase=a b", "workload"),
    ],
)
def test_bad_options_name_their_key(spec, key):
    with pytest.raises(InputError) as info:
        load_workload(spec)
    assert info.value.key == key


def test_mixture_of_experts_reads_the_experts_the_batch_touches():
    """Decode at batch b: each token picks 2 of 8 experts, uniformly and independently, so the
    batch is expected to touch ``8 * (1 - (3/4) ** b)`` experts: 2 at b = 1, 7.2 at b = 8."""
    hw = _hw()
    expert_bytes = 32 * 3 * 4096 * 14336  # per expert, every layer, 8-bit
    for batch, touched in ((1, 2.0), (8, 8 * (1 - 0.75**8))):
        net = zoo_network("mixtral_8x7b", phase="decode", kv_len=0, batch=batch)
        cost = evaluate(hw, net)
        dense = sum(op.weight_elems for op in net.ops if isinstance(op, Linear))
        weights = cost.total_bytes(("dram", "weight", "read"))[0]
        assert weights == pytest.approx(dense + touched * expert_bytes, rel=1e-9)
        # MACs count the chosen experts only: 2 per token
        assert cost.table.macs.sum() > 0
        assert net.macs == batch * zoo_network("mixtral_8x7b", phase="decode", kv_len=0).macs


# --- the KV cache is traffic -------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 4])
def test_decode_reads_the_whole_cache_and_writes_the_new_token(batch):
    hw = _hw(kv_bits=4)
    kv_len = 3000
    net = zoo_network("llama3_1_8b", phase="decode", kv_len=kv_len, batch=batch)
    cost = evaluate(hw, net)
    read = cost.total_bytes(("dram", "kv", "read"))[0]
    written = cost.total_bytes(("dram", "kv", "write"))[0]
    assert read == _kv_elems("llama3_1_8b", keys=kv_len + 1, batch=batch) * 0.5
    assert written == _kv_elems("llama3_1_8b", keys=1, batch=batch) * 0.5
    # the cache is not a weight: weight traffic is the weights alone, once per step
    weights = cost.total_bytes(("dram", "weight", "read"))[0]
    assert weights == pytest.approx(_weight_elems_read(net), rel=1e-9)


def test_prefill_writes_the_cache_of_every_prompt_token():
    cost = evaluate(_hw(), zoo_network("llama3_2_1b", seq_len=512))
    written = cost.total_bytes(("dram", "kv", "write"))[0]
    assert written == _kv_elems("llama3_2_1b", keys=512)


def test_a_cache_that_fits_on_chip_moves_no_dram_bytes():
    net = zoo_network("llama3_2_1b", phase="decode", kv_len=15, layers=2)
    cache_kib = 2 * 2 * 8 * 64 * 16 / 1024  # K and V, 2 layers, 8 heads of 64, 16 tokens, 8 bit
    assert cache_kib == _kv_elems("llama3_2_1b", keys=16) * 2 / 16 / 1024
    # on chip when the cache fits in half the weight SRAM
    fits, spills = _hw(weight_sram_kib=2 * cache_kib), _hw(weight_sram_kib=2 * cache_kib - 1)
    cost = evaluate([fits, spills], net)
    for direction in ("read", "write"):
        dram = cost.total_bytes(("dram", "kv", direction))
        assert dram[0] == 0 and dram[1] > 0
    sram_reads = cost.total_bytes(("sram", "kv", "read"))
    assert sram_reads[0] == sram_reads[1] > 0


def test_attention_against_the_cache_is_priced_as_kv_not_weights():
    """The cache's bytes go to the kv operand at the KV width; a BERT-style activation matmul
    stays a weight-SRAM operand at the activation width."""
    cost = evaluate(_hw(kv_bits=16), zoo_network("llama3_2_1b", phase="decode", layers=1))
    qk = cost.table.b_kv > 0
    assert qk.sum() == 2  # QK^T and AV
    assert cost.total_bytes(("register", "kv", "write"))[0] > 0
    bert = evaluate(_hw(kv_bits=16), load_workload("bert_base"))
    assert bert.total_bytes(("dram", "kv", "read"))[0] == 0


# --- precision per operand ---------------------------------------------------------------------


def test_unset_widths_follow_precision_bits():
    net = zoo_network("llama3_2_1b", phase="decode", layers=2)
    implicit = _hw(precision_bits=16)
    explicit = _hw(precision_bits=16, weight_bits=16, activation_bits=16, kv_bits=16)
    a, b = evaluate([implicit, explicit], net).energy_pj
    assert a == b
    assert implicit.operand_bits("kv_bits") == 16
    assert accelerator_from_dict(explicit.to_dict()) == explicit


def test_operand_widths_scale_their_traffic():
    net = zoo_network("llama3_1_8b", phase="decode", kv_len=1023, layers=2)
    w8a16 = _hw(precision_bits=16, weight_bits=8, kv_bits=8)
    w4a16 = w8a16.replace(weight_bits=4)
    kv16 = w8a16.replace(kv_bits=16)
    cost = evaluate([w8a16, w4a16, kv16], net)
    weights = cost.total_bytes(("dram", "weight", "read"))
    assert weights[1] == pytest.approx(weights[0] / 2, rel=1e-9)
    kv = cost.total_bytes(("dram", "kv", "read"))
    assert kv[2] == 2 * kv[0] and kv[1] == kv[0]
    # decode is bandwidth-bound: fewer weight bytes, lower latency
    assert cost.latency_s[1] < cost.latency_s[0]


def test_mixed_width_multiplier_is_the_geometric_mean():
    tech = technology()
    node = np.asarray([28.0])
    a16_w4 = tech.mac_energy_pj(node, np.asarray([16]), np.asarray([4]))
    square = {b: tech.mac_energy_pj(node, np.asarray([b])) for b in (4, 16)}
    assert square[4] < a16_w4 < square[16]
    multiply = {b: tech.multiply(tech.multiply_energy_pj[45], np.asarray([b])) for b in (4, 16)}
    mixed = tech.multiply(tech.multiply_energy_pj[45], np.asarray([16]), np.asarray([4]))
    assert mixed == pytest.approx(np.sqrt(multiply[4] * multiply[16]), rel=1e-12)
    assert tech.multiply(tech.multiplier_area_um2, np.asarray([16]), np.asarray([4]))[0] == (
        pytest.approx(np.sqrt(992.8 * 70.5))
    )
    w4 = _hw(precision_bits=16, weight_bits=4, kv_bits=4)
    w16 = _hw(precision_bits=16)
    cost = evaluate([w4, w16], zoo_network("llama3_2_1b", phase="decode", layers=1))
    assert cost.area_breakdown_mm2["array"][0] < cost.area_breakdown_mm2["array"][1]
    assert cost.energy_breakdown_pj["mac"][0] < cost.energy_breakdown_pj["mac"][1]


@pytest.mark.parametrize(("key", "value"), [("weight_bits", 3), ("kv_bits", True)])
def test_bad_operand_width_names_its_key(key, value):
    with pytest.raises(InputError) as info:
        _hw(**{key: value})
    assert info.value.key == key


# --- physical limits -----------------------------------------------------------------------------


@PROPS
@given(
    name=st.sampled_from(NAMES),
    kv_len=st.integers(0, 8192),
    bandwidth=st.sampled_from([8.0, 25.6, 51.2, 102.4]),
    kv_bits=st.sampled_from([4, 8, 16]),
    weight_bits=st.sampled_from([4, 8]),
)
def test_decode_is_bound_by_weight_and_cache_bytes(name, kv_len, bandwidth, kv_bits, weight_bits):
    """Batch-1 decode on ample compute takes (weight bytes + KV bytes) / bandwidth: never
    less, at most 10% more (activations, the LM head's input, vector ops)."""
    net = zoo_network(name, phase="decode", kv_len=kv_len, layers=4)
    hw = _hw(dram_bandwidth_gbps=bandwidth, weight_bits=weight_bits, kv_bits=kv_bits)
    floor_bytes = _weight_elems_read(net) * weight_bits / 8
    kv_bytes = _kv_elems(name, keys=kv_len + 1) * 4 / CONFIGS[name].layers * kv_bits / 8
    if kv_bytes > hw.weight_sram_kib * 1024 / 2:  # else the cache stays on chip
        floor_bytes += kv_bytes
    floor_s = floor_bytes / (bandwidth * 1e9)
    latency = evaluate(hw, net).latency_s[0]
    assert floor_s <= latency <= 1.10 * floor_s


@PROPS
@given(
    name=st.sampled_from(NAMES),
    seq_len=st.integers(1, 4096),
    batch=st.integers(1, 4),
    rows=st.sampled_from([16, 64, 256]),
    cols=st.sampled_from([16, 64, 256]),
    dataflow=st.sampled_from(["ws", "os", "is", "auto"]),
)
def test_prefill_never_beats_the_peak_mac_rate(name, seq_len, batch, rows, cols, dataflow):
    net = zoo_network(name, seq_len=seq_len, batch=batch, layers=2)
    hw = _hw(pe_rows=rows, pe_cols=cols, dataflow=dataflow, dram_bandwidth_gbps=4096)
    peak_s = net.macs / (rows * cols * hw.frequency_mhz * 1e6)
    assert evaluate(hw, net).latency_s[0] >= peak_s


def test_zoo_doc_table_is_current():
    """docs/zoo.md's decoder table is what ``python tools/zoo_llm_table.py`` writes."""
    path = Path(__file__).resolve().parents[1] / "tools" / "zoo_llm_table.py"
    spec = importlib.util.spec_from_file_location("zoo_llm_table", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    text = tool.DOC.read_text("utf-8")
    assert text == tool.current(text), "run: python tools/zoo_llm_table.py"
