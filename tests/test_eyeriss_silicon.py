"""Eyeriss's measured tables (JSSC 2017) beside evodse: data, workloads and docs/eyeriss.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from evodse.hardware import load_hardware
from evodse.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("eyeriss_table", ROOT / "tools/eyeriss_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
DATA = TOOL.load_data()
NETWORKS = tuple(DATA["networks"])


@pytest.mark.parametrize("key", NETWORKS)
def test_workload_macs_equal_the_tables_per_layer(key):
    spec = DATA["networks"][key]
    net = load_workload(str(ROOT / spec["workload"]))
    assert net.batch == spec["batch"]
    assert [op.name for op in net.ops] == list(spec["layers"])
    for op in net.ops:
        # the table gives billions of MACs to two decimals
        assert round(op.macs * net.batch / 1e9, 2) == spec["layers"][op.name]["macs_g"], op.name
    assert round(net.macs / 1e9, 2) == spec["total"]["macs_g"]


@pytest.mark.parametrize("key", NETWORKS)
def test_table_columns_add_up_to_the_totals(key):
    spec = DATA["networks"][key]
    mismatched = {column for column, _, _ in TOOL.sum_mismatches(spec)}
    # as published: Table V's processing latencies (103.0 vs 103.5 ms), Table VI's global-buffer
    # accesses (11034.7 vs 11035.8 MB); everything else adds up within rounding
    assert mismatched == {"alexnet": {"processing_latency_ms"}, "vgg16": {"glb_mb"}}[key]
    # the abstract: 0.0029 (AlexNet) and 0.0035 (VGG-16) DRAM accesses of 16 bits per MAC
    accesses_per_mac = spec["total"]["dram_mb"] * 1e6 / 2 / (spec["total"]["macs_g"] * 1e9)
    assert round(accesses_per_mac, 4) == {"alexnet": 0.0029, "vgg16": 0.0035}[key]


def test_corrections_restore_the_column_sums():
    vgg = DATA["networks"]["vgg16"]
    for fix in vgg["corrections"]:
        column = fix["column"]
        assert vgg["layers"][fix["layer"]][column] == fix["used"]
        others = sum(v[column] for name, v in vgg["layers"].items() if name != fix["layer"])
        assert others + fix["used"] == pytest.approx(vgg["total"][column], abs=0.2)
        assert others + fix["transcribed"] != pytest.approx(vgg["total"][column], abs=1.0)


def test_rlc_factor_follows_the_word_format():
    # 64-bit words of three 21-bit pairs: 21.33 bits per nonzero against 16 raw bits
    assert TOOL.rlc_factor(0.0, DATA) == 1.0  # dense maps go raw
    assert TOOL.rlc_factor(0.5, DATA) == pytest.approx(64 / 3 * 0.5 / 16)
    assert TOOL.rlc_factor(0.9, DATA) < TOOL.rlc_factor(0.5, DATA)


def test_every_layer_of_the_page_is_compared():
    rows = TOOL.compare("eyeriss", "alexnet", DATA)
    assert [r.name for r in rows] == list(DATA["networks"]["alexnet"]["layers"])
    for r in rows:
        assert r.processing_ms > 0 and r.total_ms >= r.processing_ms * 0.999
        assert r.rlc_dram_bytes <= sum(r.dram_bytes.values())
        # every operand is moved at least once
        for operand, moved in r.dram_bytes.items():
            assert moved >= 0.999 * r.tensor_bytes[operand], (r.name, operand)


@pytest.mark.parametrize("key", NETWORKS)
def test_measured_traffic_is_above_the_compressed_minimum(key):
    # what docs/eyeriss.md says: every layer moves at least its tensors once, RLC-compressed
    for r in TOOL.compare("eyeriss", key, DATA):
        assert r.tensor_rlc_bytes / DATA["conditions"]["mb_bytes"] <= r.measured["dram_mb"], r.name


def test_doc_is_current():
    doc = ROOT / "docs" / "eyeriss.md"
    assert doc.read_text(encoding="utf-8") == TOOL.page("eyeriss"), (
        "docs/eyeriss.md is stale: run python tools/eyeriss_table.py"
    )


@pytest.mark.parametrize("key", NETWORKS)
def test_buffer_what_ifs_only_take_capacity_away(key):
    """Each what-if sets one of the design's buffer keys back to the template's default: a fixed
    split (the design's own split is one the shared buffer tries), 32-bit partial sums (a
    smaller partial-sum tile), ping-pong halves (smaller tiles): DRAM traffic never falls, nor
    does any layer move less than its tensors once."""
    hw = load_hardware("eyeriss")
    assert (hw.act_sram, hw.accumulator_bits, hw.sram_buffering) == ("shared", 16, "single")
    for r in TOOL.compare("eyeriss", key, DATA):
        as_designed = sum(r.dram_bytes.values())
        assert as_designed >= 0.999 * sum(r.tensor_bytes.values()), r.name
        for name, variant in r.what_ifs.items():
            assert variant.raw_bytes >= as_designed * (1 - 1e-12), (r.name, name)
            assert variant.rlc_bytes <= variant.raw_bytes
        # double-buffered, DRAM transfers overlap compute: never slower than single-buffered
        # with the same traffic; here the traffic is larger, so only the overlap is checked
        assert r.what_ifs["double"].total_ms >= r.processing_ms * 0.999, r.name
