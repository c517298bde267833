"""Several networks evaluated in one pass (``evaluate_networks``, what a search's problem asks
for) give, to the bit, what each network evaluated alone gives: counts (and which keys are
listed), per-entry metrics, dataflows, views and totals."""

from __future__ import annotations

import numpy as np
import pytest

from evodse.hardware import DATAFLOW_CHOICES
from evodse.model import Designs, evaluate
from evodse.model.counts import KEYS
from evodse.model.evaluate import evaluate_networks
from evodse.model.layers import joined_tables, layer_table
from evodse.workload import load_workload


def _designs(n: int, seed: int, dataflows: tuple[str, ...]) -> Designs:
    """Random designs of every mapping and buffer key, operand widths drawn too."""
    rng = np.random.default_rng(seed)
    pow2 = lambda lo, hi: 2.0 ** rng.integers(lo, hi + 1, n)  # noqa: E731
    return Designs(
        pe_rows=pow2(3, 7),
        pe_cols=pow2(3, 7),
        dataflow=rng.choice([float(DATAFLOW_CHOICES.index(f)) for f in dataflows], n),
        ifmap_sram_kib=pow2(4, 12),
        weight_sram_kib=pow2(4, 13),
        ofmap_sram_kib=pow2(4, 11),
        dram_bandwidth_gbps=rng.choice([8.0, 25.6, 128.0], n),
        frequency_mhz=rng.choice([200.0, 800.0], n),
        precision_bits=rng.choice([8.0, 16.0], n),
        kv_bits=rng.choice([0.0, 4.0, 16.0], n),
        vector_lanes=pow2(3, 7),
        technology_nm=rng.choice([28.0, 7.0], n),
        fusion=rng.integers(0, 3, n).astype(float),
        accumulator_bits=rng.choice([16.0, 32.0], n),
        act_sram=rng.integers(0, 2, n).astype(float),
        sram_buffering=rng.integers(0, 2, n).astype(float),
        pe_weight_regs=rng.choice([1.0, 16.0], n),
    )


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize(
    "dataflows", [("ws",), ("auto",), DATAFLOW_CHOICES], ids=["ws", "auto", "mixed"]
)
def test_one_pass_is_each_network_alone(dataflows):
    # a KV-cache decoder between two networks without one, and a network twice
    names = ["resnet18", "llama3_2_1b:phase=decode,kv_len=128", "bert_base", "resnet18"]
    nets = [load_workload(name) for name in names]
    nets[3] = nets[0]
    designs = _designs(24, seed=len(dataflows), dataflows=dataflows)
    joint = evaluate_networks(designs, nets)
    assert [c.network for c in joint] == nets
    for net, cost in zip(nets, joint, strict=True):
        alone = evaluate(designs, net)
        assert set(cost.counts.bytes) == set(alone.counts.bytes)
        for key in KEYS:
            assert _same(cost.counts[key], alone.counts[key]), key
            assert _same(cost.total_bytes(key), alone.total_bytes(key)), key
        assert _same(cost.counts.macs, alone.counts.macs)
        assert list(cost.shape_metrics) == list(alone.shape_metrics)
        for key in cost.shape_metrics:
            assert _same(cost.shape_metrics[key], alone.shape_metrics[key]), key
        for key in ("latency_s", "energy_pj", "utilization", "dataflow", "cycles"):
            assert _same(cost.layer(key), alone.layer(key)), key
        assert cost.energy_breakdown_pj.keys() == alone.energy_breakdown_pj.keys()
        for key, value in cost.energy_breakdown_pj.items():
            assert _same(value, alone.energy_breakdown_pj[key]), key
        for name in ("latency_s", "energy_pj", "area_mm2", "dram_bytes", "chip_power_w"):
            assert _same(getattr(cost, name), getattr(alone, name)), name
    kv = {k for k in joint[1].counts.bytes if k[1] == "kv"}
    assert kv and not any(k[1] == "kv" for k in joint[0].counts.bytes)


def test_joined_tables_by_identity():
    nets = (load_workload("resnet18"), load_workload("bert_base"))
    joined = joined_tables(nets)
    assert joined_tables(nets) is joined
    assert joined_tables(nets[:1]).table is layer_table(nets[0])
    widths = [c.stop - c.start for c in joined.columns]
    assert widths == [layer_table(net).n_shapes for net in nets]
    assert joined.table.n_shapes == sum(widths)
    assert joined.table.n_gemm == sum(layer_table(net).n_gemm for net in nets)
