"""Runs a user can trust: implausible hardware is refused with its range, a run without a
feasible design says why (and fails unless allowed), chip-only power beside total power, and
run-directory files as readable as any other file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import yaml

from evodse.cli.main import main
from evodse.experiment import rundir
from evodse.hardware import PLAUSIBLE_RANGES, load_hardware
from evodse.hardware.template import INT_KEYS, plausible_range
from evodse.model import evaluate
from evodse.plots import units
from evodse.search.problem import AcceleratorProblem
from evodse.workload import load_workload

DATA = Path(__file__).parent / "data"
CONFIG = {
    "name": "trust",
    "workloads": [str(DATA / "tiny_cnn.yaml")],
    "base": "edge",
    "space": {"pe_rows": {"pow2": [4, 32]}, "dataflow": ["ws", "os"]},
    "objectives": ["latency", "energy"],
    "algorithm": {"name": "nsga2", "pop_size": 4},
    "termination": {"generations": 2},
    "seeds": [0],
}


def write_config(path: Path, **changes) -> Path:
    path.write_text(yaml.safe_dump({**CONFIG, **changes}, sort_keys=False))
    return path


# -- physical plausibility -----------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(PLAUSIBLE_RANGES))
def test_implausible_values_are_refused_with_the_range(key, hw_dict, raises_naming):
    low, high = PLAUSIBLE_RANGES[key]
    load_hardware({**hw_dict, key: high})  # the bounds themselves are allowed
    load_hardware({**hw_dict, key: low})
    above = high + 1 if key in INT_KEYS else high * 1.5
    with raises_naming(key, f"from {plausible_range(key)}"):
        load_hardware({**hw_dict, key: above})
    if key not in INT_KEYS:  # integer keys start at 1: below it they are not positive
        with raises_naming(key, f"from {plausible_range(key)}"):
            load_hardware({**hw_dict, key: low / 2})


@pytest.mark.parametrize(("key", "value"), [("pe_rows", 10**9), ("weight_sram_kib", 1e12)])
def test_the_issue_examples_are_refused(key, value, write_yaml, hw_dict, capsys):
    path = write_yaml({**hw_dict, key: value}, "hw.yaml")
    assert main(["evaluate", "--hardware", str(path), "--workload", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and key in err and "plausible" in err


def test_shipped_designs_are_plausible():
    for name in ("edge", "eyeriss", "tpu_v1"):
        hw = load_hardware(name).to_dict()
        for key, (low, high) in PLAUSIBLE_RANGES.items():
            assert low <= hw[key] <= high, (name, key)


def test_missing_conv_key_names_the_key(write_yaml, raises_naming):
    layer = {"name": "c", "op": "conv2d", "in_channels": 3, "out_channels": 8, "in_w": 8}
    path = write_yaml({"layers": [{**layer, "kernel": 3}]}, "net.yaml")
    with raises_naming(str(path), "layers[0]", "missing required key 'in_h'", "conv2d"):
        load_workload(str(path))
    path = write_yaml({"layers": [{**layer, "in_h": 8}]}, "net2.yaml")
    with raises_naming("missing required key 'kernel_h' (or 'kernel')"):
        load_workload(str(path))


# -- runs without a feasible design ----------------------------------------------------------


def test_infeasible_run_names_the_binding_constraint(tmp_path, capsys):
    config = write_config(tmp_path / "exp.yaml", constraints=["area_mm2 <= 0.01"])
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"evodse: error: {out}: ")
    assert "'area_mm2 <= 0.01' binds" in err and "no design meets it" in err
    summary = json.loads((out / rundir.SUMMARY).read_text())
    assert summary["feasible_evaluations"] == 0  # the results are written all the same
    areas = np.loadtxt(out / rundir.EVALUATIONS, delimiter=",", skiprows=1, usecols=_col(out))
    nearest = f"has area_mm2 = {areas.min():.4g}, {areas.min() / 0.01:.3g}x the bound"
    assert nearest in err

    assert main(["run", str(config), "--out", str(out), "--quiet", "--overwrite"]) == 1
    capsys.readouterr()
    flag = ["--overwrite", "--allow-infeasible"]
    assert main(["run", str(config), "--out", str(out), "--quiet", *flag]) == 0
    assert capsys.readouterr().err.startswith(f"evodse: warning: {out}: no feasible design")
    allowed = write_config(
        tmp_path / "allowed.yaml", constraints=["area_mm2 <= 0.01"], allow_infeasible=True
    )
    assert main(["run", str(allowed), "--out", str(tmp_path / "r2"), "--quiet"]) == 0
    assert "allow_infeasible" not in (tmp_path / "r2" / rundir.CONFIG).read_text()


def _col(out: Path) -> int:
    header = (out / rundir.EVALUATIONS).read_text().splitlines()[0].split(",")
    return header.index("area_mm2")


def test_constraints_met_only_apart(tmp_path, capsys):
    """Each constraint is met by some design, never all at once."""
    config = write_config(tmp_path / "exp.yaml", constraints=["pe_rows >= 32", "pe_rows <= 4"])
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "binds (met by" in err and "never together" in err
    assert "the design nearest to feasible, design" in err and "misses" in err


def test_feasible_run_says_nothing(tmp_path, capsys):
    config = write_config(tmp_path / "exp.yaml", constraints=["area_mm2 <= 100"])
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert "feasible" not in capsys.readouterr().err


def test_allow_infeasible_must_be_a_boolean(tmp_path, capsys):
    config = write_config(tmp_path / "exp.yaml", allow_infeasible="yes")
    assert main(["run", str(config), "--out", str(tmp_path / "run")]) == 2
    assert "allow_infeasible" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_infeasible_sweep_exits_1(tmp_path, capsys):
    write_config(tmp_path / "exp.yaml", constraints=["area_mm2 <= 0.01"])
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"experiment": "exp.yaml", "grid": {"seeds": [0, 1]}}))
    out = ["--out", str(tmp_path / "sweep"), "--quiet"]
    assert main(["sweep", str(grid), *out]) == 1
    err = capsys.readouterr().err
    assert err.count("evodse: error: ") == 2 and "'area_mm2 <= 0.01' binds" in err
    assert main(["sweep", str(grid), *out, "--allow-infeasible"]) == 0
    assert capsys.readouterr().err.count("evodse: warning: ") == 2


# -- chip-only power -------------------------------------------------------------------------


def test_chip_power_leaves_out_dram_transfers():
    cost = evaluate(load_hardware("edge"), load_workload("resnet18"))
    onchip = cost.energy_pj - cost.energy_breakdown_pj["dram"]
    np.testing.assert_allclose(cost.chip_power_w, onchip * 1e-12 / cost.latency_s, rtol=1e-12)
    assert (cost.chip_power_w > 0).all() and (cost.chip_power_w < cost.power_w).all()
    assert units.label("chip_power_w", [2.5]) == "chip power (W)"
    assert units.label("chip_power_w@resnet18", [0.002]) == "chip power, resnet18 (mW)"


def test_chip_power_is_an_objective_and_a_constraint():
    problem = AcceleratorProblem(
        workloads=["resnet18", "mobilenet_v2"],
        space={"pe_rows": [8, 16]},
        objectives=["latency", "chip_power"],
        constraints=["chip_power_w[resnet18] <= 100"],
    )
    assert problem.objective_columns == ["latency_s_geomean", "chip_power_w_geomean"]
    ev = problem.evaluate_designs(np.asarray([[0], [1]]))
    assert {"resnet18.chip_power_w", "mobilenet_v2.chip_power_w"} <= set(ev.metrics)
    geomean = np.sqrt(ev.metrics["resnet18.chip_power_w"] * ev.metrics["mobilenet_v2.chip_power_w"])
    np.testing.assert_allclose(ev.objectives[:, 1], geomean, rtol=1e-12)


def test_evaluate_json_has_chip_power(capsys):
    assert main(["evaluate", "--hardware", "edge", "--workload", "resnet18", "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert 0 < total["chip_power_w"] < total["power_w"]


# -- file permissions ------------------------------------------------------------------------


def test_run_files_get_the_usual_permissions(tmp_path, capsys):
    """Run-directory files and reports are created like any file (0666 less the umask, not
    mkstemp's 0600); a file replaced keeps its permissions."""
    config = write_config(tmp_path / "exp.yaml")
    out = tmp_path / "run"
    old = os.umask(0o022)
    try:
        assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
        assert main(["report", str(out), "--only", "pareto"]) == 0
        for path in out.iterdir():
            if path.is_file():
                assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
        (out / rundir.SUMMARY).chmod(0o640)
        rundir.write_atomic(out / rundir.SUMMARY, "{}\n")
        assert stat.S_IMODE((out / rundir.SUMMARY).stat().st_mode) == 0o640
    finally:
        os.umask(old)
    capsys.readouterr()
