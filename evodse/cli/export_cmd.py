"""``evodse export RUN_DIR|HW.yaml [--design ID] --to scalesim|zigzag|timeloop --workload W
--out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from evodse.cli.common import add_workload_arguments, resolve_workload
from evodse.errors import InputError
from evodse.export import TARGETS


def register_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write one design and a workload as another tool's input files",
        description="Export a design (from a run directory by --design ID, default the knee "
        "point; or a hardware .yaml / shipped design name) and a workload as input files of "
        "SCALE-Sim, ZigZag or Timeloop/Accelergy, with a README.md listing what the target "
        "cannot express. See docs/export.md.",
    )
    p.add_argument(
        "source", metavar="RUN_DIR|HW.yaml", help="a run directory, hardware .yaml or design name"
    )
    p.add_argument(
        "--design",
        type=int,
        default=None,
        metavar="ID",
        help="design id in the run's evaluations.csv (default: the knee point)",
    )
    p.add_argument("--to", required=True, metavar="TARGET", help=f"one of {', '.join(TARGETS)}")
    p.add_argument("--workload", required=True, help="zoo name, workload .yaml or .onnx")
    add_workload_arguments(p)
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    p.set_defaults(handler=_export)


def _design(source: str, design: int | None):
    """(accelerator, where it came from) for a run directory or a hardware file/name."""
    from evodse.hardware import accelerator_from_dict, load_hardware

    path = Path(source)
    if path.is_dir():
        from evodse.plots.rundata import load_run

        if not (path / "config.yaml").exists():
            raise InputError(
                "not a run directory: no config.yaml", source=source, key="RUN_DIR|HW.yaml"
            )
        run = load_run(path)
        design_id = run.design_id(design)
        where = f"{run.evaluations.source} (id {design_id})"
        return accelerator_from_dict(run.hardware(design_id), source=where), where
    if design is not None:
        raise InputError("applies to a run directory only, not a hardware file", key="--design")
    if not path.exists() and source.lower().endswith((".yaml", ".yml")):
        raise InputError("no such file or run directory", source=source, key="RUN_DIR|HW.yaml")
    return load_hardware(source), source


def _export(args: argparse.Namespace) -> int:
    from evodse.export import export_design

    if args.to not in TARGETS:
        raise InputError(f"unknown target {args.to!r}; expected one of {list(TARGETS)}", key="--to")
    acc, where = _design(args.source, args.design)
    network = resolve_workload(args.workload, args)
    paths = export_design(acc, network, to=args.to, out=args.out, source=where)
    print(f"{acc.name} x {network.name} -> {args.to}: {len(paths)} files in {args.out}/")
    for path in paths:
        print(f"  {path.name}")
    return 0
