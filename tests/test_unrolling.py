"""Spatial unrollings (evodse/model/mappings.py, spatial.py): the registry's declarations,
hand-derived cycles and access counts of nvdla, rs, edge_tpu and tesla on one small conv, the
utilization a depthwise layer loses, shipped designs built on them, and ``dataflow`` as a
categorical search variable."""

from __future__ import annotations

import numpy as np
import pytest
from test_model_counts import design
from test_model_golden import net

from evodse.hardware import DATAFLOWS, load_hardware
from evodse.hardware.template import categorical_choices
from evodse.model import Designs, evaluate
from evodse.model.layers import layer_table
from evodse.model.mappings import (
    AUTO_CHOICES,
    MAPPINGS,
    UNROLLINGS,
    SpatialMapping,
    spatial_roles,
)
from evodse.model.spatial import temporal_sizes, unrolled_sizes
from evodse.search.space import space_from_spec
from evodse.workload import Conv2d, Linear

EXACT = 1e-12

# ------------------------------------------------------------------------------------------------
# The registry


def test_every_dataflow_is_a_named_unrolling_and_auto_chooses_among_the_systolic():
    assert tuple(UNROLLINGS) == DATAFLOWS
    assert AUTO_CHOICES == ("ws", "os", "is")
    assert categorical_choices()["dataflow"] == (*DATAFLOWS, "auto")


def test_the_systolic_mappings_derive_from_their_loops():
    # the table SCALE-Sim's three dataflows had as literals before the registry
    assert {
        "ws": SpatialMapping("ws", "k", "n", "m", "weight", preload=True, reduces_in_array=True),
        "os": SpatialMapping("os", "m", "n", "k", "output", preload=False, reduces_in_array=False),
        "is": SpatialMapping("is", "k", "m", "n", "input", preload=True, reduces_in_array=True),
    } == MAPPINGS


@pytest.mark.parametrize(
    ("name", "roles"),
    [
        # inputs over K, weights over OX/OY, outputs over C/FX/FY
        ("nvdla", {"input": "multicast", "weight": "unicast", "output": "reduced"}),
        ("rs", {"input": "multicast", "weight": "multicast", "output": "reduced"}),
        ("edge_tpu", {"input": "multicast", "weight": "multicast", "output": "reduced"}),
        ("tesla", {"input": "multicast", "weight": "multicast", "output": "kept"}),
        ("os", {"input": "multicast", "weight": "multicast", "output": "kept"}),
    ],
)
def test_multicast_and_reduction_follow_from_loop_relevance(name, roles):
    assert spatial_roles(UNROLLINGS[name]) == roles


def _sizes(name, rows, cols, **loops):
    sizes = {d: np.array([float(loops.get(d, 64))]) for d in ("B", "K", "C", "OX", "OY")}
    sizes.update({d: np.array([float(loops.get(d, 3))]) for d in ("FX", "FY")})
    sizes["G"] = np.array([1.0])
    got = unrolled_sizes(UNROLLINGS[name], rows=rows, cols=cols, loops=sizes)
    return {d: int(np.asarray(v).item()) for d, v in got.items() if np.asarray(v).item() > 1}


@pytest.mark.parametrize(
    ("name", "zigzag"),
    [  # ZigZag 3.9.1's shipped spatial mappings on its 32 x 32 arrays
        ("edge_tpu", {"K": 8, "C": 8, "OX": 4, "OY": 4}),
        ("ascend", {"K": 16, "C": 16, "OX": 2, "OY": 2}),
        ("tesla", {"K": 32, "OX": 8, "OY": 4}),
        ("meta", {"K": 32, "C": 2, "OX": 4, "OY": 4}),
        ("nvdla", {"K": 32, "C": 32}),
    ],
)
def test_on_32_by_32_the_entries_reproduce_zigzags_sizes(name, zigzag):
    assert _sizes(name, 32, 32) == zigzag


def test_sizes_are_capped_by_the_edge_and_rs_fits_its_layer():
    # a 2-row edge_tpu holds OY 2 of its declared 4 and no C; rest fills what is left
    assert _sizes("edge_tpu", 2, 32) == {"OY": 2, "K": 8, "OX": 4}
    # Eyeriss on AlexNet: CONV1 (FY 11, OY 55) uses 11 x 14 = 154 PEs; CONV3 (FY 3, OY 13)
    # replicates 4 channel sets over the rows: 12 x 13 = 156 PEs (JSSC 2017, Table V)
    assert _sizes("rs", 12, 14, FY=11, OY=55) == {"FY": 11, "OY": 14}
    assert _sizes("rs", 12, 14, FY=3, OY=13) == {"FY": 3, "C": 4, "OY": 13}


# ------------------------------------------------------------------------------------------------
# Hand-derived counts. CONV: 3x3, C = 4 -> K = 8, 6x6 input, stride 1, no padding: OX = OY = 4,
# M = 16 pixels, K_gemm = 36, MACs = 16 * 8 * 36 = 4608; |A| = 144 inputs, |W| = 288 weights,
# |O| = 128 outputs. test_model_counts's design: 4 rows x 8 cols, 2-byte operands (4-byte
# partial sums), 64 KiB buffers (everything fits: DRAM reads each operand once), 16 B per
# cycle, no fusion.
CONV = Conv2d(name="conv", in_channels=4, out_channels=8, in_h=6, in_w=6, kernel_h=3, kernel_w=3)
MACS = 4608
B, ACC = 2, 4
# exposed: the whole input (fits), the first 4 x 8 block of weights, the last 32 outputs:
# (144 + 32 + 32) * 2 B / 16 B per cycle = 26 cycles; DRAM (144 + 288 + 128) * 2 / 16 = 70
EXPOSED, MEMORY = 26, 70

CASES = {
    # nvdla: rows C rest = 4, cols K rest = 8. t: OX 4, OY 4, FX 3, FY 3 (C, K once): 144.
    # Order OX OY B FX FY C K G, one register each: weights stay while the 16 pixels pass
    # (read once); inputs change every cycle and K is done spatially (read as im2col, 576);
    # partial sums leave for every FX, FY step: 9 writes, 8 reads back per output.
    # Registers: each input is multicast to the 8 columns, a weight to its own PE; the adder
    # tree over C (4) writes one accumulator per output per cycle: 4608 / 4.
    "nvdla": {
        "regs": {},
        "compute": 144 + 2,
        "sram": {
            ("input", "read"): 576 * B,
            ("weight", "read"): 288 * B,
            ("output", "write"): 128 * 9 * ACC,
            ("output", "read"): 128 * 8 * ACC + 128 * B,
        },
        "register_writes": {"input": 576 * 8 * B, "weight": 288 * B, "output": 1152 * ACC},
    },
    # rs (pe_*_regs 3 inputs, 12 weights, 4 partial sums): rows FY 3 (fit), C rest 1; cols
    # OY 4 (fit), K rest 2. t: K 4, C 4, OX 4, FX 3: 192. Order FX K C OX FY OY B G.
    # Weights: FX (3) and K (3 x 4 = 12) fit, C does not: OX (4) re-reads them: 288 * 4.
    # Inputs: FX's window (3) fits, then K is irrelevant (kept: one read serves the 4 K
    # steps), C (12 > 3) ends it: im2col 576 / diagonal reuse (4 OY x 3 FY rows read
    # 4 + 3 - 1 = 6 input rows: 12 / 6 = 2) = 288. Partial sums: FX, K (4 <= 4) and C stay,
    # OX (16 > 4) does not, FY and OY have one step: finished outputs written once.
    # Registers: a weight goes to its 4 OY columns; an input to 2 K columns x 2 (diagonal);
    # partial sums pass PE to PE (chain): every MAC.
    "rs": {
        "regs": {"pe_input_regs": 3, "pe_weight_regs": 12, "pe_output_regs": 4},
        "compute": 192 + 2,
        "sram": {
            ("input", "read"): 288 * B,
            ("weight", "read"): 288 * 4 * B,
            ("output", "write"): 128 * B,
            ("output", "read"): 128 * B,
        },
        "register_writes": {"input": 288 * 4 * B, "weight": 1152 * 4 * B, "output": MACS * ACC},
    },
    # edge_tpu: rows C rest x OY 4 -> OY 4, C 1; cols K rest x OX 4 -> OX 4, K 2. t: K 4, C 4,
    # FX 3, FY 3: 144. Order OX OY B FX FY C K G: the pixels are all spatial (t = 1), so the
    # weights are read once (multicast to the 16 pixel PEs) and a partial sum stays in its
    # register through FX, FY and C: outputs written once. Inputs: FX (3 > 1) ends the
    # prefix, K outside: im2col 576 x 4 K steps = 2304, each to 2 K columns. No reduction
    # in space: the accumulator of every PE is written every cycle.
    "edge_tpu": {
        "regs": {},
        "compute": 144 + 2,
        "sram": {
            ("input", "read"): 2304 * B,
            ("weight", "read"): 288 * B,
            ("output", "write"): 128 * B,
            ("output", "read"): 128 * B,
        },
        "register_writes": {"input": 2304 * 2 * B, "weight": 288 * 16 * B, "output": MACS * ACC},
    },
    # tesla: rows OX 8 (capped at the 4 rows) x OY rest 1; cols K rest 8. t: OY 4, FX 3,
    # FY 3, C 4: 144. Order FX FY C OX OY B K G (reduction innermost): a partial sum stays in
    # its register through FX, FY and C (outputs written once, the accumulator of every PE
    # written every cycle: no spatial reduction). Weights: FX (3 > 1) ends their prefix and
    # OY (4 steps) re-reads them: 288 x 4, each to the 4 OX PEs. Inputs: im2col 576 (no K in
    # time), each to the 8 K columns.
    "tesla": {
        "regs": {},
        "compute": 144 + 2,
        "sram": {
            ("input", "read"): 576 * B,
            ("weight", "read"): 288 * 4 * B,
            ("output", "write"): 128 * B,
            ("output", "read"): 128 * B,
        },
        "register_writes": {"input": 576 * 8 * B, "weight": 1152 * 4 * B, "output": MACS * ACC},
    },
}


@pytest.mark.parametrize("name", list(CASES))
def test_hand_derived_cycles_and_counts(name):
    case = CASES[name]
    cost = evaluate(design(dataflow=name, **case["regs"]), net(CONV))
    assert cost.layer("compute_cycles")[0, 0] == pytest.approx(case["compute"], rel=EXACT)
    assert cost.layer("memory_cycles")[0, 0] == pytest.approx(MEMORY, rel=EXACT)
    assert cost.layer("cycles")[0, 0] == pytest.approx(EXPOSED + case["compute"], rel=EXACT)
    total = EXPOSED + case["compute"]  # utilization is over all cycles
    assert cost.layer("utilization")[0, 0] == pytest.approx(MACS / (total * 32), rel=EXACT)
    for (operand, direction), value in case["sram"].items():
        got = cost.counts[("sram", operand, direction)][0, 0]
        assert got == pytest.approx(value, rel=EXACT), (operand, direction)
    for operand, value in case["register_writes"].items():
        got = cost.counts[("register", operand, "write")][0, 0]
        assert got == pytest.approx(value, rel=EXACT), operand
    for operand in ("input", "weight"):  # every MAC reads an input and a weight
        assert cost.counts[("register", operand, "read")][0, 0] == MACS * B
    dram = {"input": 144 * B, "weight": 288 * B}
    for operand, value in dram.items():
        assert cost.counts[("dram", operand, "read")][0, 0] == value
    assert cost.counts[("dram", "output", "write")][0, 0] == 128 * B
    assert cost.counts.macs[0, 0] == MACS


def test_depthwise_on_nvdla_keeps_one_pe_busy():
    # a depthwise 3x3 conv has C = K = 1 per group: nvdla unrolls C over the rows and K over
    # the columns, so one PE of the 4 x 8 works and the 16 groups run one after another
    dw = Conv2d(
        name="dw", in_channels=16, out_channels=16, in_h=6, in_w=6, kernel_h=3, kernel_w=3,
        groups=16,
    )  # fmt: skip
    cost = evaluate(design(dataflow="nvdla"), net(dw))
    steps = 16 * 4 * 4 * 3 * 3  # G x OY x OX x FY x FX
    assert cost.layer("compute_cycles")[0, 0] == steps + 2
    cycles = cost.layer("cycles")[0, 0]
    assert cost.layer("utilization")[0, 0] == pytest.approx(steps / (cycles * 32), rel=EXACT)
    assert cost.layer("utilization")[0, 0] < 1 / 32


def test_a_gemm_is_a_one_by_one_conv():
    # 10 tokens x 6 -> 5 on nvdla 4 x 8: C 4 (6 in 2 steps), K 8 (5 in 1), OY 10 in time
    fc = Linear(name="fc", in_features=6, out_features=5, tokens=10)
    t = layer_table(net(fc))
    assert {d: t.loops[d][0] for d in t.loops} == {
        "B": 1, "K": 5, "C": 6, "OX": 1, "OY": 10, "FX": 1, "FY": 1, "G": 1,
    }  # fmt: skip
    sizes = unrolled_sizes(UNROLLINGS["nvdla"], rows=4.0, cols=8.0, loops=t.loops)
    steps = np.prod([v for v in temporal_sizes(sizes, t.loops).values()])
    assert steps == 2 * 10
    cost = evaluate(design(dataflow="nvdla"), net(fc))
    assert cost.layer("compute_cycles")[0, 0] == 20 + 2


def test_the_systolic_entries_ignore_the_register_files():
    # ws / os / is keep SCALE-Sim's PE and its pe_stationary_regs: pe_*_regs change nothing
    many = {"pe_input_regs": 64, "pe_weight_regs": 64, "pe_output_regs": 64}
    for name in AUTO_CHOICES:
        cost = evaluate([design(dataflow=name), design(dataflow=name, **many)], net(CONV))
        assert cost.cycles[0] == cost.cycles[1] and cost.energy_pj[0] == cost.energy_pj[1]
        assert cost.area_mm2[0] == cost.area_mm2[1]


def test_register_files_cost_area_on_the_other_entries():
    small, big = (design(dataflow="rs", pe_weight_regs=w) for w in (1, 224))
    cost = evaluate([small, big], net(CONV))
    assert cost.area_breakdown_mm2["array"][1] > cost.area_breakdown_mm2["array"][0]


# ------------------------------------------------------------------------------------------------
# Shipped designs and the search space


@pytest.mark.parametrize(
    ("name", "dataflow"),
    [("eyeriss", "rs"), ("nvdla_like", "nvdla"), ("edge_tpu_like", "edge_tpu"),
     ("ascend_like", "ascend"), ("tpu_v1", "ws")],
)  # fmt: skip
def test_shipped_designs_use_their_unrolling(name, dataflow):
    assert load_hardware(name).dataflow == dataflow


def test_eyeriss_is_row_stationary_with_its_published_sizes():
    hw = load_hardware("eyeriss")
    assert (hw.pe_rows, hw.pe_cols, hw.precision_bits, hw.technology_nm) == (12, 14, 16, 65)
    assert hw.frequency_mhz == 200
    assert (hw.pe_input_regs, hw.pe_weight_regs, hw.pe_output_regs) == (12, 224, 24)
    assert hw.ifmap_sram_kib + hw.ofmap_sram_kib == 108  # the global buffer


def test_dataflow_is_a_categorical_search_variable():
    base = design()
    space = space_from_spec(base, {"dataflow": ["ws", "os", "nvdla", "rs"], "pe_rows": [4, 8]})
    X = np.array([[i, j] for i in range(4) for j in range(2)])
    designs = space.decode(X)
    assert isinstance(designs, Designs)
    names = [space.accelerator(x).dataflow for x in X]
    assert names == ["ws", "ws", "os", "os", "nvdla", "nvdla", "rs", "rs"]
    cost = evaluate(designs, net(CONV))
    single = evaluate([space.accelerator(x) for x in X], net(CONV))
    np.testing.assert_array_equal(cost.cycles, single.cycles)
    np.testing.assert_array_equal(cost.energy_pj, single.energy_pj)
    assert len(set(cost.cycles.tolist())) > 4  # the unrollings differ


def test_scalesim_validation_refuses_a_non_systolic_design(raises_naming):
    from evodse.validation.core import validate_designs

    with raises_naming("design 3 uses dataflow 'nvdla'", "ws, os, is and auto only"):
        validate_designs([(3, design(dataflow="nvdla"))], [net(CONV)], [], cache_dir="unused")
