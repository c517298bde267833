"""Hand-derived counts where test_model_golden's int8, one-GEMM cases cannot tell: operand
widths other than one byte, layers of several GEMMs, capacities at their exact boundary,
non-square arrays, and the layer links that decide fusion (model/layers.py)."""

from __future__ import annotations

import numpy as np
import pytest
from test_model_golden import design as golden_design
from test_model_golden import net

from evodse.model import evaluate
from evodse.model.layers import layer_table, links
from evodse.model.memory import OutputFold, dram_traffic
from evodse.workload import Conv2d, Elementwise, Linear, MatMul, Network, Softmax

EXACT = 1e-12


def design(**changes):
    """test_model_golden's design (4 rows, 64 KiB buffers, 8 GB/s at 500 MHz: 16 bytes per
    cycle, 45 nm) with 8 columns, 2-byte operands and no fusion."""
    return golden_design(**{"pe_cols": 8, "precision_bits": 16, "fusion": "none", **changes})


# Two heads of [M = 6, K = 5] @ [K = 5, N = 3] at 16 bits (2 bytes; partial sums 4 bytes) on a
# 4-row x 8-column array. MACs = 2 * 6 * 3 * 5 = 180. A head does not fit the rows (K = 5 > 4),
# so nothing packs: each head folds fr = ceil(5 / 4) = 2 times along the rows, fc = 1.
HEADS = MatMul(name="heads", m=6, n=3, k=5, count=2)
B = 2  # bytes per element
ACC = 4  # bytes per partial sum
HEADS_COUNTS = {
    # (level, operand, direction): bytes
    # everything fits in 64 KiB: DRAM reads each operand once and fills its SRAM
    ("dram", "input", "read"): 2 * 6 * 5 * B,  # 120
    ("dram", "weight", "read"): 2 * 5 * 3 * B,  # 60 (the second operand of each head)
    ("dram", "output", "write"): 2 * 6 * 3 * B,  # 72
    ("sram", "input", "write"): 2 * 6 * 5 * B,
    ("sram", "weight", "write"): 2 * 5 * 3 * B,
    # ws: inputs stream once per column group (1), weights are read once
    ("sram", "input", "read"): 2 * 6 * 5 * B,
    ("sram", "weight", "read"): 2 * 5 * 3 * B,
    # partial sums leave the array once per row fold (2) and come back once (fr - 1); the
    # finished outputs are read out once at the operand width
    ("sram", "output", "write"): 2 * 6 * 3 * 2 * ACC,  # 288
    ("sram", "output", "read"): 2 * 6 * 3 * 1 * ACC + 2 * 6 * 3 * B,  # 144 + 72
    # PE registers: every MAC passes an input, reads its stationary weight, passes a psum
    ("register", "input", "read"): 180 * B,
    ("register", "input", "write"): 180 * B,
    ("register", "weight", "read"): 180 * B,
    ("register", "weight", "write"): 2 * 5 * 3 * B,  # written once per weight loaded
    ("register", "output", "read"): 180 * ACC,
    ("register", "output", "write"): 180 * ACC,
}


def test_counts_of_two_heads_at_two_bytes_per_element():
    cost = evaluate(design(), net(HEADS))
    for key, value in HEADS_COUNTS.items():
        assert cost.counts[key][0, 0] == pytest.approx(value, rel=EXACT), key
    assert cost.counts.macs[0, 0] == 180


def test_cycles_of_two_heads_include_the_prologue_and_epilogue():
    # compute: 2 heads x 2 row folds x ((T = 6) + (preload 4) + (4 + 8 - 2)) = 80 cycles
    # exposed: the whole input (60 elements: it fits), the first fold's weights (min(15, 4 * 8))
    # and the last fold's outputs (min(18, 32)): (60 + 15 + 18) * 2 B = 186 B = 11.625 cycles
    # memory: 252 B / 16 B per cycle = 15.75 cycles, overlapped
    cost = evaluate(design(), net(HEADS))
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(80, rel=EXACT)
    assert cost.layer("memory_cycles")[0, 0] == pytest.approx(15.75, rel=EXACT)
    assert cost.layer("cycles")[0, 0] == pytest.approx(80 + 11.625, rel=EXACT)


@pytest.mark.parametrize(("in_features", "fits"), [(1024, True), (1025, False)])
def test_an_input_fits_whole_up_to_the_exact_sram_size(in_features, fits):
    # a 1 KiB ifmap SRAM at 8 bits: 1024 elements, a usable half of 512. An input that fits
    # whole is loaded entirely before compute (exposed); one that does not, half an SRAM.
    # 1 x in_features @ in_features x 1 on 4 x 8, ws: ceil(in / 4) row folds of 1 + 4 + 10;
    # the first fold's weights are a whole 4 x 8 block (32), the last output 1 element.
    op = Linear(name="fc", in_features=in_features, out_features=1, bias=False)
    hw = design(precision_bits=8, ifmap_sram_kib=1, dram_bandwidth_gbps=0.5)  # 1 B per cycle
    cost = evaluate(hw, net(op))
    folds = -(-in_features // 4)
    exposed = (in_features if fits else 512) + 32 + 1
    dram = 2 * in_features + 1
    cycles = max(exposed + folds * 15, dram)
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(folds * 15, rel=EXACT)
    assert cost.layer("cycles")[0, 0] == pytest.approx(cycles, rel=EXACT)


@pytest.mark.parametrize(("out_features", "weight_reads"), [(40, 1), (41, 3)])
def test_weights_stay_resident_up_to_the_exact_sram_size(out_features, weight_reads):
    # 1 KiB SRAMs at 8 bits: 1024 elements each, usable halves of 512 (ws: 128 partial sums).
    # 48 tokens x 25 inputs (1200 elements: never whole) @ 25 x out_features weights.
    # 40 outputs: 1000 weights fit whole, the weights-resident order keeps all 40 columns and
    # reads both operands once. 41 outputs: 1025 weights do not fit; cheapest is inputs
    # resident: 20 token rows of 25 fill the usable 512, so the weights stream
    # ceil(48 / 20) = 3 times (weights resident: 20 columns, inputs read 3 times; outputs
    # resident: 11 x 11 tiles, inputs 4 times and weights 5 times).
    op = Linear(name="fc", in_features=25, out_features=out_features, tokens=48, bias=False)
    hw = design(precision_bits=8, ifmap_sram_kib=1, weight_sram_kib=1, ofmap_sram_kib=1)
    cost = evaluate(hw, net(op))
    weights = 25 * out_features
    assert cost.counts[("dram", "input", "read")][0, 0] == pytest.approx(1200, rel=EXACT)
    assert cost.counts[("dram", "weight", "read")][0, 0] == pytest.approx(
        weight_reads * weights, rel=EXACT
    )


def test_links_decide_which_vector_ops_fuse():
    # attention: q @ k^T (2 heads of 4 x 4), softmax over its 8 rows of 4, then @ v
    qk = MatMul(name="qk", m=4, n=4, k=8, count=2)
    soft = Softmax(name="softmax", rows=8, row_length=4)
    av = MatMul(name="av", m=4, n=8, k=4, count=2)
    linked, fused = links((qk, soft, av))
    assert linked == [False, True, True]  # each takes the previous output (32 elements)
    assert fused == [False, True, False]  # a GEMM is never fused into anything
    # a chain of vector ops fuses through: fc -> scale -> relu, all 16 elements
    fc = Linear(name="fc", in_features=4, out_features=16)
    scale = Elementwise(name="scale", elements=16)
    relu = Elementwise(name="relu", elements=16)
    assert links((fc, scale, relu)) == ([False, True, True], [False, True, True])
    # a vector op that does not take the GEMM's output breaks the chain: other (8 elements)
    # is not linked, so relu (linked to other) is on the vector unit's own
    other = Elementwise(name="other", elements=8)
    relu8 = Elementwise(name="relu8", elements=8)
    assert links((fc, other, relu8)) == ([False, False, True], [False, False, False])
    # the first layer has no producer, even when the last layer's output matches its input
    first = Elementwise(name="first", elements=16)
    assert links((first, fc))[0][0] is False
    last = Linear(name="last", in_features=16, out_features=16)
    assert links((first, last, scale)) == ([False, True, True], [False, False, True])


def test_counts_name_what_they_hold():
    cost = evaluate(design(), net(HEADS))
    with pytest.raises(KeyError, match=r"expected \(level, operand, direction\)"):
        cost.counts[("dram", "input", "sideways")]
    # a level's bytes: one operand's read + write, or every operand's
    assert cost.counts.level("sram", "input")[0, 0] == pytest.approx(2 * 120, rel=EXACT)
    assert cost.counts.level("sram")[0, 0] == pytest.approx(
        sum(v for (lv, _, _), v in HEADS_COUNTS.items() if lv == "sram"), rel=EXACT
    )


# ------------------------------------------------------------------------------------------------
# DRAM traffic of the three loop orders (memory.py), capacities in elements of the usable half.
# CONV: 3x3, 4 -> 8 channels, 10x10 input, no padding: M = 64 output pixels (8 rows of 8),
# N = 8, K = 36; A (input) = 400 elements in rows of 40; B (weights) = 288.
CONV = Conv2d(name="conv", in_channels=4, out_channels=8, in_h=10, in_w=10, kernel_h=3, kernel_w=3)
# FC: 64 tokens x 64 -> 64: A = B = 4096 elements, no halo.
BIG_FC = Linear(name="fc", in_features=64, out_features=64, tokens=64, bias=False)
TRAFFIC = [
    # (op, batch, ifmap, weight, ofmap capacities) -> (A, B) elements read from DRAM
    # inputs resident: 4 input rows fit 190, so 2 output rows per band: 4 bands read
    # (8 - 4) + 4 * 3 = 16 input rows of 10 (halo 1.6: A 640); the weights (288 > 2 * 100, not
    # whole) stream once per band: 4 * 288. Weights resident would keep 2 of 8 columns and read
    # A 4 times (1600 + 288); outputs resident (64-element tiles of 3 x 21) 3072.
    ((CONV, 1, 190, 100, 64), (640, 1152)),
    # weights resident: 288 <= 2 * 144 fit whole, all 8 columns stay: both read once
    ((CONV, 1, 190, 144, 64), (400, 288)),
    # ... 288 > 2 * 143: 3 columns at a time, A read ceil(8 / 3) = 3 times (1488 in all;
    # inputs resident 640 + 1152 = 1792)
    ((CONV, 1, 190, 143, 64), (1200, 288)),
    # A (400 <= 2 * 200) fits whole: read once under every order
    ((CONV, 1, 200, 100, 64), (400, 288)),
    # batch 5 (A = 2000 > 2 * 900): two whole images fit, bands of 2 images (no halo), the
    # weights stream ceil(5 / 2) = 3 times (the 128-element ofmap holds the 2 x 64 outputs)
    ((CONV, 5, 900, 100, 128), (2000, 864)),
    # outputs resident: 4 rows of A or 4 columns of B fit (A or B read 16 times otherwise);
    # 1024 partial sums as 32 x 32 tiles: A and B each read ceil(64 / 32) = 2 times
    ((BIG_FC, 1, 256, 256, 1024), (8192, 8192)),
]


@pytest.mark.parametrize(("case", "reads"), TRAFFIC)
def test_dram_traffic_of_the_cheapest_loop_order(case, reads):
    op, batch, ifmap, weight, ofmap = case
    t = layer_table(Network(name="traffic", ops=(op,), batch=batch))
    cap = lambda v: np.array([[float(v)]])  # noqa: E731
    traffic = dram_traffic(
        t, ifmap_elems=cap(ifmap), weight_elems=cap(weight), ofmap_elems=cap(ofmap)
    )
    assert (traffic.a_elems[0, 0], traffic.b_elems[0, 0]) == reads
    assert traffic.out_elems[0, 0] == t.m[0] * t.n[0]  # outputs written once


# ------------------------------------------------------------------------------------------------
# Vector operations at 2 bytes per element, under each fusion mode.


@pytest.mark.parametrize("fusion", ["none", "ops", "on_chip"])
def test_vector_counts_under_each_fusion_mode(fusion):
    # fc (4 -> 16) then relu (16 elements): relu's input is fc's output
    fc = Linear(name="fc", in_features=4, out_features=16, bias=False)
    relu = Elementwise(name="relu", elements=16)
    cost = evaluate(design(fusion=fusion), net(fc, relu))
    c = {key: cost.counts[key][0, 1] for key in HEADS_COUNTS}  # the relu's entry
    if fusion == "none":  # through DRAM: read, staged in the ifmap SRAM, written back
        assert c[("dram", "input", "read")] == c[("sram", "input", "write")] == 32
        assert c[("sram", "input", "read")] == 32
        assert cost.counts[("dram", "output", "write")][0, 0] == 32  # fc's output
    else:  # applied in fc's output path: its input never reaches an SRAM or DRAM
        assert c[("dram", "input", "read")] == c[("sram", "input", "write")] == 0
        assert c[("sram", "input", "read")] == 0
        assert cost.counts[("dram", "output", "write")][0, 0] == 0
    # the relu's own output: last layer, through the ofmap SRAM to DRAM
    assert c[("sram", "output", "write")] == c[("sram", "output", "read")] == 32
    assert c[("dram", "output", "write")] == 32
    assert cost.counts.vector_ops[0, 1] == 16 and cost.counts.macs[0, 1] == 0
    # the relu streams: one 4-lane block in (unless fused) and one out are exposed
    exposed = (0 if fusion != "none" else 4) + 4  # elements
    memory = (c[("dram", "input", "read")] + 32) / 16  # bytes at 16 B per cycle
    assert cost.layer("cycles")[0, 1] == pytest.approx(
        max(exposed * B / 16 + 16 / 4, memory), rel=EXACT
    )


@pytest.mark.parametrize("fusion", ["ops", "on_chip"])
def test_a_vector_op_after_a_vector_op_stays_on_chip_only_when_asked(fusion):
    # scale then relu, both on the vector unit: nothing to fuse into, but on_chip keeps the
    # 16-element intermediate in the SRAMs (written once, read once) instead of DRAM
    scale = Elementwise(name="scale", elements=16)
    relu = Elementwise(name="relu", elements=16)
    cost = evaluate(design(fusion=fusion), net(scale, relu))
    kept = fusion == "on_chip"
    assert cost.counts[("dram", "output", "write")][0, 0] == (0 if kept else 32)
    assert cost.counts[("sram", "output", "write")][0, 0] == 32
    assert cost.counts[("dram", "input", "read")][0, 1] == (0 if kept else 32)
    assert cost.counts[("sram", "input", "read")][0, 1] == 32
    assert cost.counts[("sram", "input", "write")][0, 1] == (0 if kept else 32)


def test_os_writes_finished_outputs_at_the_operand_width():
    # os keeps partial sums in the PEs: the ofmap SRAM receives the 36 outputs once, 2 B each
    cost = evaluate(design(dataflow="os"), net(HEADS))
    assert cost.counts[("sram", "output", "write")][0, 0] == pytest.approx(36 * B, rel=EXACT)
    assert cost.counts[("register", "output", "write")][0, 0] == pytest.approx(180 * ACC)


def test_capacities_count_elements_at_two_bytes():
    # BIG_FC's outputs-resident case above at 16 bits: the same element capacities take twice
    # the KiB (ifmap and weight 1 KiB = 256 usable elements; ws's partial sums are 4 bytes:
    # 8 KiB = 1024 usable)
    hw = design(dataflow="ws", ifmap_sram_kib=1, weight_sram_kib=1, ofmap_sram_kib=8)
    cost = evaluate(hw, net(BIG_FC))
    assert cost.counts[("dram", "input", "read")][0, 0] == pytest.approx(8192 * B, rel=EXACT)
    assert cost.counts[("dram", "weight", "read")][0, 0] == pytest.approx(8192 * B, rel=EXACT)


def test_an_os_tile_of_several_folds_holds_partial_sums_at_the_accumulator_width():
    # os, 4 x 8 array, BIG_FC at 16 bits; ifmap and weight 1 KiB (256 usable elements), ofmap
    # 4 KiB: 1024 usable outputs at 2 bytes but 512 partial sums at 4 bytes. Fold by fold:
    # weights resident keeps 256 / 64 = 4 columns of B and the 4 x 64 band of A (256 <= 256)
    # serves them: A read 64 / 4 = 16 times (65,536 + 4,096); inputs resident keeps 4 rows of A,
    # B's 64 x 8 band (512 > 256) does not fit: B read once per row fold, 16 times (the same).
    # Accumulated: a 512-element tile, Tn = round(sqrt(512)) = 23, Tm = floor(512 / 23) = 22,
    # A and B each read ceil(64 / 23) = ceil(64 / 22) = 3 times (12,288 + 12,288: cheapest); K
    # streams in chunks of floor(256 / 22) = floor(256 / 23) = 11, ceil(64 / 11) = 6 chunks: the
    # 4,096 outputs go to the ofmap SRAM and back 5 times as partial sums (4 bytes each)
    hw = design(dataflow="os", ifmap_sram_kib=1, weight_sram_kib=1, ofmap_sram_kib=4)
    cost = evaluate(hw, net(BIG_FC))
    c = {key: cost.counts[key][0, 0] for key in cost.counts.bytes}
    assert c[("dram", "input", "read")] == pytest.approx(12288 * B, rel=EXACT)
    assert c[("dram", "weight", "read")] == pytest.approx(12288 * B, rel=EXACT)
    assert c[("sram", "output", "write")] == pytest.approx(5 * 4096 * ACC + 4096 * B, rel=EXACT)
    assert c[("sram", "output", "read")] == pytest.approx(5 * 4096 * ACC + 4096 * B, rel=EXACT)
    # a 0.25 KiB ofmap SRAM holds 32 partial sums (128 B usable): a 5 x 6 tile reads A 11 and
    # B 13 times (98,304), so weights resident, fold by fold, wins: the outputs written once
    hw = design(dataflow="os", ifmap_sram_kib=1, weight_sram_kib=1, ofmap_sram_kib=0.25)
    cost = evaluate(hw, net(BIG_FC))
    assert cost.counts[("dram", "input", "read")][0, 0] == pytest.approx(65536 * B, rel=EXACT)
    assert cost.counts[("sram", "output", "write")][0, 0] == pytest.approx(4096 * B, rel=EXACT)


OS_TRAFFIC = [
    # (ifmap, weight, fold columns) -> (A, B, partial sums): BIG_FC, 4-row folds, 16 partial
    # sums (one 4 x 4 tile: outputs resident reads A and B 16 times each, 131,072)
    # weights resident: 4 columns of B; A's 4 x 64 band (256) fits and serves both 2-column
    # folds: A read 16 times. Inputs resident ties (4 rows of A, B's 64 x 2 band fits: 16)
    ((256, 256, 2), (65536, 4096, 0)),
    # A's band (256 > 255) does not fit: weights resident reads A once per 2-column fold (32
    # times); inputs resident keeps 3 rows of A (255 / 64) and B's band: B read ceil(64 / 3) = 22
    # times (90,112 + 4,096 < 131,072 + 4,096)
    ((255, 256, 2), (4096, 90112, 0)),
    # neither a column of B nor a row of A fits (63 < 64): folds streamed, no band held: A once
    # per 8-column fold (8 times), B once per 4-row fold (16 times): 98,304 < 131,072
    ((63, 63, 8), (32768, 65536, 0)),
]


@pytest.mark.parametrize(("case", "reads"), OS_TRAFFIC)
def test_os_reuses_an_operand_across_folds_only_when_its_band_fits(case, reads):
    ifmap, weight, fold_cols = case
    t = layer_table(Network(name="traffic", ops=(BIG_FC,), batch=1))
    cap = lambda v: np.array([[float(v)]])  # noqa: E731
    fold = OutputFold(rows=cap(4), cols=cap(fold_cols), psum_elems=cap(16))
    traffic = dram_traffic(
        t, ifmap_elems=cap(ifmap), weight_elems=cap(weight), ofmap_elems=cap(1024), fold=fold
    )
    assert (traffic.a_elems[0, 0], traffic.b_elems[0, 0], traffic.psum_elems[0, 0]) == reads


def test_packing_never_exceeds_the_groups_there_are():
    # room for 4 groups of 9 x 1 on 36 x 8 (ws), but the layer has 2
    from evodse.model.compute import groups_per_fold
    from evodse.model.mappings import MAPPINGS

    packed = groups_per_fold(MAPPINGS["ws"], rows=36, cols=8, m=16, n=1, k=9, count=2)
    assert packed == 2


def test_a_chain_of_fused_vector_ops_never_touches_the_srams():
    # fc -> scale -> relu under fusion ops: scale's output goes straight into relu
    fc = Linear(name="fc", in_features=4, out_features=16, bias=False)
    scale = Elementwise(name="scale", elements=16)
    relu = Elementwise(name="relu", elements=16)
    cost = evaluate(design(fusion="ops"), net(fc, scale, relu))
    for key in (
        ("sram", "output", "write"),
        ("sram", "output", "read"),
        ("dram", "output", "write"),
    ):
        assert cost.counts[key][0, 1] == 0, key  # scale's output
    assert cost.counts[("sram", "output", "write")][0, 2] == 32  # relu's, the last


@pytest.mark.parametrize(("elements", "kept"), [(512, True), (513, False)])
def test_on_chip_keeps_an_intermediate_up_to_the_exact_room(elements, kept):
    # on_chip keeps a linked activation that fits the usable half of both the ofmap and the
    # ifmap SRAM: 1 KiB at 8 bits = 512 elements. fc1 -> fc2 (GEMM to GEMM: nothing fuses)
    fc1 = Linear(name="fc1", in_features=4, out_features=elements, bias=False)
    fc2 = Linear(name="fc2", in_features=elements, out_features=4, bias=False)
    hw = design(precision_bits=8, fusion="on_chip", ifmap_sram_kib=1, ofmap_sram_kib=1)
    cost = evaluate(hw, net(fc1, fc2))
    assert cost.counts[("dram", "output", "write")][0, 0] == (0 if kept else elements)
    assert cost.counts[("dram", "input", "read")][0, 1] == (0 if kept else elements)
    # nothing of a kept activation is exposed: fc1's prologue is its 4 inputs and first 4 x 8
    # weights (no epilogue: its output stays), fc2's its first 32 weights and its 4 outputs
    if kept:
        bytes_per_cycle = 16
        c = cost.layer("cycles")[0]
        compute = cost.layer("compute_cycles")[0]
        assert c[0] == pytest.approx(compute[0] + (4 + 32) / bytes_per_cycle, rel=EXACT)
        assert c[1] == pytest.approx(compute[1] + (32 + 4) / bytes_per_cycle, rel=EXACT)


# ------------------------------------------------------------------------------------------------
# Prices (prices.py): what each byte and each design costs.


def test_registers_are_priced_when_written_only():
    # flip-flops spend their energy when a value is clocked in; reading one is wiring
    from evodse.hardware.technology import technology
    from evodse.model import Designs
    from evodse.model.prices import prices

    p = prices(Designs.from_accelerators([design(technology_nm=45)]))
    per_byte = technology().register_energy_pj_per_bit * 8  # 45 nm: the table's own node
    for operand in ("input", "weight", "output"):
        assert p.pj_per_byte[("register", operand, "write")][0, 0] == pytest.approx(per_byte)
        assert p.pj_per_byte[("register", operand, "read")][0, 0] == 0.0


def test_leakage_is_logic_area_times_density_plus_the_srams():
    from evodse.hardware.technology import technology
    from evodse.model import Designs
    from evodse.model.prices import prices

    hw = design(pe_rows=16, pe_cols=8, vector_lanes=32, precision_bits=8, technology_nm=45)
    p = prices(Designs.from_accelerators([hw]))
    tech = technology()
    logic_mm2 = sum(p.area_mm2[k][0] for k in ("array", "vector", "dram_interface", "overhead"))
    ports_bits = {"ifmap": 16 * 8, "weight": 8 * 8, "ofmap": 8 * tech.accumulator_bits}
    sram_mw = sum(
        tech.sram_cost(45, getattr(hw, f"{name}_sram_kib"), bits).leakage_mw
        for name, bits in ports_bits.items()
    )
    assert p.leakage_mw[0, 0] == pytest.approx(tech.leakage_mw_per_mm2 * logic_mm2 + sram_mw)


@pytest.mark.parametrize(("weight_sram_kib", "on_chip"), [(1024, True), (64, False)])
def test_a_kv_cache_that_fits_stays_in_the_weight_sram(weight_sram_kib, on_chip):
    # Llama-3.2-1B decoding one token after 16: a token's keys and values are 16 layers x
    # 2 x 8 KV heads x 64 = 16,384 bytes at 8 bits; the 17 tokens' cache (278,528 B) fits in
    # half of a 1 MiB weight SRAM but not of 64 KiB
    from evodse.hardware import load_hardware
    from evodse.workload import load_workload

    net = load_workload("llama3_2_1b:phase=decode,kv_len=16")
    hw = load_hardware("edge").replace(weight_sram_kib=weight_sram_kib, precision_bits=8)
    cost = evaluate(hw, net)
    kv = {(lv, d): float(cost.total_bytes((lv, "kv", d))[0]) for lv in ("dram", "sram")
          for d in ("read", "write")}  # fmt: skip
    token, cache = 16 * 2 * 8 * 64, 17 * 16 * 2 * 8 * 64
    assert kv[("sram", "read")] == cache  # every step reads the whole cache from the SRAM
    if on_chip:  # nothing to or from DRAM; the SRAM receives the new token's keys and values
        assert kv[("dram", "read")] == kv[("dram", "write")] == 0
        assert kv[("sram", "write")] == token
    else:  # the cache streams in from DRAM (filling the SRAM) and the new token goes out
        assert kv[("dram", "read")] == kv[("sram", "write")] == cache
        assert kv[("dram", "write")] == token
