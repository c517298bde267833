"""The buffer keys ``accumulator_bits``, ``act_sram`` and ``sram_buffering``: capacities by
hand, the shared buffer as the best of fixed splits, and the properties docs/cost_model.md
states (hypothesis): a shared buffer never moves more DRAM bytes than the same sizes split
fixed; 16-bit partial sums never more than 32-bit; single buffering never takes fewer cycles
than double at equal usable tile capacity (single S against double 2S)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_model_properties import FAST, assert_not_above, designs, networks

from evodse.hardware import DATAFLOWS, accelerator_from_dict, load_hardware
from evodse.hardware.template import ACT_SRAM_MODES, SRAM_BUFFERING
from evodse.model import Designs, evaluate
from evodse.model.evaluate import SHARED_SPLITS, _capacities
from evodse.model.layers import layer_table
from evodse.search.space import space_from_spec
from evodse.workload import Conv2d, Network

SMALL = {
    "name": "small",
    "pe_rows": 4,
    "pe_cols": 4,
    "dataflow": "ws",
    "ifmap_sram_kib": 2,
    "weight_sram_kib": 1,
    "ofmap_sram_kib": 1,
    "dram_bandwidth_gbps": 1,
    "frequency_mhz": 500,
    "precision_bits": 8,
    "vector_lanes": 4,
    "technology_nm": 45,
}
CONV = Network(
    name="conv",
    ops=(
        Conv2d(
            name="c",
            in_channels=16,
            out_channels=32,
            in_h=16,
            in_w=16,
            kernel_h=3,
            kernel_w=3,
        ),
    ),
)


def _caps(**keys):
    hw = accelerator_from_dict({**SMALL, **keys})
    return _capacities(Designs.from_accelerators(hw), layer_table(CONV))


def test_capacities_by_hand():
    # double-buffered (the default): half of each SRAM, 8-bit elements, 32-bit partial sums
    c = _caps()
    assert (c.ifmap_elems.item(), c.weight_elems.item(), c.ofmap_elems.item()) == (1024, 512, 512)
    assert c.ofmap_psum_elems.item() == 1024 / 2 / 4 and c.acc_bytes == 4
    assert c.resident == 2 and c.single is None and c.act_pool_bytes is None
    # 16-bit partial sums: twice the partial-sum elements, outputs unchanged
    c = _caps(accumulator_bits=16)
    assert c.ofmap_psum_elems.item() == 256 and c.ofmap_elems.item() == 512 and c.acc_bytes == 2
    # single-buffered: every SRAM whole, resident capacity the same
    c = _caps(sram_buffering="single")
    assert (c.ifmap_elems.item(), c.weight_elems.item(), c.ofmap_elems.item()) == (2048, 1024, 1024)
    assert c.ofmap_psum_elems.item() == 256 and c.resident.item() == 1 and c.single.all()
    # shared: (2 + 1) KiB, of which the usable half is the pool
    assert _caps(act_sram="shared").act_pool_bytes.item() == 3 * 1024 / 2
    assert _caps(act_sram="shared", sram_buffering="single").act_pool_bytes.item() == 3 * 1024


def test_accumulator_bits_below_the_activation_width_is_refused(raises_naming):
    with raises_naming("hardware", "accumulator_bits", "at least activation_bits (16)"):
        load_hardware({**SMALL, "precision_bits": 16, "accumulator_bits": 8})
    with raises_naming("hardware", "accumulator_bits", "expected one of"):
        load_hardware({**SMALL, "accumulator_bits": 12})
    assert load_hardware({**SMALL, "activation_bits": 4, "accumulator_bits": 8}).accumulator_bits


def test_defaults_change_nothing():
    hw = load_hardware(SMALL)
    explicit = hw.replace(accumulator_bits=32, act_sram="separate", sram_buffering="double")
    cost = evaluate([hw, explicit], CONV)
    for key in ("cycles", "dram_bytes", "energy_pj"):
        np.testing.assert_array_equal(cost.layer(key)[0], cost.layer(key)[1])


@pytest.mark.parametrize("dataflow", ["ws", "os", "rs", "nvdla"])
def test_shared_buffer_is_the_best_fixed_split(dataflow):
    """Per layer, the shared buffer moves exactly the fewest DRAM bytes of the separate designs
    at its candidate splits (the declared one and every sixteenth)."""
    hw = load_hardware({**SMALL, "dataflow": dataflow, "ifmap_sram_kib": 3, "ofmap_sram_kib": 2})
    total = hw.ifmap_sram_kib + hw.ofmap_sram_kib
    fixed = [hw] + [
        hw.replace(ifmap_sram_kib=total * s, ofmap_sram_kib=total * (1 - s)) for s in SHARED_SPLITS
    ]
    net = Network(name="two", ops=(*CONV.ops,), batch=2)
    splits = evaluate(fixed, net).layer("dram_bytes")
    shared = evaluate(hw.replace(act_sram="shared"), net).layer("dram_bytes")
    np.testing.assert_allclose(shared[0], splits.min(axis=0), rtol=1e-12)


def _buffer_keys(draw, hw):
    """``hw`` with random buffer keys (partial sums at least as wide as the activations)."""
    widths = [b for b in (8, 16, 32) if b >= hw.resolved("activation_bits")]
    return hw.replace(
        accumulator_bits=draw(st.sampled_from(widths)),
        act_sram=draw(st.sampled_from(ACT_SRAM_MODES)),
        sram_buffering=draw(st.sampled_from(SRAM_BUFFERING)),
    )


@FAST
@given(net=networks(), hw=designs(dataflows=DATAFLOWS), data=st.data())
def test_shared_buffer_never_moves_more_dram_bytes(net, hw, data):
    hw = _buffer_keys(data.draw, hw)
    cost = evaluate([hw.replace(act_sram="separate"), hw.replace(act_sram="shared")], net)
    assert_not_above(cost.layer("dram_bytes")[1], cost.layer("dram_bytes")[0], "shared")


@FAST
@given(net=networks(), hw=designs(dataflows=DATAFLOWS), data=st.data())
def test_16_bit_partial_sums_never_raise_dram_bytes(net, hw, data):
    hw = _buffer_keys(data.draw, hw.replace(activation_bits=data.draw(st.sampled_from([8, 16]))))
    cost = evaluate([hw.replace(accumulator_bits=32), hw.replace(accumulator_bits=16)], net)
    assert_not_above(cost.layer("dram_bytes")[1], cost.layer("dram_bytes")[0], "16-bit psums")


@FAST
@given(net=networks(), hw=designs(), data=st.data())
def test_single_buffering_never_beats_double_at_equal_tile_capacity(net, hw, data):
    """A single-buffered design of SRAMs S against a double-buffered one of 2S: the same
    usable tiles (S), the double one's resident capacity (2S) no smaller, so no more DRAM
    traffic; its cycles ``max(exposed + compute, memory)`` never exceed ``compute +
    memory``, as the prologue and epilogue are part of the traffic."""
    hw = _buffer_keys(data.draw, hw).replace(sram_buffering="single")
    double = hw.replace(
        sram_buffering="double",
        **{k: 2 * getattr(hw, k) for k in ("ifmap_sram_kib", "weight_sram_kib", "ofmap_sram_kib")},
    )
    cost = evaluate([hw, double], net)
    assert_not_above(cost.layer("dram_bytes")[1], cost.layer("dram_bytes")[0], "double 2S")
    assert_not_above(cost.layer("cycles")[1], cost.layer("cycles")[0], "double 2S cycles")
    same = cost.layer("dataflow")[0] == cost.layer("dataflow")[1]  # auto may choose apart
    compute = cost.layer("compute_cycles")
    np.testing.assert_array_equal(compute[0][same], compute[1][same])


@FAST
@given(net=networks(), hws=st.lists(designs(), min_size=2, max_size=4), data=st.data())
def test_mixed_buffer_keys_evaluate_as_one_by_one(net, hws, data):
    """Shared, single-buffered and 16-bit designs in one population cost what each does alone
    (the shared splits are tried on the shared designs' rows only)."""
    hws = [_buffer_keys(data.draw, hw) for hw in hws]
    together = evaluate(hws, net)
    for i, hw in enumerate(hws):
        alone = evaluate(hw, net)
        for key in ("cycles", "dram_bytes", "energy_pj"):
            np.testing.assert_allclose(together.layer(key)[i], alone.layer(key)[0], rtol=1e-12)


def test_a_space_mixing_narrow_partial_sums_and_wide_activations_is_refused(raises_naming):
    base = load_hardware(SMALL)
    with raises_naming("exp.yaml", "space.accumulator_bits", "below the largest activation_bits"):
        space_from_spec(
            base, {"activation_bits": [8, 16], "accumulator_bits": [8, 16]}, source="exp.yaml"
        )
    space = space_from_spec(base, {"precision_bits": [8, 16], "accumulator_bits": [16, 32]})
    assert space.accelerator([1, 0]).accumulator_bits == 16
