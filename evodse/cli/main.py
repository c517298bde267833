"""Entry point: ``evodse <command> ...``. Bad input: one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from evodse.errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of a usage dump."""

    def error(self, message: str):  # type: ignore[override]
        raise InputError(message, source=self.prog)


def build_parser() -> argparse.ArgumentParser:
    from evodse.cli import commands

    parser = _Parser(prog="evodse", description=__doc__)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for register in commands.REGISTRY:
        register(sub)
    return parser


def _version() -> str:
    from evodse.version import __version__

    return f"evodse {__version__}"


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"evodse: warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    warnings.showwarning = _one_line_warning
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args) or 0)
    except InputError as exc:
        print(f"evodse: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("evodse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
