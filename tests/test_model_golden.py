"""Hand-worked values of the cost model, each with its formula written out.

Compute cycles follow ``evodse/model/compute.py``: an ``R x C`` array, a GEMM ``[M, K] @ [K, N]``
mapped per dataflow to (rows ``Sr``, columns ``Sc``, streamed ``T``) = ws ``(K, N, M)``,
os ``(M, N, K)``, is ``(K, M, N)``; ``ceil(Sr / R) * ceil(Sc / C)`` folds of
``T + R + C - 2`` cycles (os) or ``2R + C + T - 2`` cycles (ws, is: + R to preload), times the
GEMM count. DRAM traffic follows ``memory.py``, energy and area ``evaluate.py`` with the constants
of ``hardware/technology.yaml`` copied here by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from evodse.hardware import accelerator_from_dict, load_hardware
from evodse.model import DATAFLOW_CODE, evaluate
from evodse.model.compute import array_work
from evodse.workload import Conv2d, Elementwise, Linear, MatMul, Network

EXACT = 1e-12  # relative tolerance for integer-valued cycle counts and byte counts
HAND = 1e-9  # relative tolerance for hand-evaluated float formulas


def design(**changes):
    base = {
        "name": "golden",
        "pe_rows": 4,
        "pe_cols": 4,
        "dataflow": "ws",
        "ifmap_sram_kib": 64,
        "weight_sram_kib": 64,
        "ofmap_sram_kib": 64,
        "dram_bandwidth_gbps": 8,
        "frequency_mhz": 500,
        "precision_bits": 8,
        "vector_lanes": 4,
        "technology_nm": 45,
    }
    return accelerator_from_dict({**base, **changes})


def net(*ops, batch=1):
    return Network(name="golden", ops=tuple(ops), batch=batch)


def compute_cycles(op, dataflow, batch=1, **hw):
    cost = evaluate(design(dataflow=dataflow, **hw), net(op, batch=batch))
    return cost.layer("compute_cycles")[0, 0]


# ------------------------------------------------------------------------------------------------
# Compute cycles

# Linear: M = tokens = 10, K = in = 6, N = out = 5 on a 4 x 4 array.
FC = Linear(name="fc", in_features=6, out_features=5, tokens=10)
FC_CYCLES = {
    # ws: Sr = K = 6, Sc = N = 5, T = M = 10: ceil(6/4) * ceil(5/4) = 4 folds x (2*4 + 4 + 10 - 2)
    "ws": 2 * 2 * (2 * 4 + 4 + 10 - 2),  # = 80
    # os: Sr = M = 10, Sc = N = 5, T = K = 6: ceil(10/4) * ceil(5/4) = 6 folds x (6 + 4 + 4 - 2)
    "os": 3 * 2 * (6 + 4 + 4 - 2),  # = 72
    # is: Sr = K = 6, Sc = M = 10, T = N = 5: ceil(6/4) * ceil(10/4) = 6 folds x (2*4 + 4 + 5 - 2)
    "is": 2 * 3 * (2 * 4 + 4 + 5 - 2),  # = 90
}


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_compute_cycles_of_a_linear(dataflow):
    assert FC_CYCLES == {"ws": 80, "os": 72, "is": 90}
    assert compute_cycles(FC, dataflow) == pytest.approx(FC_CYCLES[dataflow], rel=EXACT)
    work = array_work(DATAFLOW_CODE[dataflow], rows=4, cols=4, m=10, n=5, k=6, count=1)
    assert work.compute_cycles == pytest.approx(FC_CYCLES[dataflow], rel=EXACT)


# Non-square 2 x 8 array (R = 2 rows, C = 8 columns): M = 3, K = 5, N = 9.
WIDE = Linear(name="wide", in_features=5, out_features=9, tokens=3)
WIDE_CYCLES = {
    # ws: Sr = K = 5 -> 3 row folds, Sc = N = 9 -> 2 column folds, T = M = 3
    "ws": 3 * 2 * (2 * 2 + 8 + 3 - 2),  # = 78
    # os: Sr = M = 3 -> 2, Sc = N = 9 -> 2, T = K = 5
    "os": 2 * 2 * (5 + 2 + 8 - 2),  # = 52
    # is: Sr = K = 5 -> 3, Sc = M = 3 -> 1, T = N = 9
    "is": 3 * 1 * (2 * 2 + 8 + 9 - 2),  # = 57
}


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_compute_cycles_on_a_non_square_array(dataflow):
    cycles = compute_cycles(WIDE, dataflow, pe_rows=2, pe_cols=8)
    assert cycles == pytest.approx(WIDE_CYCLES[dataflow], rel=EXACT)


# MatMul with count = 3 heads of [4, 4] @ [4, 4]: one fold per head, times the count.
HEADS = MatMul(name="qk", m=4, n=4, k=4, count=3)
HEADS_CYCLES = {
    "ws": 3 * 1 * (2 * 4 + 4 + 4 - 2),  # = 42
    "os": 3 * 1 * (4 + 4 + 4 - 2),  # = 30
    "is": 3 * 1 * (2 * 4 + 4 + 4 - 2),  # = 42
}


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_compute_cycles_of_a_matmul_with_count(dataflow):
    assert compute_cycles(HEADS, dataflow) == pytest.approx(HEADS_CYCLES[dataflow], rel=EXACT)
    # attention's B operand is an activation: batch 2 doubles the count, not M
    doubled = compute_cycles(HEADS, dataflow, batch=2)
    assert doubled == pytest.approx(2 * HEADS_CYCLES[dataflow], rel=EXACT)


# Depthwise 3x3 conv, 8 channels, 6x6 input, padding 1: 8 groups, each a GEMM with
# M = 6*6 = 36 output pixels, N = 1 filter (one array column), K = 1*3*3 = 9.
DW = Conv2d(
    name="dw",
    in_channels=8,
    out_channels=8,
    in_h=6,
    in_w=6,
    kernel_h=3,
    kernel_w=3,
    pad_top=1,
    pad_bottom=1,
    pad_left=1,
    pad_right=1,
    groups=8,
)
DW_CYCLES = {
    # ws: Sr = K = 9 -> 3, Sc = N = 1 -> 1 (one column), T = M = 36
    "ws": 8 * 3 * 1 * (2 * 4 + 4 + 36 - 2),  # = 1104
    # os: Sr = M = 36 -> 9, Sc = N = 1 -> 1, T = K = 9
    "os": 8 * 9 * 1 * (9 + 4 + 4 - 2),  # = 1080
    # is: Sr = K = 9 -> 3, Sc = M = 36 -> 9, T = N = 1
    "is": 8 * 3 * 9 * (2 * 4 + 4 + 1 - 2),  # = 2376
}


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_depthwise_conv_uses_one_column_per_group(dataflow):
    gemm = DW.gemm()
    assert (gemm.m, gemm.n, gemm.k, gemm.count) == (36, 1, 9, 8)
    assert compute_cycles(DW, dataflow) == pytest.approx(DW_CYCLES[dataflow], rel=EXACT)
    # a wider array does not help ws: the single filter column is the limit
    if dataflow == "ws":
        wide = compute_cycles(DW, dataflow, pe_rows=4, pe_cols=64)
        assert wide == pytest.approx(8 * 3 * 1 * (2 * 4 + 64 + 36 - 2), rel=EXACT)


def test_batch_folds_into_m_for_a_conv():
    # batch 2 of the depthwise conv under ws: T = M = 2 * 36 = 72 streamed rows
    assert compute_cycles(DW, "ws", batch=2) == pytest.approx(
        8 * 3 * 1 * (2 * 4 + 4 + 72 - 2), rel=EXACT
    )


# ------------------------------------------------------------------------------------------------
# DRAM traffic


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("bits", [8, 16])
def test_dram_traffic_when_everything_fits_is_inputs_weights_outputs(dataflow, bits):
    # Linear 16 -> 8 over 4 tokens: inputs 4*16 = 64, weights 16*8 = 128, outputs 4*8 = 32
    # elements; every buffer (64 KiB, half usable) holds them, so each moves once.
    op = Linear(name="fc", in_features=16, out_features=8, tokens=4)
    cost = evaluate(design(dataflow=dataflow, precision_bits=bits), net(op))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx((64 + 128 + 32) * bits / 8, rel=EXACT)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_dram_traffic_of_an_unpadded_conv_that_fits(dataflow):
    # Conv 3 -> 4 channels, 3x3, 8x8 input, no padding -> 6x6 output.
    # inputs 3*8*8 = 192, weights 4*3*3*3 = 108, outputs 4*6*6 = 144 -> 444 bytes at int8
    op = Conv2d(name="c", in_channels=3, out_channels=4, in_h=8, in_w=8, kernel_h=3, kernel_w=3)
    assert (op.input_elems, op.weight_elems, op.output_elems) == (192, 108, 144)
    cost = evaluate(design(dataflow=dataflow), net(op))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(444, rel=EXACT)


def test_dram_traffic_of_a_padded_conv_that_fits_excludes_padding():
    # Same conv with padding 1 -> 8x8 output: inputs 192, weights 108, outputs 4*8*8 = 256.
    op = Conv2d(
        name="c",
        in_channels=3,
        out_channels=4,
        in_h=8,
        in_w=8,
        kernel_h=3,
        kernel_w=3,
        pad_top=1,
        pad_bottom=1,
        pad_left=1,
        pad_right=1,
    )
    cost = evaluate(design(), net(op))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(192 + 108 + 256, rel=EXACT)


# Linear 512 -> 6 over 8 tokens, int8, ws on 4x4: A = 8*512 = 4096 elements, B = 512*6 = 3072,
# outputs 8*6 = 48. Usable (half) capacities in elements: ifmap/weight kib*1024/2 (1 byte each),
# ofmap holds ws partial sums at the 32-bit accumulator width: kib*1024/2/4.
BIG_FC = Linear(name="fc", in_features=512, out_features=6, tokens=8, bias=False)


def test_dram_traffic_when_nothing_fits_inputs_resident():
    # ifmap 4 KiB -> 2048 elems (4 rows of 512), weight 4 KiB -> 2048, ofmap 0.25 KiB -> 32 psums.
    # weights resident: Tn = min(N=6, floor(2048/512)=4, 32) = 4 -> A read ceil(6/4) = 2 times:
    #     2*4096 + 3072 = 11264
    # inputs resident:  4 input rows -> Tm = 4 tokens, bands of 4 rows (no halo): A once 4096,
    #     B ceil(8/4) = 2 times 6144 -> 10240
    # outputs resident: Tn = round(sqrt(32 * 4096 * 6 / (3072 * 8))) = round(5.66) = 6,
    #     Tm = floor(32/6) = 5: A ceil(6/6) = 1 time 4096, B ceil(8/5) = 2 times -> 10240
    # best 10240, + 48 outputs = 10288 bytes
    cost = evaluate(design(ifmap_sram_kib=4, weight_sram_kib=4, ofmap_sram_kib=0.25), net(BIG_FC))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(10288, rel=EXACT)


def test_dram_traffic_when_nothing_fits_weights_resident():
    # ifmap 0.5 KiB -> 256 elems: less than one 512-element input row, inputs resident infeasible.
    # ofmap 0.1875 KiB -> 24 psums.
    # weights resident: Tn = min(6, 4, 24) = 4 -> 2*4096 + 3072 = 11264
    # outputs resident: Tn = round(sqrt(24 * 4096 * 6 / (3072 * 8))) = round(4.90) = 5,
    #     Tm = floor(24/5) = 4: A ceil(6/5) = 2 times (bands of 4 rows, no halo) 8192,
    #     B ceil(8/4) = 2 times 6144 -> 14336
    # best 11264, + 48 outputs = 11312 bytes
    hw = design(ifmap_sram_kib=0.5, weight_sram_kib=4, ofmap_sram_kib=0.1875)
    cost = evaluate(hw, net(BIG_FC))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(11312, rel=EXACT)


def test_dram_traffic_linear_partial_last_band():
    # As test_dram_traffic_when_nothing_fits_inputs_resident with a 5 KiB ifmap SRAM (5 rows):
    # inputs resident: Tm = 5 tokens, bands of 5 + 3 rows: A once 4096, B ceil(8/5) = 2 times
    #     6144 -> 10240 (weights resident 11264, outputs resident 10240 as before)
    # best 10240, + 48 outputs = 10288 bytes: a bigger SRAM must not cost more.
    cost = evaluate(design(ifmap_sram_kib=5, weight_sram_kib=4, ofmap_sram_kib=0.25), net(BIG_FC))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(10288, rel=EXACT)


def test_memory_cycles_and_layer_cycles():
    # 12.8 GB/s at 800 MHz = 12.8e9 / 800e6 = 16 bytes per cycle.
    # Elementwise add of 100 elements, 2 inputs, int8: DRAM 200 + 100 = 300 bytes -> 18.75 cycles;
    # compute ceil(100 ops / 32 lanes) = 4 cycles; exposed prologue/epilogue
    # (min(200, 32) + min(100, 32)) bytes / 16 = 4 cycles; cycles = max(4, 18.75) + 4 = 22.75.
    op = Elementwise(name="add", elements=100, inputs=2)
    cost = evaluate(load_hardware("edge"), net(op))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(300, rel=EXACT)
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(4, rel=EXACT)
    assert cost.layer("memory_cycles")[0, 0] == pytest.approx(18.75, rel=EXACT)
    assert cost.layer("cycles")[0, 0] == pytest.approx(22.75, rel=EXACT)
    assert cost.layer("latency_s")[0, 0] == pytest.approx(22.75 / 800e6, rel=EXACT)
    # vector energy: 100 ops x 3.2 pJ (45 nm) x 0.6222 (28 nm energy scale)
    assert cost.energy_breakdown_pj["vector"][0] == pytest.approx(100 * 3.2 * 0.6222, rel=HAND)


# ------------------------------------------------------------------------------------------------
# Area and energy from technology.yaml constants


def test_area_of_the_edge_design_by_component():
    # edge: 32x32 PEs, int8, 128/128/64 KiB SRAM, 32 vector lanes, 28 nm (area scale 0.3872).
    scale, um2 = 0.3872, 1e-6
    pe_um2 = 282.0 + 137.0 + (2 * 8 + 32) * 7.57  # int8 multiplier + 32-bit adder + registers
    expected = {
        "array": 32 * 32 * pe_um2 * scale * um2,  # 1024 x 782.36 um^2 x 0.3872 = 0.3102 mm^2
        "ifmap_sram": 128 * 4049.0 * scale * um2,
        "weight_sram": 128 * 4049.0 * scale * um2,
        "ofmap_sram": 64 * 4049.0 * scale * um2,
        "vector": 32 * 3632.0 * scale * um2,
    }
    expected["overhead"] = 0.10 * sum(expected.values())
    assert expected["array"] == pytest.approx(0.310200107, rel=1e-8)
    cost = evaluate(load_hardware("edge"), net(FC))
    for key, value in expected.items():
        assert cost.area_breakdown_mm2[key][0] == pytest.approx(value, rel=HAND), key
    assert cost.area_mm2[0] == pytest.approx(sum(expected.values()), rel=HAND)
    assert cost.area_mm2[0] == pytest.approx(0.94257827, rel=1e-7)


def test_energy_of_a_one_mac_layer():
    # A 1x1 linear (1 MAC, no bias) on edge (28 nm, energy scale 0.6222, int8, 32x32 ws).
    op = Linear(name="one", in_features=1, out_features=1, bias=False)
    assert op.macs == 1
    hw = load_hardware("edge")
    cost = evaluate(hw, net(op))
    e = cost.energy_breakdown_pj
    e_scale = 0.6222
    # mac: (int8 multiplier 0.2 pJ + 32-bit add 0.1 pJ) x 0.6222 = 0.18666 pJ
    assert e["mac"][0] == pytest.approx((0.2 + 0.1) * e_scale, rel=HAND)
    # registers: 2 operands x 8 bits + 32-bit accumulator = 48 bits x 0.0101 pJ x 0.6222
    assert e["registers"][0] == pytest.approx(48 * 0.0101 * e_scale, rel=HAND)
    # dram: 1 input + 1 weight + 1 output byte x 243.75 pJ/byte (not node-scaled)
    assert cost.dram_bytes[0] == pytest.approx(3, rel=EXACT)
    assert e["dram"][0] == pytest.approx(3 * 243.75, rel=HAND)
    # SRAM pJ/byte = 1.25 x sqrt(KiB / 8) x 0.6222; ifmap and weight (128 KiB): one byte into the
    # buffer from DRAM and one read into the array; ofmap (64 KiB): one 4-byte partial sum
    # written, then the 1-byte output read out to DRAM.
    sram = lambda kib: 1.25 * math.sqrt(kib / 8) * e_scale  # noqa: E731
    assert e["ifmap_sram"][0] == pytest.approx(2 * sram(128), rel=HAND)
    assert e["weight_sram"][0] == pytest.approx(2 * sram(128), rel=HAND)
    assert e["ofmap_sram"][0] == pytest.approx((4 + 1) * sram(64), rel=HAND)
    assert e["vector"][0] == 0
    # ws compute: 1 fold of 2*32 + 32 + 1 - 2 = 95 cycles; DRAM 3 bytes at 16 B/cycle = 0.1875;
    # exposed 3 x 1 byte / 16 = 0.1875 -> 95.1875 cycles at 800 MHz.
    assert cost.cycles[0] == pytest.approx(95.1875, rel=EXACT)
    latency = 95.1875 / 800e6
    # leakage: 12.3 mW/mm^2 x area x latency, 1 mW*s = 1e9 pJ
    assert e["leakage"][0] == pytest.approx(12.3 * cost.area_mm2[0] * latency * 1e9, rel=HAND)
    assert cost.energy_pj[0] == pytest.approx(sum(v[0] for v in e.values()), rel=HAND)


def test_node_scaling_of_mac_energy_and_area():
    # The same 1-MAC layer at 45 nm (scale 1) and 7 nm (energy 0.0941, area 0.0242), int16.
    op = Linear(name="one", in_features=1, out_features=1, bias=False)
    hws = [design(technology_nm=45, precision_bits=16), design(technology_nm=7, precision_bits=16)]
    cost = evaluate(hws, net(op))
    np.testing.assert_allclose(
        cost.energy_breakdown_pj["mac"], [(0.787 + 0.1) * 1.0, (0.787 + 0.1) * 0.0941], rtol=HAND
    )
    pe_um2 = 992.8 + 137.0 + (2 * 16 + 32) * 7.57
    np.testing.assert_allclose(
        cost.area_breakdown_mm2["array"],
        [16 * pe_um2 * 1e-6, 16 * pe_um2 * 0.0242 * 1e-6],
        rtol=HAND,
    )
