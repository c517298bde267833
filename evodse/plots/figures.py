"""Every figure of a run by kind, and saving them (what ``evodse plot`` and the report use)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from evodse.errors import InputError
from evodse.plots.breakdown import component_breakdown
from evodse.plots.convergence import convergence
from evodse.plots.crosseval import cross_evaluation
from evodse.plots.layers import layer_breakdown
from evodse.plots.parallel import parallel_coordinates
from evodse.plots.pareto import MAX_DRAWN, pareto_3d, pareto_front, pareto_pairs
from evodse.plots.roofline import roofline
from evodse.plots.rundata import Run, load_run

FORMATS = ("pdf", "png", "svg")


@dataclass(frozen=True)
class Kind:
    """A figure kind: its name, caption, and when it applies to a run."""

    name: str
    caption: str
    applies: Callable[[Run], str | None]  # None: applies; else why not


def _n_obj(min_n: int, what: str) -> Callable[[Run], str | None]:
    def check(run: Run) -> str | None:
        n = len(run.objective_columns)
        return None if n >= min_n else f"needs {what} (the run has {n})"

    return check


def _two_objectives(run: Run) -> str | None:
    n = len(run.objective_columns)
    return None if n == 2 else f"drawn for two-objective runs (this one has {n}; see pareto_pairs)"


def _has_design(run: Run) -> str | None:
    return None if run.knee_id is not None else "no feasible design (pass --design ID)"


def _design_layers(run: Run) -> str | None:
    """A design's per-layer and per-component figures: its template must have layer costs."""
    template = run.template
    if "layer_costs" not in template.features:
        return f"the design's template {template.name!r} has no per-layer costs"
    return _has_design(run)


def _multi_workload(run: Run) -> str | None:
    n = len(run.workloads)
    return None if n >= 2 else "needs several workloads"


def _has_front(run: Run) -> str | None:
    return None if len(run.pareto) else "empty Pareto front"


def _has_feasible(run: Run) -> str | None:
    return None if run.feasible.any() else "no feasible evaluation"


_THINNED = (
    f" (beyond {MAX_DRAWN:,} dominated or infeasible evaluations, an evenly spaced sample of "
    "them is drawn; the legend gives how many)"
)

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("pareto", f"Pareto front; dominated evaluations faded{_THINNED}.", _two_objectives),
        Kind(
            "pareto_pairs",
            f"Pareto front, every pair of objectives; dominated evaluations faded{_THINNED}.",
            _n_obj(3, "three or more objectives"),
        ),
        Kind(
            "pareto_3d",
            f"Pareto front in three objectives{_THINNED}.",
            _n_obj(3, "three objectives"),
        ),
        Kind(
            "parallel",
            "Parallel coordinates of the Pareto designs over their hardware parameters.",
            _has_front,
        ),
        Kind(
            "convergence",
            "Hypervolume against evaluations (common normalization).",
            _has_feasible,
        ),
        Kind(
            "layers",
            "Per-layer latency (by bottleneck) and energy (by component) of the design.",
            _design_layers,
        ),
        Kind("breakdown", "Energy and area of the design by component.", _has_design),
        Kind("roofline", "Roofline of the design with every layer on it.", _design_layers),
        Kind(
            "crosseval",
            "Cross-evaluation: workload-specialized designs on every workload.",
            _multi_workload,
        ),
    )
}


def check_kinds(kinds: Iterable[str] | None) -> list[str]:
    """Validate figure kind names (default: all)."""
    if kinds is None:
        return list(KINDS)
    out = []
    for k in kinds:
        if k not in KINDS:
            raise InputError(f"unknown figure {k!r}; expected some of {list(KINDS)}", key="--only")
        if k not in out:
            out.append(k)
    return out


def run_figures(
    run: Run | str | Path,
    *,
    design: int | None = None,
    kinds: Iterable[str] | None = None,
    skipped: dict[str, str] | None = None,
    rc: Mapping[str, Any] | None = None,
) -> dict[str, Figure]:
    """Every applicable figure of one run, by file stem (``layers_<workload>`` for several
    workloads). Kinds that do not apply are left out (and their reason put in ``skipped``)."""
    run = load_run(run)
    wanted = check_kinds(kinds)
    if design is not None:
        run.design_id(design)  # unknown id: InputError before any drawing
    out: dict[str, Figure] = {}
    for name in wanted:
        reason = KINDS[name].applies(run)
        if reason is not None and not (design is not None and reason.startswith("no feasible")):
            if skipped is not None:
                skipped[name] = reason
            continue
        if name == "pareto":
            out[name] = pareto_front(run, rc=rc)
        elif name == "pareto_pairs":
            out[name] = pareto_pairs(run, rc=rc)
        elif name == "pareto_3d":
            out[name] = pareto_3d(run, rc=rc)
        elif name == "parallel":
            out[name] = parallel_coordinates(run, rc=rc)
        elif name == "convergence":
            out[name] = convergence(run, rc=rc)
        elif name == "layers":
            workloads = run.workloads
            for w in workloads:
                stem = "layers" if len(workloads) == 1 else f"layers_{_safe(w)}"
                out[stem] = layer_breakdown(run, design=design, workload=w, rc=rc)
        elif name == "breakdown":
            out[name] = component_breakdown(run, design=design, rc=rc)
        elif name == "roofline":
            out[name] = roofline(run, design=design, rc=rc)
        elif name == "crosseval":
            out[name] = cross_evaluation(run, rc=rc)
    return out


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def save_figure(fig: Figure, path: str | Path, *, dpi: float | None = None) -> Path:
    """Save ``fig`` (format from the suffix: pdf, png or svg)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InputError(f"expected one of {list(FORMATS)}", source=str(path), key="--format")
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"dpi": dpi} if dpi else {}
    fig.savefig(path, format=fmt, **kwargs)
    return path


def save_figures(
    figures: Mapping[str, Figure], out_dir: str | Path, fmt: str = "pdf"
) -> list[Path]:
    """Save figures as ``out_dir/<stem>.<fmt>``; returns the paths."""
    if fmt not in FORMATS:
        raise InputError(f"expected one of {list(FORMATS)}, got {fmt!r}", key="--format")
    return [save_figure(fig, Path(out_dir) / f"{stem}.{fmt}") for stem, fig in figures.items()]
