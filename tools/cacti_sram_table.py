#!/usr/bin/env python3
"""Tabulate on-chip SRAM costs from CACTI 7 as ZigZag 3.9.1 prices them: ``sram_cacti.yaml``.

What it does
    For every node (22, 28, 32, 45, 65 nm), port width (32 ... 2048 bit) and capacity (1 KiB ...
    64 MiB, powers of two) it calls ZigZag's own CACTI wrapper,
    ``zigzag.hardware.architecture.get_cacti_cost.get_cacti_cost(cacti_path, tech_node, "sram",
    size_bytes, bw_bits)``, which writes a CACTI config into the bundled
    ``zigzag/cacti/cacti_master/self_gen/`` and runs the bundled CACTI 7 binary. Read/write energy
    per access, area and access time are the wrapper's return values, unchanged. The wrapper
    does not return leakage, so the script reads CACTI's "Standby leakage per bank(mW)" column
    (subthreshold + gate leakage) from the same output file the wrapper parsed, and scales it
    the way the wrapper scales area (x bw/32 for wide ports, x 0.81 at 28 nm; without the
    wrapper's unexplained x2 on area). The result goes to ``evodse/hardware/sram_cacti.yaml``.

Compatibility shims (nothing in site-packages is edited)
    - zigzag-dse 3.9.1's ``get_cacti_cost`` parses every CSV field with ``float`` and catches
      only ``IndexError``, but this CACTI writes "N/A" in its "Dynamic search energy" and tag
      columns, so the wrapper always raises ``ValueError``. The script rebinds the name
      ``float`` in that one module to a version returning NaN for "N/A"; no used column is N/A.
    - When CACTI finds no organization it writes no output, and the wrapper would silently read
      the previous run's file; the script deletes the output file before each call, so such
      points end up as ``null`` (the wrapper then calls ``exit()``, caught here).

How long it takes
    595 CACTI runs (17 capacities x 7 widths x 5 nodes), 222-312 s measured on one core of a
    shared 2-core machine (64 MiB arrays ~1 s each, small ones < 0.1 s). Deterministic: two
    runs gave byte-identical files.

How to run (from the repository root)
    python3 -m venv /work/zzvenv && /work/zzvenv/bin/pip install zigzag-dse==3.9.1 six
    /work/zzvenv/bin/python tools/cacti_sram_table.py [--out evodse/hardware/sram_cacti.yaml]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import time
from dataclasses import dataclass

import yaml
import zigzag
import zigzag.hardware.architecture.get_cacti_cost as zz_cacti

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "evodse", "hardware", "sram_cacti.yaml")
REGEN_COMMAND = "/work/zzvenv/bin/python tools/cacti_sram_table.py"
CACTI_PATH = os.path.join(os.path.dirname(zigzag.__file__), "cacti", "cacti_master")
HD_HASH = "evodse_table"

CAPACITIES_KIB: tuple[int, ...] = tuple(2**k for k in range(17))  # 1 KiB .. 64 MiB
PORT_WIDTHS_BITS: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048)
NODES_NM: tuple[int, ...] = (22, 28, 32, 45, 65)
WRAPPER_28NM_FACTOR = 0.81  # get_cacti_cost: tech 0.028 -> CACTI 0.032, every result x 0.9^2
FIELDS: tuple[str, ...] = (
    "read_energy_pj",
    "write_energy_pj",
    "area_mm2",
    "leakage_power_mw",
    "access_time_ns",
)
SIGNIFICANT_DIGITS = 5


@dataclass(frozen=True)
class SramCost:
    """One CACTI point as ZigZag's wrapper prices it (per access at the full port width)."""

    read_energy_pj: float
    write_energy_pj: float
    area_mm2: float
    leakage_power_mw: float
    access_time_ns: float


def _lenient_float(text: str) -> float:
    """``float`` that maps CACTI's "N/A" fields to NaN (see the module docstring)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def _install_wrapper_shim() -> None:
    """Rebind ``float`` inside ZigZag's CACTI wrapper module only."""
    zz_cacti.float = _lenient_float  # type: ignore[attr-defined]


def _output_path() -> str:
    """CACTI's CSV output for this script's config file (the wrapper's naming)."""
    return os.path.join(CACTI_PATH, "self_gen", f"cache_{HD_HASH}.cfg.out")


def _read_leakage_mw(out_path: str) -> float:
    """CACTI's standby leakage per bank (mW) from the last row of its CSV output."""
    with open(out_path, encoding="utf-8") as handle:
        rows = [line.split(",") for line in handle if line.strip()]
    header = [name.strip() for name in rows[0]]
    column = header.index("Standby leakage per bank(mW)")
    return float(rows[-1][column])


def _leakage_scale(node_nm: int, port_bits: int) -> float:
    """The wrapper's area scaling (node and width), applied to leakage."""
    node_factor = WRAPPER_28NM_FACTOR if node_nm == 28 else 1.0
    width_factor = port_bits / 32 if port_bits > 32 else 1.0
    return node_factor * width_factor


def _remove_run_files() -> None:
    """Delete this script's CACTI config and output from ZigZag's self_gen folder."""
    for suffix in (".cfg", ".cfg.out"):
        path = os.path.join(CACTI_PATH, "self_gen", f"cache_{HD_HASH}{suffix}")
        if os.path.exists(path):
            os.remove(path)


def cacti_point(node_nm: int, capacity_kib: int, port_bits: int) -> SramCost | None:
    """Run ZigZag's ``get_cacti_cost`` for one SRAM; None when CACTI finds no organization."""
    out_path = _output_path()
    if os.path.exists(out_path):
        os.remove(out_path)
    cwd = os.getcwd()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            time_ns, area_mm2, read_pj, write_pj = zz_cacti.get_cacti_cost(
                cacti_path=CACTI_PATH,
                tech_node=node_nm / 1000,
                mem_type="sram",
                mem_size_in_byte=capacity_kib * 1024,
                bw=port_bits,
                hd_hash=HD_HASH,
            )
    except SystemExit:
        return None
    finally:
        os.chdir(cwd)
    leakage_mw = _read_leakage_mw(out_path) * _leakage_scale(node_nm, port_bits)
    return SramCost(read_pj, write_pj, area_mm2, leakage_mw, time_ns)


def build_table() -> dict[int, dict[int, list[SramCost | None]]]:
    """All points: node (nm) -> port width (bits) -> costs aligned with CAPACITIES_KIB."""
    table: dict[int, dict[int, list[SramCost | None]]] = {}
    for node_nm in NODES_NM:
        table[node_nm] = {}
        for port_bits in PORT_WIDTHS_BITS:
            table[node_nm][port_bits] = [
                cacti_point(node_nm, kib, port_bits) for kib in CAPACITIES_KIB
            ]
        print(f"  {node_nm} nm done", file=sys.stderr, flush=True)
    return table


def _fmt(value: float | None) -> str:
    """A number with SIGNIFICANT_DIGITS significant digits, or YAML null."""
    if value is None:
        return "null"
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


HEADER_TEXT = f"""\
On-chip SRAM costs from CACTI 7.0 (R. Balasubramonian, A. B. Kahng, N. Muralimanohar,
A. Shafiee, V. Srinivas, 'CACTI 7: New tools for interconnect exploration in innovative
off-chip memories', ACM TACO 14(2), 2017) as bundled with zigzag-dse 3.9.1, priced by
ZigZag's wrapper zigzag.hardware.architecture.get_cacti_cost.get_cacti_cost (values as
it returns them). Generated data: do not edit; regenerate from the repository root with
  {REGEN_COMMAND}
(venv: python3 -m venv /work/zzvenv && /work/zzvenv/bin/pip install zigzag-dse==3.9.1 six).

CACTI settings (ZigZag's baseline config): cache type 'ram' (scratchpad, no tags), UCA,
1 bank, 1 read-write port, data cell and peripheral type itrs-hp, 300 K (the wrapper
appends '-operating temperature (K) 300' after its baseline 360 K line; CACTI keeps the
last), ECC on, optimize ED^2, semi-global wires in and outside mats, Global_30
signaling, block size = port width / 8 bytes.

Wide ports: for a port of bw > 32 bits the wrapper runs a 32-bit-wide array with the
same row count (capacity * 32 / bw bytes) and multiplies energy and area by bw / 32:
a wide port is bw/32 independent 32-bit sub-arrays accessed in parallel. Energy per bit
at width bw is therefore the 32-bit-port energy per bit of an array bw/32 times
smaller: it falls as ports widen (about 1/sqrt(width) for large arrays) and is never
the cost of one wide array. Access time is the sub-array's (not scaled).

28 nm: CACTI has no 28 nm; the wrapper maps 0.028 to CACTI 32 nm and multiplies access
time, area and energies by 0.81 (= 0.9^2). The 28 nm entries are
get_cacti_cost(0.028, ...).

Fields, lists aligned with capacity_kib, per node (nm) and port width (bits):
  read_energy_pj, write_energy_pj: dynamic energy per access of the full port (pJ);
  area_mm2: the wrapper's area, 2 x CACTI's reported area (a factor in the wrapper);
  leakage_power_mw: CACTI 'Standby leakage per bank' (subthreshold + gate, mW),
    scaled like area by bw/32 and by 0.81 at 28 nm, without the wrapper's x2;
  access_time_ns: CACTI access time (ns).
null: CACTI found no organization (fewer than 32 rows of 32 bits after the wide-port
adjustment, i.e. capacity * 32 / bw < 128 bytes).
"""


def _header() -> str:
    """The YAML header comment: source, command and CACTI settings."""
    return "".join(f"# {line}".rstrip() + "\n" for line in HEADER_TEXT.splitlines())


def to_yaml(table: dict[int, dict[int, list[SramCost | None]]]) -> str:
    """Compact YAML text: one flow-style list per node, width and field."""
    parts = [_header(), "\n"]
    parts.append(f"capacity_kib: [{', '.join(str(kib) for kib in CAPACITIES_KIB)}]\n")
    parts.append(f"port_width_bits: [{', '.join(str(bits) for bits in PORT_WIDTHS_BITS)}]\n")
    parts.append("node_nm:\n")
    for node_nm, by_width in table.items():
        parts.append(f"  {node_nm}:\n")
        for port_bits, points in by_width.items():
            parts.append(f"    {port_bits}:\n")
            for field in FIELDS:
                values = [_fmt(None if p is None else getattr(p, field)) for p in points]
                parts.append(f"      {field}: [{', '.join(values)}]\n")
    return "".join(parts)


def check_roundtrip(text: str) -> None:
    """Fail if the YAML text does not load back into the expected shape."""
    data = yaml.safe_load(text)
    assert data["capacity_kib"] == list(CAPACITIES_KIB)
    for node_nm in NODES_NM:
        for port_bits in PORT_WIDTHS_BITS:
            for field in FIELDS:
                assert len(data["node_nm"][node_nm][port_bits][field]) == len(CAPACITIES_KIB)


def print_summary(table: dict[int, dict[int, list[SramCost | None]]]) -> None:
    """Read energy per byte at 28 nm for a few capacities and two port widths."""
    print("28 nm read energy (pJ/byte), ZigZag's get_cacti_cost")
    widths = (64, 512)
    print(f"{'capacity':>10} " + " ".join(f"{f'{w}-bit port':>14}" for w in widths))
    for kib in (8, 64, 1024):
        row = []
        for bits in widths:
            point = table[28][bits][CAPACITIES_KIB.index(kib)]
            row.append("n/a" if point is None else f"{point.read_energy_pj / (bits / 8):.4f}")
        print(f"{f'{kib} KiB':>10} " + " ".join(f"{v:>14}" for v in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output YAML path")
    args = parser.parse_args()
    _install_wrapper_shim()
    start_s = time.perf_counter()
    try:
        table = build_table()
    finally:
        _remove_run_files()
    text = to_yaml(table)
    check_roundtrip(text)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    elapsed_s = time.perf_counter() - start_s
    runs = len(NODES_NM) * len(PORT_WIDTHS_BITS) * len(CAPACITIES_KIB)
    print(f"wrote {args.out}: {runs} CACTI runs in {elapsed_s:.1f} s")
    print_summary(table)


if __name__ == "__main__":
    main()
