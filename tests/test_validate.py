"""``evodse validate``: re-simulating a run's front with SCALE-Sim (evodse.validation).

The live tests build a tiny run (three small layers, 8..16-wide arrays, population 4, two
generations), validate its front with SCALE-Sim and check that the CSVs hold SCALE-Sim's numbers
(stall-free cycles exactly one per run below the model's, stalls from its memory model) and that
a second call is served from the on-disk cache. They skip when SCALE-Sim is not installed.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import evodse
from evodse.cli.main import main
from evodse.errors import InputError
from evodse.experiment.config import load_experiment
from evodse.export.scalesim_mapping import demand_rows, map_layer, sim_hardware
from evodse.hardware import load_hardware
from evodse.model import evaluate
from evodse.validation import spec as spec_module
from evodse.validation.core import front_mask, kendall_tau
from evodse.validation.spec import EXTRA_MESSAGE, parse_refine
from evodse.workload import Conv2d, Linear, MatMul, Network, Pool2d

HAS_SCALESIM = importlib.util.find_spec("scalesim") is not None
needs_scalesim = pytest.mark.skipif(not HAS_SCALESIM, reason="scalesim not installed")

TINY_WORKLOAD = {
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
        {
            "name": "dw",
            "op": "conv2d",
            "in_channels": 8,
            "out_channels": 8,
            "in_h": 4,
            "in_w": 4,
            "kernel": 3,
            "padding": 1,
            "groups": 8,
        },
        {"name": "fc", "op": "linear", "in_features": 128, "out_features": 16},
    ],
}


def tiny_config(workload: Path, **extra) -> dict:
    return {
        "name": "tiny_validate",
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
        "algorithm": {"name": "nsga2", "pop_size": 4},
        "termination": {"generations": 2},
        "seeds": [0],
        **extra,
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("validate")
    workload = root / "tiny.yaml"
    workload.write_text(yaml.safe_dump(TINY_WORKLOAD, sort_keys=False))
    result = evodse.run(tiny_config(workload), out=root / "run")
    assert len(result.designs) >= 2, "the tiny front should hold several designs"
    return root / "run"


@pytest.fixture(scope="module")
def first_validation(tiny_run):
    if not HAS_SCALESIM:
        pytest.skip("scalesim not installed")
    from evodse.validation import validate_run

    return validate_run(tiny_run, top=3, jobs=2, progress=False)


# ---------------------------------------------------------------------------------------------
# live SCALE-Sim


@needs_scalesim
@pytest.mark.slow
def test_csv_holds_scalesim_numbers(tiny_run, first_validation):
    from evodse.validation.scalesim_backend import simulate

    summary = first_validation.summary
    assert summary["simulations"]["simulated"] > 0
    assert summary["simulations"]["cached"] == 0
    designs = read_csv(tiny_run / "validation.csv")
    layers = read_csv(tiny_run / "validation_layers.csv")
    assert len(designs) == len(summary["designs"]) <= 3
    simulated = [r for r in layers if r["simulated"] == "1"]
    assert {r["layer"] for r in simulated} == {"conv1", "dw", "fc"}
    for r in simulated:
        # SCALE-Sim's stall-free count is its 0-based last-cycle index: one below the model's
        # compute cycles per simulated run (the depthwise layer is 8 runs of one group)
        repeat = int(r["repeat"])
        assert repeat == (8 if r["layer"] == "dw" else 1)
        assert int(float(r["model_compute_cycles"])) - int(r["simulator_compute_cycles"]) == repeat
        assert int(r["simulator_cycles"]) == int(r["simulator_compute_cycles"]) + int(
            r["simulator_stall_cycles"]
        )
    pool = [r for r in layers if r["layer"] == "pool"]
    assert all(r["simulated"] == "0" and "vector unit" in r["note"] for r in pool)
    # SCALE-Sim's memory system stalls on these tiny SRAMs / low bandwidths: its totals are not
    # the model's
    assert any(int(r["simulator_stall_cycles"]) > 0 for r in simulated)
    assert any(float(r["simulator_gemm_cycles"]) != float(r["model_gemm_cycles"]) for r in designs)
    for r in designs:
        assert float(r["model_compute_cycles"]) - float(r["simulator_compute_cycles"]) == 10
        vector = sum(float(x["model_cycles"]) for x in pool if x["design_id"] == r["design_id"])
        assert float(r["simulator_cycles"]) == pytest.approx(
            float(r["simulator_gemm_cycles"]) + vector
        )
    # the same run, simulated again right now, gives the number in the CSV
    design_id, acc = first_validation.designs[0]
    row = next(r for r in simulated if r["design_id"] == str(design_id) and r["layer"] == "fc")
    mapping = map_layer(Linear(name="fc", in_features=128, out_features=16), 1)
    live = simulate(sim_hardware(acc, row["dataflow"]), mapping.layer)
    assert live["total_cycles"] == int(row["simulator_cycles"])
    assert live["compute_cycles"] == int(row["simulator_compute_cycles"])

    assert summary["compute_matches_model"] is True
    assert summary["error"]["compute"]["max_abs"] < 0.05
    assert set(summary["front"]) >= {"model", "simulator", "leave_front"}
    assert summary["kendall_tau"]["latency"] is None or -1 <= summary["kendall_tau"]["latency"] <= 1
    assert (tiny_run / "validation.png").stat().st_size > 1000
    assert (
        json.loads((tiny_run / "validation_summary.json").read_text())["designs"]
        == (summary["designs"])
    )


@needs_scalesim
@pytest.mark.slow
def test_second_call_is_served_from_the_cache(tiny_run, first_validation, monkeypatch):
    from evodse.validation import scalesim_backend, validate_run

    before = (tiny_run / "validation.csv").read_text()

    def boom(*args, **kwargs):
        raise AssertionError("the simulator must not run: every layer is cached")

    monkeypatch.setattr(scalesim_backend, "simulate", boom)
    again = validate_run(tiny_run, top=3, jobs=2, progress=False)
    sims = again.summary["simulations"]
    assert sims["simulated"] == 0 and sims["failed"] == 0
    assert (
        sims["cached"]
        == sims["distinct_runs"]
        == first_validation.summary["simulations"]["distinct_runs"]
    )
    assert (tiny_run / "validation.csv").read_text() == before
    assert any((tiny_run / "validation_cache").rglob("*.json"))


@needs_scalesim
@pytest.mark.slow
def test_cli_validate(tiny_run, first_validation, capsys):
    assert main(["validate", str(tiny_run), "--top", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Kendall tau" in out and "cached" in out
    assert main(["validate", str(tiny_run), "--by", "nonsense", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--by" in err


@needs_scalesim
@pytest.mark.slow
def test_refine_key_runs_the_simulator_after_the_search(tiny_run, tmp_path):
    workload = tiny_run.parent / "tiny.yaml"
    cache = tiny_run / "validation_cache"  # shared: most layers are already simulated
    config = tiny_config(
        workload, refine={"backend": "scalesim", "top": 2, "jobs": 1, "cache_dir": str(cache)}
    )
    result = evodse.run(config, out=tmp_path / "run")
    out = tmp_path / "run"
    summary = json.loads((out / "validation_summary.json").read_text())
    assert len(summary["designs"]) == min(2, len(result.designs))
    assert summary["refine"]["top"] == 2
    assert set(summary["ranking"]["simulator"]) == set(summary["designs"])
    assert (out / "validation.csv").exists()
    # existing contracts unchanged: no new key in summary.json or config.yaml
    assert "refine" not in yaml.safe_load((out / "config.yaml").read_text())
    assert not {"refine", "refined"} & set(json.loads((out / "summary.json").read_text()))


# ---------------------------------------------------------------------------------------------
# errors (no simulator needed)


def test_missing_scalesim_names_the_extra(tiny_run, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        spec_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "scalesim" else real(name, *a),
    )
    from evodse.validation import validate_run

    with pytest.raises(InputError) as info:
        validate_run(tiny_run, progress=False)
    assert EXTRA_MESSAGE in str(info.value) and info.value.key == "--backend"
    assert main(["validate", str(tiny_run)]) == 2
    assert "pip install 'evodse[scalesim]'" in capsys.readouterr().err
    with pytest.raises(InputError, match="evodse\\[scalesim\\]"):
        parse_refine({"backend": "scalesim"}, source="exp.yaml")


def test_bad_run_dir_and_backend(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nope") in err and err.count("\n") == 1
    assert main(["validate", str(tmp_path)]) == 2
    assert "config.yaml" in capsys.readouterr().err
    assert main(["validate", str(tmp_path), "--backend", "gem5"]) == 2
    assert "unknown backend" in capsys.readouterr().err


@needs_scalesim
def test_refine_key_is_validated(tmp_path):
    workload = tmp_path / "tiny.yaml"
    workload.write_text(yaml.safe_dump(TINY_WORKLOAD))
    with pytest.raises(InputError, match=r"refine\.top"):
        load_experiment(tiny_config(workload, refine={"backend": "scalesim", "top": 0}))
    with pytest.raises(InputError, match=r"refine\.colour"):
        load_experiment(tiny_config(workload, refine={"backend": "scalesim", "colour": 1}))
    with pytest.raises(InputError, match=r"refine\.by"):
        load_experiment(tiny_config(workload, refine={"backend": "scalesim", "by": "power"}))
    with pytest.raises(InputError, match="unknown backend"):
        load_experiment(tiny_config(workload, refine="timeloop"))
    exp = load_experiment(tiny_config(workload, refine="scalesim"))
    assert exp.refine.backend == "scalesim" and exp.refine.top is None


# ---------------------------------------------------------------------------------------------
# mapping and statistics (no simulator needed)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_mapping_reproduces_the_model_gemm(dataflow):
    """Every mapped run's demand rows (SCALE-Sim's compute cycles + 1) times its repeat equal
    the model's compute cycles, so the simulator sees exactly the model's GEMM."""
    hw = load_hardware("edge").replace(pe_rows=8, pe_cols=16, dataflow=dataflow)
    ops = (
        # stride 2 on an odd extent: SCALE-Sim's ceil mode would add a row; the input is trimmed
        Conv2d(
            name="s2",
            in_channels=3,
            out_channels=16,
            in_h=15,
            in_w=12,
            kernel_h=3,
            kernel_w=3,
            stride_h=2,
            stride_w=2,
            pad_top=1,
            pad_bottom=0,
            pad_left=2,
            pad_right=1,
        ),
        Conv2d(
            name="uneven",
            in_channels=4,
            out_channels=8,
            in_h=9,
            in_w=9,
            kernel_h=3,
            kernel_w=1,
            stride_h=2,
            stride_w=1,
            dilation_h=2,
        ),
        Conv2d(
            name="dw",
            in_channels=8,
            out_channels=8,
            in_h=6,
            in_w=6,
            kernel_h=3,
            kernel_w=3,
            groups=8,
        ),
        Linear(name="fc", in_features=40, out_features=24, tokens=5),
        MatMul(name="qk", m=6, n=6, k=4, count=3),
        Pool2d(name="pool", channels=8, in_h=4, in_w=4, kernel_h=2, kernel_w=2),
    )
    packed = set()
    for batch in (1, 3):
        net = Network(name="n", ops=ops, batch=batch)
        model = evaluate(hw, net).layer("compute_cycles")[0]
        for op, cycles in zip(ops, model, strict=True):
            m = map_layer(op, batch, hw=hw, dataflow=dataflow)
            if op.gemm() is None:
                assert m.layer is None and "not simulated" in m.note
                continue
            rows = demand_rows(sim_hardware(hw, dataflow), m.layer)
            assert m.repeat * rows == cycles, (op.name, batch)
            if "packed" in m.note:  # several groups per fold: one block-diagonal GEMM
                assert m.layer.mode == "gemm"
                packed.add(op.name)
            elif isinstance(op, Conv2d) and batch == 1 and op.name != "uneven":
                assert m.layer.mode == "conv"
            else:
                assert m.layer.mode == "gemm"
    if dataflow == "ws":  # 8 x 16 array: two 4 x 6 heads fit side by side
        assert "qk" in packed


def test_sim_hardware_units():
    hw = load_hardware("edge").replace(
        precision_bits=16, ifmap_sram_kib=64, dram_bandwidth_gbps=12.8, frequency_mhz=800
    )
    sim = sim_hardware(hw, "ws")
    assert sim.ifmap_kb == 32  # 64 KiB of 2-byte elements = 32 Ki one-byte SCALE-Sim words
    assert sim.bandwidth == 8  # 12.8 GB/s / 800 MHz = 16 B/cycle = 8 elements/cycle


def test_kendall_tau_and_front():
    # tau-b by hand: of the 6 pairs of x = [1, 2, 2, 3], y = [1, 3, 2, 2], 3 are concordant,
    # 1 discordant, 1 tied in x only, 1 tied in y only: (3 - 1) / sqrt((3 + 1 + 1) * (3 + 1 + 1))
    assert kendall_tau([1, 2, 2, 3], [1, 3, 2, 2]) == pytest.approx(0.4)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert kendall_tau([1, 2, 3], [5, 5, 5]) is None  # a constant sample has no ranking
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert kendall_tau([1], [1]) is None
    F = np.array([[1, 3], [2, 2], [3, 1], [3, 3]])
    assert front_mask(F).tolist() == [True, True, True, False]
    # among the feasible rows only: [2, 2] infeasible, so [3, 3] is still dominated by [1, 3]
    # ... and [3, 3] joins when the first three are all out
    assert front_mask(F, among=[True, False, True, True]).tolist() == [True, False, True, False]
    assert front_mask(F, among=[False, False, False, True]).tolist() == [False] * 3 + [True]


# ---------------------------------------------------------------------------------------------
# the figure


def _fake_validation(n: int, cycles: float):
    """Design rows and summary shaped like a validation of ``n`` designs, cycles within a
    factor of two of ``cycles`` (less than a decade: log axes with few natural ticks)."""
    from types import SimpleNamespace

    rows = [
        {
            f"{who}_{what}": cycles * (1 + i / n) * (1.1 if who == "simulator" else 1.0)
            for who in ("model", "simulator")
            for what in ("compute_cycles", "gemm_cycles", "cycles")
        }
        for i in range(n)
    ]
    per = [
        {
            "id": 100 + i,
            "model_rank": i + 1,
            "simulator_rank": n - i,
            "on_model_front": i == 0,
            "on_simulator_front": False,
        }
        for i in range(n)
    ]
    summary = {
        "per_design": per,
        "kendall_tau": {"latency": -1.0},
        "ranking": {"objective": "latency_s"},
        "front": {"leave_front": [100]},
    }
    return SimpleNamespace(design_rows=rows, summary=summary)


@pytest.mark.parametrize("n", [3, 40])
def test_validation_figure_labels_its_log_axes_and_keeps_rank_ticks_apart(n):
    from evodse.validation.report import figure

    fig = figure(_fake_validation(n, 2.0e5))
    fig.canvas.draw()
    cycles, ranks = fig.axes
    assert cycles.get_xscale() == cycles.get_yscale() == "log"
    for labels in (cycles.get_xticklabels(), cycles.get_yticklabels()):
        texts = [t.get_text() for t in labels if t.get_text()]
        assert len(texts) >= 3 and all(t.endswith("k") and t[:-1].isdigit() for t in texts)
    for axis, (lo, hi) in ((ranks.xaxis, ranks.get_xlim()), (ranks.yaxis, ranks.get_ylim())):
        shown = [v for v in axis.get_majorticklocs() if lo <= v <= hi]
        assert 2 <= len(shown) <= 8  # a few integer ranks, never one per design
        assert all(float(v).is_integer() for v in shown)
    legend = [t.get_text() for t in ranks.get_legend().get_texts()]
    assert legend == ["design", "on the model's front only"]
    assert len(ranks.texts) == (n if n <= 20 else 0)  # design ids only where they stay legible


@needs_scalesim
def test_max_cycles_bounds_every_simulated_layer(tiny_run, first_validation, tmp_path):
    """``--max-cycles N`` means what docs/validation.md says: a layer is simulated exactly
    when its simulated stall-free cycles (``simulator_compute_cycles``, repeats included)
    are at most N."""
    from evodse.validation import validate_run

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)  # with its cache: nothing is simulated again
    gemm = [r for r in first_validation.layer_rows if r["simulated"]]
    budget = sorted(int(r["simulator_compute_cycles"]) for r in gemm)[len(gemm) // 2]
    v = validate_run(run, top=3, jobs=1, max_cycles=budget, progress=False, figure=False)
    rows = [r for r in read_csv(run / "validation_layers.csv") if r["demand_rows"]]
    simulated = [r for r in rows if r["simulated"] == "1"]
    skipped = [r for r in rows if r["simulated"] == "0"]
    assert simulated and skipped
    assert any(int(r["simulator_compute_cycles"]) == budget for r in simulated)  # inclusive
    for r in simulated:
        assert int(r["simulator_compute_cycles"]) <= budget
        assert (int(r["demand_rows"]) - 1) * int(r["repeat"]) == int(r["simulator_compute_cycles"])
    for r in skipped:
        assert (int(r["demand_rows"]) - 1) * int(r["repeat"]) > budget
        assert "max_cycles" in r["note"]
    assert v.summary["simulations"]["skipped_layers"] == len(skipped)


@needs_scalesim
def test_report_includes_the_validation(tiny_run, first_validation, tmp_path):
    from evodse.plots.report import write_report

    page = write_report(tiny_run, tmp_path / "report.html", kinds=["pareto"]).read_text()
    assert "Validation with a simulator" in page and "Kendall tau" in page
    assert '<figure id="validation"><img alt="validation" src="data:image/png;base64,' in page
    for design in first_validation.summary["designs"]:
        assert f'<td class="num">{design}</td>' in page
    md = write_report(tiny_run, tmp_path / "sub" / "report.md", kinds=["pareto"])
    link = next(line for line in md.read_text().splitlines() if line.startswith("![validation]"))
    target = (md.parent / link[len("![validation](") : -1]).resolve()
    assert target == (tiny_run / "validation.png").resolve()
    bare = tmp_path / "bare"
    shutil.copytree(tiny_run, bare, ignore=shutil.ignore_patterns("validation*"))
    assert "Validation" not in write_report(bare, kinds=["pareto"]).read_text()
