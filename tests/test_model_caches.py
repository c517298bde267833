"""The cost model's caches give what the uncached computation gives, and fresh results when an
input of their key changes: CACTI SRAM costs by (node, capacity, port width) and technology,
layer tables by network, template layouts by template, a design space's decoding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_template_protocol import systolic_with_banks

from evodse.hardware.protocol import (
    get_template,
    register_template,
    unregister_template,
)
from evodse.hardware.technology import technology
from evodse.hardware.template import SYSTOLIC, load_hardware
from evodse.model import Designs, evaluate
from evodse.model import layers as layers_module
from evodse.model import prices as prices_module
from evodse.model.layers import layer_table
from evodse.search.space import space_from_spec
from evodse.workload import load_workload


def _direct(tech, node, kib, width) -> np.ndarray:
    cost = tech.sram_cost(node, kib, width)
    return np.stack([cost.read_pj_per_byte, cost.write_pj_per_byte, cost.area_mm2, cost.leakage_mw])


def _memo(tech, node, kib, width) -> np.ndarray:
    cost = prices_module._sram_cost(tech, node, kib, width)
    return np.stack([cost.read_pj_per_byte, cost.write_pj_per_byte, cost.area_mm2, cost.leakage_mw])


def _doubled_srams():
    """The technology tables with every CACTI value doubled."""
    tech = technology()
    values = {
        field: {node: {w: 2 * v for w, v in by.items()} for node, by in nodes.items()}
        for field, nodes in tech.sram.values.items()
    }
    return dataclasses.replace(tech, sram=dataclasses.replace(tech.sram, values=values))


@pytest.fixture
def empty_memo():
    prices_module._SRAM_MEMO[:] = [None, {}]
    yield
    prices_module._SRAM_MEMO[:] = [None, {}]


def test_sram_memo_is_the_lookup_and_keys_on_every_input(empty_memo):
    tech = technology()
    base = (28.0, 96.0, 256.0)
    # designs that differ from the first in one input only: node, capacity, port width (one
    # that rounds to the same tabulated width, one that does not)
    rows = [base, (7.0, 96.0, 256.0), (45.0, 96.0, 256.0), (28.0, 100.0, 256.0)]
    rows += [(28.0, 96.0, 200.0), (28.0, 96.0, 512.0), (28.0, 96.0, 4096.0), base]
    rng = np.random.default_rng(1)
    n = 200
    rows += zip(
        rng.choice([7.0, 16.0, 22.0, 28.0, 45.0], n).tolist(),
        rng.choice([8.0, 16.0, 96.0, 512.0, 4096.0], n).tolist(),
        (8.0 * rng.choice([4, 16, 32, 64, 256], n)).tolist(),
        strict=True,
    )
    node, kib, width = (np.asarray(c) for c in zip(*rows, strict=True))
    expected = _direct(tech, node, kib, width)
    assert np.array_equal(_memo(tech, node, kib, width), expected)  # filled
    order = rng.permutation(len(node))  # again, every key from the memo, in another order
    got = _memo(tech, node[order], kib[order], width[order])
    assert np.array_equal(got, expected[:, order])
    one = [_memo(tech, node[i : i + 1], kib[i : i + 1], width[i : i + 1])[:, 0] for i in range(8)]
    assert np.array_equal(one[4], one[0])  # 200 bits: the lookup's rounding to 256
    assert len({tuple(v) for v in one[:7]}) == 6  # every other input changes the cost


def test_sram_memo_follows_the_technology(empty_memo):
    tech, other = technology(), _doubled_srams()
    node, kib, width = np.asarray([28.0]), np.asarray([64.0]), np.asarray([256.0])
    first = _memo(tech, node, kib, width)
    second = _memo(other, node, kib, width)
    assert np.array_equal(second, _direct(other, node, kib, width))
    assert not np.array_equal(first, second)
    assert np.array_equal(_memo(tech, node, kib, width), first)


def test_prices_with_another_technology_are_fresh(empty_memo, monkeypatch):
    hw = load_hardware("edge")
    net = load_workload("resnet18")
    before = evaluate(hw, net).energy_pj
    other = _doubled_srams()
    monkeypatch.setattr(prices_module, "technology", lambda: other)
    assert (evaluate(hw, net).energy_pj > before).all()
    monkeypatch.undo()
    assert np.array_equal(evaluate(hw, net).energy_pj, before)


def test_layer_tables_by_network():
    net = load_workload("resnet18")
    table = layer_table(net)
    assert layer_table(net) is table
    again = dataclasses.replace(net)  # equal, another object
    assert again is not net and np.array_equal(layer_table(again).macs, table.macs)
    batched = net.with_batch(2)
    assert layer_table(batched).network_macs == 2 * table.network_macs == batched.macs
    shorter = dataclasses.replace(net, ops=net.ops[:-1])
    assert layer_table(shorter).n_shapes <= table.n_shapes
    assert layer_table(shorter).network_macs == shorter.macs < net.macs
    for batch in range(1, layers_module._IDENTITY_SLOTS + 3):  # the identity cache overflows
        other = net.with_batch(batch)
        assert layer_table(other).network_macs == other.macs
    assert layer_table(net).network_macs == net.macs


@pytest.mark.parametrize("name", ["resnet50", "bert_base", "mixtral_8x7b"])
def test_network_macs_in_the_table(name):
    net = load_workload(name)
    assert layer_table(net).network_macs == net.macs
    assert evaluate(load_hardware("edge"), net).macs == net.macs


def test_designs_follow_a_template_registered_again():
    columns = Designs.from_accelerators(load_hardware("edge")).columns
    for default in (0, 3):
        register_template(systolic_with_banks("systolic_banks", default))
        try:
            d = Designs(template="systolic_banks", **columns)
            assert d.sram_banks.tolist() == [float(default)]
        finally:
            unregister_template("systolic_banks")
    assert get_template().name == SYSTOLIC.name


def test_decode_is_the_accelerators():
    base = load_hardware("edge")
    space = space_from_spec(
        base, {"pe_rows": {"pow2": [8, 64]}, "dataflow": ["os", "auto"], "ifmap_sram_kib": [32, 64]}
    )
    X = np.asarray([[0, 1, 1], [3, 0, 0], [2, 1, 0]])
    for _ in range(2):  # the second decode uses what the first computed
        got = space.decode(X).columns
        want = Designs.from_accelerators([space.accelerator(x) for x in X]).columns
        assert got.keys() == want.keys()
        assert all(np.array_equal(got[k], want[k]) for k in got)


def test_sram_memo_emptied_when_full_still_looks_up(empty_memo, monkeypatch):
    monkeypatch.setattr(prices_module, "_SRAM_MEMO_SIZE", 5)
    tech = technology()
    kib = np.arange(16.0, 16.0 * 40, 16.0)
    node, width = np.full(len(kib), 28.0), np.full(len(kib), 256.0)
    for stop in (3, 10, len(kib)):
        got = _memo(tech, node[:stop], kib[:stop], width[:stop])
        assert np.array_equal(got, _direct(tech, node[:stop], kib[:stop], width[:stop]))
    kept = sum(len(keys) for keys, _ in prices_module._SRAM_MEMO[1].values())
    assert kept == len(kib)  # emptied, then this call's keys
