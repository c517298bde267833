"""The ``refine`` experiment key and backend checks (light: never imports a simulator).

``refine`` runs the final front of a search through a detailed simulator (two-fidelity search)::

    refine: {backend: scalesim, top: 5, by: latency, jobs: 2, max_cycles: 300000}
    refine: {backend: zigzag, top: 5}
    refine: scalesim                  # shorthand: the whole front, defaults below

Keys: ``backend`` (required; ``scalesim``, or ``zigzag``: ZigZag 3.9.1's mapper, latency and
energy per layer, :mod:`evodse.validation.zigzag_backend`), ``top`` (re-simulate only the N
best front designs by ``by``; default: the whole front), ``by`` (an objective name or column;
default: the latency objective, else the first), ``jobs`` (simulator processes, default 2),
``max_cycles`` (scalesim only: per-layer budget of simulated cycles, see
:mod:`evodse.validation.core`), ``cache_dir`` (default ``RUN_DIR/validation_cache``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evodse.errors import InputError
from evodse.yamlio import check_keys

BACKENDS = ("scalesim", "zigzag")
#: The Python module each backend imports (checked installed before anything runs).
BACKEND_MODULES = {"scalesim": "scalesim", "zigzag": "zigzag"}
#: Default per-layer budget: layers whose simulation needs more cycles are not simulated.
DEFAULT_MAX_CYCLES = 200_000
DEFAULT_JOBS = 2
EXTRA_MESSAGE = "the scalesim backend needs the optional extra: pip install 'evodse[scalesim]'"
EXTRA_MESSAGES = {
    "scalesim": EXTRA_MESSAGE,
    "zigzag": "the zigzag backend needs the optional extra: pip install 'evodse[zigzag]'",
}
_REFINE_KEYS = ("backend", "top", "by", "jobs", "max_cycles", "cache_dir")


def require_backend(backend: Any, *, key: str = "--backend", source: str | None = None) -> str:
    """Check that ``backend`` is known and installed; returns it."""
    if backend not in BACKENDS:
        raise InputError(
            f"unknown backend {backend!r}; expected one of {list(BACKENDS)}", source=source, key=key
        )
    if importlib.util.find_spec(BACKEND_MODULES[backend]) is None:
        raise InputError(EXTRA_MESSAGES[backend], source=source, key=key)
    return backend


@dataclass(frozen=True)
class RefineSpec:
    """A validated ``refine`` key."""

    backend: str = "scalesim"
    top: int | None = None
    by: str | None = None
    jobs: int = DEFAULT_JOBS
    max_cycles: int | None = DEFAULT_MAX_CYCLES
    cache_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "top": self.top,
            "by": self.by,
            "jobs": self.jobs,
            "max_cycles": self.max_cycles,
            "cache_dir": self.cache_dir,
        }


def _positive_int(value: Any, *, source: str, key: str, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"expected a positive integer, got {value!r}", source=source, key=key)
    return value


def parse_refine(data: Any, *, source: str) -> RefineSpec | None:
    """Validate the ``refine`` key (None when absent); fails early if the backend is missing."""
    if data is None:
        return None
    if isinstance(data, str):
        data = {"backend": data}
    check_keys(data, allowed=_REFINE_KEYS, required=("backend",), source=source, where="refine")
    backend = require_backend(data["backend"], key="refine.backend", source=source)
    if backend == "zigzag" and data.get("max_cycles") is not None:
        raise InputError(
            "applies to backend scalesim only (a ZigZag run's time does not grow with cycles)",
            source=source,
            key="refine.max_cycles",
        )
    by = data.get("by")
    if by is not None and (not isinstance(by, str) or not by):
        raise InputError("expected an objective name or column", source=source, key="refine.by")
    cache_dir = data.get("cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise InputError("expected a folder path", source=source, key="refine.cache_dir")
    return RefineSpec(
        backend=backend,
        top=_positive_int(data.get("top"), source=source, key="refine.top", allow_none=True),
        by=by,
        jobs=_positive_int(data.get("jobs", DEFAULT_JOBS), source=source, key="refine.jobs"),
        max_cycles=None
        if backend == "zigzag"
        else _positive_int(
            data.get("max_cycles", DEFAULT_MAX_CYCLES),
            source=source,
            key="refine.max_cycles",
            allow_none=True,
        ),
        cache_dir=cache_dir,
    )


def check_refine(spec: RefineSpec | None, objectives: Sequence[Any], *, source: str) -> None:
    """Check ``refine.by`` against the problem's objectives (``Objective`` objects)."""
    if spec is None or spec.by is None:
        return
    names = {o.name for o in objectives} | {o.column for o in objectives}
    if spec.by not in names:
        raise InputError(
            f"{spec.by!r} is not an objective of this experiment; expected one of {sorted(names)}",
            source=source,
            key="refine.by",
        )


def objective_from_record(record: Mapping[str, Any]):
    """An :class:`~evodse.search.objectives.Objective` from its ``config.yaml`` record."""
    from evodse.search.objectives import OBJECTIVES, Objective

    metric, maximize = OBJECTIVES[record["name"]]
    return Objective(
        name=record["name"],
        metric=metric,
        maximize=maximize,
        column=record["column"],
        aggregate=record.get("aggregate", "geomean"),
        workload=record.get("workload"),
    )
