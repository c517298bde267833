"""Convergence: hypervolume against evaluations, for one or many runs on one figure.

Hypervolume curves are recomputed from each run's ``evaluations.csv`` (not ``history.csv``,
whose normalization is per run) with one *common* normalization: ``log10`` of the true objective
values (maximized ones negated), min-max normalized by the ideal and nadir of the non-dominated
feasible designs of all the runs together, reference point 1.1 in every objective, pymoo's HV
indicator. Each curve is the hypervolume of the cumulative feasible front after the first ``e``
evaluations, on a grid of ``e``. Runs that differ only in their seed form a group, labelled by
its algorithm (see :func:`group_curves`); a group of several seeds is drawn as its median with a
band (min-max for fewer than five seeds, interquartile range otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from pymoo.indicators.hv import HV

from evodse.errors import InputError
from evodse.plots import style
from evodse.plots.rundata import Run, load_runs
from evodse.search.archive import non_dominated
from evodse.search.indicators import REF_POINT, Normalization


@dataclass(frozen=True)
class Curve:
    """One run's hypervolume at each grid evaluation count (NaN beyond its last evaluation)."""

    run: Run
    evaluations: np.ndarray
    hypervolume: np.ndarray


@dataclass(frozen=True)
class Group:
    """Runs of one algorithm (one experiment): their curves and summary statistics."""

    label: str
    curves: list[Curve]

    @property
    def evaluations(self) -> np.ndarray:
        return self.curves[0].evaluations

    def _stack(self) -> np.ndarray:
        return np.stack([c.hypervolume for c in self.curves])

    @property
    def median(self) -> np.ndarray:
        H = self._stack()
        out = np.full(H.shape[1], np.nan)
        ok = np.isfinite(H).any(axis=0)
        out[ok] = np.nanmedian(H[:, ok], axis=0)
        return out

    @property
    def band_kind(self) -> str:
        return "interquartile range" if len(self.curves) >= 5 else "range"

    @property
    def band(self) -> tuple[np.ndarray, np.ndarray]:
        H = self._stack()
        lo = np.full(H.shape[1], np.nan)
        hi = np.full(H.shape[1], np.nan)
        ok = np.isfinite(H).any(axis=0)
        q = (25, 75) if len(self.curves) >= 5 else (0, 100)
        lo[ok] = np.nanpercentile(H[:, ok], q[0], axis=0)
        hi[ok] = np.nanpercentile(H[:, ok], q[1], axis=0)
        return lo, hi


def common_normalization(runs: Sequence[Run]) -> Normalization:
    """Ideal and nadir of the feasible non-dominated designs of all runs (log space)."""
    _check_compatible(runs)
    maximize = runs[0].maximize
    values = [_valid_rows(r)[1] for r in runs]
    union = np.concatenate(values) if values else np.zeros((0, len(maximize)))
    if not len(union):
        raise InputError(
            "no feasible evaluation in any run", source=str(runs[0].path), key="feasible"
        )
    norm0 = Normalization.of(union, maximize)
    front = union[non_dominated(norm0(union))]
    return Normalization.of(front, maximize)


def _check_compatible(runs: Sequence[Run]) -> None:
    first = runs[0]
    for r in runs[1:]:
        if r.objective_columns != first.objective_columns or r.maximize != first.maximize:
            raise InputError(
                f"objectives {r.objective_columns} differ from {first.objective_columns} "
                f"({first.path}); only runs with the same objectives compare",
                source=str(r.path),
                key="objectives",
            )


def _valid_rows(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """(evaluation index, objective values) of the feasible rows with positive objectives,
    in evaluation order."""
    ids = np.asarray(run.evaluations["id"], dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    E = run.objective_values()[order]
    ok = run.feasible[order] & np.all(np.isfinite(E) & (E > 0), axis=1)
    return np.flatnonzero(ok), E[ok]


def hypervolume_curves(
    runs: Iterable[Run | str | Path] | Run | str | Path,
    *,
    n_points: int = 60,
    norm: Normalization | None = None,
) -> tuple[list[Curve], Normalization]:
    """Hypervolume-versus-evaluations curves of every run with one common normalization."""
    if isinstance(runs, (Run, str, Path)):
        runs = [runs]
    runs = load_runs(runs)
    norm = norm or common_normalization(runs)
    sizes = [len(r.evaluations) for r in runs]
    top = max(sizes) if sizes else 0
    grid = np.unique(
        np.concatenate([np.round(np.linspace(0, top, n_points + 1)[1:]), sizes]).astype(np.int64)
    )
    grid = grid[grid > 0]
    indicator = HV(ref_point=np.full(len(runs[0].objective_columns), REF_POINT))
    curves = []
    for run, n in zip(runs, sizes, strict=True):
        index, E = _valid_rows(run)
        Z = norm(E)
        front = np.zeros((0, Z.shape[1]))
        hv = np.full(len(grid), np.nan)
        start = 0
        for g, e in enumerate(grid):
            if e > n:
                break
            stop = int(np.searchsorted(index, e))  # feasible rows among the first e
            if stop > start:
                cand = np.vstack([front, Z[start:stop]])
                front = cand[non_dominated(cand)]
                start = stop
            inside = front[(front < REF_POINT).all(axis=1)]
            hv[g] = float(indicator(inside)) if len(inside) else 0.0
        curves.append(Curve(run, grid.astype(float), hv))
    return curves, norm


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(data, Mapping):
        out: dict[str, str] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): json.dumps(data, sort_keys=True, default=str)}


def _setting(run: Run) -> dict[str, str]:
    """A run's resolved configuration without its seed, flattened to dotted keys."""
    return _flatten({k: v for k, v in run.config.items() if k != "seeds"})


def group_curves(curves: Sequence[Curve]) -> list[Group]:
    """Curves grouped into runs that differ only in their seed, in first-seen order.

    Labels: the algorithm when that tells the groups apart, else experiment name and
    algorithm, else the algorithm and the settings that differ (``nsga2, pop_size=50``).
    """
    groups: dict[str, list[Curve]] = {}
    settings: dict[str, dict[str, str]] = {}
    for c in curves:
        setting = _setting(c.run)
        key = json.dumps(setting, sort_keys=True)
        groups.setdefault(key, []).append(c)
        settings[key] = setting
    keys = list(groups)
    first = [groups[k][0].run for k in keys]
    labels = [r.algorithm for r in first]
    if len(set(labels)) < len(labels):
        labels = [f"{r.name} ({r.algorithm})" for r in first]
    if len(set(labels)) < len(labels):
        all_keys = sorted(set().union(*(settings[k] for k in keys)))
        skip = {"name", "algorithm.name"}
        differ = [
            d for d in all_keys if d not in skip and len({settings[k].get(d) for k in keys}) > 1
        ]
        labels = []
        for k, r in zip(keys, first, strict=True):
            parts = [f"{d.split('.')[-1]}={settings[k].get(d, '-')}" for d in differ[:3]]
            labels.append(", ".join([r.algorithm, *parts]))
    return [Group(label, groups[k]) for label, k in zip(labels, keys, strict=True)]


def convergence(
    runs: Iterable[Run | str | Path] | Run | str | Path,
    *,
    n_points: int = 60,
    size: str | tuple[float, float] = "single",
    rc: Mapping[str, Any] | None = None,
) -> Figure:
    """Hypervolume against evaluations (see module docstring); several runs on one figure."""
    curves, _ = hypervolume_curves(runs, n_points=n_points)
    groups = group_curves(curves)
    with style.paper_rc(rc):
        fig = style.new_figure(size, 2.5 if size != "double" else 3.0, rc)
        ax = fig.add_subplot()
        for g, group in enumerate(groups):
            colour = style.color(g)
            ls = style.LINESTYLES[g % len(style.LINESTYLES)]
            x = group.evaluations
            if len(group.curves) == 1:
                c = group.curves[0]
                seed = c.run.seed
                label = group.label + (f", seed {seed}" if seed is not None else "")
                ax.plot(x, c.hypervolume, color=colour, ls=ls, label=label)
                continue
            lo, hi = group.band
            ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
            ax.plot(
                x,
                group.median,
                color=colour,
                ls=ls,
                label=f"{group.label}: median, {group.band_kind} of {len(group.curves)} seeds",
            )
        ax.set_xlabel("evaluations")
        ax.set_ylabel("hypervolume (normalized)")
        ax.set_xlim(0, max(float(np.nanmax(c.evaluations)) for c in curves))
        ax.ticklabel_format(axis="x", style="plain")
        ncols = 1 if len(groups) > 2 or size == "single" else len(groups)
        ax.legend(loc="lower right", ncols=ncols)
    return fig
