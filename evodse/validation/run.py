"""Validate a finished run directory, or refine a search's final front (two-fidelity search).

:func:`validate_run` is ``evodse validate RUN_DIR``: it reads the run directory with the checks
of :func:`evodse.plots.rundata.load_run`, then ``config.yaml`` (workloads, objectives,
constraints) and ``pareto.csv`` (or ``evaluations.csv`` for chosen ``ids``), picks the
designs, simulates them with the backend (SCALE-Sim, or ZigZag:
:mod:`evodse.validation.zigzag_backend`) and writes the validation files into the run
directory.
:func:`refine_run` does the same from a live search state; the experiment runner calls it after
the search when the experiment has a ``refine`` key.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evodse.errors import InputError
from evodse.hardware.template import (
    CATEGORICAL,
    HARDWARE_KEYS,
    Accelerator,
    accelerator_from_dict,
)
from evodse.search.objectives import parse_constraints
from evodse.validation.core import (
    Progress,
    Validation,
    select_top,
    stderr_progress,
    validate_designs,
)
from evodse.validation.report import write_validation
from evodse.validation.spec import (
    DEFAULT_JOBS,
    DEFAULT_MAX_CYCLES,
    RefineSpec,
    objective_from_record,
    parse_refine,
    require_backend,
)
from evodse.workload import load_workload
from evodse.workload.network import Network

if TYPE_CHECKING:
    from evodse.plots.rundata import Table

CACHE_DIR = "validation_cache"


def _progress(progress: bool | Progress | None) -> Progress | None:
    if progress is True:
        return stderr_progress
    return progress or None


def _design(table: Table, row: int) -> tuple[int, Accelerator]:
    """Design ``row`` of a checked evaluations.csv / pareto.csv table."""
    design_id = int(table["id"][row])
    data: dict[str, Any] = {"name": f"design_{design_id}"}
    for key in HARDWARE_KEYS:
        if key != "name":
            value = table[key][row]
            data[key] = str(value) if key in CATEGORICAL else float(value)
    return design_id, accelerator_from_dict(data, source=table.source)


def _workloads(config: dict[str, Any], run_dir: Path, source: str) -> list[Network]:
    specs = config.get("workloads")
    if not isinstance(specs, list) or not specs:
        raise InputError("no workloads recorded", source=source, key="workloads")
    out = []
    for i, spec in enumerate(specs):
        if isinstance(spec, str):
            spec = {"workload": spec}
        if not isinstance(spec, Mapping) or "workload" not in spec:
            raise InputError(
                "expected a workload name or {workload: ...}", source=source, key=f"workloads[{i}]"
            )
        text = str(spec["workload"])
        path = Path(text)
        is_file = text.lower().endswith((".onnx", ".yaml", ".yml"))
        if is_file and not path.is_absolute() and not path.exists() and (run_dir / path).exists():
            text = str(run_dir / path)
        shapes = spec.get("input_shapes")
        try:
            out.append(
                load_workload(
                    text,
                    batch=spec.get("batch"),
                    input_shapes={k: tuple(v) for k, v in shapes.items()} if shapes else None,
                    strict=bool(spec.get("strict", False)),
                )
            )
        except InputError as exc:
            raise InputError(
                f"cannot load workload {text!r} ({exc})", source=source, key=f"workloads[{i}]"
            ) from None
    return out


def validate_run(
    run_dir: str | Path,
    *,
    backend: str = "scalesim",
    top: int | None = None,
    by: str | None = None,
    ids: Sequence[int] | None = None,
    jobs: int = DEFAULT_JOBS,
    max_cycles: int | None = DEFAULT_MAX_CYCLES,
    cache_dir: str | Path | None = None,
    progress: bool | Progress | None = True,
    figure: bool = True,
) -> Validation:
    """Re-simulate a run's Pareto designs (or the ``top`` best by ``by``, or the designs
    ``ids``) and write the validation files into ``run_dir``."""
    require_backend(backend)
    run_dir = Path(run_dir)
    where = str(run_dir)
    if not run_dir.is_dir():
        raise InputError("run directory not found", source=where, key="RUN_DIR")
    config_path = run_dir / "config.yaml"
    if not config_path.exists():
        hint = (
            " (several seeds: validate one seed_*/ folder)"
            if any(run_dir.glob("seed_*/config.yaml"))
            else ""
        )
        raise InputError(f"not a run directory: no config.yaml{hint}", source=where, key="RUN_DIR")
    from evodse.plots.rundata import load_run
    from evodse.runfiles import check_out_dir

    if cache_dir is not None:
        check_out_dir(Path(cache_dir), key="--cache-dir", what="the simulation cache")
    run = load_run(run_dir)  # every file checked: config.yaml, summary.json, the CSV files
    run.template.require(backend, what=f"validation with {backend}", source=str(config_path))
    config = run.config
    table = run.evaluations if ids else run.pareto
    networks = _workloads(config, run_dir, str(config_path))
    names = [n.name for n in networks]
    try:
        objectives = [objective_from_record(o) for o in config["objectives"]]
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"unreadable objectives ({exc})", source=str(config_path), key="objectives"
        ) from None
    constraints = parse_constraints(config.get("constraints") or [], names, source=str(config_path))
    if ids:
        by_id = {int(v): row for row, v in enumerate(table["id"])}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise InputError(f"no design with id {missing[0]} in evaluations.csv", key="--ids")
        designs = [_design(table, by_id[i]) for i in ids]
    else:
        designs = [_design(table, row) for row in range(len(table))]
        if not designs:
            raise InputError("the run has no Pareto designs to validate", source=table.source)
    chosen = select_top(designs, networks, objectives, top=None if ids else top, by=by)
    validation = _validate(
        backend,
        chosen,
        networks,
        objectives,
        constraints,
        cache_dir=cache_dir if cache_dir is not None else run_dir / CACHE_DIR,
        jobs=jobs,
        max_cycles=max_cycles,
        by=by,
        progress=_progress(progress),
    )
    validation.summary["run_dir"] = str(run_dir)
    validation.summary["selection"] = {
        "source": Path(table.source).name,
        "ids": list(ids) if ids else None,
        "top": None if ids else top,
        "by": validation.summary["ranking"]["objective"],
    }
    validation.summary = _write(run_dir, validation, backend=backend, figure=figure)
    return validation


def _validate(
    backend: str,
    designs: Sequence[tuple[int, Accelerator]],
    networks: Sequence[Network],
    objectives: Sequence[Any],
    constraints: Sequence[Any],
    *,
    cache_dir: str | Path,
    jobs: int,
    max_cycles: int | None,
    by: str | None,
    progress: Progress | None,
) -> Validation:
    """The backend's engine on ``designs`` (``max_cycles`` applies to SCALE-Sim only)."""
    if backend == "zigzag":
        from evodse.validation import zigzag_backend

        return zigzag_backend.validate_designs(
            designs,
            networks,
            objectives,
            constraints,
            cache_dir=cache_dir,
            jobs=jobs,
            by=by,
            progress=progress,
        )
    return validate_designs(
        designs,
        networks,
        objectives,
        constraints,
        cache_dir=cache_dir,
        backend=backend,
        jobs=jobs,
        max_cycles=max_cycles,
        by=by,
        progress=progress,
    )


def _write(out_dir: Path, validation: Validation, *, backend: str, figure: bool = True) -> dict:
    if backend == "zigzag":
        from evodse.validation.zigzag_backend import STEM

        return write_validation(out_dir, validation, figure=False, stem=STEM)
    return write_validation(out_dir, validation, figure=figure)


def refine_run(
    out_dir: str | Path,
    state,
    spec: RefineSpec,
    *,
    progress: bool | Progress | None = False,
    backend: str | None = None,
) -> Validation | None:
    """Two-fidelity last step: re-rank the search's final front with the simulator and write
    the validation files into ``out_dir`` (None when the front is empty). ``backend``
    overrides ``spec.backend`` (``scalesim`` or ``zigzag``)."""
    if backend is not None and backend != spec.backend:
        spec = parse_refine({**_spec_keys(spec), "backend": backend}, source="refine_run")
    from evodse.runfiles import pareto_rows

    out_dir = Path(out_dir)
    problem = state.problem
    rows = pareto_rows(state)
    if not len(rows):
        warnings.warn("refine: the final front is empty; nothing to re-simulate", stacklevel=2)
        return None
    X = state.archive.column("X")[rows]
    designs = [
        (int(r), problem.design_space.accelerator(x, name=f"design_{int(r)}"))
        for x, r in zip(X, rows, strict=True)
    ]
    networks = list(problem.networks)
    objectives = list(problem.objective_list)
    chosen = select_top(designs, networks, objectives, top=spec.top, by=spec.by)
    cache_dir = Path(spec.cache_dir) if spec.cache_dir else out_dir / CACHE_DIR
    validation = _validate(
        spec.backend,
        chosen,
        networks,
        objectives,
        list(problem.constraint_list),
        cache_dir=cache_dir,
        jobs=spec.jobs,
        max_cycles=spec.max_cycles,
        by=spec.by,
        progress=_progress(progress),
    )
    validation.summary["run_dir"] = str(out_dir)
    validation.summary["selection"] = {
        "source": "final front (refine)",
        "ids": None,
        "top": spec.top,
        "by": validation.summary["ranking"]["objective"],
    }
    validation.summary["refine"] = spec.to_dict()
    validation.summary = _write(out_dir, validation, backend=spec.backend)
    return validation


def _spec_keys(spec: RefineSpec) -> dict[str, Any]:
    """``spec`` as ``refine`` keys (scalesim's ``max_cycles`` dropped when not set)."""
    return {k: v for k, v in spec.to_dict().items() if v is not None and k != "max_cycles"}
