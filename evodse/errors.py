"""The one error type for bad user input (YAML, ONNX, CLI arguments).

The CLI turns it into one line on stderr and exit status 2; the Python API lets it propagate.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: names where (file, key) and what was expected."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        self.detail = message
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
