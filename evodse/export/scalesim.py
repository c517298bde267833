"""SCALE-Sim 3.0.0 input files: the one writer of its config, topology and layout text.

:func:`config_text` and :func:`topology_text` are shared by ``evodse export --to scalesim`` and
the validation backend (:mod:`evodse.validation.scalesim_backend`), so what a user runs by hand
is what ``evodse validate`` ran. A design becomes SCALE-Sim hardware through
:func:`evodse.export.scalesim_mapping.sim_hardware` (array, dataflow, SRAMs in SCALE-Sim's one-byte
words, DRAM bandwidth in words per cycle, USER bandwidth mode) and each GEMM layer one topology
row through :func:`evodse.export.scalesim_mapping.map_layer` (repeated ``repeat`` times).

:func:`export_files` writes, for one design and workload: ``scalesim.cfg``, ``topology.csv``
(conv rows) and/or ``topology_gemm.csv`` (SCALE-Sim's ``M, N, K`` rows: it takes one kind of
row per run), ``layout.csv`` (required by SCALE-Sim, unused with custom layouts off) and
``layers.csv`` (each evodse layer: which file and row, repeat, the model's compute cycles).
"""

from __future__ import annotations

from collections.abc import Sequence

from evodse.errors import InputError
from evodse.export.common import SYSTOLIC, ExportFiles, csv_rows, layers_header
from evodse.export.scalesim_mapping import (
    SimHardware,
    SimLayer,
    demand_rows,
    map_layer,
    sim_hardware,
)
from evodse.hardware.template import Accelerator
from evodse.workload.network import Network

_CFG = """[general]
run_name = {run_name}

[run_presets]
InterfaceBandwidth = USER
UseRamulatorTrace = False

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
ifmapsramszkB = {ifmap_kb}
filtersramszkB = {filter_kb}
ofmapsramszkB = {ofmap_kb}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = {bandwidth}
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = {bandwidth}
IfmapSRAMBankNum = 1
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = {bandwidth}
FilterSRAMBankNum = 1
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40
"""
# In USER mode SCALE-Sim 3.0.0 feeds the ifmap and filter buffers at [layout]
# IfmapSRAMBankBandwidth / FilterSRAMBankBandwidth (single_layer_sim.py) and the ofmap buffer at
# [architecture_presets] Bandwidth; one bank so the bandwidth need not divide by a bank count.

CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
    "Num Filter, Strides,"
)
GEMM_HEADER = "Layer, M, N, K,"
LAYOUT_TEXT = "Layer name,\n"
RUN_NAME = "evodse"
NOT_EXPORTED = "vector unit: not exported"


def config_text(hw: SimHardware, *, run_name: str = RUN_NAME) -> str:
    """SCALE-Sim's ``.cfg`` for ``hw`` (USER bandwidth mode, one bank per operand)."""
    return _CFG.format(run_name=run_name, **hw.to_dict())


def topology_text(rows: Sequence[tuple[str, SimLayer]]) -> str:
    """A topology CSV of ``(row name, layer)`` pairs, all of one mode (conv or gemm). Names
    must not contain ``DP``: SCALE-Sim would split such a layer per channel."""
    modes = {layer.mode for _, layer in rows}
    if len(modes) != 1:
        raise ValueError(f"one topology holds one mode of rows, got {sorted(modes)}")
    lines = [GEMM_HEADER if modes == {"gemm"} else CONV_HEADER]
    for name, layer in rows:
        if "DP" in name:
            raise ValueError(f"layer name {name!r} contains 'DP' (SCALE-Sim depthwise marker)")
        if layer.mode == "gemm":
            lines.append(f"{name}, {layer.m}, {layer.n}, {layer.k},")
        else:
            lines.append(
                f"{name}, {layer.ifmap_h}, {layer.ifmap_w}, {layer.filter_h}, "
                f"{layer.filter_w}, {layer.channels}, {layer.num_filters}, {layer.stride},"
            )
    return "\n".join(lines) + "\n"


TOPOLOGY_FILE = {"conv": "topology.csv", "gemm": "topology_gemm.csv"}


def export_files(acc: Accelerator, network: Network, *, source: str) -> ExportFiles:
    """SCALE-Sim files for ``acc`` running ``network`` (module docstring)."""
    if acc.dataflow not in SYSTOLIC:
        raise InputError(
            f"dataflow {acc.dataflow!r} cannot be exported to SCALE-Sim, whose config runs one "
            f"of {list(SYSTOLIC)} for every layer",
            source=source,
            key="dataflow",
        )
    from evodse.model.evaluate import evaluate

    hw = sim_hardware(acc, acc.dataflow)
    compute = evaluate(acc, network).layer("compute_cycles")[0]
    rows: dict[str, list[tuple[str, SimLayer]]] = {"conv": [], "gemm": []}
    table = []
    skipped = []
    for index, op in enumerate(network.ops):
        m = map_layer(op, network.batch, hw=acc, dataflow=acc.dataflow)
        if m.layer is None:
            skipped.append(op.name)
            empty = ["", "", "", ""]
            table.append([index, op.name, op.kind, *empty, float(compute[index]), NOT_EXPORTED])
            continue
        name = f"L{index}"
        rows[m.layer.mode].append((name, m.layer))
        per_run = demand_rows(hw, m.layer) - 1  # SCALE-Sim's stall-free cycles of one run
        table.append(
            [
                index,
                op.name,
                op.kind,
                TOPOLOGY_FILE[m.layer.mode],
                name,
                m.repeat,
                per_run,
                float(compute[index]),
                m.note,
            ]
        )
    files = {"scalesim.cfg": config_text(hw), "layout.csv": LAYOUT_TEXT}
    for mode, mode_rows in rows.items():
        if mode_rows:
            files[TOPOLOGY_FILE[mode]] = topology_text(mode_rows)
    header = [*layers_header(), "topology", "row", "repeat", "scalesim_compute_cycles_per_run"]
    header += ["model_compute_cycles", "note"]
    files["layers.csv"] = csv_rows(header, table)
    return ExportFiles(files=files, not_expressed=_limits(acc, skipped), run=_how_to_run(files))


def _how_to_run(files: dict[str, str]) -> list[str]:
    lines = []
    for mode, name in TOPOLOGY_FILE.items():
        if name in files:
            flag = " -i gemm" if mode == "gemm" else ""
            lines.append(
                f"python -m scalesim.scale -c scalesim.cfg -t {name} -l layout.csv -p out{flag}"
            )
    return lines


def _limits(acc: Accelerator, skipped: list[str]) -> list[str]:
    out = [
        "Vector-unit layers (pooling, elementwise, normalization, softmax): SCALE-Sim has no "
        "vector unit; left out"
        + (f": {', '.join(skipped)}" if skipped else " (none in this workload)"),
        "Batch and grouped convolutions: a conv at batch > 1, with unequal strides or dilation "
        "is one exact GEMM row (no im2col reuse in SCALE-Sim's memory); a grouped or depthwise "
        "conv is one group's row run `repeat` times (layers.csv). SCALE-Sim's stall-free "
        "cycles of a run are its 0-based last-cycle index: the model's compute cycles equal "
        "repeat x (SCALE-Sim compute cycles + 1).",
        "Operand widths: SCALE-Sim counts one-byte words; SRAM sizes are given in words of "
        f"precision_bits = {acc.precision_bits} (per-operand weight/activation/KV widths are "
        "not expressible).",
        "DRAM: bandwidth rounded to whole words per cycle, given to each of the three operand "
        "interfaces (evodse shares one channel); no DRAM type, energy or latency.",
        "Energy, area, leakage, frequency, technology node, fusion between layers, KV-cache "
        "placement, per-PE stationary registers, packing of small GEMMs per fold (SCALE-Sim "
        "runs the packed GEMM as one block-diagonal matrix, zeros included): not expressed.",
    ]
    return out
