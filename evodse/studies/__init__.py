"""Studies: the paper's uses of the framework as features a user runs on their own workloads.

* :mod:`~evodse.studies.multi_dnn`: many DNNs, one configuration (per-DNN bests, the
  cross-evaluation matrix, the geometric-mean configuration and its improvement range, the
  many-objective view);
* :mod:`~evodse.studies.simultaneous` with :class:`~evodse.studies.partition.PartitionedProblem`:
  several DNNs at the same time on a partitioned accelerator, against running them one after
  another;
* :mod:`~evodse.studies.netimprove` with :class:`~evodse.studies.network.NetworkProblem`: the
  network's stage widths as decision variables, to fit the hardware;
* :mod:`~evodse.studies.llm_serving`: one accelerator for an LLM's prefill and decode,
  time-shared (the geometric-mean configuration) or partitioned between the phases.

Each study is an ordinary experiment YAML (``experiments/study_<name>.yaml``, runnable with
``evodse run``) plus an analysis: ``evodse study NAME [--out DIR] [--quick]`` runs both and writes
CSV, JSON and figures; ``python -m evodse.studies.regen`` runs every study and writes the pages in
``docs/studies/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evodse.errors import InputError

#: study name -> analysis module (each has ``NAME`` and ``run_study(config, out, quick, log)``)
STUDIES: dict[str, str] = {
    "multi_dnn": "evodse.studies.multi_dnn",
    "simultaneous": "evodse.studies.simultaneous",
    "network": "evodse.studies.netimprove",
    "llm_serving": "evodse.studies.llm_serving",
}
REPO_EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def config_path(name: str) -> Path:
    """``experiments/study_<name>.yaml`` in the working directory, else in the source tree."""
    check_name(name)
    local = Path("experiments") / f"study_{name}.yaml"
    if local.exists():
        return local
    shipped = REPO_EXPERIMENTS / f"study_{name}.yaml"
    if shipped.exists():
        return shipped
    raise InputError(
        f"no experiments/study_{name}.yaml here or in the source tree; pass --config",
        key="study",
    )


def check_name(name: str) -> None:
    if name not in STUDIES:
        raise InputError(f"unknown study {name!r}; expected one of {list(STUDIES)}", key="study")


def run_study(
    name: str,
    *,
    config: str | Path | None = None,
    out: str | Path | None = None,
    quick: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run study ``name`` end to end into ``out`` (default ``runs/studies/<name>``)."""
    check_name(name)
    module = importlib.import_module(STUDIES[name])
    config = Path(config) if config is not None else config_path(name)
    out = Path(out) if out is not None else Path("runs") / "studies" / name
    return module.run_study(config, out, quick=quick, log=log or (lambda _: None))


__all__ = ["STUDIES", "config_path", "run_study"]
