"""Run-directory files at the lowest level: their names, atomic writing, CSV text, reading
``config.yaml``, and the few records every layer shares (the front's row order and knee, a
workloads entry).

Everything that reads or writes a run directory (the experiment runner, validation, plots,
studies) builds on this module; it imports only the core packages below it (``errors``,
``yamlio``, ``workload``; ``search`` for types), never those above (``docs/layers.md``).
The file names are a public contract: :mod:`evodse.experiment.rundir` documents the search's
files, :mod:`evodse.validation.report` the ``validation*`` ones.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evodse.errors import InputError
from evodse.workload import Network, load_workload
from evodse.yamlio import load_yaml

if TYPE_CHECKING:
    from evodse.search.driver import SearchState

CONFIG = "config.yaml"
EVALUATIONS = "evaluations.csv"
PARETO = "pareto.csv"
HISTORY = "history.csv"
SUMMARY = "summary.json"
VALIDATION_CSV = "validation.csv"
VALIDATION_LAYERS_CSV = "validation_layers.csv"
VALIDATION_SUMMARY = "validation_summary.json"
VALIDATION_FIGURE = "validation.png"


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    write_atomic_many({Path(path): data})


def write_atomic_many(files: dict[Path, bytes | str]) -> None:
    """Write several files through temporary files, renamed only once all are on disk, one
    right after the other (in order)."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            raw = data.encode("utf-8") if isinstance(data, str) else data
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append((tmp, path))
            os.fchmod(fd, _file_mode(path))  # mkstemp makes 0600; a run is shared like any file
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The permissions ``open()`` would give a new file (0666 less the umask), or those of the
    file being replaced."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def csv_text(columns: list[str], rows: list[list[Any]]) -> str:
    """CSV text; floats with full precision (repr), so files round-trip exactly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def read_config(out: Path) -> dict[str, Any]:
    """A run directory's ``config.yaml``: plain YAML data (a tag such as ``!!python/...`` is
    an error, never constructed), a mapping."""
    path = Path(out) / CONFIG
    config = load_yaml(path)
    if not isinstance(config, dict):
        raise InputError(f"expected a mapping, got {type(config).__name__}", source=str(path))
    return config


def check_out_dir(
    out: Path, *, source: str | None = None, key: str = "--out", what: str = "the run directory"
) -> None:
    """``out`` (or the first of its parents that exists) must be a folder; ``source`` and
    ``key`` name where ``out`` was given (default: the ``--out`` flag)."""
    for path in (Path(out), *Path(out).parents):
        if path.exists():
            if not path.is_dir():
                problem = "is a file" if path == Path(out) else f"is inside the file {path}"
                raise InputError(
                    f"{out} {problem}; expected a folder ({what})"
                    if source
                    else f"{problem}; expected a folder ({what})",
                    source=source or str(out),
                    key=key,
                )
            return


def pareto_rows(state: SearchState) -> np.ndarray:
    """Archive row ids of the front, sorted by the first objective then the others, then by
    the design vector (so designs of equal objectives keep one order, whatever the order they
    were evaluated in: ``pareto.csv`` and the best-per-objective and knee picks of
    ``summary.json`` follow it)."""
    front = state.archive.front
    objectives = state.archive.column("objectives")[front]
    X = state.archive.column("X")[front]
    keys = (*X.T[::-1], *objectives.T[::-1])
    order = np.lexsort(keys) if len(front) else np.zeros(0, dtype=int)
    return front[order]


def knee_point(F: np.ndarray) -> int | None:
    """Index of the knee of a front (optimizer space): pymoo's high trade-off points, the one
    nearest the ideal when several; pseudo-weights with equal weights when none stands out."""
    from pymoo.mcdm.high_tradeoff import HighTradeoffPoints
    from pymoo.mcdm.pseudo_weights import PseudoWeights

    if len(F) == 0:
        return None
    if F.shape[1] == 1:  # one objective: the best design
        return int(np.argmin(F[:, 0]))
    if len(F) < 3:
        return 0
    span = F.max(axis=0) - F.min(axis=0)
    Z = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    candidates = HighTradeoffPoints()(Z)
    if candidates is not None and len(candidates):
        candidates = np.asarray(candidates, dtype=int)
        return int(candidates[np.argmin(np.linalg.norm(Z[candidates], axis=1))])
    return int(PseudoWeights(np.full(F.shape[1], 1.0 / F.shape[1])).do(Z))


@dataclass(frozen=True)
class WorkloadSpec:
    """One workload entry (of an experiment and of ``config.yaml``): what to load and how."""

    workload: str
    batch: int | None = None
    input_shapes: dict[str, tuple[int, ...]] | None = None
    strict: bool = False

    def load(self) -> Network:
        return load_workload(
            self.workload, batch=self.batch, input_shapes=self.input_shapes, strict=self.strict
        )

    def to_yaml(self) -> Any:
        if self.batch is None and self.input_shapes is None and not self.strict:
            return self.workload
        out: dict[str, Any] = {"workload": self.workload}
        if self.batch is not None:
            out["batch"] = self.batch
        if self.input_shapes is not None:
            out["input_shapes"] = {k: list(v) for k, v in self.input_shapes.items()}
        if self.strict:
            out["strict"] = True
        return out
