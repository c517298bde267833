"""The architecture protocol: a template added from this test module, with no package edit, goes
through hardware YAML, the cost dispatch, a search (Python API and ``evodse run``), the run
directory and its report; the systolic template's declarations round-trip."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest
import yaml

from evodse.cli.main import main
from evodse.errors import InputError
from evodse.hardware import (
    TEMPLATES,
    HardwareParameter,
    Template,
    get_template,
    load_hardware,
    register_template,
)
from evodse.hardware.protocol import unregister_template
from evodse.hardware.template import PARAMETERS, SYSTOLIC, design_summary, shipped_designs
from evodse.model import AREA_COMPONENTS, ENERGY_COMPONENTS, Designs, evaluate
from evodse.model.cost import network_cost
from evodse.model.counts import LEVELS
from evodse.model.mappings import UNROLLINGS
from evodse.plots.breakdown import component_breakdown
from evodse.plots.roofline import roofline
from evodse.search.objectives import design_metrics
from evodse.search.problem import AcceleratorProblem
from evodse.search.space import space_from_spec
from evodse.workload import Network, load_workload

# -- the toy template: one MAC array, one unified SRAM, DRAM ---------------------------------
#
# Cost (per layer, 1-byte operands): compute cycles = ceil(MACs / macs) (vector ops: one op per
# MAC unit per cycle); DRAM bytes = inputs + outputs + weights x ceil(input bytes / SRAM bytes)
# (the weights stream once per SRAM-sized input tile); memory cycles = DRAM bytes / (10 GB/s /
# clock); cycles = max(compute, memory). Energy: 1 pJ per MAC, 2 pJ per SRAM byte (each DRAM
# byte passes the SRAM once), 100 pJ per DRAM byte. Area: 0.002 mm^2 per MAC unit, 0.01 mm^2
# per SRAM KiB.

TOY_DRAM_BYTES_PER_S = 10e9
TOY_PJ = {"mac": 1.0, "sram": 2.0, "dram": 100.0}
TOY_MM2 = {"mac": 0.002, "sram_kib": 0.01}


@dataclass(frozen=True)
class ToyCost:
    """The toy's cost of one network on N designs (the fields generic code reads)."""

    network: Network
    designs: Designs
    cycles: np.ndarray  # (N,)
    dram_bytes: np.ndarray  # (N,)
    energy_breakdown_pj: dict[str, np.ndarray]
    area_breakdown_mm2: dict[str, np.ndarray]

    @property
    def latency_s(self) -> np.ndarray:
        return self.cycles / (self.designs.frequency_mhz * 1e6)

    @cached_property
    def energy_pj(self) -> np.ndarray:
        return sum(self.energy_breakdown_pj.values())

    @property
    def area_mm2(self) -> np.ndarray:
        return sum(self.area_breakdown_mm2.values())

    @property
    def power_w(self) -> np.ndarray:
        return self.energy_pj * 1e-12 / self.latency_s

    @property
    def chip_power_w(self) -> np.ndarray:
        return (self.energy_pj - self.energy_breakdown_pj["dram"]) * 1e-12 / self.latency_s

    @property
    def utilization(self) -> np.ndarray:
        return self.network.macs / (self.cycles * self.designs.macs)

    @property
    def macs(self) -> int:
        return self.network.macs


def toy_costs(designs: Designs, networks: Sequence[Network]) -> list[ToyCost]:
    return [_toy_cost(designs, net) for net in networks]


def _toy_cost(d: Designs, net: Network) -> ToyCost:
    sram_bytes = d.sram_kib * 1024
    bytes_per_cycle = TOY_DRAM_BYTES_PER_S / (d.frequency_mhz * 1e6)
    cycles = np.zeros(len(d))
    dram = np.zeros(len(d))
    for op in net.ops:
        inputs, outputs = op.input_elems * net.batch, op.output_elems * net.batch
        work = op.macs * net.batch or outputs
        layer_dram = inputs + outputs + op.weight_elems * np.ceil(inputs / sram_bytes)
        cycles += np.maximum(np.ceil(work / d.macs), layer_dram / bytes_per_cycle)
        dram += layer_dram
    energy = {
        "mac": np.full(len(d), net.macs * TOY_PJ["mac"]),
        "sram": dram * TOY_PJ["sram"],
        "dram": dram * TOY_PJ["dram"],
    }
    area = {"mac": d.macs * TOY_MM2["mac"], "sram": d.sram_kib * TOY_MM2["sram_kib"]}
    return ToyCost(net, d, cycles, dram, energy, area)


TOY = Template(
    name="toy",
    summary="one MAC array, one unified SRAM, DRAM",
    parameters=(
        HardwareParameter(name="macs", kind="int", label="MAC units", plausible=(1, 65536)),
        HardwareParameter(
            name="sram_kib", kind="float", label="SRAM", unit="KiB", plausible=(1, 65536)
        ),
        HardwareParameter(
            name="frequency_mhz",
            kind="float",
            label="clock",
            unit="MHz",
            plausible=(1, 10000),
            required=False,
            default=500.0,
        ),
    ),
    memory_levels=("sram", "dram"),
    energy_components=("mac", "sram", "dram"),
    area_components=("mac", "sram"),
    mappings=("unified",),
    mapping_key=None,
    design_summary=lambda hw: f"{hw['macs']} MACs, SRAM {hw['sram_kib']:g} KiB",
    cost=toy_costs,
)

TOY_HW = {"template": "toy", "name": "toy_small", "macs": 64, "sram_kib": 32}
TOY_EXPERIMENT = {
    "name": "toy_search",
    "workloads": ["resnet18"],
    "base": TOY_HW,
    "space": {"macs": {"pow2": [16, 1024]}, "sram_kib": [8, 32, 128, 512]},
    "objectives": ["latency", "energy", "area"],
    "constraints": ["macs <= 512"],
    "algorithm": {"name": "nsga2", "pop_size": 8},
    "termination": {"generations": 3},
    "seeds": [0],
}


@pytest.fixture
def toy() -> Iterator[Template]:
    """The toy template, registered for one test."""
    register_template(TOY)
    yield TOY
    unregister_template("toy")


@pytest.fixture
def toy_yaml(tmp_path: Path, toy: Template) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(TOY_HW), encoding="utf-8")
    return path


def test_toy_hardware_yaml_loads_and_validates_by_its_declarations(toy_yaml, raises_naming):
    hw = load_hardware(toy_yaml)
    assert (hw.template, hw.name, hw.macs, hw.sram_kib, hw.frequency_mhz) == (
        "toy",
        "toy_small",
        64,
        32.0,
        500.0,
    )
    assert hw.to_dict() == {**TOY_HW, "sram_kib": 32.0, "frequency_mhz": 500.0}
    assert design_summary(hw.to_dict()) == "64 MACs, SRAM 32 KiB"
    with raises_naming("hardware", "macs", "from 1 to 65536"):
        load_hardware({**TOY_HW, "macs": 10**6})
    with raises_naming("hardware", "pe_rows", "unknown key"):
        load_hardware({**TOY_HW, "pe_rows": 8})  # a systolic key is not the toy's


def test_toy_cost_of_a_zoo_network_is_the_documented_formula(toy_yaml):
    hw = load_hardware(toy_yaml)
    net = load_workload("resnet18")
    cost = network_cost(hw, net)
    inputs = sum(op.input_elems for op in net.ops) * net.batch
    outputs = sum(op.output_elems for op in net.ops) * net.batch
    tiles = [math.ceil(op.input_elems * net.batch / (32 * 1024)) for op in net.ops]
    refetch = sum(op.weight_elems * n for op, n in zip(net.ops, tiles, strict=True))
    dram = inputs + outputs + refetch
    assert cost.dram_bytes[0] == pytest.approx(dram)
    assert cost.energy_pj[0] == pytest.approx(net.macs + 102 * dram)
    assert cost.area_mm2[0] == pytest.approx(64 * 0.002 + 32 * 0.01)
    assert cost.latency_s[0] >= net.macs / 64 / 500e6  # never faster than the MAC array
    with pytest.raises(AttributeError, match="template 'toy' have no"):
        evaluate(hw, net)  # the systolic model refuses a design it cannot read


def test_toy_search_through_the_python_api(toy):
    problem = AcceleratorProblem(
        workloads=["resnet18"],
        base=TOY_HW,
        space=TOY_EXPERIMENT["space"],
        constraints=["macs <= 512"],
    )
    assert problem.design_metric_names == ("area_mm2", "macs", "sram_kib", "frequency_mhz")
    X = np.asarray([[0, 0], [6, 3], [5, 1]])  # 16 MACs / 8 KiB, 1024 / 512, 512 / 32
    ev = problem.evaluate_designs(X)
    assert ev.feasible.tolist() == [True, False, True]  # 1024 MACs break the constraint
    latency, _, area = ev.objectives.T
    assert latency[0] > latency[2] and area[0] < area[2]  # a bigger array: faster, larger
    assert problem.decision_table(X) == {
        "macs": [16, 1024, 512],
        "sram_kib": [8, 512, 32],
        "frequency_mhz": [500.0] * 3,
    }
    assert problem.describe(X[2], name="d")["hardware"] == {
        "template": "toy",
        "macs": 512,
        "sram_kib": 32,
        "frequency_mhz": 500.0,
        "name": "d",
    }


def test_toy_search_through_evodse_run_writes_a_run_directory_it_reads_back(toy, tmp_path, capsys):
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump(TOY_EXPERIMENT, sort_keys=False), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out)]) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    knee = summary["knee"]["hardware"]
    assert knee["template"] == "toy" and set(knee) == {"template", *TOY.keys, "name"}
    header = (out / "evaluations.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"macs", "sram_kib", "frequency_mhz"} <= set(header) and "pe_rows" not in header
    saved = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert saved["base"]["template"] == "toy"
    capsys.readouterr()
    assert main(["report", str(out), "--format", "md"]) == 0, capsys.readouterr().err
    report = next(out.glob("report*.md")).read_text(encoding="utf-8")
    assert f"{knee['macs']} MACs, SRAM" in report  # the toy's one-line summary
    assert "MAC units" in report and "SRAM (KiB)" in report  # its declared labels and units
    fig = component_breakdown(out)  # energy and area by the toy's declared components
    energy_ax, area_ax = fig.axes[:2]
    assert {t.get_text() for t in energy_ax.get_yticklabels()} == {"MAC", "sram", "DRAM"}
    assert {t.get_text() for t in area_ax.get_yticklabels()} == {"MAC", "sram"}
    with pytest.raises(InputError, match="roofline figure supports only templates with"):
        roofline(out)  # the systolic array's roofline: a one-line refusal, not a traceback
    capsys.readouterr()
    assert main(["validate", str(out), "--top", "1"]) == 2  # SCALE-Sim simulates arrays
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'scalesim'" in err and "'toy'" in err


def test_a_run_of_an_unregistered_template_is_one_line(toy, tmp_path, capsys):
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump(TOY_EXPERIMENT, sort_keys=False), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out)]) == 0
    unregister_template("toy")
    try:
        capsys.readouterr()
        assert main(["report", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "unknown template 'toy'" in err
    finally:
        register_template(TOY)


def test_a_refine_step_the_template_cannot_take_is_refused_before_the_search(toy, tmp_path, capsys):
    config = tmp_path / "toy.yaml"
    refined = {**TOY_EXPERIMENT, "refine": {"backend": "scalesim", "top": 1}}
    config.write_text(yaml.safe_dump(refined, sort_keys=False), encoding="utf-8")
    assert main(["run", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refine with scalesim" in err and "'toy'" in err
    assert not (tmp_path / "run" / "evaluations.csv").exists()


def test_unknown_template_names_are_one_line_errors(tmp_path, capsys, raises_naming):
    with raises_naming("hardware", "template", "unknown template 'vliw'", "systolic"):
        load_hardware({**TOY_HW, "template": "vliw"})
    with raises_naming("template", "unknown template ['toy']"):
        get_template(["toy"])
    path = tmp_path / "hw.yaml"
    path.write_text("template: vliw\nmacs: 4\n", encoding="utf-8")
    status = main(["evaluate", "--hardware", str(path), "--workload", "resnet18"])
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and err.count("\n") == 1
    assert str(path) in err and "template" in err and "vliw" in err


def test_systolic_only_features_refuse_another_template_in_one_line(toy, toy_yaml, capsys):
    status = main(["evaluate", "--hardware", str(toy_yaml), "--workload", "resnet18"])
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "'toy'" in err and "systolic" in err


def test_evodse_list_names_every_registered_template(toy, capsys):
    assert main(["list", "--json"]) == 0
    templates = json.loads(capsys.readouterr().out)["templates"]
    assert templates == {"systolic": SYSTOLIC.summary, "toy": TOY.summary}
    assert main(["list"]) == 0
    assert "templates: systolic, toy" in capsys.readouterr().out


def test_a_template_name_registers_once(toy):
    with pytest.raises(ValueError, match="already registered"):
        register_template(TOY)
    assert TEMPLATES["toy"] is TOY


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"energy_components": ("mac", "sram")}, "'dram' energy component"),
        ({"parameters": (*TOY.parameters, TOY.parameters[0])}, "repeat"),
        ({"mapping_key": "macs"}, "mapping_key"),
        ({"mapping_key": "sram_kib"}, "mapping_key"),
    ],
)
def test_a_template_that_contradicts_itself_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TOY, **changes)


# -- the systolic template ---------------------------------------------------------------------


def test_systolic_is_the_default_and_declares_what_its_model_computes():
    assert get_template() is SYSTOLIC and get_template("systolic") is SYSTOLIC
    cost = evaluate(load_hardware("edge"), load_workload("resnet18"))  # what the model computes
    assert tuple(cost.energy_breakdown_pj) == SYSTOLIC.energy_components == ENERGY_COMPONENTS
    assert tuple(cost.area_breakdown_mm2) == SYSTOLIC.area_components == AREA_COMPONENTS
    assert SYSTOLIC.memory_levels == LEVELS
    assert SYSTOLIC.mappings == tuple(UNROLLINGS)
    assert SYSTOLIC.keys == tuple(p.name for p in PARAMETERS)
    for name in shipped_designs():  # shipped YAML has no template: key and reads as before
        hw = load_hardware(name)
        assert hw.template == "systolic" and "template" not in hw.to_dict()
        assert load_hardware({**hw.to_dict(), "template": "systolic"}) == hw


@pytest.mark.parametrize("p", PARAMETERS, ids=lambda p: p.name)
def test_every_systolic_parameter_round_trips(p, hw_dict):
    """Each declared parameter, set to a value other than the base's, survives YAML ->
    Accelerator -> Designs -> Accelerator -> dict, and a one-value design space."""
    base = load_hardware(hw_dict)
    allowed = p.allowed()
    if allowed is not None:  # names, or numbers from technology.yaml (within a declared bound)
        bound = None if p.at_least is None else base.resolved(p.at_least)
        valid = [v for v in allowed if bound is None or v >= bound]
        value = next(v for v in valid if v != getattr(base, p.name))
    else:
        low, _ = p.plausible
        value = int(low) + 1 if p.kind == "int" else float(low) * 2
    hw = base.replace(**{p.name: value})
    assert getattr(hw, p.name) == value
    again = Designs.from_accelerators(hw).accelerator(0, name=hw.name)
    assert again == hw and again.to_dict()[p.name] == value
    space = space_from_spec(base, {p.name: [value]})
    assert space.accelerator([0], name=hw.name) == hw
    assert getattr(space.decode(np.zeros((1, 1), dtype=int)), p.name)[0] == (
        allowed.index(value) if p.kind == "categorical" else value
    )
    label, unit = SYSTOLIC.labels()[p.name]
    assert label and unit == p.unit


def systolic_with_banks(name: str, default: int = 0):
    """The systolic template under ``name`` with one more parameter, ``sram_banks`` (an
    optional integer >= 0, ``default`` when unset)."""
    banks = HardwareParameter(
        name="sram_banks",
        kind="int",
        label="SRAM banks",
        plausible=(0, 1024),
        minimum=0,
        required=False,
        default=default,
    )
    return dataclasses.replace(SYSTOLIC, name=name, parameters=(*PARAMETERS, banks))


def test_a_new_systolic_parameter_is_one_declaration(hw_dict, raises_naming):
    """What the systolic template gains from one more entry in PARAMETERS (here in a copy
    registered under another name): validation, default, records, the space, metrics."""
    wider = systolic_with_banks("systolic_regs")
    register_template(wider)
    try:
        hw = load_hardware({**hw_dict, "template": "systolic_regs", "sram_banks": 2})
        assert hw.sram_banks == 2 and hw.to_dict()["sram_banks"] == 2
        assert load_hardware({**hw_dict, "template": "systolic_regs"}).sram_banks == 0
        with raises_naming("hardware", "sram_banks", "an integer >= 0"):
            load_hardware({**hw_dict, "template": "systolic_regs", "sram_banks": -1})
        space = space_from_spec(hw, {"sram_banks": [0, 4, 8]})
        assert space.decode(np.asarray([[2], [1]])).sram_banks.tolist() == [8.0, 4.0]
        assert space.values_table(np.asarray([[1]]))["sram_banks"] == [4]
        assert "sram_banks" in design_metrics(wider)
        net = load_workload("resnet18")  # the model ignores what it does not read
        same = load_hardware(hw_dict)
        assert network_cost(hw, net).latency_s == pytest.approx(evaluate(same, net).latency_s)
    finally:
        unregister_template("systolic_regs")
