#!/usr/bin/env python3
"""Regenerate SCALE-Sim golden cycle counts: ``tests/golden/scalesim_cycles.json``.

What it does
    Runs SCALE-Sim (PyPI ``scalesim``, written against 3.0.0) through its Python API
    (``scalesim.scale_sim.scalesim``), one single-layer topology per case, for a fixed list of
    small but realistic layers x dataflows (os, ws, is) x array shapes (8x8, 16x16, 32x32, 16x32),
    and writes the stall-free compute cycles of each run to a JSON file. The analytical
    systolic-array model of evodse is cross-validated against that file in the tests, so the
    tests never need to run SCALE-Sim live (it is slow: a Python loop over every demand element).
    The exact closed-form formulas SCALE-Sim implements are documented in
    ``docs/scalesim_conventions.md``; this script also re-checks every run against them
    (``closed_form_cycles`` below) and logs a warning if SCALE-Sim ever disagrees.

    Config/topology/layout files and SCALE-Sim's own CSV reports go to a temporary directory that
    is deleted afterwards; the only file written is the output JSON. The JSON is rewritten
    atomically (tmp file + os.replace) after every case, so an interrupted run keeps its progress;
    ``--resume`` then skips the cases already present in ``--out``.

    SRAMs are 10000 kB each and the interface bandwidth is ``CALC`` (SCALE-Sim's
    estimate-bandwidth mode, whose read buffers are stall-free by construction), so there are no
    memory stalls; ``total_cycles`` is COMPUTE_REPORT's "Total Cycles" minus "Stall Cycles", and
    the script asserts that "Stall Cycles" is 0.

How long it takes
    Full set: 20 layers x 3 dataflows x 4 arrays = 240 runs, about 3.5-4 minutes on one core
    (slowest run 7-12 s, most < 2 s). ``--quick``: 7 tiny runs, ~3 s (+ imports).
    The script pins BLAS/OpenMP to one thread and runs the cases sequentially (one core).

How to run
    . /work/venv/bin/activate                  # any env with scalesim + numpy
    python tests/golden/regen_scalesim.py      # full run -> tests/golden/scalesim_cycles.json
    nohup python tests/golden/regen_scalesim.py > /tmp/scalesim_regen.log 2>&1 &   # in background
    python tests/golden/regen_scalesim.py --quick                # live check; compares with the
                                                                  # golden JSON, exit 1 on mismatch
    python tests/golden/regen_scalesim.py --quick --out /tmp/q.json --compare none
    Options: --out PATH, --quick, --resume, --compare PATH|none, --only SUBSTRING (layer filter).
    With --quick and no --out the output goes to a temp file, never over the golden JSON.

Compatibility note
    scalesim 3.0.0 calls ``int(max(list_of_1_element_arrays))`` in
    memory/double_buffered_scratchpad_mem.py:307 (and read_buffer.py:423), which raises
    ``TypeError: only 0-dimensional arrays can be converted to Python scalars`` with NumPy >= 2.4
    (upstream issue scalesim-project/SCALE-Sim#160). ``_install_numpy_compat_shim`` rebinds the
    name ``max`` in those two modules only, to a wrapper returning a scalar for 1-element arrays.
    It does not change any value; nothing in site-packages is edited.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import importlib
import io
import json
import math
import os
import sys
import tempfile
import time

# One core only: keep numpy's BLAS / OpenMP single-threaded (must precede the numpy import).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "scalesim_cycles.json")
GENERATED_BY = "tests/golden/regen_scalesim.py"

CONVENTIONS = (
    "SCALE-Sim conv layer = GEMM [P x W] x [W x M], P = ofmap_h*ofmap_w, W = filter_h*filter_w*"
    "channels, M = num_filters. ifmap_h/ifmap_w are PRE-PADDED (pad folded in, 'pad' is the "
    "symmetric padding per side); SCALE-Sim's ofmap size is ceil((ifmap-filter)/stride)+1 (ceil "
    "mode: it can be one larger than floor-mode frameworks when (ifmap-filter) % stride != 0). "
    "Batch 1, one word per element. 'total_cycles' = COMPUTE_REPORT 'Total Cycles' minus 'Stall "
    "Cycles' (stalls are 0 here: CALC bandwidth mode, 10000 kB SRAMs) = stall-free compute cycles "
    "= folds*per_fold - 1 with os: Sr=P,Sc=M,T=W, per_fold=T+R+C-2; ws: Sr=W,Sc=M,T=P, per_fold="
    "2R+C+T-2; is: Sr=W,Sc=P,T=M, per_fold=2R+C+T-2; folds=ceil(Sr/R)*ceil(Sc/C), R=array_rows, "
    "C=array_cols. kind 'depthwise' = ONE channel with ONE filter (channels=1, num_filters=1); "
    "the whole depthwise layer costs 'groups' x total_cycles (SCALE-Sim itself splits layers whose "
    "name contains 'DP' into per-channel layers the same way). kind 'fc' = 1x1 conv on a 1x1 ifmap "
    "(channels=in_features, num_filters=out_features); kind 'gemm' = MxK @ KxN as a 1x1 conv with "
    "ifmap_h=M tokens, ifmap_w=1, channels=K, num_filters=N (identical to SCALE-Sim's own MNK "
    "GEMM input mode). 'sim_seconds' = wall time of the SCALE-Sim run."
)

# ---------------------------------------------------------------------------------------------
# Cases. ifmap sizes are UNPADDED here; the padded size (as SCALE-Sim takes it) is computed.
# (name, kind, unpadded_h, unpadded_w, filter_h, filter_w, channels, num_filters, stride, pad,
#  groups)
# Names must not contain 'DP' (SCALE-Sim treats such layers as depthwise and splits them).
# ---------------------------------------------------------------------------------------------
LAYERS = [
    # pointwise / 1x1 convs
    ("conv1x1_14x14_64to64", "conv", 14, 14, 1, 1, 64, 64, 1, 0, 1),
    ("conv1x1_28x28_32to16", "conv", 28, 28, 1, 1, 32, 16, 1, 0, 1),
    # ResNet downsample shortcut: 28 -> SCALE-Sim gives 15x15 (floor-mode frameworks: 14x14)
    ("conv1x1_s2_28x28_32to64", "conv", 28, 28, 1, 1, 32, 64, 2, 0, 1),
    # channel counts that are not multiples of the array sizes
    ("conv1x1_7x7_160to40", "conv", 7, 7, 1, 1, 160, 40, 1, 0, 1),
    # 3x3 convs
    ("conv3x3_14x14_32to32", "conv", 14, 14, 3, 3, 32, 32, 1, 1, 1),
    ("conv3x3_7x7_96to32", "conv", 7, 7, 3, 3, 96, 32, 1, 1, 1),
    ("conv3x3_valid_12x12_16to24", "conv", 12, 12, 3, 3, 16, 24, 1, 0, 1),
    ("conv3x3_first_28x28_3to16", "conv", 28, 28, 3, 3, 3, 16, 1, 1, 1),
    ("conv3x3_nonsquare_10x14_24to40", "conv", 10, 14, 3, 3, 24, 40, 1, 1, 1),
    # strided 3x3: 28+2 -> ceil(27/2)+1 = 15 (floor mode: 14); 13+2 -> 7 either way
    ("conv3x3_s2_28x28_16to32", "conv", 28, 28, 3, 3, 16, 32, 2, 1, 1),
    ("conv3x3_s2_13x13_32to32", "conv", 13, 13, 3, 3, 32, 32, 2, 1, 1),
    # 5x5
    ("conv5x5_12x12_16to32", "conv", 12, 12, 5, 5, 16, 32, 1, 2, 1),
    # ResNet conv1 style 7x7/2 pad 3: 32+6 -> ceil(31/2)+1 = 17 (floor mode: 16)
    ("conv7x7_s2_32x32_3to32", "conv", 32, 32, 7, 7, 3, 32, 2, 3, 1),
    # depthwise 3x3 (MobileNet style), modelled as ONE channel / ONE filter; groups = channels
    ("dw3x3_28x28_g32", "depthwise", 28, 28, 3, 3, 1, 1, 1, 1, 32),
    ("dw3x3_s2_28x28_g64", "depthwise", 28, 28, 3, 3, 1, 1, 2, 1, 64),
    # fully connected = 1x1 conv on a 1x1 ifmap
    ("fc_256to128", "fc", 1, 1, 1, 1, 256, 128, 1, 0, 1),
    ("fc_200to100", "fc", 1, 1, 1, 1, 200, 100, 1, 0, 1),
    # transformer GEMMs: (M tokens x K) @ (K x N) = 1x1 conv, ifmap_h = M, ifmap_w = 1
    ("gemm_qkv_M32_K64_N64", "gemm", 32, 1, 1, 1, 64, 64, 1, 0, 1),
    ("gemm_ffn_M16_K64_N256", "gemm", 16, 1, 1, 1, 64, 256, 1, 0, 1),
    ("gemm_scores_M32_K16_N32", "gemm", 32, 1, 1, 1, 16, 32, 1, 0, 1),
]

ARRAYS = [(8, 8), (16, 16), (32, 32), (16, 32)]  # (rows, cols)
DATAFLOWS = ["os", "ws", "is"]

# --quick: a subset of the full cases (so they can be compared with the golden file)
QUICK = [
    ("fc_256to128", (8, 8), "os"),
    ("fc_256to128", (8, 8), "ws"),
    ("fc_256to128", (8, 8), "is"),
    ("dw3x3_28x28_g32", (8, 8), "os"),
    ("dw3x3_28x28_g32", (16, 32), "ws"),
    ("gemm_qkv_M32_K64_N64", (16, 16), "is"),
    ("conv3x3_valid_12x12_16to24", (32, 32), "os"),
]

CFG_TEMPLATE = """[general]
run_name = golden

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
ifmapsramszkB = {sram_kb}
filtersramszkB = {sram_kb}
ofmapsramszkB = {sram_kb}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40
"""
SRAM_KB = 10000


# ---------------------------------------------------------------------------------------------
def _install_numpy_compat_shim() -> None:
    """Make scalesim 3.0.0 run on NumPy >= 2.4 without changing any result (see module doc)."""

    def _max(*args, **kwargs):
        r = builtins.max(*args, **kwargs)
        if isinstance(r, np.ndarray) and r.size == 1:
            return r.reshape(-1)[0]
        return r

    for mod in ("scalesim.memory.double_buffered_scratchpad_mem", "scalesim.memory.read_buffer"):
        importlib.import_module(mod).max = _max


def scalesim_version() -> str:
    try:
        from importlib.metadata import version

        return version("scalesim")
    except Exception:  # pragma: no cover
        return "unknown"


def ofmap_dims(ih: int, iw: int, fh: int, fw: int, s: int) -> tuple[int, int]:
    """SCALE-Sim's ofmap size (topology_utils.topo_calc_hyperparams): ceil((I - F + s) / s)."""
    return math.ceil((ih - fh + s) / s), math.ceil((iw - fw + s) / s)


def closed_form_cycles(case: dict) -> int:
    """Stall-free SCALE-Sim 3.0.0 compute cycles (see docs/scalesim_conventions.md)."""
    oh, ow = ofmap_dims(
        case["ifmap_h"], case["ifmap_w"], case["filter_h"], case["filter_w"], case["stride"]
    )
    P = oh * ow
    W = case["filter_h"] * case["filter_w"] * case["channels"]
    M = case["num_filters"]
    R, C = case["array_rows"], case["array_cols"]
    df = case["dataflow"]
    if df == "os":
        sr, sc, t = P, M, W
        per_fold = t + R + C - 2
    elif df == "ws":
        sr, sc, t = W, M, P
        per_fold = 2 * R + C + t - 2
    elif df == "is":
        sr, sc, t = W, P, M
        per_fold = 2 * R + C + t - 2
    else:
        raise ValueError(df)
    return math.ceil(sr / R) * math.ceil(sc / C) * per_fold - 1


def make_case(layer: tuple, rows: int, cols: int, dataflow: str) -> dict:
    name, kind, h, w, fh, fw, ch, nf, stride, pad, groups = layer
    assert "DP" not in name, name
    case = {
        "layer": name,
        "kind": kind,
        "ifmap_h": h + 2 * pad,
        "ifmap_w": w + 2 * pad,
        "filter_h": fh,
        "filter_w": fw,
        "channels": ch,
        "num_filters": nf,
        "stride": stride,
        "pad": pad,
        "array_rows": rows,
        "array_cols": cols,
        "dataflow": dataflow,
    }
    if kind == "depthwise":
        case["groups"] = groups
    return case


def case_key(c: dict) -> tuple:
    return (c["layer"], c["array_rows"], c["array_cols"], c["dataflow"])


def all_cases(quick: bool) -> list[dict]:
    by_name = {layer[0]: layer for layer in LAYERS}
    if quick:
        return [make_case(by_name[n], r, c, df) for n, (r, c), df in QUICK]
    return [make_case(layer, r, c, df) for layer in LAYERS for (r, c) in ARRAYS for df in DATAFLOWS]


# ---------------------------------------------------------------------------------------------
def run_scalesim(case: dict) -> dict:
    """Run one single-layer SCALE-Sim simulation in a temp dir; return the measured fields."""
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory(prefix="evodse_scalesim_") as td:
        cfg = os.path.join(td, "arch.cfg")
        topo = os.path.join(td, "topo.csv")
        layout = os.path.join(td, "layout.csv")
        with open(cfg, "w") as f:
            f.write(
                CFG_TEMPLATE.format(
                    rows=case["array_rows"],
                    cols=case["array_cols"],
                    dataflow=case["dataflow"],
                    sram_kb=SRAM_KB,
                )
            )
        with open(topo, "w") as f:
            f.write(
                "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                "Channels, Num Filter, Strides,\n"
            )
            f.write(
                f"{case['layer']}, {case['ifmap_h']}, {case['ifmap_w']}, {case['filter_h']}, "
                f"{case['filter_w']}, {case['channels']}, {case['num_filters']}, "
                f"{case['stride']},\n"
            )
        with open(layout, "w") as f:  # required by the API; unused with custom layouts off
            f.write("Layer name,\n")

        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(
                save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout
            )
            sim.run_scale(top_path=os.path.join(td, "out"))
        dt = time.perf_counter() - t0

        layers = sim.runner.single_layer_sim_object_list
        assert len(layers) == 1, f"expected 1 simulated layer, got {len(layers)}"
        report = os.path.join(td, "out", "golden", "COMPUTE_REPORT.csv")
        with open(report) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        header = [x.strip() for x in lines[0].split(",")]
        row = [x.strip() for x in lines[1].split(",")]
        rep = dict(zip(header, row, strict=False))
        total_with_stalls = int(rep["Total Cycles"])
        stalls = int(rep["Stall Cycles"])
        cs = layers[0].compute_system
        topo_obj = sim.topo
        oh, ow = topo_obj.get_layer_ofmap_dims(0)
        return {
            "total_cycles": total_with_stalls - stalls,
            "stall_cycles": stalls,
            "ofmap_h": int(oh),
            "ofmap_w": int(ow),
            "Sr": int(cs.Sr),
            "Sc": int(cs.Sc),
            "T": int(cs.T),
            "sim_seconds": round(dt, 3),
        }


def write_json_atomic(path: str, doc: dict) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".scalesim_cycles.", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w") as f:  # one case per line: readable, diff-friendly
            head = {k: v for k, v in doc.items() if k != "cases"}
            f.write(json.dumps(head, indent=1)[:-2] + ',\n "cases": [\n')
            f.write(",\n".join("  " + json.dumps(c) for c in doc["cases"]))
            f.write("\n ]\n}\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def compare(results: list[dict], golden_path: str) -> int:
    with open(golden_path) as f:
        golden = {case_key(c): c for c in json.load(f)["cases"]}
    bad = 0
    for c in results:
        g = golden.get(case_key(c))
        if g is None:
            print(f"compare: {case_key(c)} not in {golden_path}")
            bad += 1
        elif g["total_cycles"] != c["total_cycles"]:
            print(
                f"compare: MISMATCH {case_key(c)}: live {c['total_cycles']} "
                f"!= golden {g['total_cycles']}"
            )
            bad += 1
    print(f"compare: {len(results) - bad}/{len(results)} cases match {golden_path}")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="only a few tiny cases (CI live check)")
    ap.add_argument(
        "--out", default=None, help=f"output JSON (default {DEFAULT_OUT}; with --quick a temp file)"
    )
    ap.add_argument("--resume", action="store_true", help="keep cases already in --out")
    ap.add_argument(
        "--compare",
        default=None,
        help="golden JSON to compare total_cycles with "
        "('none' to skip; default: the golden file when --quick)",
    )
    ap.add_argument("--only", default=None, help="only layers whose name contains this")
    args = ap.parse_args(argv)

    out = args.out or (
        os.path.join(tempfile.gettempdir(), "scalesim_cycles_quick.json")
        if args.quick
        else DEFAULT_OUT
    )
    compare_path = args.compare
    if compare_path is None and args.quick:
        compare_path = DEFAULT_OUT
    if compare_path == "none":
        compare_path = None

    _install_numpy_compat_shim()
    version = scalesim_version()

    cases = all_cases(args.quick)
    if args.only:
        cases = [c for c in cases if args.only in c["layer"]]

    done: dict[tuple, dict] = {}
    if args.resume and os.path.exists(out):
        with open(out) as f:
            old = json.load(f)
        if old.get("scalesim_version") == version:
            done = {case_key(c): c for c in old.get("cases", [])}

    doc = {
        "scalesim_version": version,
        "generated_by": GENERATED_BY,
        "conventions": CONVENTIONS,
        "cases": [],
    }
    print(f"scalesim {version}, numpy {np.__version__}: {len(cases)} cases -> {out}", flush=True)
    t_start = time.perf_counter()
    n_mismatch = 0
    results = []
    for i, case in enumerate(cases, 1):
        key = case_key(case)
        if key in done:
            results.append(done[key])
            doc["cases"] = list(results)
            continue
        meas = run_scalesim(case)
        if meas["stall_cycles"] != 0:
            raise RuntimeError(f"{key}: SCALE-Sim reported {meas['stall_cycles']} stall cycles")
        rec = dict(case)
        rec.update(meas)
        results.append(rec)
        cf = closed_form_cycles(case)
        flag = "" if cf == rec["total_cycles"] else f"  WARNING closed form says {cf}"
        n_mismatch += bool(flag)
        print(
            f"[{i:3d}/{len(cases)}] {case['layer']:28s} {case['array_rows']:2d}x"
            f"{case['array_cols']:<2d} {case['dataflow']}: {rec['total_cycles']:7d} cycles "
            f"({rec['sim_seconds']:6.2f} s, elapsed {time.perf_counter() - t_start:7.1f} s)"
            f"{flag}",
            flush=True,
        )
        doc["cases"] = list(results)
        write_json_atomic(out, doc)

    write_json_atomic(out, doc)
    total = time.perf_counter() - t_start
    sim_total = sum(c["sim_seconds"] for c in results)
    print(
        f"done: {len(results)} cases in {total:.1f} s (sum of sim_seconds {sim_total:.1f} s); "
        f"closed-form mismatches: {n_mismatch}; wrote {out}",
        flush=True,
    )
    rc = 0
    if compare_path:
        if os.path.exists(compare_path) and os.path.abspath(compare_path) != os.path.abspath(out):
            rc = 1 if compare(results, compare_path) else 0
        elif args.compare not in (None, "none"):
            print(f"compare: {compare_path} not found or same as --out")
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
