"""Property tests of the analytical cost model over random valid designs and layers.

Every property is one the model's docstrings promise (conservation of MACs, utilization bounds,
monotonicity in DRAM bandwidth and SRAM capacity, finite positive costs, vectorized == scalar
evaluation, ``auto`` = best dataflow per layer, duplicate layers evaluated once).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from evodse.hardware import (
    DATAFLOW_CHOICES,
    DATAFLOWS,
    Accelerator,
    accelerator_from_dict,
    load_hardware,
)
from evodse.hardware.technology import technology
from evodse.hardware.template import FUSION_MODES, OPERAND_BITS
from evodse.model import AREA_COMPONENTS, ENERGY_COMPONENTS, Designs, evaluate
from evodse.model.layers import links
from evodse.model.mappings import AUTO_CHOICES
from evodse.model.report import evaluation_dict
from evodse.workload import (
    Conv2d,
    Elementwise,
    ExpertLinear,
    Linear,
    MatMul,
    Network,
    Norm,
    Op,
    Pool2d,
    Softmax,
    load_workload,
)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LAYER_KEYS = (
    "compute_cycles",
    "memory_cycles",
    "cycles",
    "latency_s",
    "energy_pj",
    "dram_bytes",
    "utilization",
    *ENERGY_COMPONENTS,
)
REL = 1e-12  # comparisons of costs that should be equal up to float rounding

# Regression example of a halo over-count once in evodse/model/memory.py::_halo (see
# test_model_golden.py::test_dram_traffic_linear_partial_last_band): a linear input read in
# bands with a partial last band was counted as whole bands, so a bigger ifmap SRAM (4 -> 5 KiB
# here) *increased* DRAM traffic.
_SMALL = {
    "name": "small",
    "pe_rows": 4,
    "pe_cols": 4,
    "dataflow": "ws",
    "ifmap_sram_kib": 4,
    "weight_sram_kib": 4,
    "ofmap_sram_kib": 0.25,
    "dram_bandwidth_gbps": 0.5,
    "frequency_mhz": 500,
    "precision_bits": 8,
    "vector_lanes": 4,
    "technology_nm": 45,
}
HALO_NET = Network(
    name="halo",
    ops=(Linear(name="fc", in_features=512, out_features=6, tokens=8, bias=False),),
)
HALO_HW = accelerator_from_dict(_SMALL)

# ------------------------------------------------------------------------------------------------
# Strategies

NODES = sorted(technology().nodes)
PRECISIONS = technology().precisions
DRAM_TYPES = sorted(technology().dram)
KIB = st.floats(min_value=0.0625, max_value=8192, allow_nan=False, allow_infinity=False)


def hw_data(draw, dataflows) -> dict:
    return {
        "name": "random",
        "pe_rows": draw(st.integers(1, 128)),
        "pe_cols": draw(st.integers(1, 128)),
        "dataflow": draw(st.sampled_from(dataflows)),
        "ifmap_sram_kib": draw(KIB),
        "weight_sram_kib": draw(KIB),
        "ofmap_sram_kib": draw(KIB),
        "dram_bandwidth_gbps": draw(st.floats(0.05, 1000)),  # x100 stays plausible (1e5)
        "frequency_mhz": draw(st.floats(10, 3000)),
        "precision_bits": draw(st.sampled_from(PRECISIONS)),
        "vector_lanes": draw(st.integers(1, 512)),
        "technology_nm": draw(st.sampled_from(NODES)),
        "pe_stationary_regs": draw(st.integers(1, 8)),
        "dram_type": draw(st.sampled_from(DRAM_TYPES)),
        "fusion": draw(st.sampled_from(FUSION_MODES)),
        # per-operand widths: unset (precision_bits) or any supported width
        **{key: draw(st.sampled_from([None, *PRECISIONS])) for key in OPERAND_BITS},
    }


@st.composite
def designs(draw, dataflows=DATAFLOW_CHOICES) -> Accelerator:
    return accelerator_from_dict(hw_data(draw, dataflows))


@st.composite
def conv_layers(draw) -> Conv2d:
    if draw(st.booleans()):  # depthwise (channel multiplier 1 or 2)
        groups = draw(st.integers(1, 64))
        cin, cout = groups, groups * draw(st.integers(1, 2))
    else:
        groups = draw(st.sampled_from([1, 1, 1, 2, 3, 4]))
        cin, cout = groups * draw(st.integers(1, 24)), groups * draw(st.integers(1, 24))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pt, pb, pl, pr = (draw(st.integers(0, 3)) for _ in range(4))
    min_h = max(1, dh * (kh - 1) + 1 - pt - pb)
    min_w = max(1, dw * (kw - 1) + 1 - pl - pr)
    return Conv2d(
        name="conv",
        in_channels=cin,
        out_channels=cout,
        in_h=draw(st.integers(min_h, min_h + 40)),
        in_w=draw(st.integers(min_w, min_w + 40)),
        kernel_h=kh,
        kernel_w=kw,
        stride_h=draw(st.integers(1, 4)),
        stride_w=draw(st.integers(1, 4)),
        pad_top=pt,
        pad_bottom=pb,
        pad_left=pl,
        pad_right=pr,
        dilation_h=dh,
        dilation_w=dw,
        groups=groups,
        bias=draw(st.booleans()),
    )


@st.composite
def pool_layers(draw) -> Pool2d:
    pt, pb, pl, pr = (draw(st.integers(0, 1)) for _ in range(4))
    in_h, in_w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    return Pool2d(
        name="pool",
        channels=draw(st.integers(1, 64)),
        in_h=in_h,
        in_w=in_w,
        kernel_h=draw(st.integers(1, in_h + pt + pb)),
        kernel_w=draw(st.integers(1, in_w + pl + pr)),
        stride_h=draw(st.integers(1, 3)),
        stride_w=draw(st.integers(1, 3)),
        pad_top=pt,
        pad_bottom=pb,
        pad_left=pl,
        pad_right=pr,
        mode=draw(st.sampled_from(["max", "avg"])),
        ceil_mode=draw(st.booleans()),
    )


linear_layers = st.builds(
    Linear,
    name=st.just("fc"),
    in_features=st.integers(1, 2048),
    out_features=st.integers(1, 2048),
    tokens=st.integers(1, 128),
    bias=st.booleans(),
    kv_cache=st.booleans(),
)
expert_layers = st.integers(1, 8).flatmap(
    lambda experts: st.builds(
        ExpertLinear,
        name=st.just("moe"),
        in_features=st.integers(1, 1024),
        out_features=st.integers(1, 1024),
        experts=st.just(experts),
        top_k=st.integers(1, experts),
        tokens=st.integers(1, 64),
    )
)
matmul_layers = st.builds(
    MatMul,
    name=st.just("mm"),
    m=st.integers(1, 256),
    n=st.integers(1, 256),
    k=st.integers(1, 256),
    count=st.integers(1, 16),
    kv_cache=st.booleans(),
)
vector_layers = st.one_of(
    pool_layers(),
    st.builds(
        Elementwise,
        name=st.just("ew"),
        elements=st.integers(1, 10**6),
        inputs=st.integers(1, 3),
        ops_per_element=st.integers(1, 8),
        kv_cache=st.booleans(),
    ),
    st.builds(
        Norm,
        name=st.just("norm"),
        elements=st.integers(1, 10**5),
        channels=st.integers(1, 1024),
        mode=st.sampled_from(["batch", "layer", "rms"]),
    ),
    st.builds(
        Softmax, name=st.just("sm"), rows=st.integers(1, 1000), row_length=st.integers(1, 1000)
    ),
)
gemm_layers = st.one_of(conv_layers(), linear_layers, matmul_layers, expert_layers)
layers = st.one_of(gemm_layers, gemm_layers, vector_layers)


def rename(ops: list[Op]) -> tuple[Op, ...]:
    return tuple(dataclasses.replace(op, name=f"l{i}") for i, op in enumerate(ops))


@st.composite
def networks(draw, layer_strategy=layers, max_layers=5) -> Network:
    ops = draw(st.lists(layer_strategy, min_size=1, max_size=max_layers))
    return Network(name="random", ops=rename(ops), batch=draw(st.integers(1, 4)))


def is_gemm(op: Op) -> bool:
    return op.gemm() is not None


def assert_not_above(big: np.ndarray, small: np.ndarray, what: str) -> None:
    """``big <= small`` elementwise, up to float rounding."""
    bad = big > small * (1 + REL) + 1e-9
    assert not bad.any(), f"{what}: {big[bad]} > {small[bad]}"


# ------------------------------------------------------------------------------------------------
# Conservation of MACs


def textbook_macs(op: Op) -> int:
    """Per-sample MACs from the layer's definition, independent of its GEMM lowering."""
    if isinstance(op, Conv2d):
        window = (op.in_channels // op.groups) * op.kernel_h * op.kernel_w
        return op.out_channels * op.out_h * op.out_w * window
    if isinstance(op, Linear):
        return op.tokens * op.in_features * op.out_features
    if isinstance(op, ExpertLinear):  # each token through its top_k experts
        return op.tokens * op.top_k * op.in_features * op.out_features
    if isinstance(op, MatMul):
        return op.count * op.m * op.n * op.k
    return 0


@FAST
@given(net=networks(), hw=designs())
def test_macs_are_conserved(net, hw):
    cost = evaluate(hw, net)
    for op in net.ops:
        assert op.macs == textbook_macs(op)
    assert net.macs == net.batch * sum(op.macs for op in net.ops)
    assert cost.macs == net.macs
    # the distinct-shape table counts every layer once, with the batch
    assert cost.table.macs @ cost.table.multiplicity == net.macs
    report = evaluation_dict(cost)
    assert sum(layer["macs"] for layer in report["layers"]) == report["total"]["macs"] == net.macs


@settings(max_examples=20, deadline=None)
@given(net=networks(layer_strategy=conv_layers()))
def test_batch_two_of_a_conv_net_has_twice_the_macs(net):
    one, two = net.with_batch(1), net.with_batch(2)
    assert two.macs == 2 * one.macs
    hw = accelerator_from_dict({**_SMALL, "dataflow": "auto"})
    assert evaluate(hw, two).macs == 2 * evaluate(hw, one).macs
    per_layer_one = [la["macs"] for la in evaluation_dict(evaluate(hw, one))["layers"]]
    per_layer_two = [la["macs"] for la in evaluation_dict(evaluate(hw, two))["layers"]]
    assert per_layer_two == [2 * m for m in per_layer_one]


# ------------------------------------------------------------------------------------------------
# Bounds, finiteness, totals


@FAST
@given(net=networks(), hw=designs())
def test_utilization_of_gemm_layers_is_in_unit_interval(net, hw):
    cost = evaluate(hw, net)
    util = cost.layer("utilization")[0]
    for i, op in enumerate(net.ops):
        if is_gemm(op):
            assert 0 < util[i] <= 1 + REL, (op, util[i])
        else:
            assert util[i] == 0, (op, util[i])
    assert 0 <= cost.utilization[0] <= 1 + REL


@FAST
@given(net=networks(), hw=designs())
def test_costs_are_finite_and_positive(net, hw):
    cost = evaluate(hw, net)
    for key in LAYER_KEYS:
        values = cost.layer(key)
        assert np.isfinite(values).all(), key
        assert (values >= 0).all(), key
    assert (cost.layer("cycles") > 0).all()
    assert (cost.layer("energy_pj") > 0).all()
    # with fusion, a layer whose input and output both stay on chip moves no DRAM bytes
    layer_bytes = cost.layer("dram_bytes")
    assert (layer_bytes > 0).all() if hw.fusion == "none" else (layer_bytes >= 0).all()
    assert (cost.dram_bytes > 0).all()  # the network's first input comes from DRAM
    for total in (cost.cycles, cost.latency_s, cost.energy_pj, cost.area_mm2, cost.power_w):
        assert np.isfinite(total).all()
        assert (total > 0).all()
    for key in ENERGY_COMPONENTS:
        assert np.isfinite(cost.energy_breakdown_pj[key]).all()
        assert (cost.energy_breakdown_pj[key] >= 0).all()
    assert set(cost.area_breakdown_mm2) == set(AREA_COMPONENTS)
    for key in AREA_COMPONENTS:
        assert np.isfinite(cost.area_breakdown_mm2[key]).all()
        assert (cost.area_breakdown_mm2[key] > 0).all()
    # the report is strict JSON (no NaN or infinity)
    json.dumps(evaluation_dict(cost, name=hw.name), allow_nan=False)


@FAST
@given(net=networks(), hw=designs())
def test_totals_are_sums_of_layers(net, hw):
    cost = evaluate(hw, net)
    np.testing.assert_allclose(cost.cycles, cost.layer("cycles").sum(axis=1), rtol=REL)
    np.testing.assert_allclose(cost.latency_s, cost.layer("latency_s").sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(cost.energy_pj, cost.layer("energy_pj").sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(cost.dram_bytes, cost.layer("dram_bytes").sum(axis=1), rtol=REL)
    np.testing.assert_allclose(cost.energy_pj, sum(cost.energy_breakdown_pj.values()), rtol=REL)
    np.testing.assert_allclose(cost.latency_s, cost.cycles / (hw.frequency_mhz * 1e6), rtol=REL)
    # transfers overlap compute; only the exposed prologue/epilogue adds to the larger of the two
    bound = np.maximum(cost.layer("compute_cycles"), cost.layer("memory_cycles"))
    assert (cost.layer("cycles") >= bound).all()


# ------------------------------------------------------------------------------------------------
# Monotonicity

SRAM_KEYS = ("ifmap_sram_kib", "weight_sram_kib", "ofmap_sram_kib")
FACTORS = st.floats(min_value=1.0, max_value=16.0)


@FAST
@given(net=networks(), hw=designs(), factor=st.floats(min_value=1.0, max_value=100.0))
def test_more_dram_bandwidth_never_increases_latency(net, hw, factor):
    faster = hw.replace(dram_bandwidth_gbps=hw.dram_bandwidth_gbps * factor)
    cost = evaluate([hw, faster], net)
    for key in ("cycles", "latency_s", "memory_cycles"):
        per_layer = cost.layer(key)
        assert_not_above(per_layer[1], per_layer[0], key)
    assert_not_above(cost.cycles[1:], cost.cycles[:1], "total cycles")
    assert_not_above(cost.latency_s[1:], cost.latency_s[:1], "total latency")
    # bandwidth does not change the traffic itself, unless auto picks another dataflow
    same_flow = cost.layer("dataflow")[0] == cost.layer("dataflow")[1]
    traffic = cost.layer("dram_bytes")
    np.testing.assert_array_equal(traffic[0][same_flow], traffic[1][same_flow])


@FAST
@given(
    net=networks(),
    hw=designs(dataflows=DATAFLOWS),
    key=st.sampled_from(SRAM_KEYS),
    factor=FACTORS,
)
@example(net=HALO_NET, hw=HALO_HW, key="ifmap_sram_kib", factor=1.25)
def test_bigger_sram_never_increases_dram_traffic(net, hw, key, factor):
    """For a fixed dataflow (ws, os, is), more of any SRAM never moves more DRAM bytes."""
    bigger = hw.replace(**{key: getattr(hw, key) * factor})
    cost = evaluate([hw, bigger], net)
    per_layer = cost.layer("dram_bytes")
    assert_not_above(per_layer[1], per_layer[0], f"layer DRAM bytes, {key} x{factor}")
    assert_not_above(cost.dram_bytes[1:], cost.dram_bytes[:1], "total DRAM bytes")


@FAST
@given(net=networks(), hw=designs(), key=st.sampled_from(SRAM_KEYS), factor=FACTORS)
@example(net=HALO_NET, hw=HALO_HW, key="ifmap_sram_kib", factor=1.25)
def test_bigger_sram_never_increases_latency(net, hw, key, factor):
    """Any dataflow, including auto: more SRAM never makes a layer's steady state slower, and
    its latency grows at most by the larger first tile the bigger buffer holds (the prologue
    charges the first tile the tiling loads: the input whole, when it fits)."""
    bigger = hw.replace(**{key: getattr(hw, key) * factor})
    cost = evaluate([hw, bigger], net)
    steady = np.maximum(cost.layer("compute_cycles"), cost.layer("memory_cycles"))
    assert_not_above(steady[1], steady[0], f"steady-state cycles, {key}")
    bytes_per_cycle = hw.dram_bandwidth_gbps * 1e9 / (hw.frequency_mhz * 1e6)
    # the first input tile grows from the old usable half to at most the new buffer, whole
    extra_tile = (2 * factor - 1) * getattr(hw, key) * 1024 / 2 / bytes_per_cycle
    assert_not_above(cost.layer("cycles")[1], cost.layer("cycles")[0] + extra_tile, f"{key}")


def test_auto_trades_traffic_for_speed():
    """auto picks the fastest dataflow per layer (documented), not the one with the least
    traffic: here a bigger ofmap SRAM switches the layer from ws to os (an output tile of
    several folds accumulating partial sums there), faster but with more DRAM bytes. Traffic is
    monotone in SRAM only for a fixed dataflow."""
    net = Network(name="fc", ops=(Linear(name="fc", in_features=256, out_features=64, tokens=64),))
    hw = accelerator_from_dict(
        {
            **_SMALL,
            "dataflow": "auto",
            "ifmap_sram_kib": 0.5,
            "weight_sram_kib": 8,
            "ofmap_sram_kib": 1,
            "dram_bandwidth_gbps": 1,
        }
    )
    cost = evaluate([hw, hw.replace(ofmap_sram_kib=2)], net)
    assert cost.cycles[1] < cost.cycles[0]  # auto got faster...
    assert cost.dram_bytes[1] > cost.dram_bytes[0]  # ...by moving more bytes
    assert cost.layer("dataflow")[0, 0] != cost.layer("dataflow")[1, 0]


# ------------------------------------------------------------------------------------------------
# Vectorized evaluation, auto dataflow, duplicate layers


def assert_same_costs(together, i: int, alone) -> None:
    for key in (*LAYER_KEYS, "dataflow"):
        np.testing.assert_allclose(together.layer(key)[i], alone.layer(key)[0], rtol=REL)
    for name in ("cycles", "latency_s", "energy_pj", "area_mm2", "dram_bytes", "utilization"):
        np.testing.assert_allclose(
            getattr(together, name)[i], getattr(alone, name)[0], rtol=REL, err_msg=name
        )
    for key in ENERGY_COMPONENTS:
        np.testing.assert_allclose(
            together.energy_breakdown_pj[key][i], alone.energy_breakdown_pj[key][0], rtol=REL
        )
    for key in AREA_COMPONENTS:
        np.testing.assert_allclose(
            together.area_breakdown_mm2[key][i], alone.area_breakdown_mm2[key][0], rtol=REL
        )


@settings(max_examples=20, deadline=None)
@given(net=networks(), hws=st.lists(designs(), min_size=2, max_size=4))
def test_vectorized_evaluation_equals_one_by_one(net, hws):
    together = evaluate(hws, net)
    for i, hw in enumerate(hws):
        assert_same_costs(together, i, evaluate(hw, net))
    # the Designs arrays are an equivalent input, and a sub-population costs the same
    population = Designs.from_accelerators(hws)
    reversed_index = np.arange(len(hws))[::-1]
    subset = evaluate(population.take(reversed_index), net)
    for j, i in enumerate(reversed_index):
        assert_same_costs(subset, j, evaluate(hws[i], net))
    for i, hw in enumerate(hws):
        assert population.accelerator(i, name=hw.name) == hw


@FAST
@given(net=networks(), hw=designs())
def test_auto_cycles_are_the_minimum_over_dataflows(net, hw):
    # auto chooses among the systolic entries, the first of DATAFLOWS: codes are their indices
    assert DATAFLOWS[: len(AUTO_CHOICES)] == AUTO_CHOICES
    flows = [hw.replace(dataflow=f) for f in (*AUTO_CHOICES, "auto")]
    cost = evaluate(flows, net)
    cycles = cost.layer("cycles")
    fixed, auto = cycles[: len(AUTO_CHOICES)], cycles[len(AUTO_CHOICES)]
    np.testing.assert_allclose(auto, fixed.min(axis=0), rtol=REL)
    chosen = cost.layer("dataflow")[len(AUTO_CHOICES)]
    for i, op in enumerate(net.ops):
        if is_gemm(op):
            assert chosen[i] in range(len(AUTO_CHOICES))
            assert cycles[chosen[i], i] == auto[i]
        else:
            assert chosen[i] == -1
    # among the dataflows tied at the fastest, auto takes the one with the least dynamic
    # energy (leakage follows latency, equal among them)
    dynamic = sum(cost.layer(k) for k in ENERGY_COMPONENTS if k != "leakage")
    for i, op in enumerate(net.ops):
        if is_gemm(op):
            tied = np.flatnonzero(fixed[:, i] == auto[i])
            assert dynamic[len(AUTO_CHOICES), i] == pytest.approx(dynamic[tied, i].min(), rel=REL)


@FAST
@given(op=layers, other=layers, hw=designs(), batch=st.integers(1, 3))
def test_duplicate_layers_cost_the_same(op, other, hw, batch):
    ops = (
        dataclasses.replace(op, name="first"),
        dataclasses.replace(other, name="between"),
        dataclasses.replace(op, name="again"),
    )
    net = Network(name="dup", ops=ops, batch=batch)
    cost = evaluate(hw, net)
    linked, fused = links(ops)
    out_linked = [*linked[1:], False]
    if (linked[0], fused[0], out_linked[0]) != (linked[2], fused[2], out_linked[2]):
        # a different place in the producer-consumer chain: its own entry
        assert cost.table.slot[0] != cost.table.slot[2]
        return
    assert cost.table.n_shapes < len(net.ops)
    assert cost.table.slot[0] == cost.table.slot[2]
    assert cost.table.multiplicity.sum() == len(net.ops)
    for key in (*LAYER_KEYS, "dataflow"):
        values = cost.layer(key)[0]
        assert values[0] == values[2], key
    report = evaluation_dict(cost)
    first, again = report["layers"][0], report["layers"][2]
    assert {k: v for k, v in first.items() if k != "name"} == {
        k: v for k, v in again.items() if k != "name"
    }


# ------------------------------------------------------------------------------------------------
# Cost model v2 invariants: counts, prices, registers, fusion, the price of bandwidth


@FAST
@given(net=networks(), hw=designs(dataflows=DATAFLOWS), more=st.integers(2, 8))
def test_more_stationary_registers_never_raise_sram_accesses(net, hw, more):
    bigger = hw.replace(pe_stationary_regs=hw.pe_stationary_regs * more)
    cost = evaluate([hw, bigger], net)
    for operand in ("input", "weight", "output"):
        sram = cost.counts.level("sram", operand)
        assert_not_above(sram[1], sram[0], f"SRAM {operand} bytes")
    steady = np.maximum(cost.layer("compute_cycles"), cost.layer("memory_cycles"))
    assert_not_above(steady[1], steady[0], "steady-state cycles")


@pytest.mark.parametrize("workload", ["resnet50", "mobilenet_v2", "bert_base"])
def test_fusion_never_raises_dram_bytes_on_zoo_networks(workload):
    net = load_workload(workload)
    hws = [load_hardware("edge").replace(fusion=f) for f in FUSION_MODES]
    cost = evaluate(hws, net)
    per_layer = cost.layer("dram_bytes")
    for more, less in ((0, 1), (1, 2)):
        assert_not_above(per_layer[less], per_layer[more], f"{FUSION_MODES[less]} layers")
    assert cost.dram_bytes[0] > cost.dram_bytes[1] >= cost.dram_bytes[2]
    if workload != "bert_base":  # BERT's 98 KB activations exceed edge's 64 KiB usable halves
        assert cost.dram_bytes[1] > cost.dram_bytes[2]


@FAST
@given(net=networks(), hw=designs())
def test_fusion_never_raises_dram_bytes(net, hw):
    cost = evaluate([hw.replace(fusion=f) for f in FUSION_MODES], net)
    per_layer = cost.layer("dram_bytes")
    assert_not_above(per_layer[1], per_layer[0], "ops vs none")
    assert_not_above(per_layer[2], per_layer[1], "on_chip vs ops")


@FAST
@given(net=networks(), hw=designs())
def test_energy_is_counts_times_prices(net, hw):
    """Every dynamic component is the sum of its counts times their prices (conservation)."""
    cost = evaluate(hw, net)
    p, c = cost.prices, cost.counts
    assert all((value >= 0).all() for _, value in c.items())
    by_level = {"register": "registers", "dram": "dram"}
    sram = {"input": "ifmap_sram", "weight": "weight_sram", "kv": "weight_sram"}
    sram["output"] = "ofmap_sram"
    expected = {k: 0.0 for k in ("registers", "ifmap_sram", "weight_sram", "ofmap_sram", "dram")}
    for (level, operand, direction), value in c.items():
        name = by_level.get(level) or sram[operand]
        expected[name] = expected[name] + value * p.pj_per_byte[(level, operand, direction)]
    by = p.mac_pj_by_operand  # the MAC's price by the kind of the GEMM's second operand
    t = cost.table
    kv = np.concatenate([t.b_kv, np.zeros(t.n_shapes - t.n_gemm)]) > 0
    act = np.concatenate([t.b_act, np.zeros(t.n_shapes - t.n_gemm)]) > 0
    mac_pj = np.where(kv, by["kv"], np.where(act, by["activation"], by["weight"]))
    expected["mac"] = c.macs * mac_pj
    expected["vector"] = c.vector_ops * p.vector_pj_per_op
    for name, value in expected.items():
        np.testing.assert_allclose(cost.shape_metrics[name], value, rtol=1e-12, atol=0)
    # every byte read from DRAM is written into its SRAM
    for operand in ("input", "weight"):
        np.testing.assert_array_equal(c[("dram", operand, "read")], c[("sram", operand, "write")])


@FAST
@given(hw=designs(), factor=st.floats(1.5, 64))
def test_bandwidth_costs_area(hw, factor):
    """More DRAM bandwidth needs at least as many channels: interface area never shrinks."""
    op = Linear(name="one", in_features=1, out_features=1, bias=False)
    faster = hw.replace(dram_bandwidth_gbps=hw.dram_bandwidth_gbps * factor)
    cost = evaluate([hw, faster], Network(name="one", ops=(op,)))
    area = cost.area_breakdown_mm2["dram_interface"]
    assert area[1] >= area[0] > 0
