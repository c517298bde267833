"""Malformed inputs at every entry point: each is one line on stderr, exit status 2, no
traceback, and nothing written or changed.

Entry points: every CLI verb and its flags; hardware, workload and experiment YAML; grid files;
ONNX files; run directories (``config.yaml``, ``summary.json`` and the CSV files, as read by
``plot``, ``report`` and ``validate``); checkpoints (``--resume``). Each case copies a pristine
workspace (valid files and one finished run directory), breaks one thing, calls the CLI's
``main()`` in-process and compares the workspace before and after, bytes and modes. A few
cases run the real console script in a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from evodse.cli.main import main

DATA = Path(__file__).parent / "data"

HW: dict[str, Any] = yaml.safe_load((DATA / "tiny_hw.yaml").read_text())
NET: dict[str, Any] = yaml.safe_load((DATA / "tiny_cnn.yaml").read_text())
EXP: dict[str, Any] = {
    "name": "fz",
    "workloads": ["net.yaml"],
    "base": "hw.yaml",
    "space": {"pe_rows": {"pow2": [4, 16]}, "dataflow": ["ws", "os"]},
    "objectives": ["latency", "energy"],
    "constraints": ["area_mm2 <= 50"],
    "algorithm": {"name": "nsga2", "pop_size": 6},
    "termination": {"generations": 2},
    "seeds": [0],
}
UNSAFE = '!!python/object/apply:os.system ["touch pwned"]\n'


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid hw.yaml, net.yaml, exp.yaml, grid.yaml, model.onnx and a finished run in run/."""
    root = tmp_path_factory.mktemp("pristine")
    (root / "hw.yaml").write_text(_dump(HW))
    (root / "net.yaml").write_text(_dump(NET))
    (root / "exp.yaml").write_text(_dump(EXP))
    (root / "grid.yaml").write_text(_dump({"experiment": "exp.yaml", "grid": {"seeds": [0, 1]}}))
    from evodse.workload import load_workload
    from evodse.workload.onnx_export import to_onnx

    to_onnx(load_workload(str(DATA / "tiny_cnn.yaml")), root / "model.onnx")
    cwd = Path.cwd()
    try:
        import os

        os.chdir(root)
        assert main(["run", "exp.yaml", "--out", "run", "--quiet"]) == 0
    finally:
        os.chdir(cwd)
    return root


# -- mutations of the workspace ------------------------------------------------------------
Mutation = Callable[[Path], None]


def put(rel: str, content: str | bytes) -> Mutation:
    def apply(ws: Path) -> None:
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return apply


def edit(rel: str, **changes: Any) -> Mutation:
    """Change top-level keys of a YAML file (a value of ``DROP`` removes the key)."""

    def apply(ws: Path) -> None:
        data = yaml.safe_load((ws / rel).read_text())
        for key, value in changes.items():
            if value is DROP:
                data.pop(key, None)
            else:
                data[key] = value
        (ws / rel).write_text(_dump(data))

    return apply


DROP = object()


def layer(index: int, **changes: Any) -> Mutation:
    """Change keys of one layer of net.yaml (``DROP`` removes a key)."""

    def apply(ws: Path) -> None:
        data = yaml.safe_load((ws / "net.yaml").read_text())
        entry = data["layers"][index]
        for key, value in changes.items():
            if value is DROP:
                entry.pop(key, None)
            else:
                entry[key] = value
        (ws / "net.yaml").write_text(_dump(data))

    return apply


def copy(src: str, dst: str) -> Mutation:
    def apply(ws: Path) -> None:
        shutil.copytree(ws / src, ws / dst)

    return apply


def delete(rel: str) -> Mutation:
    def apply(ws: Path) -> None:
        (ws / rel).unlink()

    return apply


def truncate(rel: str, fraction: float = 0.5) -> Mutation:
    """Cut a file inside its content (mid-row for a CSV)."""

    def apply(ws: Path) -> None:
        raw = (ws / rel).read_bytes()
        cut = int(len(raw) * fraction)
        if raw[cut - 1 : cut] == b"\n":  # make sure the cut is not at a row boundary
            cut -= 2
        (ws / rel).write_bytes(raw[:cut])

    return apply


def keep_rows(rel: str, n: int) -> Mutation:
    """Keep the header and the first ``n`` rows of a CSV (a cut at a row boundary)."""

    def apply(ws: Path) -> None:
        lines = (ws / rel).read_text().splitlines(keepends=True)
        (ws / rel).write_text("".join(lines[: 1 + n]))

    return apply


def csv_cell(rel: str, column: str, value: str, row: int = 0) -> Mutation:
    def apply(ws: Path) -> None:
        lines = (ws / rel).read_text().splitlines()
        header = lines[0].split(",")
        cells = lines[1 + row].split(",")
        cells[header.index(column)] = value
        lines[1 + row] = ",".join(cells)
        (ws / rel).write_text("\n".join(lines) + "\n")

    return apply


def json_edit(rel: str, fn: Callable[[Any], Any]) -> Mutation:
    import json

    def apply(ws: Path) -> None:
        data = json.loads((ws / rel).read_text())
        (ws / rel).write_text(json.dumps(fn(data)))

    return apply


def seq(*mutations: Mutation) -> Mutation:
    def apply(ws: Path) -> None:
        for m in mutations:
            m(ws)

    return apply


def nothing(ws: Path) -> None:
    """No mutation: the arguments alone are wrong."""


# -- the cases -------------------------------------------------------------------------------
Case = tuple[str, Mutation, list[str]]
CASES: list[Case] = []


def case(name: str, mutation: Mutation, *argv: str) -> None:
    CASES.append((name, mutation, list(argv)))


EVAL = ("evaluate", "--hardware", "hw.yaml", "--workload", "net.yaml")
SHOW = ("workload", "show", "net.yaml")
RUN = ("run", "exp.yaml")
RESUME = ("run", "exp.yaml", "--out", "run", "--resume", "--quiet")

# CLI flags of every verb
case("cli-plot-not-run-dir", put("notrun/readme.txt", "x"), "plot", "notrun")
for name, argv in {
    "no-command": [],
    "unknown-command": ["bogus"],
    "unknown-flag": ["--bogus"],
    "evaluate-no-flags": ["evaluate"],
    "evaluate-no-workload": ["evaluate", "--hardware", "hw.yaml"],
    "evaluate-unknown-design": ["evaluate", "--hardware", "nope", "--workload", "net.yaml"],
    "evaluate-missing-hw-file": ["evaluate", "--hardware", "no.yaml", "--workload", "net.yaml"],
    "evaluate-hw-is-dir": ["evaluate", "--hardware", "run.yaml/", "--workload", "net.yaml"],
    "evaluate-unknown-workload": ["evaluate", "--hardware", "hw.yaml", "--workload", "nonet"],
    "evaluate-batch-0": [*EVAL, "--batch", "0"],
    "evaluate-batch-negative": [*EVAL, "--batch", "-1"],
    "evaluate-batch-text": [*EVAL, "--batch", "two"],
    "evaluate-input-shape-no-eq": [*EVAL, "--input-shape", "1x3"],
    "evaluate-extra-arg": [*EVAL, "extra"],
    "evaluate-input-shape-not-onnx": [*EVAL, "--input-shape", "x=1x3"],
    "evaluate-strict-not-onnx": [
        "evaluate",
        "--hardware",
        "hw.yaml",
        "--workload",
        "alexnet",
        "--strict",
    ],
    "zoo-option-not-int": ["evaluate", "--hardware", "edge", "--workload", "resnet50:resolution=x"],
    "zoo-option-unknown": ["evaluate", "--hardware", "edge", "--workload", "resnet50:depth=3"],
    "zoo-option-zero": ["evaluate", "--hardware", "edge", "--workload", "resnet50:resolution=0"],
    "zoo-option-negative": ["evaluate", "--hardware", "edge", "--workload", "bert_base:seq_len=-8"],
    "zoo-option-no-value": ["evaluate", "--hardware", "edge", "--workload", "resnet50:resolution"],
    "workload-no-subcommand": ["workload"],
    "workload-unknown-subcommand": ["workload", "bogus"],
    "workload-show-missing-file": ["workload", "show", "missing.yaml"],
    "workload-show-unknown-zoo": ["workload", "show", "resnet5000"],
    "list-extra-arg": ["list", "extra"],
    "run-no-experiment": ["run"],
    "run-missing-experiment": ["run", "missing.yaml"],
    "run-experiment-is-dir": ["run", "run"],
    "run-seed-negative": [*RUN, "--seed", "-1"],
    "run-seed-text": [*RUN, "--seed", "x"],
    "run-out-is-file": [*RUN, "--out", "hw.yaml"],
    "run-out-inside-file": [*RUN, "--out", "hw.yaml/sub"],
    "run-resume-and-overwrite": [*RUN, "--out", "run", "--resume", "--overwrite"],
    "run-resume-nothing": [*RUN, "--out", "fresh", "--resume"],
    "run-existing-out": [*RUN, "--out", "run"],
    "run-unknown-executor": [*RUN, "--executor", "gpu"],
    "run-scheduler-not-address": [*RUN, "--scheduler", "nowhere"],
    "run-scheduler-with-local": [*RUN, "--executor", "local", "--scheduler", "tcp://h:1"],
    "sweep-no-grid": ["sweep"],
    "sweep-missing-grid": ["sweep", "missing.yaml"],
    "sweep-workers-0": ["sweep", "grid.yaml", "--workers", "0"],
    "sweep-workers-local": ["sweep", "grid.yaml", "--workers", "2", "--executor", "local"],
    "sweep-out-is-file": ["sweep", "grid.yaml", "--out", "hw.yaml"],
    "validate-no-dir": ["validate"],
    "validate-missing-dir": ["validate", "missing"],
    "validate-not-run-dir": ["validate", "."],
    "validate-top-0": ["validate", "run", "--top", "0"],
    "validate-ids-text": ["validate", "run", "--ids", "a,b"],
    "validate-ids-negative": ["validate", "run", "--ids", "-1"],
    "validate-ids-unknown": ["validate", "run", "--ids", "9999"],
    "validate-jobs-0": ["validate", "run", "--jobs", "0"],
    "validate-max-cycles-0": ["validate", "run", "--max-cycles", "0"],
    "validate-unknown-backend": ["validate", "run", "--backend", "gem5"],
    "validate-unknown-by": ["validate", "run", "--by", "speed"],
    "validate-cache-dir-file": ["validate", "run", "--cache-dir", "hw.yaml"],
    "validate-ids-and-top": ["validate", "run", "--ids", "0", "--top", "2"],
    "validate-max-cycles-twice": ["validate", "run", "--no-max-cycles", "--max-cycles", "9"],
    "plot-no-dir": ["plot"],
    "plot-missing-dir": ["plot", "missing"],
    "plot-run-is-file": ["plot", "hw.yaml"],
    "plot-unknown-kind": ["plot", "run", "--only", "bogus"],
    "plot-empty-kinds": ["plot", "run", "--only", ","],
    "plot-design-negative": ["plot", "run", "--design", "-1"],
    "plot-design-unknown": ["plot", "run", "--design", "9999"],
    "plot-unknown-format": ["plot", "run", "--format", "gif"],
    "plot-out-is-file": ["plot", "run", "--out", "hw.yaml"],
    "plot-one-run-missing": ["plot", "run", "missing"],
    "report-missing-dir": ["report", "missing"],
    "report-top-0": ["report", "run", "--top", "0"],
    "report-top-text": ["report", "run", "--top", "x"],
    "report-unknown-format": ["report", "run", "--format", "pdf"],
    "report-design-unknown": ["report", "run", "--design", "9999"],
    "report-out-inside-file": ["report", "run", "--out", "hw.yaml/report.html"],
    "report-out-is-dir": ["report", "run", "--out", "run"],
    "study-unknown": ["study", "bogus"],
    "study-missing-config": ["study", "multi_dnn", "--config", "missing.yaml"],
    "study-all-with-config": ["study", "all", "--config", "exp.yaml"],
}.items():
    case(f"cli-{name}", nothing, *argv)

# hardware YAML (evaluate --hardware hw.yaml)
HW_VALUES = {
    "pe_rows": [0, -4, 2.5, "16", True, None, [16], 10**9],
    "pe_cols": [0, 10**9],
    "ifmap_sram_kib": [0, -1, float("nan"), float("inf"), "big", 1e12],
    "weight_sram_kib": [1e12, False],
    "ofmap_sram_kib": [1e12],
    "dram_bandwidth_gbps": [0, 1e9],
    "frequency_mhz": [0, 1e9],
    "precision_bits": [3, 0],
    "vector_lanes": [0, 10**9],
    "technology_nm": [5, 1000],
    "pe_stationary_regs": [0, 10**9],
    "dataflow": ["xs", 1],
    "dram_type": ["ddr9"],
    "fusion": ["all"],
    "accumulator_bits": [12, 4, "16", True],  # 4: narrower than the 8-bit activations
    "act_sram": ["pooled", True],
    "sram_buffering": ["triple", 2],
}
for key, values in HW_VALUES.items():
    for value in values:
        case(f"hw-{key}-{value!r}", edit("hw.yaml", **{key: value}), *EVAL)
for name, mutation in {
    "missing-key": edit("hw.yaml", pe_rows=DROP),
    "unknown-key": edit("hw.yaml", pe_row=8),
    "duplicate-key": put("hw.yaml", _dump(HW) + "pe_rows: 8\n"),
    "top-level-list": put("hw.yaml", "- pe_rows: 8\n"),
    "empty": put("hw.yaml", ""),
    "bad-syntax": put("hw.yaml", "pe_rows: [8\n"),
    "unsafe-tag": put("hw.yaml", UNSAFE),
    "not-utf8": put("hw.yaml", b"pe_rows: \xff\xfe\n"),
}.items():
    case(f"hw-{name}", mutation, *EVAL)

# workload YAML (workload show net.yaml)
for name, mutation in {
    "conv-missing-in_h": layer(0, in_h=DROP),
    "conv-missing-in_channels": layer(0, in_channels=DROP),
    "conv-missing-kernel": layer(3, kernel=DROP),
    "linear-missing-out_features": layer(6, out_features=DROP),
    "pool-missing-channels": layer(1, channels=DROP),
    "softmax-missing-rows": layer(7, rows=DROP),
    "elementwise-missing-elements": layer(4, elements=DROP),
    "layer-missing-name": layer(0, name=DROP),
    "layer-missing-op": layer(0, op=DROP),
    "unknown-op": layer(0, op="conv3d"),
    "unknown-layer-key": layer(0, colour="red"),
    "in_h-0": layer(0, in_h=0),
    "in_h-negative": layer(0, in_h=-3),
    "in_h-float": layer(0, in_h=2.5),
    "in_h-text": layer(0, in_h="32"),
    "kernel-1-list": layer(0, kernel=[3]),
    "kernel-3-list": layer(0, kernel=[3, 3, 3]),
    "kernel-and-kernel_h": layer(0, kernel_h=3),
    "padding-3-list": layer(0, padding=[1, 2, 3]),
    "padding-text": layer(0, padding="same"),
    "groups-not-dividing": layer(0, groups=5),
    "kernel-larger-than-input": layer(0, kernel=64, padding=0),
    "stride-0": layer(0, stride=0),
    "dilation-0": layer(2, dilation=0),
    "bias-text": layer(0, bias="yes"),
    "pool-mode": layer(1, mode="median"),
    "elementwise-inputs-0": layer(4, inputs=0),
    "softmax-rows-0": layer(7, rows=0),
    "layer-not-mapping": layer(0) if False else put("net.yaml", "layers: [conv1]\n"),
    "layers-empty": edit("net.yaml", layers=[]),
    "layers-missing": edit("net.yaml", layers=DROP),
    "layers-mapping": edit("net.yaml", layers={"conv1": {}}),
    "batch-0": edit("net.yaml", batch=0),
    "batch-text": edit("net.yaml", batch="two"),
    "unknown-top-key": edit("net.yaml", owner="me"),
    "top-level-list": put("net.yaml", "- name: x\n"),
    "empty": put("net.yaml", ""),
    "unsafe-tag": put("net.yaml", UNSAFE),
    "bad-syntax": put("net.yaml", "layers: {\n"),
    "duplicate-key": put("net.yaml", _dump(NET) + "batch: 2\n"),
}.items():
    case(f"workload-{name}", mutation, *SHOW)

# experiment YAML (run exp.yaml, default output folder)
for name, changes in {
    "name-missing": {"name": DROP},
    "name-empty": {"name": ""},
    "name-slash": {"name": "a/b"},
    "name-number": {"name": 5},
    "unknown-key": {"budget": 3},
    "workloads-empty": {"workloads": []},
    "workloads-string": {"workloads": "net.yaml"},
    "workloads-unknown-zoo": {"workloads": ["nonet"]},
    "workloads-missing-file": {"workloads": ["missing.yaml"]},
    "workloads-batch-0": {"workloads": [{"workload": "net.yaml", "batch": 0}]},
    "workloads-unknown-key": {"workloads": [{"workload": "net.yaml", "size": 1}]},
    "workloads-duplicate": {"workloads": ["net.yaml", "net.yaml"]},
    "workloads-input-shapes": {"workloads": [{"workload": "net.yaml", "input_shapes": [1]}]},
    "workloads-shapes-not-onnx": {
        "workloads": [{"workload": "net.yaml", "input_shapes": {"x": [1, 3]}}]
    },
    "workloads-strict-not-onnx": {"workloads": [{"workload": "net.yaml", "strict": True}]},
    "allow-infeasible-text": {"allow_infeasible": "yes"},
    "space-empty": {"space": {}},
    "space-list": {"space": ["pe_rows"]},
    "space-empty-values": {"space": {"pe_rows": []}},
    "space-unknown-parameter": {"space": {"pe_row": [8, 16]}},
    "space-pow2-reversed": {"space": {"pe_rows": {"pow2": [64, 8]}}},
    "space-pow2-one-bound": {"space": {"pe_rows": {"pow2": [8]}}},
    "space-range-step-0": {"space": {"pe_rows": {"range": [8, 64], "step": 0}}},
    "space-implausible-pes": {"space": {"pe_rows": {"pow2": [8, 2**30]}}},
    "space-implausible-sram": {"space": {"ifmap_sram_kib": [64, 1e12]}},
    "space-unknown-dataflow": {"space": {"dataflow": ["ws", "xs"]}},
    "objectives-empty": {"objectives": []},
    "objectives-unknown": {"objectives": ["speed"]},
    "objectives-twice": {"objectives": ["latency", "latency"]},
    "objectives-string": {"objectives": "latency"},
    "objectives-aggregate": {"objectives": [{"name": "latency", "aggregate": "median"}]},
    "objectives-unknown-workload": {"objectives": [{"name": "latency", "workload": "x"}]},
    "constraints-string": {"constraints": "area_mm2 <= 2"},
    "constraints-unknown-metric": {"constraints": ["area <= 2"]},
    "constraints-strict-operator": {"constraints": ["area_mm2 < 2"]},
    "constraints-negative-bound": {"constraints": ["area_mm2 <= -1"]},
    "constraints-text-bound": {"constraints": ["area_mm2 <= abc"]},
    "constraints-mapping-no-bound": {"constraints": [{"metric": "area_mm2"}]},
    "constraints-unknown-workload": {"constraints": ["latency_s[x] <= 1"]},
    "constraints-nan-bound": {"constraints": ["area_mm2 <= nan"]},
    "algorithm-unknown": {"algorithm": "simplex"},
    "algorithm-number": {"algorithm": 5},
    "algorithm-pop-0": {"algorithm": {"name": "nsga2", "pop_size": 0}},
    "algorithm-pop-text": {"algorithm": {"name": "nsga2", "pop_size": "ten"}},
    "algorithm-unknown-option": {"algorithm": {"name": "nsga2", "speed": 1}},
    "termination-empty": {"termination": {}},
    "termination-list": {"termination": [1]},
    "termination-generations-0": {"termination": {"generations": 0}},
    "termination-generations-text": {"termination": {"generations": "x"}},
    "termination-time-negative": {"termination": {"time_s": -1}},
    "termination-unknown-key": {"termination": {"minutes": 1}},
    "termination-hv-window-0": {"termination": {"hv_stagnation": {"window": 0}}},
    "termination-hv-window-text": {"termination": {"hv_stagnation": {"window": "x"}}},
    "termination-hv-tol-text": {"termination": {"hv_stagnation": {"window": 5, "tol": "abc"}}},
    "termination-hv-tol-negative": {"termination": {"hv_stagnation": {"window": 5, "tol": -1}}},
    "termination-hv-list": {"termination": {"hv_stagnation": [5]}},
    "seeds-negative": {"seeds": [-1]},
    "seeds-duplicate": {"seeds": [0, 0]},
    "seeds-empty": {"seeds": []},
    "seeds-text": {"seeds": "x"},
    "seeds-bool": {"seeds": [True]},
    "executor-unknown": {"executor": "gpu"},
    "executor-scheduler-number": {"executor": {"name": "dask", "scheduler": 5}},
    "refine-unknown-backend": {"refine": "gem5"},
    "refine-unknown-by": {"refine": {"backend": "scalesim", "by": "speed"}},
    "refine-top-0": {"refine": {"backend": "scalesim", "top": 0}},
    "problem-no-colon": {"problem": "nope"},
    "problem-missing-file": {"problem": "missing.py:X"},
    "problem-not-a-problem": {"problem": "evodse.errors:InputError"},
    "base-unknown": {"base": "nobase"},
    "base-missing-file": {"base": "missing.yaml"},
    "base-mapping-bad": {"base": {**HW, "pe_rows": 0}},
    "base-implausible": {"base": {**HW, "pe_cols": 10**9}},
}.items():
    case(f"experiment-{name}", edit("exp.yaml", **changes), *RUN)
for name, mutation in {
    "top-level-list": put("exp.yaml", "- name: x\n"),
    "empty": put("exp.yaml", ""),
    "unsafe-tag": put("exp.yaml", UNSAFE),
    "bad-syntax": put("exp.yaml", "name: [\n"),
    "duplicate-key": put("exp.yaml", _dump(EXP) + "name: again\n"),
    "problem-syntax-error": seq(
        put("bad_problem.py", "def (:\n"), edit("exp.yaml", problem="bad_problem.py:P")
    ),
}.items():
    case(f"experiment-{name}", mutation, *RUN)
case(
    "study-config-unsafe-tag", put("exp.yaml", UNSAFE), "study", "multi_dnn", "--config", "exp.yaml"
)
case("study-config-bad-key", edit("exp.yaml", budget=3), "study", "network", "--config", "exp.yaml")

# grid files (sweep grid.yaml)
for name, mutation in {
    "unknown-axis": edit("grid.yaml", grid={"colour": ["red"]}),
    "axis-not-list": edit("grid.yaml", grid={"seeds": 3}),
    "axis-empty": edit("grid.yaml", grid={"seeds": []}),
    "grid-missing": edit("grid.yaml", grid=DROP),
    "experiment-missing-file": edit("grid.yaml", experiment="missing.yaml"),
    "experiment-number": edit("grid.yaml", experiment=5),
    "bad-point": edit("grid.yaml", grid={"objectives": [["latency"], ["speed"]]}),
    "unknown-key": edit("grid.yaml", owner="me"),
    "unsafe-tag": put("grid.yaml", UNSAFE),
    "out-is-file": edit("grid.yaml", out="hw.yaml"),
    "resume-corrupt-checkpoint": seq(
        copy("run", "runs/grid/seed=0"),
        delete("runs/grid/seed=0/summary.json"),  # an interrupted run: resumed
        put("runs/grid/seed=0/checkpoint.json", "{"),
    ),
    "resume-foreign-run": seq(
        copy("run", "runs/grid/seed=1"), put("runs/grid/seed=1/config.yaml", "name: other\n")
    ),
    "resume-unsafe-config": seq(
        copy("run", "runs/grid/seed=1"), put("runs/grid/seed=1/config.yaml", UNSAFE)
    ),
}.items():
    case(f"grid-{name}", mutation, "sweep", "grid.yaml")

# ONNX files (workload show model.onnx)
ONNX = ("workload", "show", "model.onnx")
for name, (mutation, extra) in {
    "garbage": (put("model.onnx", b"\x00\x01garbage" * 10), ()),
    "empty": (put("model.onnx", b""), ()),
    "truncated": (truncate("model.onnx", 0.5), ()),
    "text": (put("model.onnx", "not a model\n"), ()),
    "missing": (delete("model.onnx"), ()),
    "is-dir": (seq(delete("model.onnx"), put("model.onnx/x", "")), ()),
    "shape-unknown-input": (nothing, ("--input-shape", "nope=1x3x32x32")),
    "shape-bad-dims": (nothing, ("--input-shape", "input=1xax32")),
    "shape-zero-dim": (nothing, ("--input-shape", "input=0x3x32x32")),
    "shape-twice": (nothing, ("--input-shape", "a=1", "--input-shape", "a=2")),
}.items():
    case(f"onnx-{name}", mutation, *ONNX, *extra)

# run directories (plot / report / validate RUN_DIR)
RUN_DIR_CASES: dict[str, Mutation] = {
    "config-unsafe-tag": put("run/config.yaml", UNSAFE),
    "config-bad-syntax": put("run/config.yaml", "name: [\n"),
    "config-list": put("run/config.yaml", "- 1\n"),
    "config-empty": put("run/config.yaml", ""),
    "config-missing": delete("run/config.yaml"),
    "summary-empty": put("run/summary.json", ""),
    "summary-garbage": put("run/summary.json", "{not json"),
    "summary-list": put("run/summary.json", "[]"),
    "summary-no-objectives": json_edit("run/summary.json", lambda d: {**d, "objectives": []}),
    "summary-objective-no-column": json_edit(
        "run/summary.json", lambda d: {**d, "objectives": [{}]}
    ),
    "summary-missing": delete("run/summary.json"),
    "evaluations-truncated": truncate("run/evaluations.csv", 0.6),
    "evaluations-cut-at-row": keep_rows("run/evaluations.csv", 3),
    "evaluations-header-only": keep_rows("run/evaluations.csv", 0),
    "evaluations-empty": put("run/evaluations.csv", ""),
    "evaluations-missing": delete("run/evaluations.csv"),
    "evaluations-not-number": csv_cell("run/evaluations.csv", "latency_s", "fast"),
    "evaluations-nan": csv_cell("run/evaluations.csv", "latency_s", "nan"),
    "evaluations-bad-id": csv_cell("run/evaluations.csv", "id", "x"),
    "evaluations-bad-feasible": csv_cell("run/evaluations.csv", "feasible", "maybe"),
    "evaluations-bad-pe_rows": csv_cell("run/evaluations.csv", "pe_rows", "-8"),
    "evaluations-not-utf8": put("run/evaluations.csv", b"id,\xff\xfe\n"),
    "pareto-truncated": truncate("run/pareto.csv", 0.6),
    "pareto-cut-at-row": keep_rows("run/pareto.csv", 0),
    "pareto-unknown-id": csv_cell("run/pareto.csv", "id", "999"),
    "pareto-bad-dataflow": csv_cell("run/pareto.csv", "dataflow", "xs"),
    "pareto-missing": delete("run/pareto.csv"),
    "history-truncated": truncate("run/history.csv", 0.6),
    "history-not-number": csv_cell("run/history.csv", "hypervolume", "high"),
}
for name, mutation in RUN_DIR_CASES.items():
    for verb in ("plot", "report", "validate"):
        if verb == "validate" and name.startswith(("summary", "history")):
            continue  # validate reads config.yaml and the CSV files only
        extra = ("--ids", "0") if verb == "validate" and name.startswith("evaluations") else ()
        case(f"rundir-{name}-{verb}", mutation, verb, "run", *extra)

# checkpoints (run --resume)
for name, mutation in {
    "json-empty": put("run/checkpoint.json", ""),
    "json-garbage": put("run/checkpoint.json", "{not json"),
    "json-list": put("run/checkpoint.json", "[]"),
    "json-truncated": truncate("run/checkpoint.json", 0.5),
    "npz-garbage": put("run/checkpoint.npz", b"PK\x03\x04garbage"),
    "npz-truncated": truncate("run/checkpoint.npz", 0.5),
    "npz-missing": delete("run/checkpoint.npz"),
    "foreign-config": edit("exp.yaml", objectives=["latency", "area"]),
    "legacy-pickle": seq(
        delete("run/checkpoint.json"),
        delete("run/checkpoint.npz"),
        put("run/checkpoint.pkl", b"\x80\x04garbage"),
    ),
    "version": json_edit("run/checkpoint.json", lambda d: {**d, "format": 999}),
}.items():
    case(f"checkpoint-{name}", mutation, *RESUME)


#: What some errors must say (the issue's examples among them): file, key, what was expected.
MESSAGES: dict[str, tuple[str, ...]] = {
    "rundir-config-unsafe-tag-validate": ("run/config.yaml", "'!!python/object/apply", "allowed"),
    "rundir-config-unsafe-tag-plot": ("run/config.yaml", "not allowed"),
    "rundir-evaluations-truncated-report": ("run/evaluations.csv", "truncated"),
    "rundir-evaluations-cut-at-row-plot": ("run/evaluations.csv", "3 rows", "summary.json"),
    "rundir-pareto-cut-at-row-validate": ("run/pareto.csv", "0 rows", "front_size"),
    "rundir-pareto-unknown-id-plot": ("run/pareto.csv", "999", "evaluations.csv"),
    "rundir-evaluations-nan-report": ("run/evaluations.csv", "latency_s", "finite"),
    "workload-conv-missing-in_h": ("net.yaml", "layers[0]", "missing required key 'in_h'"),
    "workload-conv-missing-kernel": ("net.yaml", "layers[3]", "'kernel_h' (or 'kernel')"),
    "hw-pe_rows-1000000000": ("hw.yaml", "pe_rows", "from 1 to 4096"),
    "hw-ifmap_sram_kib-1000000000000.0": ("hw.yaml", "ifmap_sram_kib", "from 0.0625 to 1048576"),
    "hw-accumulator_bits-4": ("hw.yaml", "accumulator_bits", "at least activation_bits (8)"),
    "hw-act_sram-'pooled'": ("hw.yaml", "act_sram", "'separate', 'shared'"),
    "hw-sram_buffering-'triple'": ("hw.yaml", "sram_buffering", "'double', 'single'"),
    "experiment-space-implausible-pes": ("exp.yaml", "pe_rows", "from 1 to 4096"),
    "experiment-termination-hv-tol-text": ("exp.yaml", "termination.hv_stagnation.tol"),
    "cli-run-seed-negative": ("--seed", "-1"),
    "cli-run-out-is-file": ("hw.yaml", "--out", "is a file"),
    "cli-run-resume-and-overwrite": ("--resume", "--overwrite"),
    "cli-run-resume-nothing": ("--resume", "no checkpoint"),
    "cli-validate-cache-dir-file": ("hw.yaml", "--cache-dir", "is a file"),
    "cli-report-out-is-dir": ("run", "--out", "folder"),
    "cli-sweep-out-is-file": ("hw.yaml", "--out"),
    "grid-out-is-file": ("grid.yaml", "out", "hw.yaml"),
    "checkpoint-json-truncated": ("run",),
}


def test_enough_cases() -> None:
    assert len(CASES) >= 150
    assert len({c[0] for c in CASES}) == len(CASES), "case names repeat"
    assert set(MESSAGES) <= {c[0] for c in CASES}


def _snapshot(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
    return out


@pytest.fixture
def workspace(pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(pristine, ws, copy_function=shutil.copyfile)  # bytes only: fast
    monkeypatch.chdir(ws)
    return ws


@pytest.mark.parametrize(("mutation", "argv"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_input(
    workspace: Path,
    mutation: Mutation,
    argv: list[str],
    capsys: pytest.CaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    mutation(workspace)
    before = _snapshot(workspace)
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, f"exit {status}; stderr: {err!r}"
    assert err.startswith("evodse: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert out == "", out
    for part in MESSAGES.get(request.node.callspec.id, ()):
        assert part in err, f"{part!r} not in {err!r}"
    if "--design" not in argv:
        assert "--design" not in err, err  # the error blames what was given, not a flag
    assert _snapshot(workspace) == before, "the workspace changed"
    assert not (workspace / "pwned").exists()


@pytest.mark.parametrize(
    ("mutation", "argv"),
    [
        (edit("hw.yaml", pe_rows=10**9), list(EVAL)),
        (put("run/config.yaml", UNSAFE), ["validate", "run"]),
        (truncate("run/evaluations.csv", 0.6), ["report", "run"]),
    ],
    ids=["hw-implausible-evaluate", "config-unsafe-validate", "truncated-csv-report"],
)
def test_console(workspace: Path, mutation: Mutation, argv: list[str]) -> None:
    """The real console: exit status 2, one line on stderr, nothing on stdout."""
    mutation(workspace)
    before = _snapshot(workspace)
    proc = subprocess.run(
        [sys.executable, "-m", "evodse.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("evodse: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stdout == ""
    assert _snapshot(workspace) == before
