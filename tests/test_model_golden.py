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
from evodse.hardware.technology import technology
from evodse.model import evaluate
from evodse.model.compute import array_work
from evodse.model.mappings import MAPPINGS
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
    work = array_work(MAPPINGS[dataflow], rows=4, cols=4, regs=1, m=10, n=5, k=6, count=1)
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


# Linear 512 -> 6 over 16 tokens, int8, ws on 4x4: A = 16*512 = 8192 elements, B = 512*6 = 3072,
# outputs 16*6 = 96. Tiles use the usable half of each SRAM, in elements: ifmap/weight
# kib*1024/2 (1 byte each), ofmap ws partial sums at the 32-bit accumulator width kib*1024/2/4;
# an operand that fits whole in its SRAM (twice the half) stays resident. Here none does:
# A 8192 > 4 KiB, B 3072 > 2 KiB, outputs 96 > 0.25 KiB / 4 bytes = 64.
BIG_FC = Linear(name="fc", in_features=512, out_features=6, tokens=16, bias=False)


def test_dram_traffic_when_nothing_fits_inputs_resident():
    # ifmap 4 KiB -> 2048 elems (4 rows of 512), weight 2 KiB -> 1024, ofmap 0.25 KiB -> 32 psums.
    # weights resident: Tn = min(N=6, floor(1024/512)=2, 32) = 2 -> A read ceil(6/2) = 3 times:
    #     3*8192 + 3072 = 27648
    # inputs resident:  4 input rows -> Tm = 4 tokens, bands of 4 rows (no halo): A once 8192,
    #     B ceil(16/4) = 4 times 12288 -> 20480
    # outputs resident: Tn = round(sqrt(32 * 8192 * 6 / (3072 * 16))) = round(5.66) = 6,
    #     Tm = floor(32/6) = 5: A ceil(6/6) = 1 time 8192, B ceil(16/5) = 4 times -> 20480
    # best 20480, + 96 outputs = 20576 bytes
    cost = evaluate(design(ifmap_sram_kib=4, weight_sram_kib=2, ofmap_sram_kib=0.25), net(BIG_FC))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(20576, rel=EXACT)


def test_dram_traffic_when_nothing_fits_weights_resident():
    # ifmap 0.5 KiB -> 256 elems: less than one 512-element input row, inputs resident infeasible.
    # ofmap 0.1875 KiB -> 24 psums.
    # weights resident: Tn = min(6, 2, 24) = 2 -> 3*8192 + 3072 = 27648
    # outputs resident: Tn = round(sqrt(24 * 8192 * 6 / (3072 * 16))) = round(4.90) = 5,
    #     Tm = floor(24/5) = 4: A ceil(6/5) = 2 times (bands of 4 rows, no halo) 16384,
    #     B ceil(16/4) = 4 times 12288 -> 28672
    # best 27648, + 96 outputs = 27744 bytes
    hw = design(ifmap_sram_kib=0.5, weight_sram_kib=2, ofmap_sram_kib=0.1875)
    cost = evaluate(hw, net(BIG_FC))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(27744, rel=EXACT)


def test_dram_traffic_linear_partial_last_band():
    # As test_dram_traffic_when_nothing_fits_inputs_resident with a 5 KiB ifmap SRAM (5 rows):
    # inputs resident: Tm = 5 tokens, bands of 5 + 5 + 5 + 1 rows: A once 8192, B ceil(16/5) = 4
    #     times 12288 -> 20480 (weights resident 27648, outputs resident 20480 as before)
    # best 20480, + 96 outputs = 20576 bytes: a bigger SRAM must not cost more.
    cost = evaluate(design(ifmap_sram_kib=5, weight_sram_kib=2, ofmap_sram_kib=0.25), net(BIG_FC))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(20576, rel=EXACT)


def test_an_operand_that_fits_whole_stays_resident():
    # ifmap 8 KiB holds A (8192 elements) whole: it is read once and B streams once:
    # 8192 + 3072 + 96 = 11360 bytes; the prologue loads the input whole (8192 bytes).
    cost = evaluate(design(ifmap_sram_kib=8, weight_sram_kib=2, ofmap_sram_kib=0.25), net(BIG_FC))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(11360, rel=EXACT)


def test_memory_cycles_and_layer_cycles():
    # 12.8 GB/s at 800 MHz = 12.8e9 / 800e6 = 16 bytes per cycle.
    # Elementwise add of 100 elements, 2 inputs, int8: DRAM 200 + 100 = 300 bytes -> 18.75 cycles;
    # compute ceil(100 ops / 32 lanes) = 4 cycles; a vector op streams, so only one lane-wide
    # block in and one out are exposed: (min(200, 32) + min(100, 32)) bytes / 16 = 4 cycles, part
    # of the DRAM traffic; cycles = 4 + max(4, 18.75 - 4) = 18.75 (memory-bound).
    op = Elementwise(name="add", elements=100, inputs=2)
    cost = evaluate(load_hardware("edge"), net(op))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(300, rel=EXACT)
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(4, rel=EXACT)
    assert cost.layer("memory_cycles")[0, 0] == pytest.approx(18.75, rel=EXACT)
    assert cost.layer("cycles")[0, 0] == pytest.approx(18.75, rel=EXACT)
    assert cost.layer("latency_s")[0, 0] == pytest.approx(18.75 / 800e6, rel=EXACT)
    # vector energy: 100 ops x 3.2 pJ (45 nm) x 0.6222 (28 nm energy scale)
    assert cost.energy_breakdown_pj["vector"][0] == pytest.approx(100 * 3.2 * 0.6222, rel=HAND)


# ------------------------------------------------------------------------------------------------
# Access counts per level, operand and direction (counts.py), hand-derived for every dataflow.
# FC: M = 10 tokens, K = 6, N = 5 on a 4 x 4 array, int8 (1 byte), 32-bit partial sums (4 bytes).
# MACs = 300. Folds: ws rows K -> fr = 2, cols N -> fc = 2; os rows M -> 3, cols N -> 2; is rows
# K -> 2, cols M -> 3. With one stationary register per PE every column fold is its own group.
FC_COUNTS = {
    # (sram input read, sram weight read, sram output write, sram output read)
    # ws: inputs M K fc = 120, weights K N = 30, psums M N fr = 100 written x 4 B,
    #     M N (fr - 1) = 50 read back x 4 B, plus the 50 finished outputs read out x 1 B
    "ws": (120, 30, 100 * 4, 50 * 4 + 50),
    # os: inputs M K fc = 120, weights K N fr = 90, outputs written once (50 B), read out once
    "os": (120, 90, 50, 50),
    # is: inputs M K = 60 (stationary), weights K N fc = 90, psums as ws
    "is": (60, 90, 100 * 4, 50 * 4 + 50),
}


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_sram_and_register_counts_of_a_linear(dataflow):
    cost = evaluate(design(dataflow=dataflow), net(FC))
    c = cost.counts
    i_read, w_read, o_write, o_read = FC_COUNTS[dataflow]
    assert c[("sram", "input", "read")][0, 0] == pytest.approx(i_read, rel=EXACT)
    assert c[("sram", "weight", "read")][0, 0] == pytest.approx(w_read, rel=EXACT)
    assert c[("sram", "output", "write")][0, 0] == pytest.approx(o_write, rel=EXACT)
    assert c[("sram", "output", "read")][0, 0] == pytest.approx(o_read, rel=EXACT)
    # everything fits (64 KiB buffers): DRAM reads fill the SRAMs once: 60 inputs, 30 weights;
    # the 50 outputs go back to DRAM
    for operand, fill in (("input", 60), ("weight", 30)):
        assert c[("dram", operand, "read")][0, 0] == pytest.approx(fill, rel=EXACT)
        assert c[("sram", operand, "write")][0, 0] == pytest.approx(fill, rel=EXACT)
    assert c[("dram", "output", "write")][0, 0] == pytest.approx(50, rel=EXACT)
    # registers: every MAC passes each moving value and the 4-byte partial sum through a
    # register; the stationary register is written once per value loaded (ws: 30 weights,
    # is: 60 inputs; os: the accumulator, written every MAC)
    writes = {"input": 300, "weight": 300, "output": 300 * 4}
    if dataflow == "ws":
        writes["weight"] = 30
    if dataflow == "is":
        writes["input"] = 60
    for operand, value in writes.items():
        assert c[("register", operand, "write")][0, 0] == pytest.approx(value, rel=EXACT)
    assert c.macs[0, 0] == 300


# Two stationary registers per PE hold two column folds at once: the operand entering along the
# rows is reused twice and the fill/drain (R + C - 2 = 6) is paid once per pair of column folds.
# cycles = fr * (fc * (T + preload) + ceil(fc / 2) * 6)
FC_TWO_REGS = {
    "ws": (2 * (2 * (10 + 4) + 1 * 6), 10 * 6 * 1),  # (68 cycles, inputs read 60)
    "os": (3 * (2 * (6 + 0) + 1 * 6), 10 * 6 * 1),  # (54, 60)
    "is": (2 * (3 * (5 + 4) + 2 * 6), 6 * 5 * 2),  # (78, weights read 60)
}


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_two_stationary_registers_reuse_the_streamed_operand(dataflow):
    cost = evaluate(design(dataflow=dataflow, pe_stationary_regs=2), net(FC))
    cycles, reads = FC_TWO_REGS[dataflow]
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(cycles, rel=EXACT)
    operand = "weight" if dataflow == "is" else "input"
    assert cost.counts[("sram", operand, "read")][0, 0] == pytest.approx(reads, rel=EXACT)


def test_depthwise_groups_pack_block_diagonally_on_a_big_array():
    # ws on 32 x 32: a group is 9 rows x 1 column, so floor(32 / 9) = 3 groups share a fold:
    # ceil(8 / 3) = 3 folds of (36 + 32) + (32 + 32 - 2) = 130 cycles; SCALE-Sim's mapping
    # (one group after another) takes 8 folds.
    cost = evaluate(design(pe_rows=32, pe_cols=32), net(DW))
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(3 * 130, rel=EXACT)
    gemm = DW.gemm()
    alone = array_work(
        MAPPINGS["ws"], rows=32, cols=32, regs=1, m=36, n=1, k=9, count=8, pack_groups=False
    )
    assert alone.compute_cycles == pytest.approx(8 * 130, rel=EXACT)
    assert (gemm.k, gemm.n, gemm.count) == (9, 1, 8)


def test_heads_pack_two_per_fold_on_an_8x8_array():
    # ws, heads of K = 4 rows x N = 4 columns: 2 x 2 fit, but block-diagonal packing pairs rows
    # with columns: min(8/4, 8/4) = 2 heads per fold, ceil(3 / 2) = 2 folds of 4 + 8 + 14 = 26.
    cost = evaluate(design(pe_rows=8, pe_cols=8), net(HEADS))
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(2 * 26, rel=EXACT)


def test_columns_bound_the_packing_of_a_grouped_conv():
    # 1x1 conv, 32 groups of 2 -> 4 channels, 5x5 pixels; ws on 32 rows x 8 columns: a group is
    # K = 2 rows x N = 4 columns, so the rows would take 16 groups but the columns only 2:
    # ceil(32 / 2) = 16 folds of (T = 25, plus the 32-cycle preload) + (32 + 8 - 2) = 95 cycles.
    op = Conv2d(
        name="grouped", in_channels=64, out_channels=128, in_h=5, in_w=5, kernel_h=1,
        kernel_w=1, groups=32,
    )  # fmt: skip
    cost = evaluate(design(pe_rows=32, pe_cols=8), net(op))
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(16 * 95, rel=EXACT)
    # and the rows bound it on the transposed array (8 rows x 32 columns): 4 groups per fold
    cost = evaluate(design(pe_rows=8, pe_cols=32), net(op))
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(8 * (25 + 8 + 38), rel=EXACT)


def test_a_strided_1x1_conv_reads_only_the_pixels_it_uses():
    # 1x1, stride 2, 8x8 input, 4 -> 4 channels: outputs 4x4; the used input pixels are every
    # other row and column, 4 x 4 x 4 channels = 64 elements (not 256). Everything fits:
    # DRAM = 64 inputs + 16 weights + 64 outputs = 144 bytes.
    op = Conv2d(
        name="s2", in_channels=4, out_channels=4, in_h=8, in_w=8, kernel_h=1, kernel_w=1,
        stride_h=2, stride_w=2,
    )  # fmt: skip
    assert op.gemm().a_elems == 64
    cost = evaluate(design(), net(op))
    assert cost.layer("dram_bytes")[0, 0] == pytest.approx(144, rel=EXACT)


# Fusion: conv 1x1 4 -> 4 on 8x8 (256 outputs), a residual add of 256 elements (2 inputs), then
# another conv 1x1 4 -> 4. Elements: conv in 256, weights 16, out 256; add in 2 x 256, out 256.
def _chain():
    conv = dict(in_channels=4, out_channels=4, in_h=8, in_w=8, kernel_h=1, kernel_w=1)
    return (
        Conv2d(name="c1", **conv),
        Elementwise(name="add", elements=256, inputs=2),
        Conv2d(name="c2", **conv),
    )


@pytest.mark.parametrize(
    ("fusion", "per_layer"),
    [
        # none: every tensor crosses DRAM: c1 256 + 16 + 256; add 512 + 256; c2 256 + 16 + 256
        ("none", [528, 768, 528]),
        # ops: the add runs on c1's way out: c1 keeps its output, the add reads only the
        # shortcut (256) and writes its output (256)
        ("ops", [272, 512, 528]),
        # on_chip: also the add's output (256 bytes) stays in the SRAMs for c2
        ("on_chip", [272, 256, 272]),
    ],
)
def test_fusion_keeps_tensors_off_dram(fusion, per_layer):
    cost = evaluate(design(fusion=fusion), net(*_chain()))
    np.testing.assert_allclose(cost.layer("dram_bytes")[0], per_layer, rtol=EXACT)


def test_on_chip_needs_room_in_both_buffers():
    # 256-element add output > half of a 0.25 KiB ofmap SRAM (128 bytes): it goes to DRAM
    cost = evaluate(design(fusion="on_chip", ofmap_sram_kib=0.25), net(*_chain()))
    assert cost.layer("dram_bytes")[0, 1] == pytest.approx(512, rel=EXACT)


# ------------------------------------------------------------------------------------------------
# Prices (prices.py) from technology.yaml and the CACTI table


def test_sram_price_is_cacti_at_grid_points_and_log_interpolated_between():
    tech = technology()
    raw = tech.sram.values["read_energy_pj"][28][256]  # per access of a 256-bit port
    caps = list(tech.sram.capacity_kib)
    at = tech.sram_cost(np.array([28.0, 28.0]), np.array([64.0, 128.0]), np.array([256, 256]))
    expected = [raw[caps.index(64)] / 32, raw[caps.index(128)] / 32]  # pJ per byte
    np.testing.assert_allclose(at.read_pj_per_byte, expected, rtol=HAND)
    # halfway in log capacity (sqrt(64 * 128) KiB) is the geometric mean
    mid = tech.sram_cost(np.array([28.0]), np.array([math.sqrt(64 * 128)]), np.array([256]))
    assert mid.read_pj_per_byte[0] == pytest.approx(math.sqrt(expected[0] * expected[1]), rel=HAND)
    # a 200-bit port is priced as the next tabulated width (256 bits)
    odd = tech.sram_cost(np.array([28.0]), np.array([64.0]), np.array([200]))
    assert odd.read_pj_per_byte[0] == pytest.approx(expected[0], rel=HAND)


def test_mac_energy_by_node():
    # 45 nm [H14]: 8-bit multiply 0.2 + 32-bit add 0.1; 7 nm: x 0.309 and x 0.40 ([J21] ratios);
    # 28 nm: geometric interpolation with weight ln(45/28) / ln(45/7); 65 nm: classical 2.1577.
    e45, e7 = 0.2 + 0.1, 0.0618 + 0.04
    w = math.log(45 / 28) / math.log(45 / 7)
    got = technology().mac_energy_pj(np.array([45, 28, 7, 65]), np.array([8, 8, 8, 8]))
    np.testing.assert_allclose(got, [e45, e45 * (e7 / e45) ** w, e7, e45 * 2.1577], rtol=HAND)


def test_energy_of_a_one_mac_layer():
    # A 1x1 linear (1 MAC, no bias) on edge (28 nm, int8, 32x32 ws, LPDDR5, energy scale 0.6222).
    op = Linear(name="one", in_features=1, out_features=1, bias=False)
    assert op.macs == 1
    cost = evaluate(load_hardware("edge"), net(op))
    e, p = cost.energy_breakdown_pj, cost.prices
    assert e["mac"][0] == pytest.approx(technology().mac_energy_pj(28, 8), rel=HAND)
    # registers: writes of 1 input byte, 1 weight byte (loaded once) and a 4-byte partial sum:
    # 48 bits x 0.0101 pJ x 0.6222; reads are not priced (flip-flops)
    assert e["registers"][0] == pytest.approx(48 * 0.0101 * 0.6222, rel=HAND)
    # DRAM: 1 input + 1 weight + 1 output byte x 8 bits x 10.1 pJ/bit (lpddr5)
    assert cost.dram_bytes[0] == pytest.approx(3, rel=EXACT)
    assert e["dram"][0] == pytest.approx(3 * 8 * 10.1, rel=HAND)
    # SRAMs: ifmap and weight: one byte in from DRAM and one read into the array; ofmap: one
    # 4-byte partial sum written, the 1-byte output read out
    tech = technology()
    ifmap = tech.sram_cost(np.array([28.0]), np.array([128.0]), np.array([32 * 8]))
    ofmap = tech.sram_cost(np.array([28.0]), np.array([64.0]), np.array([32 * 32]))
    both = ifmap.read_pj_per_byte[0] + ifmap.write_pj_per_byte[0]
    assert e["ifmap_sram"][0] == pytest.approx(both, rel=HAND)
    assert e["weight_sram"][0] == pytest.approx(both, rel=HAND)
    o = 4 * ofmap.write_pj_per_byte[0] + ofmap.read_pj_per_byte[0]
    assert e["ofmap_sram"][0] == pytest.approx(o, rel=HAND)
    assert e["vector"][0] == 0
    # ws compute: 1 fold of 2*32 + 32 + 1 - 2 = 95 cycles; DRAM 3 bytes at 16 B/cycle = 0.1875,
    # all of it exposed (the first input and weight, the last output): 0.1875 + max(95, 0)
    # = 95.1875 cycles at 800 MHz
    assert cost.cycles[0] == pytest.approx(95.1875, rel=EXACT)
    latency = 95.1875 / 800e6
    assert e["leakage"][0] == pytest.approx(p.leakage_mw[0, 0] * latency * 1e9, rel=HAND)
    assert cost.energy_pj[0] == pytest.approx(sum(v[0] for v in e.values()), rel=HAND)


@pytest.mark.parametrize(
    ("dram_type", "pj_per_bit"),
    [("ddr3", 30.5), ("ddr4", 20.3), ("lpddr4", 13.5), ("lpddr5", 10.1), ("hbm2", 3.97)],
)
def test_dram_energy_by_type(dram_type, pj_per_bit):
    op = Linear(name="one", in_features=1, out_features=1, bias=False)
    cost = evaluate(load_hardware("edge").replace(dram_type=dram_type), net(op))
    assert cost.energy_breakdown_pj["dram"][0] == pytest.approx(3 * 8 * pj_per_bit, rel=HAND)


def test_area_of_the_edge_design_by_component():
    # edge: 32x32 PEs, int8, 28 nm (area scale 0.3872), 32 vector lanes, one LPDDR5 channel.
    scale, um2 = 0.3872, 1e-6
    # int8 multiplier + 32-bit adder + registers: 2 moving operands, 1 stationary, accumulator
    pe_um2 = 282.0 + 137.0 + (2 * 8 + 8 + 32) * 7.57
    tech = technology()
    sram = lambda kib, bits: tech.sram_cost(  # noqa: E731
        np.array([28.0]), np.array([kib]), np.array([bits])
    ).area_mm2[0]
    expected = {
        "array": 32 * 32 * pe_um2 * scale * um2,
        "ifmap_sram": sram(128, 32 * 8),
        "weight_sram": sram(128, 32 * 8),
        "ofmap_sram": sram(64, 32 * 32),
        "vector": 32 * 3632.0 * scale * um2,
        "dram_interface": 1.19,  # ceil(12.8 / 12.8) = 1 channel
    }
    core = sum(v for k, v in expected.items() if k != "dram_interface")
    expected["overhead"] = 0.10 * core
    cost = evaluate(load_hardware("edge"), net(FC))
    for key, value in expected.items():
        assert cost.area_breakdown_mm2[key][0] == pytest.approx(value, rel=HAND), key
    assert cost.area_mm2[0] == pytest.approx(sum(expected.values()), rel=HAND)
    # one more GB/s needs a second channel
    wider = evaluate(load_hardware("edge").replace(dram_bandwidth_gbps=13.8), net(FC))
    assert wider.area_breakdown_mm2["dram_interface"][0] == pytest.approx(2 * 1.19, rel=HAND)


def test_node_scaling_of_array_area():
    op = Linear(name="one", in_features=1, out_features=1, bias=False)
    hws = [design(technology_nm=45, precision_bits=16), design(technology_nm=7, precision_bits=16)]
    cost = evaluate(hws, net(op))
    pe_um2 = 992.8 + 137.0 + (2 * 16 + 16 + 32) * 7.57
    np.testing.assert_allclose(
        cost.area_breakdown_mm2["array"],
        [16 * pe_um2 * 1e-6, 16 * pe_um2 * 0.0242 * 1e-6],
        rtol=HAND,
    )
