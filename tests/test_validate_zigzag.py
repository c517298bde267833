"""``evodse validate --backend zigzag`` and ``refine: {backend: zigzag}``.

The fast tests replace ZigZag's run (``zigzag_backend.simulate``) with a deterministic stand-in
and check the contract: file names, what the CSVs and summary hold and how they relate, the
cache, the one-line errors. One slow test runs ZigZag 3.9.1 itself on a tiny front. The last
test keeps the SCALE-Sim artifact's numbers in docs/validation.md equal to the committed
measurement (tools/scalesim_ws_flip.py).
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import kendalltau

import evodse
from evodse.cli.main import main
from evodse.errors import InputError
from evodse.validation import spec as spec_module
from evodse.validation import zigzag_backend
from evodse.validation.spec import parse_refine

HAS_ZIGZAG = importlib.util.find_spec("zigzag") is not None
ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "name": "tiny",
    "layers": [
        {
            "name": "conv1",
            "op": "conv2d",
            "in_channels": 4,
            "out_channels": 8,
            "in_h": 8,
            "in_w": 8,
            "kernel": 3,
            "padding": 1,
        },
        {
            "name": "pool",
            "op": "pool",
            "channels": 8,
            "in_h": 8,
            "in_w": 8,
            "kernel": 2,
            "stride": 2,
        },
        {"name": "fc", "op": "linear", "in_features": 128, "out_features": 16},
    ],
}


def config(workload: Path, **extra) -> dict:
    return {
        "name": "tiny_zigzag",
        "workloads": [str(workload)],
        "base": "edge",
        "space": {
            "pe_rows": [8, 16],
            "pe_cols": [8, 16],
            "dataflow": ["ws", "os"],
            "ifmap_sram_kib": [1, 4],
            "dram_bandwidth_gbps": [0.8, 6.4],
        },
        "objectives": ["latency", "energy", "area"],
        "algorithm": {"name": "nsga2", "pop_size": 6},
        "termination": {"generations": 3},
        "seeds": [0],
        **extra,
    }


def fake_simulate(design, prices, layer):
    """A stand-in for ZigZag: slower and costlier on wider arrays (so rankings can move)."""
    pes = design["rows"] * design["cols"]
    cycles = layer.macs * pes / 4096  # the model: about MACs / PEs
    return {
        "latency_cycles": float(cycles),
        "ideal_cycles": float(layer.macs / pes),
        "energy_pj": float(layer.macs * prices["mac_pj"] * (1 + pes / 128)),
        "mac_energy_pj": float(layer.macs * prices["mac_pj"]),
        "memory_energy_pj": float(layer.macs * prices["mac_pj"] * pes / 128),
        "macs": layer.macs,
        "spatial_utilization": 1.0,
        "sim_seconds": 0.0,
        "zigzag_version": "fake",
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("zz")
    workload = root / "tiny.yaml"
    workload.write_text(yaml.safe_dump(TINY, sort_keys=False))
    result = evodse.run(config(workload), out=root / "run")
    assert len(result.designs) >= 2
    return root / "run"


@pytest.fixture()
def fake(monkeypatch):
    real = importlib.util.find_spec  # the stand-in needs no ZigZag installed
    monkeypatch.setattr(
        spec_module.importlib.util,
        "find_spec",
        lambda name, *a: object() if name in ("zigzag", "scalesim") else real(name, *a),
    )
    monkeypatch.setattr(zigzag_backend, "simulate", fake_simulate)


def test_validate_zigzag_writes_its_own_files(tiny_run, fake, tmp_path, capsys):
    run = tmp_path / "run"
    import shutil

    shutil.copytree(tiny_run, run)
    argv = ["validate", str(run), "--backend", "zigzag", "--jobs", "1", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Kendall tau latency" in out and "validation_zigzag.csv" in out
    files = {"validation_zigzag.csv", "validation_zigzag_layers.csv"}
    files.add("validation_zigzag_summary.json")
    assert files <= {p.name for p in run.iterdir()}
    assert not (run / "validation.csv").exists()  # the SCALE-Sim files are not touched
    summary = json.loads((run / "validation_zigzag_summary.json").read_text())
    layers = read_csv(run / "validation_zigzag_layers.csv")
    designs = read_csv(run / "validation_zigzag.csv")
    assert summary["backend"] == "zigzag"
    assert summary["files"] == [
        "validation_zigzag.csv",
        "validation_zigzag_layers.csv",
        "validation_zigzag_summary.json",
    ]
    # per layer: ZigZag's numbers times repeat; pool keeps the model's
    for r in layers:
        if r["layer"] == "pool":
            assert r["simulated"] == "0" and "vector unit" in r["note"]
        else:
            assert r["simulated"] == "1" and float(r["zigzag_cycles"]) > 0
    # per design: totals are the layer sums (non-run layers at the model's numbers)
    for d in designs:
        mine = [r for r in layers if r["design_id"] == d["design_id"]]
        zz = sum(float(r["zigzag_cycles"] or r["model_cycles"]) for r in mine)
        assert float(d["zigzag_cycles"]) == pytest.approx(zz)
        ze = sum(float(r["zigzag_energy_pj"] or r["model_energy_pj"]) for r in mine)
        assert float(d["zigzag_energy_pj"]) == pytest.approx(ze)
        err = (float(d["model_gemm_cycles"]) - float(d["zigzag_gemm_cycles"])) / float(
            d["zigzag_gemm_cycles"]
        )
        assert float(d["gemm_cycles_error"]) == pytest.approx(err)
    # tau and ranking follow from the per-design objective values
    per = summary["per_design"]
    for metric, column in (("latency", "latency_s"), ("energy", "energy_pj")):
        model = [p["model"][column] for p in per]
        ref = [p["zigzag"][column] for p in per]
        expected = kendalltau(model, ref).statistic
        assert summary["kendall_tau"][metric] == pytest.approx(expected)
    latency = {p["id"]: p["zigzag"]["latency_s"] for p in per}
    assert summary["ranking"]["zigzag"] == sorted(latency, key=lambda i: (latency[i],))
    front = summary["front"]
    assert set(front["leave_front"]) == set(front["model"]) - set(front["zigzag"])
    assert set(front["join_front"]) == set(front["zigzag"]) - set(front["model"])
    # the stand-in makes wide arrays slower than the model says: the order moves
    assert summary["kendall_tau"]["latency"] < 1


def test_second_call_is_served_from_the_cache(tiny_run, fake, tmp_path, monkeypatch):
    from evodse.validation import validate_run

    first = validate_run(tiny_run, backend="zigzag", jobs=1, progress=False)
    assert first.summary["simulations"]["failed"] == 0

    def boom(*args, **kwargs):
        raise AssertionError("ZigZag must not run: every layer is cached")

    monkeypatch.setattr(zigzag_backend, "simulate", boom)
    again = validate_run(tiny_run, backend="zigzag", jobs=1, progress=False)
    sims = again.summary["simulations"]
    assert sims["simulated"] == 0 and sims["cached"] == sims["distinct_runs"] > 0
    assert again.design_rows == first.design_rows


def test_zigzag_flags_and_missing_extra(tiny_run, monkeypatch, capsys):
    base = ["validate", str(tiny_run), "--backend", "zigzag"]
    for flag in (["--max-cycles", "5"], ["--no-max-cycles"]):
        assert main([*base, *flag]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and flag[0] in err and "scalesim only" in err
    real = importlib.util.find_spec
    monkeypatch.setattr(
        spec_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "zigzag" else real(name, *a),
    )
    assert main(base) == 2
    assert "pip install 'evodse[zigzag]'" in capsys.readouterr().err
    with pytest.raises(InputError, match=r"evodse\[zigzag\]"):
        parse_refine({"backend": "zigzag"}, source="exp.yaml")


def test_refine_key_accepts_zigzag(fake):
    spec = parse_refine({"backend": "zigzag", "top": 2}, source="exp.yaml")
    assert spec.backend == "zigzag" and spec.max_cycles is None and spec.top == 2
    with pytest.raises(InputError, match=r"refine\.max_cycles"):
        parse_refine({"backend": "zigzag", "max_cycles": 10}, source="exp.yaml")
    assert parse_refine("zigzag", source="exp.yaml").backend == "zigzag"


def test_refine_runs_zigzag_after_the_search(tiny_run, fake, tmp_path):
    workload = tiny_run.parent / "tiny.yaml"
    cfg = config(workload, refine={"backend": "zigzag", "top": 2, "jobs": 1})
    evodse.run(cfg, out=tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "validation_zigzag_summary.json").read_text())
    assert summary["refine"]["backend"] == "zigzag" and len(summary["designs"]) <= 2
    assert not (tmp_path / "run" / "validation_summary.json").exists()


def test_refine_run_backend_keyword_overrides_the_spec(tiny_run, fake, tmp_path, monkeypatch):
    """``refine_run(..., backend="zigzag")`` runs ZigZag whatever the spec's backend (the
    executors pass the backend as a keyword)."""
    from evodse.experiment import runner
    from evodse.validation import run as run_module

    original = run_module.refine_run
    calls = []

    def with_zigzag(out_dir, state, spec, **kwargs):
        calls.append(spec.backend)
        return original(out_dir, state, spec, **kwargs, backend="zigzag")

    monkeypatch.setattr(runner, "refine_run", with_zigzag)  # the run engine's refine step
    workload = tiny_run.parent / "tiny.yaml"
    cfg = config(workload, refine={"backend": "scalesim", "top": 2, "jobs": 1, "by": "energy"})
    evodse.run(cfg, out=tmp_path / "run")
    assert calls == ["scalesim"]
    summary = json.loads((tmp_path / "run" / "validation_zigzag_summary.json").read_text())
    assert summary["refine"]["backend"] == "zigzag" and summary["refine"]["by"] == "energy"
    assert summary["refine"]["top"] == 2 and summary["refine"]["max_cycles"] is None


# ---------------------------------------------------------------------------------------------
# live ZigZag


@pytest.mark.slow
@pytest.mark.skipif(not HAS_ZIGZAG, reason="zigzag-dse not installed")
def test_live_zigzag_validation(tiny_run, tmp_path):
    import shutil

    from evodse.validation import validate_run

    run = tmp_path / "run"  # without any cache a stand-in of the fast tests may have filled
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("validation_cache"))
    v = validate_run(run, backend="zigzag", top=2, jobs=2, progress=False)
    sims = v.summary["simulations"]
    assert sims["simulated"] > 0 and sims["failed"] == 0
    assert v.summary["zigzag_version"] == "3.9.1"
    for r in v.layer_rows:
        if r["simulated"]:
            # ZigZag's latency covers at least its ideal cycles; energy at least the MACs
            assert r["zigzag_cycles"] >= r["zigzag_ideal_cycles"] > 0
            assert r["zigzag_energy_pj"] > r["zigzag_mac_energy_pj"] > 0
    assert -1 <= (v.summary["kendall_tau"]["latency"] or 0) <= 1


# ---------------------------------------------------------------------------------------------
# docs/validation.md: the SCALE-Sim artifact measurement


def _flip_tool():
    path = ROOT / "tools" / "scalesim_ws_flip.py"
    spec = importlib.util.spec_from_file_location("scalesim_ws_flip", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_artifact_block_is_generated_from_the_measurement():
    tool = _flip_tool()
    data = json.loads(tool.OUT.read_text())
    doc = (ROOT / "docs" / "validation.md").read_text()
    assert tool.docs_block(data) in doc
    for row in data["layers"]:
        shipped, patched = row["scalesim_shipped"], row["scalesim_without_flip"]
        assert shipped["compute_cycles"] == patched["compute_cycles"]  # the flip only reorders
        assert patched["stall_cycles"] < shipped["stall_cycles"]
    ratios = [r["shipped_over_patched"] for r in data["layers"]]
    assert np.isfinite(ratios).all()
    # the prose quotes the extremes and the model's distance from the patched SCALE-Sim
    assert f"{min(ratios):.1f}x" in doc and f"{max(ratios):.1f}x" in doc
    last = data["layers"][-1]
    patched = last["scalesim_without_flip"]["total_cycles"]
    assert f"{(last['model_cycles'] - patched) / patched:.1%}" in doc


# ---------------------------------------------------------------------------------------------
# docs/validation.md: the measured quickstart front against ZigZag

QUICKSTART = ROOT / "docs" / "data" / "validation_zigzag_quickstart.json"


def quickstart_block(data: dict) -> str:
    """The measured section's table and figures, from the stored summary and CSV rows."""
    s = data["summary"]
    rows = {int(r["design_id"]): r for r in data["designs"]}
    lines = [
        "| id | array, dataflow | SRAM KiB (ifmap/weight/ofmap) | GB/s | latency model / ZigZag "
        "(ms) | energy model / ZigZag (mJ) | rank by latency model / ZigZag | on front "
        "model / ZigZag |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for p in s["per_design"]:
        h, r = p["hardware"], rows[p["id"]]
        lines.append(
            f"| {p['id']} | {h['pe_rows']}x{h['pe_cols']} {h['dataflow']} | "
            f"{h['ifmap_sram_kib']:g}/{h['weight_sram_kib']:g}/{h['ofmap_sram_kib']:g} | "
            f"{h['dram_bandwidth_gbps']:g} | {p['model']['latency_s'] * 1e3:.3f} / "
            f"{p['zigzag']['latency_s'] * 1e3:.3f} | {p['model']['energy_pj'] * 1e-9:.3f} / "
            f"{p['zigzag']['energy_pj'] * 1e-9:.3f} | {p['model_rank']} / {p['zigzag_rank']} | "
            f"{'yes' if p['on_model_front'] else 'no'} / "
            f"{'yes' if p['on_zigzag_front'] else 'no'} |"
        )
        assert int(r["gemm_layers"]) == int(r["simulated_layers"])
    e, tau, front, sims = s["error"], s["kendall_tau"], s["front"], s["simulations"]
    first = data["first_call"]

    def pct(x):
        return f"{x:.1%}"

    first_row = rows[s["designs"][0]]
    gemm, vector = (
        int(first_row["gemm_layers"]),
        int(first_row["layers"]) - int(first_row["gemm_layers"]),
    )
    ratio = [
        float(r["zigzag_gemm_energy_pj"]) / float(r["model_gemm_energy_pj"]) for r in rows.values()
    ]
    lines += [
        "",
        f"* Per design, {gemm} GEMM layers from ZigZag and {vector} vector-unit layers at the "
        "model's numbers; ZigZag's dynamic energy of the GEMM layers is "
        f"{min(ratio):.1f}-{max(ratio):.1f}x the model's.",
        f"* Kendall tau over the {len(s['designs'])} designs: latency **{tau['latency']:.3f}**, "
        f"energy **{tau['energy']:.3f}**.",
        f"* Leave the front under ZigZag: {front['leave_front'] or 'none'}; join it: "
        f"{front['join_front'] or 'none'}.",
        f"* |error| of each design's {gemm} GEMM layers "
        f"together (model vs ZigZag): cycles median {pct(e['gemm_cycles']['median_abs'])}, max "
        f"{pct(e['gemm_cycles']['max_abs'])}; dynamic energy median "
        f"{pct(e['gemm_energy']['median_abs'])}, max {pct(e['gemm_energy']['max_abs'])}.",
        f"* Cost: {first['runs']} distinct ZigZag runs ({first['cached']} cached), "
        f"{first['zigzag_seconds']:,.0f} s of ZigZag time (median {first['median_run_seconds']}"
        f" s, longest {first['max_run_seconds']} s per run), {first['wall_seconds']:,} s wall "
        f"with {s['settings']['jobs']} processes on 2 cores shared with other jobs; a second "
        f"call found all {sims['cached']} in the cache.",
    ]
    return "\n".join(lines)


def test_docs_quickstart_block_is_generated_from_the_measurement():
    data = json.loads(QUICKSTART.read_text())
    doc = (ROOT / "docs" / "validation.md").read_text()
    assert quickstart_block(data) in doc


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_pool_reports_every_call_and_its_error(jobs):
    import math

    from evodse.validation.pool import run_pool

    seen = {}

    def done(index, result, error):
        seen[index] = (result, error)

    run_pool(math.sqrt, [(4.0,), (-1.0,), (9.0,)], jobs=jobs, done=done)
    assert seen[0] == (2.0, None) and seen[2] == (3.0, None)
    assert seen[1][0] is None and isinstance(seen[1][1], ValueError)
