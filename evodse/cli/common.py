"""Arguments and output helpers shared by several commands."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from evodse.errors import InputError
from evodse.workload import Network, load_workload


def add_workload_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``W`` (zoo name, workload .yaml or .onnx), ``--batch``, ``--input-shape``, ``--strict``."""
    parser.add_argument(
        "--batch", type=_positive_int, default=None, help="batch size (default: the workload's)"
    )
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=1x3x224x224",
        help="fix a dynamic ONNX input shape (repeatable)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="ONNX: unknown operators are errors, not warnings"
    )


def resolve_workload(spec: str, args: argparse.Namespace) -> Network:
    """Load the workload named on the command line with the shared options."""
    if not spec.lower().endswith(".onnx"):
        for flag, given in (("--input-shape", args.input_shape), ("--strict", args.strict)):
            require(not given, f"applies to .onnx workloads only, not {spec!r}", key=flag)
    shapes = None
    if args.input_shape:
        from evodse.workload.onnx_import import parse_input_shapes

        shapes = parse_input_shapes(args.input_shape)
    return load_workload(spec, batch=args.batch, input_shapes=shapes, strict=args.strict)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def print_json(data: Any) -> None:
    """One JSON object on stdout (NaN/inf are not JSON: they are errors here)."""
    json.dump(data, sys.stdout, indent=2, allow_nan=False, default=_jsonable)
    sys.stdout.write("\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_table(headers: list[str], rows: list[list[Any]], *, file=None) -> None:
    """A plain aligned text table; numbers right-aligned."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(r[i], (int, float)) for r in rows) for i in range(len(headers))]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = file or sys.stdout
    print(line(headers), file=out)
    print(line(["-" * w for w in widths]), file=out)
    for row in cells:
        print(line(row), file=out)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3e}"
    return f"{value:.4g}"


def require(condition: bool, message: str, *, key: str) -> None:
    """Raise an InputError about a command-line argument."""
    if not condition:
        raise InputError(message, key=key)
