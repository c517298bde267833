"""Export one design and a workload to another tool's input files (``evodse export``).

Targets (:data:`TARGETS`): ``scalesim`` (:mod:`evodse.export.scalesim`), ``zigzag``
(:mod:`evodse.export.zigzag`), ``timeloop`` (:mod:`evodse.export.timeloop`). Each writes its
files, a ``layers.csv`` mapping them to evodse's layers, and a ``README.md`` listing what the
target cannot express and how to run it. Everything is built in memory and checked first;
files are written only when the whole export succeeded, into an ``out`` folder that is new or
empty. Details: docs/export.md.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from evodse.errors import InputError
from evodse.export.common import ExportFiles
from evodse.hardware.template import Accelerator, design_summary
from evodse.workload.network import Network

__all__ = ["TARGETS", "ExportFiles", "export_design", "export_files", "readme_text"]

#: Target name -> its module (each has ``export_files(acc, network, *, source)``).
TARGETS = {
    "scalesim": "evodse.export.scalesim",
    "zigzag": "evodse.export.zigzag",
    "timeloop": "evodse.export.timeloop",
}
_TITLES = {
    "scalesim": "SCALE-Sim 3.0.0",
    "zigzag": "ZigZag 3.9.1",
    "timeloop": "Timeloop/Accelergy (timeloopfe v4 format)",
}
README = "README.md"


def export_files(acc: Accelerator, network: Network, *, to: str, source: str) -> ExportFiles:
    """The target's files for ``acc`` running ``network`` (nothing written)."""
    if to not in TARGETS:
        raise InputError(f"unknown target {to!r}; expected one of {list(TARGETS)}", key="--to")
    module = importlib.import_module(TARGETS[to])
    return module.export_files(acc, network, source=source)


def readme_text(acc: Accelerator, network: Network, *, to: str, exported: ExportFiles) -> str:
    """``README.md``: what was exported, what the target cannot express, how to run it."""
    lines = [
        f"# {acc.name} for {_TITLES[to]}",
        "",
        f"Exported by `evodse export --to {to}`: design `{acc.name}` "
        f"({design_summary(acc.to_dict())}, {acc.frequency_mhz:g} MHz, "
        f"{acc.precision_bits}-bit) running workload `{network.name}` at batch "
        f"{network.batch}. See docs/export.md.",
        "",
        "## Files",
        "",
        *[f"- `{name}`" for name in sorted(exported.files)],
        "",
        "`layers.csv` maps every evodse layer to its entry in these files, with `repeat`: how "
        "many times that entry runs for the layer.",
        "",
        f"## What {_TITLES[to]} cannot express of this design",
        "",
        *[f"- {item}" for item in exported.not_expressed],
        "",
        "## How to run",
        "",
        "```bash",
        *exported.run,
        "```",
        "",
    ]
    return "\n".join(lines)


def export_design(
    acc: Accelerator, network: Network, *, to: str, out: str | Path, source: str
) -> list[Path]:
    """Write the target's files and ``README.md`` into ``out`` (new or empty); returns the
    paths written. ``source`` names where the design came from, for error messages."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = "is a file" if not out.is_dir() else "is not empty"
        raise InputError(f"{out} {what}; expected a new or empty folder", key="--out")
    from evodse.runfiles import check_out_dir

    check_out_dir(out, key="--out", what="the exported files")
    exported = export_files(acc, network, to=to, source=source)
    files = dict(exported.files)
    files[README] = readme_text(acc, network, to=to, exported=exported)
    from evodse.runfiles import write_atomic_many

    paths = {out / name: text for name, text in files.items()}
    write_atomic_many(paths)
    return sorted(paths)
