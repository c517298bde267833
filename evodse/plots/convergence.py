"""Convergence: hypervolume against evaluations, for one or many runs on one figure.

Hypervolume is :mod:`evodse.search.indicators`'s normalized hypervolume, recomputed from each
run's ``evaluations.csv``: each curve is the hypervolume of the cumulative feasible front after
the first ``e`` evaluations, on a grid of ``e``. One run is drawn under its own normalization
(``summary.json``'s ``hypervolume_reference``: its first feasible front), so the curve ends at
the value the CLI and the report give. Several runs are drawn under one *common*
normalization, the feasible non-dominated designs of all of them together, stated on the
y axis. Runs that differ only in their seed form a group, labelled by its algorithm (see
:func:`group_curves`); a group of several seeds is drawn as its median with a band (min-max
for fewer than five seeds, interquartile range otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from evodse.errors import InputError
from evodse.plots import style
from evodse.plots.rundata import Run, load_runs
from evodse.search import indicators
from evodse.search.archive import non_dominated
from evodse.search.indicators import Normalization


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
    """The normalization of these runs' curves: one run's own (``hypervolume_reference``, its
    first feasible front), several runs' common one (their feasible non-dominated designs
    together: :func:`evodse.search.indicators.common_normalization`)."""
    _check_compatible(runs)
    maximize = runs[0].maximize
    if len(runs) == 1:
        reference = runs[0].summary.get("hypervolume_reference") or {}
        own = Normalization.from_reference(reference, maximize)
        if own is not None:
            return own
    norm = indicators.common_normalization([_valid_rows(r)[1] for r in runs], maximize)
    if norm is None:
        raise InputError(
            "no feasible evaluation in any run", source=str(runs[0].path), key="feasible"
        )
    return norm


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
        if list(r.workloads) != list(first.workloads):
            raise InputError(
                f"workloads {list(r.workloads)} differ from {list(first.workloads)} "
                f"({first.path}); only runs of the same workloads compare",
                source=str(r.path),
                key="workloads",
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
    """Hypervolume-versus-evaluations curves of every run under one normalization (``norm``,
    default :func:`common_normalization` of the runs)."""
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
    curves = []
    for run, n in zip(runs, sizes, strict=True):
        index, E = _valid_rows(run)
        L = indicators.log_objectives(E, norm.maximize)
        tracker = indicators.Hypervolume(norm)  # incremental: the cumulative front only improves
        front = np.zeros((0, L.shape[1]))
        hv = np.full(len(grid), np.nan)
        start = 0
        for g, e in enumerate(grid):
            if e > n:
                break
            stop = int(np.searchsorted(index, e))  # feasible rows among the first e
            if stop > start:
                cand = np.vstack([front, L[start:stop]])
                front = cand[non_dominated(cand)]
                start = stop
            hv[g] = tracker(front)
        curves.append(Curve(run, grid.astype(float), hv))
    return curves, norm


def y_label(n_runs: int) -> str:
    """The y-axis label, naming the normalization (two lines: it fits a one-column figure)."""
    if n_runs == 1:
        return "hypervolume\n(the run's own normalization)"
    return f"hypervolume\n(normalized over all {n_runs} runs)"


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


def _legend_labels(groups: Sequence[Group]) -> tuple[list[str], str | None]:
    """Entry labels and a legend title: what every group shares (the statistic drawn) goes to
    the title, so entries stay short."""
    labels = []
    for group in groups:
        if len(group.curves) == 1:
            seed = group.curves[0].run.seed
            labels.append(group.label + (f", seed {seed}" if seed is not None else ""))
        else:
            labels.append(group.label)
    several = [g for g in groups if len(g.curves) > 1]
    stats = {(g.band_kind, len(g.curves)) for g in several}
    if len(several) == len(groups) and len(stats) == 1:
        ((kind, n),) = stats
        return labels, f"median and {kind} of {n} seeds"
    return [
        f"{label}: median, {g.band_kind} of {len(g.curves)} seeds" if len(g.curves) > 1 else label
        for label, g in zip(labels, groups, strict=True)
    ], None


def convergence(
    runs: Iterable[Run | str | Path] | Run | str | Path,
    *,
    n_points: int = 60,
    size: str | tuple[float, float] = "single",
    rc: Mapping[str, Any] | None = None,
) -> Figure:
    """Hypervolume against evaluations (see module docstring); several runs on one figure.

    The legend sits below the axes (never over curves or labels); each group has its own
    colour, line style and marker, the markers staggered so coinciding curves stay
    distinguishable."""
    curves, _ = hypervolume_curves(runs, n_points=n_points)
    groups = group_curves(curves)
    labels, title = _legend_labels(groups)
    legend_rows = len(groups) + (title is not None)
    with style.paper_rc(rc):
        height = (2.3 if size != "double" else 2.8) + 0.13 * legend_rows
        fig = style.new_figure(size, height, rc)
        ax = fig.add_subplot()
        for g, (group, label) in enumerate(zip(groups, labels, strict=True)):
            colour = style.color(g)
            x = group.evaluations
            step = max(1, len(x) // 6)
            y = group.curves[0].hypervolume if len(group.curves) == 1 else group.median
            if len(group.curves) > 1:
                lo, hi = group.band
                ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
            ax.plot(
                x,
                y,
                color=colour,
                ls=style.LINESTYLES[g % len(style.LINESTYLES)],
                marker=style.MARKERS[g % len(style.MARKERS)],
                markevery=(g * step // max(len(groups), 1), step),
                markersize=3.5,
                label=label,
            )
        ax.set_xlabel("evaluations")
        ax.set_ylabel(y_label(len(curves)))
        ax.set_xlim(0, max(float(np.nanmax(c.evaluations)) for c in curves))
        ax.ticklabel_format(axis="x", style="plain")
        fig.legend(loc="outside lower center", ncols=1, title=title)
    return fig
