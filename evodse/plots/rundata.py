"""Read a run directory's files (no re-running) into arrays the figures use.

:func:`load_run` validates ``config.yaml`` (plain YAML data: a tag is an error),
``summary.json``, ``evaluations.csv`` and ``pareto.csv`` (``history.csv`` is optional): every CSV
row complete, the row counts those of ``summary.json``, ids, feasibility, objectives and hardware
values of a kind a run writes, the front's ids among the evaluations. Bad input raises
:class:`~evodse.errors.InputError` naming the file and the key; ``evodse plot``, ``report`` and
``validate`` read runs through it. :func:`expand_run_dirs` turns a parent of ``seed_*`` run
directories into those directories.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from evodse import columnar, runfiles
from evodse.errors import InputError
from evodse.hardware.protocol import DEFAULT_TEMPLATE, Template, get_template
from evodse.search.driver import HISTORY_COLUMNS

REQUIRED_FILES = (runfiles.SUMMARY, runfiles.CONFIG, runfiles.EVALUATIONS, runfiles.PARETO)


class Table:
    """Columns of a CSV file as numpy arrays (float where every cell parses, else str).

    Cells are converted on first access of a column (runs have many metric columns).
    """

    def __init__(
        self, columns: Mapping[str, Sequence[Any]], source: str, *, rows: int | None = None
    ):
        """``rows``: the columns' length, which makes ``columns`` a mapping read lazily (a
        :class:`~evodse.columnar.Columns`), kept as it is."""
        self._raw = columns if rows is not None else dict(columns)
        self._converted: dict[str, np.ndarray] = {}
        self.source = source
        if rows is None:
            rows = len(next(iter(self._raw.values()))) if self._raw else 0
        self._n = rows

    @classmethod
    def read(cls, path: Path) -> Table:
        """Read a CSV file evodse wrote: a header, rows of its length, a newline at the end (a
        file cut short mid-row has none). Parsed with numpy's loader (one pass for the columns
        whose first row holds numbers, one for the others); a file it rejects is read again
        with the ``csv`` module, which names the first bad row."""
        try:
            with path.open("rb") as fh:  # the last byte only: files can be large
                fh.seek(max(fh.seek(0, io.SEEK_END) - 1, 0))
                ends_with_newline = fh.read(1) == b"\n"
            with path.open(newline="", encoding="utf-8") as fh:
                head = list(itertools.islice(csv.reader(fh), 2))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"cannot read ({_first_line(exc)})", source=str(path)) from None
        if head and not ends_with_newline:
            return cls.read_rows(path)  # names the truncated row
        if len(head) == 2 and len(head[0]) == len(head[1]):
            columns = _load_columns(path, head[0], head[1])
            if columns is not None:
                return cls.from_arrays(columns, str(path))
        return cls.read_rows(path)

    @classmethod
    def read_evaluations(cls, path: Path, rows: int | None) -> Table:
        """evaluations.csv, from the ``evaluations.npz`` beside it when that file describes it
        (:func:`evodse.columnar.read`; ``rows``: summary.json's count), else
        :meth:`read`."""
        columns = columnar.read(path, rows)
        if columns is not None:
            return cls(columns, str(path), rows=columns.rows)
        return cls.read(path)

    @classmethod
    def from_arrays(cls, columns: Mapping[str, np.ndarray], source: str) -> Table:
        """A table of parsed columns (float64, or text)."""
        table = cls(columns, source)
        table._converted = dict(columns)
        return table

    @classmethod
    def read_rows(cls, path: Path) -> Table:
        """:meth:`read` through the ``csv`` module, a Python string per cell."""
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))
            with path.open("rb") as fh:  # the last byte only: files can be large
                fh.seek(max(fh.seek(0, io.SEEK_END) - 1, 0))
                ends_with_newline = fh.read(1) == b"\n"
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"cannot read ({_first_line(exc)})", source=str(path)) from None
        if not rows:
            raise InputError("empty file (no header)", source=str(path))
        if not ends_with_newline:
            raise InputError(
                f"truncated: the last row ({len(rows) - 1}) ends without a newline",
                source=str(path),
            )
        header, body = rows[0], rows[1:]
        short = next((i for i, r in enumerate(body, start=1) if len(r) != len(header)), None)
        if short is not None:
            raise InputError(
                f"row {short} has {len(body[short - 1])} cells, the header {len(header)}",
                source=str(path),
            )
        raw = list(zip(*body, strict=True)) if body else [() for _ in header]
        return cls(dict(zip(header, raw, strict=True)), str(path))

    @property
    def names(self) -> list[str]:
        return list(self._raw)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._converted:
            if name not in self._raw:
                raise InputError("missing column", source=self.source, key=name)
            cells = self._raw[name]
            if isinstance(cells, np.ndarray) and cells.dtype.kind in "fU":  # parsed already
                self._converted[name] = cells
                return cells
            try:
                self._converted[name] = np.asarray(cells, dtype=float)
            except ValueError:
                self._converted[name] = np.asarray(cells, dtype=str)
        return self._converted[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._raw else default

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """(n_rows, len(names)) float matrix of numeric columns."""
        if not names:
            return np.zeros((self._n, 0))
        try:
            return np.stack([np.asarray(self[n], dtype=float) for n in names], axis=1)
        except ValueError:
            bad = next(n for n in names if self[n].dtype.kind not in "fiu")
            raise InputError("expected numbers", source=self.source, key=bad) from None


@dataclass(frozen=True)
class ObjectiveInfo:
    column: str
    name: str
    maximize: bool


@dataclass(frozen=True)
class Parameter:
    """A varying hardware parameter of the run's design space and its allowed values."""

    name: str
    values: tuple

    @property
    def categorical(self) -> bool:
        return not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True, eq=False)
class Run:
    """One run directory's results."""

    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    evaluations: Table
    pareto: Table
    history: Table | None = field(default=None)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- metadata -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.summary.get("name", self.path.name))

    @property
    def algorithm(self) -> str:
        return str(self.summary.get("algorithm", "?"))

    @property
    def seed(self) -> int | None:
        return self.summary.get("seed")

    @property
    def label(self) -> str:
        return f"{self.name} ({self.algorithm}, seed {self.seed})"

    @property
    def workloads(self) -> list[str]:
        return list(self.summary.get("workloads", []))

    @cached_property
    def objectives(self) -> list[ObjectiveInfo]:
        return [
            ObjectiveInfo(o["column"], o.get("name", o["column"]), o.get("sense") == "max")
            for o in self.summary["objectives"]
        ]

    @property
    def objective_columns(self) -> list[str]:
        return [o.column for o in self.objectives]

    @property
    def maximize(self) -> list[bool]:
        return [o.maximize for o in self.objectives]

    @cached_property
    def objective_specs(self) -> list[dict[str, Any]]:
        """config.yaml's resolved objectives: ``name column aggregate workload``."""
        specs = self.config.get("objectives") or []
        by_column = {s.get("column"): s for s in specs if isinstance(s, Mapping)}
        return [
            {"column": o.column, "name": o.name, "workload": None, **by_column.get(o.column, {})}
            for o in self.objectives
        ]

    @cached_property
    def parameters(self) -> list[Parameter]:
        """Varying hardware parameters (``config.yaml`` ``space``, in its order)."""
        space = self.config.get("space") or {}
        return [Parameter(str(k), tuple(v)) for k, v in space.items() if isinstance(v, list)]

    @property
    def template(self) -> Template:
        """The template of the run's designs (config.yaml ``base``: ``template``, or the
        default)."""
        return run_template(self.config, source=str(self.path / runfiles.CONFIG))

    # -- rows ---------------------------------------------------------------------------
    @cached_property
    def feasible(self) -> np.ndarray:
        """Feasibility mask of evaluations.csv rows."""
        return np.asarray(self.evaluations["feasible"], dtype=float) > 0

    def objective_values(self, table: Table | None = None) -> np.ndarray:
        """True-sign objective matrix of ``table`` (default: every evaluation)."""
        return (table or self.evaluations).matrix(self.objective_columns)

    @cached_property
    def pareto_mask(self) -> np.ndarray:
        """Which evaluations.csv rows are in pareto.csv."""
        ids = np.asarray(self.pareto["id"], dtype=np.int64)
        return np.isin(np.asarray(self.evaluations["id"], dtype=np.int64), ids)

    @property
    def knee_id(self) -> int | None:
        knee = self.summary.get("knee")
        return None if not knee else int(knee["id"])

    def row_index(self, design_id: int) -> int:
        """Row of evaluations.csv holding design ``design_id``."""
        ids = np.asarray(self.evaluations["id"], dtype=np.int64)
        hits = np.flatnonzero(ids == int(design_id))
        if not len(hits):
            raise InputError(
                f"no design with id {design_id} (ids run from {ids.min() if len(ids) else 0} "
                f"to {ids.max() if len(ids) else 0})",
                source=self.evaluations.source,
                key="--design",
            )
        return int(hits[0])

    def hardware(self, design_id: int) -> dict[str, Any]:
        """The hardware parameters of design ``design_id`` (evaluations.csv columns)."""
        i = self.row_index(design_id)
        out: dict[str, Any] = {}
        template = self.template
        if template.name != DEFAULT_TEMPLATE:
            out["template"] = template.name
        for p in template.parameters:
            if (p.follows is not None or not p.required) and p.name not in self.evaluations:
                continue  # run directories written before the parameter existed: its default
            value = self.evaluations[p.name][i]
            out[p.name] = value.item() if hasattr(value, "item") else value
        out["name"] = f"design_{design_id}"
        return out

    def design_id(self, design: int | None) -> int:
        """``design`` checked to exist, or the knee point's id."""
        if design is None:
            knee = self.knee_id
            if knee is None:
                raise InputError(
                    "the run has no knee point (no feasible design); pass --design ID",
                    source=str(self.path / runfiles.SUMMARY),
                    key="knee",
                )
            return knee
        self.row_index(design)
        return int(design)


def load_run(path: str | Path | Run) -> Run:
    """Read a run directory (see module docstring)."""
    if isinstance(path, Run):
        return path
    path = Path(path)
    if not path.is_dir():
        raise InputError("not a run directory (no such directory)", source=str(path))
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            hint = ""
            if _seed_dirs(path):
                hint = "; it holds seed_* runs: pass one of them (evodse plot accepts the parent)"
            raise InputError(f"not a run directory (missing {name}){hint}", source=str(path))
    summary_path = path / runfiles.SUMMARY
    try:
        summary = json.loads(summary_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot parse ({_first_line(exc)})", source=str(summary_path)) from None
    if not isinstance(summary, dict):
        raise InputError("expected a JSON object", source=str(summary_path))
    for key in ("objectives", "workloads"):
        if not isinstance(summary.get(key), list) or not summary[key]:
            raise InputError("missing or empty", source=str(summary_path), key=key)
    for i, o in enumerate(summary["objectives"]):
        if not isinstance(o, dict) or "column" not in o:
            raise InputError(
                "expected {column, name, sense}", source=str(summary_path), key=f"objectives[{i}]"
            )
    config = runfiles.read_config(path)
    counted = summary.get("evaluations")
    evaluations = Table.read_evaluations(
        path / runfiles.EVALUATIONS, counted if isinstance(counted, int) else None
    )
    pareto = Table.read(path / runfiles.PARETO)
    history = Table.read(path / runfiles.HISTORY) if (path / runfiles.HISTORY).is_file() else None
    objectives = [o["column"] for o in summary["objectives"]]
    template = run_template(config, source=str(path / runfiles.CONFIG))
    for table, count in ((evaluations, "evaluations"), (pareto, "front_size")):
        check_design_table(table, objectives, template)
        expected = summary.get(count)
        if isinstance(expected, int) and len(table) != expected:
            raise InputError(
                f"{len(table)} rows, but {runfiles.SUMMARY} says {count} = {expected}: the file "
                "was cut short or belongs to another run",
                source=table.source,
            )
    missing = np.setdiff1d(pareto["id"], evaluations["id"])
    if len(missing):
        raise InputError(
            f"design {int(missing[0])} is not in {runfiles.EVALUATIONS}",
            source=pareto.source,
            key="id",
        )
    if history is not None:
        for column in HISTORY_COLUMNS:
            _finite(history, column)
    return Run(path, config, summary, evaluations, pareto, history)


def run_template(config: Mapping[str, Any], *, source: str) -> Template:
    """The template a run's config.yaml names in its ``base`` (the default when absent)."""
    base = config.get("base")
    name = base.get("template") if isinstance(base, Mapping) else None
    return get_template(name, source=source)


def check_design_table(
    table: Table, objectives: Sequence[str], template: Template | None = None
) -> None:
    """The columns of evaluations.csv / pareto.csv: integer ids, 0/1 feasibility, finite
    objectives, hardware values a design of ``template`` (default: the default one) can have
    (its declared plausible ranges and categories)."""
    template = template or get_template()
    ids = _finite(table, "id")
    if (ids != np.round(ids)).any() or (ids < 0).any():
        raise InputError("expected design ids (integers >= 0)", source=table.source, key="id")
    feasible = _finite(table, "feasible")
    if not np.isin(feasible, (0.0, 1.0)).all():
        raise InputError("expected 0 or 1", source=table.source, key="feasible")
    for column in objectives:
        _finite(table, column)
    choices = template.categorical_choices()
    for p in template.parameters:
        key = p.name
        if (p.follows is not None or not p.required) and key not in table:  # older runs
            continue
        if key in choices:
            if key not in table:
                raise InputError("missing column", source=table.source, key=key)
            bad = [v for v in np.unique(table[key]) if str(v) not in choices[key]]
            if bad:
                raise InputError(
                    f"expected one of {list(choices[key])}, got {str(bad[0])!r}",
                    source=table.source,
                    key=key,
                )
            continue
        values = _finite(table, key)
        low, high = p.plausible or (1, math.inf)
        integers = p.kind == "int" and p.minimum is not None
        if ((values < low) | (values > high)).any() or (
            integers and (values != np.round(values)).any()
        ):
            span = f"from {p.plausible_text()}" if p.plausible else ">= 1"
            raise InputError(
                f"expected {'integers' if integers else 'numbers'} {span}",
                source=table.source,
                key=key,
            )


def _load_columns(
    path: Path, header: Sequence[str], first: Sequence[str]
) -> dict[str, np.ndarray] | None:
    """The columns of a CSV file by numpy's loader: those whose first row holds a number as
    float64, the others as text; None when the loader rejects the file (a row of another
    length, a cell that is not a number below a first row that is, a blank line)."""
    numbers = [k for k, cell in enumerate(first) if _is_number(cell)]
    texts = [k for k in range(len(header)) if k not in set(numbers)]
    options = {"delimiter": ",", "skiprows": 1, "quotechar": '"', "comments": None}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an empty body or a blank line: not this path
            parts = [
                (ks, np.loadtxt(path, usecols=ks, dtype=t, ndmin=2, encoding="utf-8", **options))
                for ks, t in ((numbers, float), (texts, str))
                if ks
            ]
        lines = _count_lines(path)
    except (ValueError, OSError, UserWarning):
        return None
    if any(len(values) != lines - 1 for _, values in parts):
        return None
    columns: dict[str, np.ndarray] = {}
    for k in range(len(header)):  # in the header's order, as the csv module's path
        for ks, values in parts:
            if k in ks:
                columns[header[k]] = np.ascontiguousarray(values[:, ks.index(k)])
    return columns


def _is_number(cell: str) -> bool:
    try:
        np.asarray(cell, dtype=float)
    except ValueError:
        return False
    return True


def _count_lines(path: Path, block: int = 1 << 24) -> int:
    """The number of newlines in a file."""
    count = 0
    with path.open("rb") as fh:
        while data := fh.read(block):
            count += data.count(b"\n")
    return count


def _finite(table: Table, column: str) -> np.ndarray:
    """A column that must hold finite numbers."""
    if column not in table:
        raise InputError("missing column", source=table.source, key=column)
    values = table[column]
    if values.dtype.kind != "f" or not np.isfinite(values).all():
        raise InputError("expected finite numbers", source=table.source, key=column)
    return values


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _seed_dirs(path: Path) -> list[Path]:
    found = [p for p in path.glob("seed_*") if p.is_dir() and re.fullmatch(r"seed_\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name.split("_")[1]))


def _natural_key(path: Path) -> list:
    """Sort ``seed_2`` before ``seed_10`` (and ``seed=2`` before ``seed=10``)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.as_posix())]


def _nested_runs(path: Path) -> list[Path]:
    """Run directories below ``path`` (``seed_*`` of a multi-seed run, a sweep's
    ``axis=value/.../seed=N`` tree), in natural order."""
    found = [s.parent for s in path.rglob(runfiles.SUMMARY) if s.is_file() and s.parent != path]
    return sorted(found, key=_natural_key)


def expand_run_dirs(paths: Iterable[str | Path]) -> list[Path]:
    """Run directories from paths: a run directory itself, or a directory holding run
    directories (the ``seed_*`` runs of a multi-seed experiment, a sweep's runs)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if (p / runfiles.SUMMARY).is_file():
            out.append(p)
            continue
        nested = _nested_runs(p) if p.is_dir() else []
        if nested:
            out.extend(nested)
            continue
        load_run(p)  # raises the precise InputError
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def load_runs(paths: Iterable[str | Path | Run]) -> list[Run]:
    """:func:`load_run` over :func:`expand_run_dirs` (Run objects pass through)."""
    runs: list[Run] = []
    for p in paths:
        if isinstance(p, Run):
            runs.append(p)
        else:
            runs.extend(load_run(d) for d in expand_run_dirs([p]))
    if not runs:
        raise InputError("no run directory given", key="RUN_DIR")
    return runs


def log_objectives(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """The optimizer's view: ``+-log10(value)`` (maximized objectives negated)."""
    sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sign * np.log10(np.asarray(values, dtype=float))
