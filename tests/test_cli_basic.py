"""``evodse evaluate``, ``evodse workload show`` and ``evodse list``: the JSON contracts, the
table output, and bad input as exit status 2 with one line on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evodse.cli.main import main
from evodse.hardware import DATAFLOW_CHOICES, shipped_designs
from evodse.workload.zoo import zoo_names

LAYER_KEYS = {
    "name",
    "op",
    "macs",
    "compute_cycles",
    "memory_cycles",
    "cycles",
    "latency_s",
    "energy_pj",
    "dram_bytes",
    "utilization",
}
TOTAL_KEYS = {"macs", "cycles", "latency_s", "energy_pj", "area_mm2", "utilization"}


def run(capsys, *argv):
    """``main(argv)`` -> (status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *argv):
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    assert err == ""
    return json.loads(out)


def assert_one_line_error(status, out, err, *parts):
    assert status == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("evodse: error: ")
    assert "Traceback" not in err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"


# ------------------------------------------------------------------------------------------------
# evaluate


@pytest.mark.parametrize(
    ("hardware", "workload"),
    [("edge", "tiny_cnn.yaml"), ("tiny_hw.yaml", "tiny_transformer.yaml"), ("eyeriss", "resnet18")],
)
def test_evaluate_json_contract(capsys, data_dir, hardware, workload):
    hw = data_dir / hardware if hardware.endswith(".yaml") else hardware
    wl = data_dir / workload if workload.endswith(".yaml") else workload
    data = run_json(capsys, "evaluate", "--hardware", hw, "--workload", wl)
    assert {"layers", "total"} <= set(data)
    assert data["layers"], "no layers"
    for layer in data["layers"]:
        assert set(layer) >= LAYER_KEYS, LAYER_KEYS - set(layer)
        assert isinstance(layer["name"], str) and isinstance(layer["macs"], int)
    assert set(data["total"]) >= TOTAL_KEYS, TOTAL_KEYS - set(data["total"])
    total = data["total"]
    layers = data["layers"]
    assert total["macs"] == sum(la["macs"] for la in layers)
    assert total["cycles"] == pytest.approx(sum(la["cycles"] for la in layers), rel=1e-12)
    assert total["energy_pj"] == pytest.approx(sum(la["energy_pj"] for la in layers), rel=1e-9)
    assert total["latency_s"] == pytest.approx(sum(la["latency_s"] for la in layers), rel=1e-9)
    assert total["area_mm2"] > 0 and 0 < total["utilization"] <= 1
    dram = total["access_bytes"]["dram"]
    moved = sum(v for operand in dram.values() for v in operand.values())
    assert moved == pytest.approx(total["dram_bytes"], rel=1e-12)
    for layer in layers:
        assert layer["cycles"] >= max(layer["compute_cycles"], layer["memory_cycles"])
        assert 0 <= layer["utilization"] <= 1


def test_evaluate_json_layers_follow_the_workload(capsys, data_dir):
    data = run_json(
        capsys, "evaluate", "--hardware", "edge", "--workload", data_dir / "tiny_cnn.yaml"
    )
    names = [la["name"] for la in data["layers"]]
    assert names == ["conv1", "pool1", "dw2", "pw2", "add2", "gap", "fc", "prob"]
    ops = [la["op"] for la in data["layers"]]
    assert ops == ["conv2d", "pool", "conv2d", "conv2d", "elementwise", "pool", "linear", "softmax"]
    assert data["layers"][0]["macs"] == 16 * 32 * 32 * 27


def test_evaluate_batch_option_scales_macs(capsys, data_dir):
    wl = data_dir / "tiny_cnn.yaml"
    one = run_json(capsys, "evaluate", "--hardware", "edge", "--workload", wl)
    two = run_json(capsys, "evaluate", "--hardware", "edge", "--workload", wl, "--batch", 2)
    assert two["total"]["macs"] == 2 * one["total"]["macs"]


def test_evaluate_table_mentions_every_layer(capsys, data_dir):
    status, out, err = run(
        capsys, "evaluate", "--hardware", "edge", "--workload", data_dir / "tiny_transformer.yaml"
    )
    assert status == 0 and err == ""
    lines = out.splitlines()
    for name in ("ln1", "qkv", "qk", "softmax", "av", "proj", "add1", "fc1", "fc2"):
        assert any(line.split()[:1] == [name] for line in lines), name
    assert "total:" in out


# ------------------------------------------------------------------------------------------------
# workload show, list


def test_workload_show_json(capsys, data_dir):
    data = run_json(capsys, "workload", "show", data_dir / "tiny_cnn.yaml")
    assert [la["name"] for la in data["layers"]][:2] == ["conv1", "pool1"]
    assert data["total"]["macs"] == sum(la["macs"] for la in data["layers"])
    # params by hand: conv1 16*27 + 16 bias, dw2 16*9, pw2 32*16, fc 32*10 + 10 bias
    assert data["total"]["params"] == 16 * 27 + 16 + 16 * 9 + 32 * 16 + 32 * 10 + 10
    assert data["layers"][0]["dims"]["kernel_h"] == 3


def test_workload_show_zoo_and_table(capsys):
    data = run_json(capsys, "workload", "show", "resnet50")
    assert {"layers", "total"} <= set(data)
    assert data["total"]["macs"] > 4e9 and data["total"]["params"] > 2e7
    status, out, _ = run(capsys, "workload", "show", "resnet50", "--batch", 2)
    assert status == 0
    assert "conv1" in out and "fc" in out


def test_list_json(capsys):
    data = run_json(capsys, "list")
    assert data["workloads"] == zoo_names()
    assert data["hardware"] == shipped_designs()
    assert data["dataflows"] == list(DATAFLOW_CHOICES)
    assert "hbm2" in data["dram_types"] and data["fusion"] == ["none", "ops", "on_chip"]


# ------------------------------------------------------------------------------------------------
# Bad input: exit status 2, one line on stderr


def test_missing_hardware_file(capsys, tmp_path):
    missing = tmp_path / "missing.yaml"
    status, out, err = run(capsys, "evaluate", "--hardware", missing, "--workload", "resnet18")
    assert_one_line_error(status, out, err, str(missing), "not found")


def test_bad_hardware_key(capsys, write_yaml, hw_dict):
    hw_dict["pe_rows"] = 0
    path = write_yaml(hw_dict, "bad_hw.yaml")
    status, out, err = run(capsys, "evaluate", "--hardware", path, "--workload", "resnet18")
    assert_one_line_error(status, out, err, str(path), "pe_rows")


def test_unknown_hardware_key(capsys, write_yaml, hw_dict):
    hw_dict["clock_ghz"] = 1
    path = write_yaml(hw_dict, "bad_hw.yaml")
    status, out, err = run(capsys, "evaluate", "--hardware", path, "--workload", "resnet18")
    assert_one_line_error(status, out, err, str(path), "clock_ghz")


def test_unknown_zoo_name(capsys):
    status, out, err = run(capsys, "evaluate", "--hardware", "edge", "--workload", "resnet1000")
    assert_one_line_error(status, out, err, "resnet1000", "workload")
    status, out, err = run(capsys, "workload", "show", "resnet1000")
    assert_one_line_error(status, out, err, "resnet1000")


def test_bad_workload_file(capsys, write_yaml):
    path = write_yaml({"layers": [{"name": "x", "op": "conv3d"}]}, "bad_wl.yaml")
    status, out, err = run(capsys, "evaluate", "--hardware", "edge", "--workload", path)
    assert_one_line_error(status, out, err, str(path), "layers[0]", "conv3d")


@pytest.mark.parametrize("batch", ["0", "-1", "two"])
def test_bad_batch(capsys, batch):
    argv = ["evaluate", "--hardware", "edge", "--workload", "resnet18", "--batch", batch]
    status, out, err = run(capsys, *argv)
    assert_one_line_error(status, out, err, "--batch", batch)


@pytest.mark.parametrize(
    ("argv", "part"),
    [
        (["evaluate", "--workload", "resnet18"], "--hardware"),
        (["evaluate", "--hardware", "edge"], "--workload"),
        (["workload", "show"], "workload"),
        ([], "command"),
        (["frobnicate"], "frobnicate"),
        (["list", "--bogus"], "--bogus"),
    ],
)
def test_bad_command_line(capsys, argv, part):
    status, out, err = run(capsys, *argv)
    assert_one_line_error(status, out, err, part)


def test_real_process_exit_status_and_stderr(tmp_path):
    missing = tmp_path / "missing.yaml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "evodse.cli.main",
            "evaluate",
            "--hardware",
            str(missing),
            "--workload",
            "resnet18",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.endswith("\n"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(missing) in proc.stderr
