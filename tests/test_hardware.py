"""Hardware YAML: the shipped designs load; every bad input is an InputError naming the key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evodse.hardware import (
    DATAFLOW_CHOICES,
    HARDWARE_KEYS,
    OPTIONAL_DEFAULTS,
    Accelerator,
    accelerator_from_dict,
    load_hardware,
    shipped_designs,
)
from evodse.hardware.technology import technology
from evodse.model import Designs, evaluate
from evodse.workload import Linear, Network

REQUIRED = [k for k in HARDWARE_KEYS if k != "name" and k not in OPTIONAL_DEFAULTS]
INT_KEYS = ["pe_rows", "pe_cols", "precision_bits", "vector_lanes", "technology_nm"]
FLOAT_KEYS = [
    "ifmap_sram_kib",
    "weight_sram_kib",
    "ofmap_sram_kib",
    "dram_bandwidth_gbps",
    "frequency_mhz",
]


# ------------------------------------------------------------------------------------------------
# Shipped designs


def test_the_shipped_designs_are_listed():
    assert {"edge", "eyeriss", "tpu_v1"} <= set(shipped_designs())


@pytest.mark.parametrize("name", shipped_designs())
def test_every_shipped_design_loads_and_evaluates(name):
    hw = load_hardware(name)
    assert isinstance(hw, Accelerator)
    assert hw.name == name
    assert hw.dataflow in DATAFLOW_CHOICES
    assert hw.precision_bits in technology().precisions
    assert hw.technology_nm in technology().nodes
    # the dict form round-trips and the design is costed with finite, positive numbers
    assert accelerator_from_dict(hw.to_dict()) == hw
    assert load_hardware(hw.to_dict()) == hw
    assert load_hardware(hw) is hw
    net = Network(name="fc", ops=(Linear(name="fc", in_features=64, out_features=32),))
    cost = evaluate(hw, net)
    assert math.isfinite(cost.energy_pj[0]) and cost.energy_pj[0] > 0
    assert math.isfinite(cost.area_mm2[0]) and cost.area_mm2[0] > 0


def test_shipped_design_values():
    edge = load_hardware("edge")
    assert (edge.pe_rows, edge.pe_cols, edge.precision_bits, edge.technology_nm) == (32, 32, 8, 28)
    tpu = load_hardware("tpu_v1")
    assert (tpu.pe_rows, tpu.pe_cols, tpu.ifmap_sram_kib) == (256, 256, 20480.0)


def test_a_design_file_loads_like_its_name(data_dir):
    hw = load_hardware(data_dir / "tiny_hw.yaml")
    assert hw.name == "tiny" and hw.dataflow == "auto" and hw.pe_rows == 8
    assert load_hardware(str(data_dir / "tiny_hw.yaml")) == hw


def test_name_is_optional(hw_dict, write_yaml):
    del hw_dict["name"]
    assert accelerator_from_dict(hw_dict).name == "custom"
    assert load_hardware(write_yaml(hw_dict)).name == "custom"


def test_unknown_design_name_is_an_input_error(raises_naming):
    with raises_naming("nonexistent", "hardware"):
        load_hardware("nonexistent")


def test_missing_file_names_the_file(raises_naming, tmp_path):
    path = tmp_path / "absent.yaml"
    with raises_naming(str(path), "not found"):
        load_hardware(path)


# ------------------------------------------------------------------------------------------------
# Each bad key, as a mapping and from a file (then the message also names the file)


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_key(raises_naming, hw_dict, write_yaml, key):
    del hw_dict[key]
    with raises_naming(key, "missing"):
        accelerator_from_dict(hw_dict)
    path = write_yaml(hw_dict)
    with raises_naming(str(path), key, "missing"):
        load_hardware(path)


def test_unknown_key(raises_naming, hw_dict, write_yaml):
    hw_dict["pe_depth"] = 3
    with raises_naming("pe_depth", "unknown"):
        accelerator_from_dict(hw_dict)
    path = write_yaml(hw_dict)
    with raises_naming(str(path), "pe_depth", "unknown"):
        load_hardware(path)


BAD_VALUES = [
    *[(key, value) for key in INT_KEYS for value in (0, -4, 2.5, "8", True, None, [8])],
    *[
        (key, value)
        for key in FLOAT_KEYS
        for value in (0, 0.0, -1.5, "fast", True, None, math.nan, math.inf, [1])
    ],
    ("dataflow", "systolic"),
    ("dataflow", "WS"),
    ("dataflow", 1),
    ("dataflow", None),
    ("precision_bits", 12),
    ("precision_bits", 2),
    ("precision_bits", 64),
    ("technology_nm", 10),
    ("technology_nm", 90),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_value(raises_naming, hw_dict, write_yaml, key, value):
    hw_dict[key] = value
    with raises_naming(key):
        accelerator_from_dict(hw_dict)
    path = write_yaml(hw_dict)
    with raises_naming(str(path), key):
        load_hardware(path)


@pytest.mark.parametrize("text", ["-.inf", ".nan", ".inf"])
def test_yaml_special_floats_are_rejected(raises_naming, hw_dict, write_yaml, text):
    lines = [f"{k}: {v}" for k, v in hw_dict.items() if k != "frequency_mhz"]
    path = write_yaml("\n".join([*lines, f"frequency_mhz: {text}"]) + "\n")
    with raises_naming(str(path), "frequency_mhz"):
        load_hardware(path)


def test_integral_floats_are_accepted_for_integer_keys(hw_dict):
    hw_dict["pe_rows"] = 16.0
    hw = accelerator_from_dict(hw_dict)
    assert hw.pe_rows == 16 and isinstance(hw.pe_rows, int)


@pytest.mark.parametrize("dataflow", DATAFLOW_CHOICES)
def test_every_dataflow_is_accepted(hw_dict, dataflow):
    hw_dict["dataflow"] = dataflow
    assert accelerator_from_dict(hw_dict).dataflow == dataflow


@pytest.mark.parametrize("bits", technology().precisions)
def test_every_precision_is_accepted(hw_dict, bits):
    assert technology().precisions == [4, 8, 16, 32]
    hw_dict["precision_bits"] = bits
    assert accelerator_from_dict(hw_dict).precision_bits == bits


@pytest.mark.parametrize("node", sorted(technology().nodes))
def test_every_node_is_accepted(hw_dict, node):
    hw_dict["technology_nm"] = node
    assert accelerator_from_dict(hw_dict).technology_nm == node


# ------------------------------------------------------------------------------------------------
# Malformed YAML files


def test_duplicate_yaml_keys_are_rejected(raises_naming, hw_dict, write_yaml):
    lines = [f"{k}: {v}" for k, v in hw_dict.items()]
    path = write_yaml("\n".join([*lines, "pe_rows: 64"]) + "\n")
    with raises_naming(str(path), "duplicate", "pe_rows", f"line {len(lines) + 1}"):
        load_hardware(path)


@pytest.mark.parametrize("text", ["", "- 1\n- 2\n", "just a string\n", "pe_rows: [1,\n"])
def test_a_file_that_is_not_a_mapping_is_rejected(raises_naming, write_yaml, text):
    path = write_yaml(text)
    with raises_naming(str(path)):
        load_hardware(path)


def test_invalid_utf8_file_is_an_input_error(raises_naming, tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"pe_rows: \xff\xfe\n")
    with raises_naming(str(path)):
        load_hardware(path)


# ------------------------------------------------------------------------------------------------
# Accelerator.replace and Designs


def test_replace_returns_a_validated_copy(make_hw):
    hw = make_hw()
    wider = hw.replace(pe_cols=64, dataflow="auto")
    assert (wider.pe_cols, wider.dataflow, wider.pe_rows) == (64, "auto", hw.pe_rows)
    assert hw.pe_cols == 4  # the original is unchanged (frozen)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pe_rows", 0),
        ("pe_cols", -1),
        ("ofmap_sram_kib", 0),
        ("dram_bandwidth_gbps", math.inf),
        ("dataflow", "systolic"),
        ("precision_bits", 12),
        ("technology_nm", 10),
        ("vector_lanes", 1.5),
    ],
)
def test_replace_validates(raises_naming, make_hw, key, value):
    with raises_naming(key):
        make_hw().replace(**{key: value})


def test_replace_rejects_unknown_keys(raises_naming, make_hw):
    with raises_naming("pe_depth", "unknown"):
        make_hw().replace(pe_depth=2)


def test_accelerator_from_dict_rejects_non_mappings(raises_naming):
    with raises_naming("expected a mapping"):
        accelerator_from_dict([("pe_rows", 4)])  # type: ignore[arg-type]


def test_designs_round_trip_accelerators(make_hw):
    hws = [make_hw(), make_hw(dataflow="auto", precision_bits=16, technology_nm=7)]
    population = Designs.from_accelerators(hws)
    assert len(population) == 2
    assert [population.accelerator(i, name="small") for i in range(2)] == hws
    assert len(Designs.from_accelerators(hws[0])) == 1


@pytest.mark.parametrize(("key", "default"), sorted(OPTIONAL_DEFAULTS.items()))
def test_optional_keys_take_their_default(hw_dict, key, default):
    hw_dict.pop(key, None)
    assert getattr(accelerator_from_dict(hw_dict), key) == default


@pytest.mark.parametrize(
    ("key", "bad"), [("dram_type", "ddr9"), ("fusion", "all"), ("pe_stationary_regs", 0)]
)
def test_bad_optional_keys_are_rejected(raises_naming, hw_dict, key, bad):
    with raises_naming(key):
        accelerator_from_dict({**hw_dict, key: bad})


def test_every_data_file_of_the_package_is_installed():
    """A non-editable install (the README's `pip install .`) ships only the declared package
    data: every YAML file the package reads must match a package-data pattern."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    root = Path(__file__).parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["evodse"]
    package = root / "evodse"
    for path in package.rglob("*.yaml"):
        relative = path.relative_to(package)
        assert any(relative.match(pattern) for pattern in patterns), relative


def test_one_line_design_summary():
    from evodse.hardware.template import design_summary

    hw = load_hardware("edge").to_dict()
    assert design_summary(hw) == "32x32 ws, SRAM 128/128/64 KiB, 32 lanes, lpddr5 12.8 GB/s"
    del hw["dram_type"]  # a run directory written before dram_type existed
    assert design_summary(hw) == "32x32 ws, SRAM 128/128/64 KiB, 32 lanes, 12.8 GB/s"
