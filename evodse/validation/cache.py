"""On-disk cache of simulator runs: one JSON file per (simulator hardware, layer run).

The key hashes everything the simulator sees (backend, its version, a schema number, the
:class:`~evodse.export.scalesim_mapping.SimHardware` and
:class:`~evodse.export.scalesim_mapping.SimLayer` fields), so equal layers of different
designs or networks share an entry, and a second validation of the same run simulates nothing.
Files are ``<dir>/<hash[:2]>/<hash>.json``, written atomically (a temp file and a rename), so
parallel writers and interrupted runs never leave a broken entry; an unreadable entry is
treated as a miss.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evodse.export.scalesim_mapping import SimHardware, SimLayer
from evodse.runfiles import write_atomic

SCHEMA = 1


def cache_key(backend: str, version: str, hw: SimHardware, layer: SimLayer) -> str:
    """Hex digest naming one simulator run."""
    return run_key(backend, version, hw.to_dict(), layer.to_dict())


def run_key(
    backend: str, version: str, hardware: Mapping[str, Any], layer: Mapping[str, Any]
) -> str:
    """Hex digest naming one run of any backend: what it sees of the hardware and the layer,
    as JSON data."""
    doc = {
        "backend": backend,
        "version": version,
        "schema": SCHEMA,
        "hardware": dict(hardware),
        "layer": dict(layer),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class SimCache:
    """JSON files under ``root`` (see module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            doc = json.loads(self.path(key).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        result = doc.get("result") if isinstance(doc, dict) else None
        return result if isinstance(result, dict) else None

    def put(self, key: str, request: dict[str, Any], result: dict[str, Any]) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"key": key, **request, "result": result}, indent=1, sort_keys=True)
        write_atomic(path, text + "\n")  # the run directory's permissions, never half-written
