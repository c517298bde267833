"""The DRAM tiling counts what the PE registers hold (evodse/model/memory.py, spatial.py):
hand-derived register holdings of Eyeriss's row-stationary array on AlexNet CONV1, no change
for systolic arrays or for empty registers, and the effect on the Eyeriss design."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evodse.hardware import load_hardware
from evodse.model import Designs, evaluate
from evodse.model.layers import layer_table
from evodse.model.mappings import UNROLLINGS
from evodse.model.memory import dram_traffic
from evodse.model.spatial import spatial_work
from evodse.workload import load_workload

ROOT = Path(__file__).resolve().parents[1]
ALEXNET = load_workload(str(ROOT / "docs" / "data" / "workloads" / "alexnet_eyeriss.yaml"))


def _work(design: str, net=ALEXNET):
    hw = load_hardware(design)
    d = Designs.from_accelerators([hw])
    col = lambda x: np.asarray(x, dtype=np.float64)[:, None]  # noqa: E731
    regs = {op: col(getattr(d, f"pe_{op}_regs")) for op in ("input", "weight", "output")}
    t = layer_table(net)
    work = spatial_work(
        UNROLLINGS[hw.dataflow],
        rows=col(d.pe_rows),
        cols=col(d.pe_cols),
        regs=regs,
        t_layer=t,
    )
    return t, work


def test_eyeriss_registers_hold_one_copy_per_multicast_group():
    """CONV1 (C 3, K 96, 11 x 11 kernel, stride 4, 55 x 55 outputs) on 12 x 14 ``rs``: FY 11
    on the rows (C gets floor(12 / 11) = 1), OY 14 on the columns in ceil(55 / 14) = 4 folds
    (13.75 columns busy on average), K gets floor(14 / 14) = 1."""
    t, work = _work("eyeriss")
    conv1 = 0  # the table's first entry
    held = {op: float(v[0, conv1]) for op, v in work.register_held.items()}
    # weights: one filter row per array row (multicast along it): 11 rows x 224 words
    assert held["weight"] == pytest.approx(11 * 224)
    # inputs: the diagonal of 13.75 output rows x 11 kernel rows reads (13.75 - 1) * 4 + 11
    # = 62 distinct input rows, 12 words each
    assert held["input"] == pytest.approx(62 * 12)
    # partial sums: one output row per column (reduced up it), 24 words each
    assert held["output"] == pytest.approx(13.75 * 24)
    assert t.n_gemm == len(ALEXNET.ops)


def test_empty_registers_and_systolic_arrays_leave_the_tiling_as_it_was():
    t = layer_table(ALEXNET)
    caps = {
        "ifmap_elems": np.array([[16384.0], [1024.0]]),
        "weight_elems": np.array([[4096.0], [512.0]]),
        "ofmap_elems": np.array([[5632.0], [256.0]]),
    }
    none = dram_traffic(t, **caps)
    zeros = dram_traffic(
        t, **caps, register_elems=dict.fromkeys(("input", "weight", "output"), 0.0)
    )
    for field in ("a_elems", "b_elems", "out_elems"):
        np.testing.assert_array_equal(getattr(none, field), getattr(zeros, field))
    # a systolic array keeps its SCALE-Sim counts: the per-operand register files do not apply
    ws = load_hardware("eyeriss").replace(dataflow="ws")
    small = ws.replace(pe_input_regs=1, pe_weight_regs=1, pe_output_regs=1)
    cost = evaluate([small, ws], ALEXNET)
    np.testing.assert_array_equal(cost.layer("dram_bytes")[0], cost.layer("dram_bytes")[1])
    # more held elements never move more
    more = dram_traffic(
        t, **caps, register_elems=dict.fromkeys(("input", "weight", "output"), 5000.0)
    )
    assert (more.a_elems + more.b_elems <= none.a_elems + none.b_elems).all()
    assert ((more.a_elems + more.b_elems) < (none.a_elems + none.b_elems)).any()


def test_eyeriss_dram_traffic_falls_where_its_registers_hold_the_re_read_operand():
    """Counting the registers lowers the Eyeriss design's DRAM traffic on the layers whose
    re-read operand they hold, and never raises it (with the template's default buffers: the
    shipped design's shared, whole global buffer re-reads nothing the registers could hold on
    AlexNet)."""
    hw = load_hardware("eyeriss").replace(
        act_sram="separate", accumulator_bits=32, sram_buffering="double"
    )
    tiny = hw.replace(pe_input_regs=1, pe_weight_regs=1, pe_output_regs=1)
    cost = evaluate([tiny, hw], ALEXNET)
    dram = cost.layer("dram_bytes")
    assert (dram[1] <= dram[0]).all()
    assert (dram[1] < dram[0]).sum() >= 3
