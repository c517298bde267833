"""Experiment YAML: validated once here, then passed inward as a typed :class:`Experiment`.

Top-level keys (a public contract)::

    name: quickstart                      # required
    problem: problems/edge_vision.py:EdgeVision   # optional: a problem class supplying defaults
    workloads:                            # zoo names, .onnx or workload .yaml paths
      - resnet50
      - {workload: mobilenet_v2, batch: 4}
      - {workload: model.onnx, input_shapes: {input: [1, 3, 224, 224]}, strict: true}
    base: edge                            # shipped design, hardware .yaml path, or inline mapping
    space: {pe_rows: {pow2: [8, 256]}, dataflow: [ws, os, is]}
    objectives: [latency, energy, area]
    constraints: ["area_mm2 <= 10", "fps[resnet50] >= 30"]
    algorithm: {name: nsga2, pop_size: 50}  # no name: auto (chooses by evaluation cost); no
                                          # pop_size under time_s alone: nsga2 400, smsemoa 200
    termination: {generations: 100}      # and/or evaluations, time_s, hv_stagnation
    seeds: [0]
    executor: local                       # optional: processes, {name: dask, scheduler: ...}
    refine: {backend: scalesim, top: 5}   # optional: re-rank the final front with a simulator
    allow_infeasible: false               # optional: a run without a feasible design exits 0

``refine`` (see :mod:`evodse.validation.spec`) re-simulates the final front with a detailed
simulator after the search (a two-fidelity search) and writes the ``validation*`` files into the
run directory; like ``executor`` it is not recorded in ``config.yaml``.

``executor`` (see :mod:`evodse.experiment.executors`) says where runs execute; it never changes
results, so the resolved ``config.yaml`` does not record it.

``allow_infeasible``: when the constraints leave no evaluated design feasible, ``evodse run`` and
``evodse sweep`` name the binding constraint and how close the nearest design came, and exit
with status 1 (the run's files are written all the same); ``true`` (or ``--allow-infeasible``)
makes that a warning and exit status 0. Not recorded in ``config.yaml`` either.

Relative paths are resolved against the experiment file's folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evodse.errors import InputError
from evodse.experiment.executors import ExecutorSpec, parse_executor
from evodse.runfiles import WorkloadSpec
from evodse.search.algorithms import DEFAULT_ALGORITHM, check_algorithm, default_options
from evodse.search.choice import time_budget_options
from evodse.search.driver import Termination
from evodse.search.problem import AcceleratorProblem
from evodse.validation.spec import RefineSpec, check_refine, parse_refine
from evodse.yamlio import check_keys, load_yaml

TOP_KEYS = (
    "name",
    "problem",
    "workloads",
    "base",
    "space",
    "objectives",
    "constraints",
    "algorithm",
    "termination",
    "seeds",
    "executor",
    "refine",
    "allow_infeasible",
)
_WORKLOAD_KEYS = ("workload", "batch", "input_shapes", "strict")
_TERMINATION_KEYS = ("generations", "evaluations", "time_s", "hv_stagnation")


@dataclass(frozen=True)
class Experiment:
    """A validated experiment (raw specs kept for the resolved ``config.yaml``)."""

    name: str
    workloads: tuple[WorkloadSpec, ...] | None
    base: Any
    space: Mapping[str, Any] | None
    objectives: tuple[Any, ...] | None
    constraints: tuple[Any, ...] | None
    algorithm: str
    options: dict[str, Any]
    termination: Termination
    seeds: tuple[int, ...]
    problem: str | None = None
    source: str | None = None
    problem_class: type[AcceleratorProblem] = field(default=AcceleratorProblem, compare=False)
    executor: ExecutorSpec | None = field(default=None, compare=False)  # None: local
    refine: RefineSpec | None = field(default=None, compare=False)  # None: no last step
    allow_infeasible: bool = field(default=False, compare=False)  # no feasible design: exit 0

    def build_problem(self) -> AcceleratorProblem:
        """The pymoo problem (YAML keys override the problem class's attributes)."""
        workloads = None if self.workloads is None else [w.load() for w in self.workloads]
        problem = self.problem_class(
            workloads=workloads,
            base=self.base,
            space=self.space,
            objectives=self.objectives,
            constraints=self.constraints,
            source=self.source,
        )
        if self.refine is not None:  # refused before the search, not after it
            backend = self.refine.backend
            problem.design_space.template.require(
                backend, what=f"refine with {backend}", source=self.source
            )
        return problem

    def resolved(self, problem: AcceleratorProblem, seed: int) -> dict[str, Any]:
        """The fully resolved config of one run (what ``config.yaml`` records)."""
        space = problem.resolved_space()
        # the template's keys, and template: unless it is the default one
        base = problem.design_space.base.to_dict()
        term = {
            k: v
            for k, v in (
                ("generations", self.termination.generations),
                ("evaluations", self.termination.evaluations),
                ("time_s", self.termination.time_s),
            )
            if v is not None
        }
        if self.termination.hv_window:
            term["hv_stagnation"] = {
                "window": self.termination.hv_window,
                "tol": self.termination.hv_tol,
            }
        workloads = (
            [w.to_yaml() for w in self.workloads]
            if self.workloads is not None
            else [n.name for n in problem.networks]
        )
        return {
            "name": self.name,
            **({"problem": self.problem} if self.problem else {}),
            "workloads": workloads,
            "base": base,
            "space": space,
            "objectives": [
                {
                    "name": o.name,
                    "column": o.column,
                    "aggregate": o.aggregate,
                    "workload": o.workload,
                }
                for o in problem.objective_list
            ],
            "constraints": problem.constraint_labels,
            "algorithm": {
                "name": self.algorithm,
                **default_options(self.algorithm),
                **self.options,
            },
            "termination": term,
            "seeds": [seed],
        }


def load_experiment(spec: str | Path | Mapping[str, Any]) -> Experiment:
    """Read and validate an experiment YAML file or mapping."""
    if isinstance(spec, Mapping):
        return experiment_from_dict(spec, source="config", base_dir=Path.cwd())
    path = Path(spec)
    return experiment_from_dict(load_yaml(path), source=str(path), base_dir=path.parent)


def experiment_from_dict(data: Any, *, source: str, base_dir: Path) -> Experiment:
    """Validate an experiment mapping (see module docstring)."""
    check_keys(data, allowed=TOP_KEYS, required=("name",), source=source)
    name = data["name"]
    if not isinstance(name, str) or not name or "/" in name:
        raise InputError("expected a non-empty name without '/'", source=source, key="name")
    problem_class = AcceleratorProblem
    if data.get("problem") is not None:
        problem_class = _problem_class(data["problem"], source=source, base_dir=base_dir)
    elif "workloads" not in data or "space" not in data:
        missing = "workloads" if "workloads" not in data else "space"
        raise InputError(
            f"missing required key {missing!r} (or name a 'problem' class that sets it)",
            source=source,
            key="top level",
        )
    workloads = None
    if "workloads" in data:
        workloads = _workloads(data["workloads"], source=source, base_dir=base_dir)
    base = data.get("base")
    if isinstance(base, str) and base.lower().endswith((".yaml", ".yml")):
        base = str(_path(base, base_dir))
    algorithm_spec = data.get("algorithm", {})
    if isinstance(algorithm_spec, str):
        algorithm_spec = {"name": algorithm_spec}
    if not isinstance(algorithm_spec, Mapping):
        raise InputError("expected {name: ALGORITHM, ...options}", source=source, key="algorithm")
    algorithm = algorithm_spec.get("name", DEFAULT_ALGORITHM)
    options = {k: v for k, v in algorithm_spec.items() if k != "name"}
    check_algorithm(algorithm, options, source=source)
    termination = _termination(data.get("termination"), algorithm, source=source)
    if termination.time_only:  # recorded in config.yaml as set
        options = {**time_budget_options(algorithm), **options}
    seeds = parse_seeds(data.get("seeds", [0]), source=source, key="seeds")
    allow_infeasible = data.get("allow_infeasible", False)
    if not isinstance(allow_infeasible, bool):
        raise InputError(
            f"expected true or false, got {allow_infeasible!r}",
            source=source,
            key="allow_infeasible",
        )
    experiment = Experiment(
        name=name,
        workloads=workloads,
        base=base,
        space=data.get("space"),
        objectives=tuple(data["objectives"])
        if isinstance(data.get("objectives"), list)
        else data.get("objectives"),
        constraints=tuple(data["constraints"])
        if isinstance(data.get("constraints"), list)
        else data.get("constraints"),
        algorithm=algorithm,
        options=options,
        termination=termination,
        seeds=tuple(seeds),
        problem=data.get("problem"),
        source=source,
        problem_class=problem_class,
        executor=parse_executor(data.get("executor"), source=source),
        refine=parse_refine(data.get("refine"), source=source),
        allow_infeasible=allow_infeasible,
    )
    problem = experiment.build_problem()  # validate everything now, before any run starts
    check_refine(experiment.refine, problem.objective_list, source=source)
    return experiment


def parse_seeds(value: Any, *, source: str, key: str) -> list[int]:
    """An int or a non-empty list of distinct non-negative ints."""
    seeds = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise InputError(
            "expected a non-empty list of distinct non-negative integers", source=source, key=key
        )
    return seeds


def _path(text: str, base_dir: Path) -> Path:
    path = Path(text)
    return path if path.is_absolute() else base_dir / path


def _workloads(specs: Any, *, source: str, base_dir: Path) -> tuple[WorkloadSpec, ...]:
    if not isinstance(specs, list) or not specs:
        raise InputError("expected a non-empty list of workloads", source=source, key="workloads")
    out = []
    for i, spec in enumerate(specs):
        where = f"workloads[{i}]"
        if isinstance(spec, str):
            spec = {"workload": spec}
        check_keys(spec, allowed=_WORKLOAD_KEYS, required=("workload",), source=source, where=where)
        text = str(spec["workload"])
        if text.lower().endswith((".onnx", ".yaml", ".yml")):
            text = str(_path(text, base_dir))
        if not text.lower().endswith(".onnx"):
            for key in ("input_shapes", "strict"):
                if key in spec:
                    raise InputError(
                        f"applies to .onnx workloads only, not {text!r}",
                        source=source,
                        key=f"{where}.{key}",
                    )
        batch = spec.get("batch")
        if batch is not None and (
            not isinstance(batch, int) or isinstance(batch, bool) or batch < 1
        ):
            raise InputError("expected a positive integer", source=source, key=f"{where}.batch")
        shapes = spec.get("input_shapes")
        if shapes is not None:
            ok = isinstance(shapes, Mapping) and all(
                isinstance(v, list) and all(isinstance(d, int) and d > 0 for d in v)
                for v in shapes.values()
            )
            if not ok:
                raise InputError(
                    "expected {input_name: [dims...]} with positive integer dims",
                    source=source,
                    key=f"{where}.input_shapes",
                )
            shapes = {str(k): tuple(v) for k, v in shapes.items()}
        try:
            spec_obj = WorkloadSpec(
                workload=text,
                batch=batch,
                input_shapes=shapes,
                strict=bool(spec.get("strict", False)),
            )
            spec_obj.load()
        except InputError as exc:
            raise InputError(
                exc.detail, source=exc.source or source, key=exc.key or where
            ) from None
        out.append(spec_obj)
    return tuple(out)


def _termination(spec: Any, algorithm: str | None, *, source: str) -> Termination:
    if spec is None:
        spec = {} if algorithm == "exhaustive" else {"generations": 100}
    check_keys(spec, allowed=_TERMINATION_KEYS, source=source, where="termination")
    values: dict[str, Any] = {}
    for key in ("generations", "evaluations"):
        if key in spec:
            v = spec[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InputError(
                    "expected a positive integer", source=source, key=f"termination.{key}"
                )
            values[key] = v
    if "time_s" in spec:
        v = spec["time_s"]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < math.inf:
            raise InputError("expected a positive number", source=source, key="termination.time_s")
        values["time_s"] = float(v)
    if "hv_stagnation" in spec:
        hv = spec["hv_stagnation"]
        check_keys(
            hv,
            allowed=("window", "tol"),
            required=("window",),
            source=source,
            where="termination.hv_stagnation",
        )
        window, tol = hv["window"], hv.get("tol", 1e-4)
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise InputError(
                "expected a positive integer", source=source, key="termination.hv_stagnation.window"
            )
        if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not 0 <= tol < 1:
            raise InputError(
                f"expected a relative tolerance from 0 to 1 (such as 1e-4), got {tol!r}",
                source=source,
                key="termination.hv_stagnation.tol",
            )
        values["hv_window"] = window
        values["hv_tol"] = float(tol)
    if not values and algorithm != "exhaustive":
        raise InputError(
            "give at least one of generations, evaluations, time_s, hv_stagnation",
            source=source,
            key="termination",
        )
    return Termination(**values)


def _problem_class(spec: Any, *, source: str, base_dir: Path) -> type[AcceleratorProblem]:
    """``path/to/file.py:ClassName`` or ``package.module:ClassName``."""
    if not isinstance(spec, str) or ":" not in spec:
        raise InputError(
            "expected 'file.py:ClassName' or 'module:ClassName'", source=source, key="problem"
        )
    module_text, class_name = spec.rsplit(":", 1)
    try:
        if module_text.endswith(".py"):
            path = _path(module_text, base_dir)
            if not path.exists():  # also try relative to the working directory
                path = Path(module_text)
            module_spec = importlib.util.spec_from_file_location(f"evodse_user_{path.stem}", path)
            if module_spec is None or not path.exists():
                raise FileNotFoundError(module_text)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module  # its classes pickle by reference (executors)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_text)
    except (ImportError, FileNotFoundError, SyntaxError) as exc:
        raise InputError(
            f"cannot import {module_text!r} ({exc})", source=source, key="problem"
        ) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, AcceleratorProblem)):
        raise InputError(
            f"{class_name!r} in {module_text!r} is not an AcceleratorProblem subclass",
            source=source,
            key="problem",
        )
    return cls
