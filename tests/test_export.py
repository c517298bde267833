"""``evodse export``: SCALE-Sim, ZigZag and Timeloop/Accelergy input files of one design.

Fast tests check the files against evodse's own numbers (closed-form SCALE-Sim cycles, ZigZag
loop sizes and prices, Timeloop v4 structure) and the command's contract (one-line errors, exit
2, nothing written). The slow tests run the exported files in SCALE-Sim and ZigZag.

The Timeloop checks follow the published v4 format: the key lists of
timeloop-accelergy-exercises ``workspace/timeloop_spec.yaml`` (components, containers,
problem) and the node tree of ``example_designs/eyeriss_like/arch.yaml``.
"""

from __future__ import annotations

import configparser
import csv
import importlib.util
import io
import math
from pathlib import Path

import pytest
import yaml

from evodse.cli.main import main
from evodse.errors import InputError
from evodse.export import export_design
from evodse.export.scalesim_mapping import SimLayer, demand_rows, sim_hardware
from evodse.hardware import accelerator_from_dict
from evodse.model import evaluate
from evodse.workload import Conv2d, Linear, MatMul, Network, Pool2d

HAS_SCALESIM = importlib.util.find_spec("scalesim") is not None
HAS_ZIGZAG = importlib.util.find_spec("zigzag") is not None

HW = {
    "name": "small",
    "pe_rows": 8,
    "pe_cols": 8,
    "dataflow": "ws",
    "ifmap_sram_kib": 16,
    "weight_sram_kib": 16,
    "ofmap_sram_kib": 8,
    "dram_bandwidth_gbps": 6.4,
    "frequency_mhz": 800,
    "precision_bits": 8,
    "vector_lanes": 16,
    "technology_nm": 28,
}

WORKLOAD = {
    "name": "mix",
    "layers": [
        {
            "name": "conv1",
            "op": "conv2d",
            "in_channels": 8,
            "out_channels": 16,
            "in_h": 8,
            "in_w": 8,
            "kernel": 3,
            "padding": 1,
        },
        {
            "name": "pool",
            "op": "pool",
            "channels": 16,
            "in_h": 8,
            "in_w": 8,
            "kernel": 2,
            "stride": 2,
        },
        {
            "name": "dw",
            "op": "conv2d",
            "in_channels": 16,
            "out_channels": 16,
            "in_h": 4,
            "in_w": 4,
            "kernel": 3,
            "padding": 1,
            "groups": 16,
        },
        {"name": "fc", "op": "linear", "in_features": 256, "out_features": 32},
    ],
}


def network() -> Network:
    ops = (
        Conv2d(
            name="conv1",
            in_channels=8,
            out_channels=16,
            in_h=8,
            in_w=8,
            kernel_h=3,
            kernel_w=3,
            pad_top=1,
            pad_bottom=1,
            pad_left=1,
            pad_right=1,
        ),
        Conv2d(  # asymmetric padding, stride 2: pre-padded for SCALE-Sim and ZigZag
            name="s2",
            in_channels=16,
            out_channels=8,
            in_h=9,
            in_w=9,
            kernel_h=3,
            kernel_w=3,
            stride_h=2,
            stride_w=2,
            pad_top=1,
            pad_left=1,
        ),
        Conv2d(  # grouped, not depthwise: one group repeated
            name="grouped",
            in_channels=8,
            out_channels=8,
            in_h=4,
            in_w=4,
            kernel_h=1,
            kernel_w=1,
            groups=2,
        ),
        Pool2d(name="pool", channels=8, in_h=4, in_w=4, kernel_h=2, kernel_w=2),
        Linear(name="fc", in_features=32, out_features=24, tokens=3),
        MatMul(name="qk", m=5, n=5, k=4, count=2),
    )
    return Network(name="mix", ops=ops)


@pytest.fixture()
def hw_file(tmp_path) -> Path:
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(HW))
    return path


@pytest.fixture()
def workload_file(tmp_path) -> Path:
    path = tmp_path / "mix.yaml"
    path.write_text(yaml.safe_dump(WORKLOAD, sort_keys=False))
    return path


def read_layers(folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((folder / "layers.csv").read_text())))


def export(tmp_path: Path, to: str, **changes) -> Path:
    acc = accelerator_from_dict({**HW, **changes})
    out = tmp_path / f"{to}_{acc.dataflow}"
    export_design(acc, network(), to=to, out=out, source="test")
    return out


# ---------------------------------------------------------------------------------------------
# the command


@pytest.mark.parametrize("to", ["scalesim", "zigzag", "timeloop"])
def test_cli_writes_the_files_and_a_readme(tmp_path, hw_file, workload_file, capsys, to):
    out = tmp_path / "out"
    argv = ["export", str(hw_file), "--to", to, "--workload", str(workload_file)]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    readme = (out / "README.md").read_text()
    assert "cannot express" in readme and "## How to run" in readme
    assert "pool" in readme  # the vector layer is named as left out
    rows = read_layers(out)
    assert [r["layer"] for r in rows] == [layer["name"] for layer in WORKLOAD["layers"]]
    for path in out.iterdir():
        assert path.name in printed


def test_cli_exports_a_run_directory_design(tmp_path, workload_file, capsys):
    import evodse

    config = {
        "name": "tiny",
        "workloads": [str(workload_file)],
        "base": "edge",
        "space": {"pe_rows": [8, 16], "pe_cols": [8, 16], "dataflow": ["ws", "os"]},
        "objectives": ["latency", "energy"],
        "algorithm": {"name": "nsga2", "pop_size": 4},
        "termination": {"generations": 2},
        "seeds": [0],
    }
    from evodse.plots.rundata import load_run

    run = tmp_path / "run"
    evodse.run(config, out=run)
    loaded = load_run(run)
    design_id = int(loaded.pareto["id"][-1])
    out = tmp_path / "out"
    argv = ["export", str(run), "--design", str(design_id), "--to", "scalesim"]
    assert main([*argv, "--workload", str(workload_file), "--out", str(out)]) == 0
    cfg = configparser.ConfigParser()
    cfg.read_string((out / "scalesim.cfg").read_text())
    hw = loaded.hardware(design_id)
    assert cfg["architecture_presets"]["ArrayHeight"] == str(int(hw["pe_rows"]))
    assert cfg["architecture_presets"]["Dataflow"] == hw["dataflow"]
    assert f"design_{design_id}" in (out / "README.md").read_text()
    # an id the run does not have: one line naming --design, nothing written
    missing = tmp_path / "missing"
    argv = ["export", str(run), "--design", "99999", "--to", "zigzag"]
    assert main([*argv, "--workload", str(workload_file), "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--design" in err and "99999" in err
    assert not missing.exists()
    # default: the knee point
    knee = tmp_path / "knee"
    argv = ["export", str(run), "--to", "zigzag", "--workload", str(workload_file)]
    assert main([*argv, "--out", str(knee)]) == 0
    assert f"design_{loaded.knee_id}" in (knee / "README.md").read_text()


def _one_line_error(capsys, argv, needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("evodse: error:") and needle in err, err


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, hw_file, workload_file, capsys):
    out = tmp_path / "out"
    base = ["--workload", str(workload_file), "--out", str(out)]
    _one_line_error(capsys, ["export", str(hw_file), "--to", "gem5", *base], "--to")
    _one_line_error(capsys, ["export", str(tmp_path / "nope.yaml"), "--to", "zigzag", *base], "")
    _one_line_error(capsys, ["export", str(tmp_path), "--to", "zigzag", *base], "config.yaml")
    _one_line_error(
        capsys, ["export", str(hw_file), "--design", "3", "--to", "zigzag", *base], "--design"
    )
    bad_workload = ["--workload", "no_such_net", "--out", str(out)]
    _one_line_error(capsys, ["export", str(hw_file), "--to", "zigzag", *bad_workload], "")
    assert not out.exists()
    # a non-empty --out is never touched
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _one_line_error(capsys, ["export", str(hw_file), "--to", "scalesim", *base], "not empty")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    # an empty one is fine
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["export", str(hw_file), "--to", "scalesim", "--workload", str(workload_file)]
    assert main([*argv, "--out", str(empty)]) == 0


@pytest.mark.parametrize("to", ["scalesim", "zigzag", "timeloop"])
def test_auto_dataflow_cannot_be_exported(tmp_path, to):
    acc = accelerator_from_dict({**HW, "dataflow": "auto"})
    out = tmp_path / "out"
    with pytest.raises(InputError, match="dataflow 'auto' cannot be exported") as info:
        export_design(acc, network(), to=to, out=out, source="hw.yaml")
    assert info.value.key == "dataflow"
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# SCALE-Sim


def _topology_rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return [[c.strip() for c in ln.split(",") if c.strip()] for ln in lines[1:]]


def _sim_layer(mode: str, row: list[str]) -> SimLayer:
    values = [int(v) for v in row[1:]]
    if mode == "gemm":
        return SimLayer(mode="gemm", m=values[0], n=values[1], k=values[2])
    keys = ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride")
    return SimLayer(mode="conv", **dict(zip(keys, values, strict=True)))


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_scalesim_files_reproduce_the_model_compute_cycles(tmp_path, dataflow):
    """Every topology row, run ``repeat`` times, needs the model's compute cycles (SCALE-Sim's
    demand rows in closed form); the config holds the design as SCALE-Sim sees it."""
    out = export(tmp_path, "scalesim", dataflow=dataflow)
    acc = accelerator_from_dict({**HW, "dataflow": dataflow})
    hw = sim_hardware(acc, dataflow)
    cfg = configparser.ConfigParser()
    cfg.read_string((out / "scalesim.cfg").read_text())
    arch = cfg["architecture_presets"]
    assert (int(arch["ArrayHeight"]), int(arch["ArrayWidth"])) == (8, 8)
    assert arch["Dataflow"] == dataflow
    assert int(arch["filtersramszkB"]) == hw.filter_kb and int(arch["Bandwidth"]) == hw.bandwidth
    assert cfg["run_presets"]["InterfaceBandwidth"] == "USER"
    rows = {
        (name, row[0]): _sim_layer(mode, row)
        for mode, name in (("conv", "topology.csv"), ("gemm", "topology_gemm.csv"))
        if (out / name).exists()
        for row in _topology_rows((out / name).read_text())
    }
    model = evaluate(acc, network()).layer("compute_cycles")[0]
    checked = 0
    for r, cycles in zip(read_layers(out), model, strict=True):
        if not r["topology"]:
            assert r["op"] == "pool"
            continue
        layer = rows[r["topology"], r["row"]]
        assert (
            int(r["repeat"]) * demand_rows(hw, layer) == cycles == float(r["model_compute_cycles"])
        )
        assert int(r["scalesim_compute_cycles_per_run"]) == demand_rows(hw, layer) - 1
        checked += 1
    assert checked == 5


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SCALESIM, reason="scalesim not installed")
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_exported_scalesim_files_run_in_scalesim(tmp_path, dataflow):
    """SCALE-Sim runs the exported files as written; its stall-free cycles per row, plus its
    one-cycle last-index offset, times the row's repeat, are the model's compute cycles."""
    import contextlib

    from evodse.validation.scalesim_backend import install_shims

    install_shims()
    from scalesim.scale_sim import scalesim

    out = export(tmp_path, "scalesim", dataflow=dataflow)
    measured = {}
    for mode, name in (("conv", "topology.csv"), ("gemm", "topology_gemm.csv")):
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(
                save_disk_space=True,
                verbose=False,
                config=str(out / "scalesim.cfg"),
                topology=str(out / name),
                layout=str(out / "layout.csv"),
                input_type_gemm=mode == "gemm",
            )
            sim.run_scale(top_path=str(tmp_path / f"run_{mode}"))
        report = (tmp_path / f"run_{mode}" / "evodse" / "COMPUTE_REPORT.csv").read_text()
        lines = [ln for ln in report.splitlines() if ln.strip()]
        header = [c.strip() for c in lines[0].split(",")]
        rows = [
            dict(zip(header, [c.strip() for c in ln.split(",")], strict=False)) for ln in lines[1:]
        ]
        names = [row[0] for row in _topology_rows((out / name).read_text())]
        for row_name, row in zip(names, rows, strict=True):
            measured[name, row_name] = int(row["Total Cycles"]) - int(row["Stall Cycles"])
    for r in read_layers(out):
        if r["topology"]:
            compute = measured[r["topology"], r["row"]]
            assert int(r["repeat"]) * (compute + 1) == float(r["model_compute_cycles"]), r


# ---------------------------------------------------------------------------------------------
# ZigZag


def test_zigzag_files_hold_the_design_layers_and_evodse_prices(tmp_path):
    out = export(tmp_path, "zigzag", dataflow="os")
    acc = accelerator_from_dict({**HW, "dataflow": "os"})
    accelerator = yaml.safe_load((out / "accelerator.yaml").read_text())
    workload = yaml.safe_load((out / "workload.yaml").read_text())
    mapping = yaml.safe_load((out / "mapping.yaml").read_text())
    assert accelerator["operational_array"]["sizes"] == [8, 8]
    cost = evaluate(acc, network())
    assert accelerator["operational_array"]["unit_energy"] == pytest.approx(
        float(cost.prices.mac_pj[0, 0])
    )
    sram = accelerator["memories"]["sram_weight"]
    assert sram["size"] == 16 * 1024 * 8
    ports = {p["name"]: p["bandwidth_max"] for p in sram["ports"]}
    per_byte = float(cost.prices.pj_per_byte[("sram", "weight", "read")][0, 0])
    assert sram["r_cost"] == pytest.approx(per_byte * ports["r_port_1"] / 8)
    rows = {r["layer"]: r for r in read_layers(out)}
    by_name = {entry["name"]: entry for entry in workload}
    for op in network().ops:
        r = rows[op.name]
        if op.gemm() is None:
            assert r["zigzag_layer"] == ""
            continue
        entry = by_name[r["zigzag_layer"]]
        macs = math.prod(entry["loop_sizes"])
        assert macs * int(r["repeat"]) == op.macs, op.name
    assert {m["name"] for m in mapping} == set(by_name) | {"default"}


@pytest.mark.slow
@pytest.mark.skipif(not HAS_ZIGZAG, reason="zigzag-dse not installed")
def test_exported_zigzag_files_run_in_zigzag(tmp_path):
    """ZigZag 3.9.1 loads the exported files and maps every layer; where the models agree it
    agrees: the MACs, the MAC energy at evodse's price, and the ideal cycles of a layer that
    fills the array (MACs / PEs, evodse's compute cycles less its per-fold fill)."""
    from zigzag.api import get_hardware_performance_zigzag

    acc = accelerator_from_dict(HW)
    net = Network(
        name="fit",
        ops=(
            Conv2d(
                name="conv",
                in_channels=16,
                out_channels=16,
                in_h=6,
                in_w=6,
                kernel_h=3,
                kernel_w=3,
            ),
            Linear(name="fc", in_features=64, out_features=32, tokens=4),
        ),
    )
    out = tmp_path / "zz"
    export_design(acc, net, to="zigzag", out=out, source="test")
    _, _, cmes = get_hardware_performance_zigzag(
        str(out / "workload.yaml"),
        str(out / "accelerator.yaml"),
        str(out / "mapping.yaml"),
        opt="latency",
        lpf_limit=6,
        dump_folder=str(tmp_path / "zz_out"),
        loma_show_progress_bar=False,
    )
    results = [c[0] for c in cmes[0][1]]
    assert len(results) == 2
    cost = evaluate(acc, net)
    compute = cost.layer("compute_cycles")[0]
    pes = acc.pe_rows * acc.pe_cols
    for op, cme, cycles in zip(net.ops, results, compute, strict=True):
        assert cme.layer.total_mac_count == op.macs
        assert cme.mac_energy == pytest.approx(op.macs * float(cost.prices.mac_pj[0, 0]))
        g = op.gemm()
        folds = math.ceil(g.k / acc.pe_rows) * math.ceil(g.n / acc.pe_cols)
        fill = 2 * acc.pe_rows + acc.pe_cols - 2  # ws: evodse's per-fold fill and drain
        assert cycles - folds * fill == op.macs / pes  # fills the array: C, K divide 8
        assert cme.ideal_cycle == op.macs / pes


# ---------------------------------------------------------------------------------------------
# Timeloop / Accelergy v4

#: Keys timeloop_spec.yaml allows (v4), for the node types written here.
COMPONENT_KEYS = {
    "name",
    "attributes",
    "spatial",
    "constraints",
    "sparse_optimizations",
    "class",
    "subclass",
    "required_actions",
    "area_share",
    "enabled",
}
CONTAINER_KEYS = COMPONENT_KEYS - {"class", "subclass", "required_actions", "area_share"}
CONSTRAINT_KEYS = {"spatial", "temporal", "dataspace", "max_overbooked_proportion"}
PROBLEM_KEYS = {"version", "instance", "shape"}
SHAPE_KEYS = {"name", "dimensions", "data_spaces", "coefficients"}
DATA_SPACE_KEYS = {"name", "projection", "read_write"}


class _Tagged(dict):
    pass


def _loader():
    class Loader(yaml.SafeLoader):
        pass

    for tag in ("Container", "Component", "Parallel"):

        def construct(loader, node, tag=tag):
            value = _Tagged(loader.construct_mapping(node, deep=True))
            value.tag = tag
            return value

        Loader.add_constructor(f"!{tag}", construct)
    return Loader


def _flatten(nodes):
    for node in nodes:
        if node.tag == "Parallel":
            assert set(node) == {"nodes"}
            yield from _flatten(node["nodes"])
        else:
            yield node


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_timeloop_files_follow_the_v4_schema(tmp_path, dataflow):
    out = export(tmp_path, "timeloop", dataflow=dataflow)
    doc = yaml.load((out / "arch.yaml").read_text(), Loader=_loader())
    arch = doc["architecture"]
    assert set(doc) == {"architecture"} and arch["version"] == 0.4
    nodes = list(_flatten(arch["nodes"]))
    mesh = {"meshX": 1, "meshY": 1}
    storage = {}
    for node in nodes:
        assert node.tag in ("Container", "Component")
        allowed = COMPONENT_KEYS if node.tag == "Component" else CONTAINER_KEYS
        assert set(node) <= allowed, node["name"]
        assert set(node.get("constraints", {})) <= CONSTRAINT_KEYS
        for axis, size in node.get("spatial", {}).items():
            mesh[axis] *= size
        if node.tag == "Component" and "depth" in node["attributes"]:
            assert node["attributes"]["datawidth"] > 0  # REQUIRED for storage
            storage[node["name"]] = node
    assert mesh == {"meshX": HW["pe_cols"], "meshY": HW["pe_rows"]}
    assert nodes[-1]["class"] == "intmac"
    kib = storage["weight_sram"]["attributes"]
    assert kib["depth"] * kib["width"] == HW["weight_sram_kib"] * 1024 * 8
    kept = {n: s["constraints"]["dataspace"]["keep"] for n, s in storage.items()}
    assert kept["pe_register"] == [{"ws": "Weights", "os": "Outputs", "is": "Inputs"}[dataflow]]
    # every problem: the v4 keys, symbols declared, and the layer's MACs per repeat
    rows = {r["layer"]: r for r in read_layers(out)}
    problems = 0
    for op in network().ops:
        r = rows[op.name]
        if op.gemm() is None:
            assert r["problem"] == ""
            continue
        problem = yaml.safe_load((out / r["problem"]).read_text())["problem"]
        assert set(problem) == PROBLEM_KEYS and problem["version"] == 0.4
        shape = problem["shape"]
        assert set(shape) == SHAPE_KEYS
        symbols = set(shape["dimensions"]) | {c["name"] for c in shape["coefficients"]}
        for space in shape["data_spaces"]:
            assert set(space) <= DATA_SPACE_KEYS
            used = {s for axis in space["projection"] for term in axis for s in term}
            assert used <= symbols
        assert set(problem["instance"]) <= symbols
        assert set(shape["dimensions"]) <= set(problem["instance"])
        dims = [problem["instance"][d] for d in shape["dimensions"]]
        assert math.prod(dims) * int(r["repeat"]) == op.macs, op.name
        problems += 1
    assert problems == 5
