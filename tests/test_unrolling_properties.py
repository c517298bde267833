"""Properties of the spatial unrollings over random designs and layers (hypothesis): the array
never does more than one MAC per PE and cycle, every unrolling does the same MACs, more PE
registers never raise SRAM nor DRAM traffic, DRAM traffic never falls below each tensor moved
once, and a bigger array never raises the cycles of a broadcast or row-stationary unrolling
when its edges are powers of two."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from test_model_properties import (
    FAST,
    REL,
    assert_not_above,
    designs,
    gemm_layers,
    is_gemm,
    networks,
    rename,
)

from evodse.hardware import DATAFLOWS
from evodse.hardware.template import PE_REGS
from evodse.model import evaluate
from evodse.model.mappings import AUTO_CHOICES
from evodse.workload import Network

OTHERS = tuple(name for name in DATAFLOWS if name not in AUTO_CHOICES)


@FAST
@given(net=networks(), hw=designs(dataflows=DATAFLOWS))
def test_no_unrolling_beats_one_mac_per_pe_and_cycle(net, hw):
    flows = [hw.replace(dataflow=name) for name in DATAFLOWS]
    cost = evaluate(flows, net)
    pes = hw.pe_rows * hw.pe_cols
    macs = cost.table.macs[: cost.table.n_gemm]
    compute = cost.shape_metrics["compute_cycles"][:, : cost.table.n_gemm]
    assert_not_above(np.broadcast_to(macs, compute.shape), compute * pes, "MACs per PE-cycle")
    assert (cost.layer("utilization") <= 1 + REL).all()


@FAST
@given(net=networks(), hw=designs(dataflows=DATAFLOWS))
def test_every_unrolling_does_the_same_macs(net, hw):
    flows = [hw.replace(dataflow=name) for name in DATAFLOWS]
    cost = evaluate(flows, net)
    per_entry = cost.counts.macs
    np.testing.assert_array_equal(per_entry, np.broadcast_to(per_entry[0], per_entry.shape))
    assert cost.macs == net.macs
    np.testing.assert_allclose(cost._total(per_entry), net.macs, rtol=REL)


@FAST
@given(
    net=networks(),
    hw=designs(dataflows=OTHERS),
    key=st.sampled_from(PE_REGS),
    more=st.integers(2, 64),
)
def test_more_pe_registers_never_raise_sram_or_dram_traffic(net, hw, key, more):
    """Registers count as storage in the DRAM tiling, which minimizes a layer's DRAM bytes: those
    never rise. The tiling may then trade one operand's DRAM traffic for another's (a 1 x 1 nvdla
    array with twice the input registers halves a Linear layer's input DRAM bytes and re-reads
    its weights), so each operand's SRAM and DRAM bytes never rise where the tiling moves the
    same DRAM bytes of every operand."""
    bigger = hw.replace(**{key: getattr(hw, key) * more})
    cost = evaluate([hw, bigger], net)
    dram = cost.layer("dram_bytes")
    assert_not_above(dram[1], dram[0], f"layer DRAM bytes, {key} x{more}")
    operands = ("input", "weight", "kv", "output")
    same_tiling = np.all(
        [np.equal(*cost.counts.level("dram", operand)[:2]).reshape(-1) for operand in operands],
        axis=0,
    )
    for operand in operands:
        for level in ("sram", "dram"):
            moved = cost.counts.level(level, operand)
            assert_not_above(
                moved[1].reshape(-1)[same_tiling],
                moved[0].reshape(-1)[same_tiling],
                f"{level} {operand} bytes, {key} x{more}",
            )
    np.testing.assert_array_equal(cost.layer("compute_cycles")[0], cost.layer("compute_cycles")[1])


POW2 = st.integers(0, 6).map(lambda e: 2**e)


@FAST
@given(
    ops=st.lists(gemm_layers, min_size=1, max_size=3),
    hw=designs(dataflows=OTHERS),
    rows=POW2,
    cols=POW2,
    edge=st.sampled_from(["pe_rows", "pe_cols"]),
)
def test_a_bigger_array_never_raises_compute_cycles(ops, hw, rows, cols, edge):
    net = Network(name="random", ops=rename(ops))
    small = hw.replace(pe_rows=rows, pe_cols=cols)
    bigger = small.replace(**{edge: getattr(small, edge) * 2})
    cost = evaluate([small, bigger], net)
    compute = cost.layer("compute_cycles")
    assert all(is_gemm(op) for op in net.ops)
    assert_not_above(compute[1], compute[0], f"compute cycles, {edge} x2")


@FAST
@given(
    ops=st.lists(gemm_layers, min_size=1, max_size=3),
    hw=designs(dataflows=DATAFLOWS),
    regs=st.tuples(*(st.sampled_from([1, 4, 12, 24, 224]) for _ in PE_REGS)),
    batch=st.integers(1, 4),
)
def test_dram_traffic_never_falls_below_each_tensor_once(ops, hw, regs, batch):
    """Without fusion and KV cache, every GEMM reads its inputs and weights and writes its
    outputs at least once (the compulsory floor), whatever the unrolling and registers."""
    ops = [dataclasses.replace(op, kv_cache=False) if hasattr(op, "kv_cache") else op for op in ops]
    net = Network(name="random", ops=rename(ops), batch=batch)
    hw = hw.replace(
        fusion="none",
        activation_bits=None,
        weight_bits=None,
        kv_bits=None,
        **dict(zip(PE_REGS, regs, strict=True)),
    )
    cost = evaluate(hw, net)
    t, g = cost.table, cost.table.n_gemm
    width = hw.precision_bits / 8
    floor = {
        "input": t.a_elems * t.count * width,
        "weight": t.b_elems * t.count * width,
        "output": t.m * t.n * t.count * width,
    }
    for operand, direction in (("input", "read"), ("weight", "read"), ("output", "write")):
        moved = cost.counts[("dram", operand, direction)][:, :g]
        floor_bytes = np.broadcast_to(floor[operand], moved.shape)
        assert_not_above(floor_bytes, moved, f"{hw.dataflow}: DRAM {operand} below the tensor")
