"""Validate analytical-model results with a detailed tool (SCALE-Sim 3.0.0 or ZigZag 3.9.1).

* :func:`validate_run` (``evodse validate RUN_DIR --backend scalesim|zigzag``): re-simulate a
  run's Pareto designs layer by layer, in parallel processes, with an on-disk cache; writes
  ``validation.csv``, ``validation_layers.csv``, ``validation_summary.json`` and
  ``validation.png`` (SCALE-Sim) or ``validation_zigzag.csv``, ``validation_zigzag_layers.csv``
  and ``validation_zigzag_summary.json`` (ZigZag) into the run directory.
* :func:`refine_run`: the same as the last step of a search (experiment key ``refine``).
* :func:`validate_designs`: the SCALE-Sim engine, on any designs and networks
  (:func:`evodse.validation.zigzag_backend.validate_designs`: ZigZag's).

Both tools are optional extras (``pip install 'evodse[scalesim]'``, ``'evodse[zigzag]'``);
nothing here imports them until a simulation runs. Details and measured agreement:
docs/validation.md.
"""

from __future__ import annotations

from typing import Any

from evodse.validation.spec import BACKENDS, RefineSpec, parse_refine, require_backend

__all__ = [
    "BACKENDS",
    "RefineSpec",
    "Validation",
    "parse_refine",
    "refine_run",
    "require_backend",
    "validate_designs",
    "validate_run",
]

_LAZY = {
    "Validation": "evodse.validation.core",
    "validate_designs": "evodse.validation.core",
    "validate_run": "evodse.validation.run",
    "refine_run": "evodse.validation.run",
}


def __getattr__(name: str) -> Any:  # lazy: keep `import evodse.validation` light
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
