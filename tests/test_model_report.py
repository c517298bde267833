"""The ``evodse evaluate --json`` view (model/report.py): every value is the chosen design's."""

from __future__ import annotations

import numpy as np
import pytest

from evodse.hardware import load_hardware
from evodse.model import ENERGY_COMPONENTS, evaluate
from evodse.model.counts import DIRECTIONS, LEVELS, OPERANDS
from evodse.model.report import evaluation_dict
from evodse.workload import Conv2d, Elementwise, Linear, Network

NET = Network(
    name="three",
    ops=(
        Conv2d(
            name="conv", in_channels=8, out_channels=16, in_h=12, in_w=12, kernel_h=3, kernel_w=3
        ),
        Elementwise(name="relu", elements=16 * 10 * 10, inputs=1),
        Linear(name="fc", in_features=1600, out_features=10),
    ),
    batch=2,
)
# two designs that differ in every way the report shows: array, dataflow, buffers, DRAM, clock
HW = (
    load_hardware("edge").replace(dataflow="ws", fusion="none"),
    load_hardware("edge").replace(
        dataflow="auto",
        pe_rows=8,
        pe_cols=32,
        ifmap_sram_kib=16,
        dram_bandwidth_gbps=3.2,
        frequency_mhz=500,
        fusion="ops",
    ),
)


@pytest.fixture(scope="module")
def cost():
    return evaluate(list(HW), NET)


@pytest.mark.parametrize("design", [0, 1])
def test_layers_are_the_designs_own(cost, design):
    report = evaluation_dict(cost, design, name="mine")
    assert report["workload"] == "three" and report["batch"] == 2
    assert report["hardware"] == cost.designs.accelerator(design, name="mine").to_dict()
    layers = report["layers"]
    assert [la["name"] for la in layers] == ["conv", "relu", "fc"]
    assert [la["op"] for la in layers] == ["conv2d", "elementwise", "linear"]
    assert [la["unit"] for la in layers] == ["array", "vector", "array"]
    assert [la["macs"] for la in layers] == [2 * op.macs for op in NET.ops]
    flows = cost.layer("dataflow")[design]
    assert layers[1]["dataflow"] is None
    for i in (0, 2):
        assert layers[i]["dataflow"] == ("ws", "os", "is")[int(flows[i])]
    for key in (
        "compute_cycles",
        "memory_cycles",
        "cycles",
        "latency_s",
        "energy_pj",
        "dram_bytes",
        "utilization",
    ):
        np.testing.assert_array_equal([la[key] for la in layers], cost.layer(key)[design])


@pytest.mark.parametrize("design", [0, 1])
def test_totals_are_the_designs_own_and_sum_the_layers(cost, design):
    total = evaluation_dict(cost, design)["total"]
    layers = evaluation_dict(cost, design)["layers"]
    assert total["macs"] == NET.macs
    for key in ("cycles", "latency_s", "energy_pj", "area_mm2", "utilization", "dram_bytes"):
        assert total[key] == getattr(cost, key)[design], key
    assert total["power_w"] == pytest.approx(total["energy_pj"] * 1e-12 / total["latency_s"])
    assert total["chip_power_w"] == cost.chip_power_w[design]
    assert 0 < total["chip_power_w"] < total["power_w"]
    for key in ("cycles", "energy_pj", "dram_bytes"):
        assert total[key] == pytest.approx(sum(la[key] for la in layers), rel=1e-12), key
    assert list(total["energy_breakdown_pj"]) == list(ENERGY_COMPONENTS)
    assert sum(total["energy_breakdown_pj"].values()) == pytest.approx(total["energy_pj"])
    assert sum(total["area_breakdown_mm2"].values()) == pytest.approx(total["area_mm2"])
    for level in LEVELS:
        for operand in OPERANDS:
            for direction in DIRECTIONS:
                key = (level, operand, direction)
                assert (
                    total["access_bytes"][level][operand][direction]
                    == (cost.total_bytes(key)[design])
                )
    dram = total["access_bytes"]["dram"]
    assert sum(dram[op][d] for op in OPERANDS for d in DIRECTIONS) == pytest.approx(
        total["dram_bytes"]
    )


def test_an_unnamed_design_is_custom(cost):
    assert evaluation_dict(cost, 1)["hardware"]["name"] == "custom"


def test_the_two_designs_differ(cost):
    # guards the two tests above: a report of the wrong design would differ in every total
    a, b = (evaluation_dict(cost, i)["total"] for i in (0, 1))
    for key in ("cycles", "latency_s", "energy_pj", "area_mm2", "utilization", "dram_bytes"):
        assert a[key] != b[key], key


def test_a_design_without_a_name_is_custom():
    from evodse.model import Designs

    assert Designs.from_accelerators(list(HW)).accelerator(1).name == "custom"
