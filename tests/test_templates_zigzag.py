"""evodse's matched designs against ZigZag 3.9.1's shipped accelerators (issue 20, item 3).

Goldens: ``tests/golden/zigzag_templates/<accelerator>.json`` (``regen_zigzag_templates.py``);
matched designs: ``docs/data/zigzag_matched/``; page: ``docs/templates_validation.md``
(``tools/templates_zigzag_table.py``). The latency tolerance applies to every matched design
whose unrolling is the reference mapping's, as soon as the installed evodse has its dataflow.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from pathlib import Path

import pytest
import yaml

from evodse.hardware import load_hardware
from evodse.hardware.template import DATAFLOWS

ROOT = Path(__file__).resolve().parents[1]
REGEN = ROOT / "tests" / "golden" / "regen_zigzag_templates.py"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


TOOL = _load("templates_zigzag_table", ROOT / "tools" / "templates_zigzag_table.py")
GOLDENS = {name: TOOL.load_golden(name) for name in TOOL.ACCELERATORS}
LAYER_NAMES = [record["layer_name"] for record in GOLDENS["tpu_like"]["layers"]]
MATCH_IDS = [match.design for match in TOOL.MATCHES]


def _hardware(golden: dict) -> dict:
    return yaml.safe_load(golden["inputs"]["hardware_file"]["text"])


def test_goldens_cover_every_accelerator_on_the_same_ten_layers():
    assert len(LAYER_NAMES) >= 10
    for golden in GOLDENS.values():
        assert [r["layer_name"] for r in golden["layers"]] == LAYER_NAMES
    kinds = {r["layer_name"]: r["layer"] for r in GOLDENS["tpu_like"]["layers"]}
    assert any(layer["groups"] > 1 for layer in kinds.values())  # depthwise
    assert any(layer["kernel"] >= 7 for layer in kinds.values())  # a first layer
    assert {"attention_qkt_128x64x128", "attention_av_128x128x64"} <= set(LAYER_NAMES)
    assert any(name.startswith("bert") for name in LAYER_NAMES)  # a linear layer


@pytest.mark.parametrize("accelerator", TOOL.ACCELERATORS)
def test_golden_is_internally_consistent(accelerator):
    golden = GOLDENS[accelerator]
    text = golden["inputs"]["hardware_file"]["text"]
    assert hashlib.sha256(text.encode()).hexdigest() == golden["inputs"]["hardware_file"]["sha256"]
    array = _hardware(golden)["operational_array"]["sizes"]
    pes = math.prod(array)
    for record in golden["layers"]:
        sizes = record["layer"]["zigzag_loop_sizes"]
        assert math.prod(sizes.values()) == record["layer"]["macs"]
        energy = record["energy"]
        by_level = sum(energy["memory_by_level_pj"].values())
        assert by_level == pytest.approx(energy["memory_pj"], rel=1e-9)
        assert energy["mac_pj"] + energy["memory_pj"] == pytest.approx(energy["total_pj"])
        lat = record["latency"]
        parts = (
            lat["ideal_temporal_cycles"]
            + lat["stall_slack_cycles"]
            + lat["data_onloading_cycles"]
            + lat["data_offloading_cycles"]
            + lat["systolic_drain_cycles"]
        )
        assert lat["total_cycles"] == pytest.approx(parts)
        assert lat["total_cycles"] >= record["layer"]["macs"] / pes
        assert 0 < lat["mac_spatial_utilization"] <= 1
        dram, tensors = record["dram_bytes"], record["tensor_bytes"]
        assert dram["I"]["read_bytes"] >= tensors["I"] * 0.999  # padding is made on chip
        assert dram["W"]["read_bytes"] >= tensors["W"]
        assert dram["O"]["written_bytes"] >= tensors["O"]


@pytest.mark.parametrize("match", TOOL.MATCHES, ids=MATCH_IDS)
def test_matched_design_has_the_references_sizes(match):
    design = TOOL.matched_design(match.design)
    golden = GOLDENS[match.accelerator]
    hardware = _hardware(golden)
    mapping_file = golden["inputs"]["mapping_file"]
    if isinstance(mapping_file, dict):  # a shipped mapping: the PEs its default entry unrolls
        default = next(e for e in yaml.safe_load(mapping_file["text"]) if e["name"] == "default")
        used = math.prod(
            int(u.split(",")[1]) for dims in default["spatial_mapping"].values() for u in dims
        )
    else:
        used = math.prod(hardware["operational_array"]["sizes"])
    assert design["pe_rows"] * design["pe_cols"] == used
    port_bits = hardware["memories"]["dram"]["ports"][0]["bandwidth_max"]
    bytes_per_cycle = design["dram_bandwidth_gbps"] * 1e3 / design["frequency_mhz"]
    assert bytes_per_cycle * 8 == port_bits
    assert design["precision_bits"] == golden["precision_bits"]["I"]
    assert design["fusion"] == "none"


def test_doc_is_current():
    doc = ROOT / "docs" / "templates_validation.md"
    assert doc.read_text(encoding="utf-8") == TOOL.page(), (
        "docs/templates_validation.md is stale: run python tools/templates_zigzag_table.py"
    )


@pytest.mark.parametrize(
    "match", [m for m in TOOL.MATCHES if m.same_unrolling], ids=lambda m: m.design
)
def test_median_latency_within_tolerance(match):
    flow = TOOL.matched_design(match.design)["dataflow"]
    if flow not in DATAFLOWS:
        pytest.skip(f"evodse has no `{flow}` dataflow yet (DATAFLOWS = {DATAFLOWS})")
    load_hardware(TOOL.MATCHED_DIR / f"{match.design}.yaml")
    rows = TOOL.compare(match)
    assert TOOL.median_latency_error(rows) <= TOOL.LATENCY_TOLERANCE, [
        (r.layer, round(r.latency_error, 3)) for r in rows
    ]


def test_ws_exercise_differs_only_where_explained():
    """tpu_like vs ws (different unrollings): the gaps docs/templates_validation.md explains."""
    match = next(m for m in TOOL.MATCHES if m.design == "tpu_like_ws")
    rows = TOOL.compare(match)
    for r in rows:
        for operand in TOOL.OPERANDS:  # every tensor fits the SRAMs: moved once by both
            assert r.evodse_dram_bytes[operand] == pytest.approx(
                r.zigzag_dram_bytes[operand], rel=0.01
            ), (r.layer, operand)
        if r.regime == "idle":  # ZigZag's mapping idles its array, ws does not
            assert r.latency_error < -0.5, r.layer
        elif r.regime == "compute":  # per-fold fill and drain only add cycles
            assert 0 <= r.latency_error <= 0.6, r.layer
        elif r.zigzag_cycles >= r.zigzag_port_cycles:  # both at the DRAM port
            assert abs(r.latency_error) <= 0.05, r.layer


@pytest.mark.slow
def test_live_zigzag_reproduces_a_golden():
    pytest.importorskip("zigzag")
    regen = _load("regen_zigzag_templates", REGEN)
    layer = next(layer for layer in regen.layers() if layer.name == "attention_qkt_128x64x128")
    stored = next(r for r in GOLDENS["tpu_like"]["layers"] if r["layer_name"] == layer.name)
    shipped = regen.file_record("hardware/tpu_like.yaml")
    assert shipped["sha256"] == GOLDENS["tpu_like"]["inputs"]["hardware_file"]["sha256"]
    record = regen.run_layer("tpu_like", layer)
    assert record["latency"]["total_cycles"] == stored["latency"]["total_cycles"]
    assert record["energy"]["total_pj"] == pytest.approx(stored["energy"]["total_pj"], rel=1e-9)
    assert record["dram_bytes"] == stored["dram_bytes"]
