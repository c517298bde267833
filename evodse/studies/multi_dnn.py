"""Many DNNs, one configuration: per-DNN bests, the cross-evaluation matrix, the geometric-mean
configuration and its improvement range, and the many-objective view.

Performance is throughput (``throughput_ips``, inferences per second = batch / latency). The
study's experiment is the geometric-mean search itself (objectives ``{name: throughput,
aggregate: geomean}`` and ``area`` under the experiment's constraints, e.g. ``area_mm2 <= 2``:
the best configuration is the front's highest-throughput end, and the front is the
performance-area trade-off below the budget); from it the study derives, with the same space,
constraints, algorithm and budget:

* one search per DNN (objectives ``throughput`` of that DNN alone and ``area``; constraints
  naming other workloads dropped);
* a many-objective search (``{name: throughput, per_workload: true}``: one objective per DNN)
  with NSGA-III.

**Which configuration is "best".** The best configuration for DNN ``d`` is the highest throughput
on ``d`` among the feasible designs of every search that evaluated ``d`` (its own search, the
geometric-mean and the many-objective searches) and among the other DNNs' best configurations
(evaluated on ``d`` for the cross-evaluation). So no evaluated design beats it on ``d``: the
cross-evaluation matrix (each configuration on every DNN, divided by the DNN's best) has ones on
its diagonal and nothing above one. The geometric-mean configuration is the highest geometric
mean among the feasible designs of the geometric-mean and many-objective searches and the per-DNN
best configurations, so its geometric mean is at least every per-DNN configuration's; the results
record which search found it. The improvement range is ``geomean(gm) / geomean(best_d) - 1`` over
the DNNs ``d``, minimum to maximum, as the paper reports it (12.0% to 117.9%).

When the space is small enough (and not ``--quick``), every design is also evaluated
(:func:`exhaustive_reference`): the true per-DNN optima and geometric-mean optimum show how close
the searches came, and the improvement range is recomputed at other area budgets.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from evodse.experiment.config import Experiment
from evodse.experiment.runner import RunResult
from evodse.plots import style
from evodse.search.archive import best_row
from evodse.search.problem import AcceleratorProblem
from evodse.studies.common import (
    Log,
    budgeted,
    feasible_rows,
    load_study_config,
    new_figure,
    quiet,
    require,
    save_figure,
    search,
    search_record,
    write_csv,
    write_json,
)

NAME = "multi_dnn"
PAPER_RANGE = (0.120, 1.179)
EXHAUSTIVE_LIMIT = 200_000  # designs; beyond this the exhaustive check is skipped
BUDGET_FACTORS = (0.5, 1.0, 2.0, 4.0)
TIE_RTOL = 1e-9


@dataclass(frozen=True)
class Pool:
    """Designs one search evaluated: throughput per DNN (NaN where not evaluated) and whether
    each satisfies the constraints of the search that evaluated it."""

    source: str
    X: np.ndarray  # (n, n_var)
    throughput: np.ndarray  # (n, n_dnn)
    area: np.ndarray  # (n,)
    feasible: np.ndarray  # (n,)
    all_dnns: bool  # evaluated on every DNN under the multi-DNN constraints


@dataclass(frozen=True)
class Selection:
    """The chosen configurations and their cross-evaluation."""

    dnns: list[str]
    labels: list[str]  # "best for <d>" per DNN, then "geomean"
    X: np.ndarray  # (n_dnn + 1, n_var)
    throughput: np.ndarray  # (n_dnn + 1, n_dnn)
    area_mm2: np.ndarray  # (n_dnn + 1,)
    found_by: list[str]

    @property
    def best(self) -> np.ndarray:
        """Each DNN's best throughput (the diagonal)."""
        k = len(self.dnns)
        return self.throughput[np.arange(k), np.arange(k)]

    @property
    def normalized(self) -> np.ndarray:
        """Cross-evaluation matrix: throughput / that DNN's best."""
        return self.throughput / self.best[None, :]

    @property
    def geomean(self) -> np.ndarray:
        return np.exp(np.log(self.throughput).mean(axis=1))

    @property
    def improvement(self) -> np.ndarray:
        """geomean(gm) / geomean(best_d) - 1 per DNN d."""
        g = self.geomean
        return g[-1] / g[:-1] - 1.0


def pool_from_run(result: RunResult, dnns: list[str], source: str) -> Pool:
    """The feasible designs of a run with their throughput on every DNN it evaluated."""
    archive = result.state.archive
    rows = feasible_rows(result)
    names = set(archive.metric_names())
    T = np.full((len(rows), len(dnns)), np.nan)
    for j, d in enumerate(dnns):
        if f"{d}.throughput_ips" in names:
            T[:, j] = archive.column(f"{d}.throughput_ips")[rows]
    evaluated = set(result.state.problem.workload_names)
    return Pool(
        source=source,
        X=archive.column("X")[rows].astype(np.int64),
        throughput=T,
        area=archive.column("area_mm2")[rows],
        feasible=np.ones(len(rows), dtype=bool),
        all_dnns=evaluated >= set(dnns),
    )


def _pick(values: np.ndarray, area: np.ndarray, ok: np.ndarray, X: np.ndarray) -> int | None:
    """Row with the highest value among ``ok`` rows; ties (within 1e-9) to the smallest area,
    then to the lexicographically smallest design (never to evaluation order)."""
    values = np.where(ok, values, np.nan)
    return best_row(values, X, maximize=True, rtol=TIE_RTOL, then=(area,))


def select_configurations(problem: AcceleratorProblem, pools: list[Pool]) -> Selection:
    """Per-DNN best configurations and the geometric-mean configuration (module docstring).

    Ties in throughput go to the smaller area (the configuration a per-DNN throughput-area
    search keeps), then to the lexicographically smallest design; a design several searches
    found is credited to the first of them.
    """
    dnns = problem.workload_names
    k = len(dnns)
    X = np.concatenate([p.X for p in pools])
    T = np.concatenate([p.throughput for p in pools])
    area = np.concatenate([p.area for p in pools])
    src = [p.source for p in pools for _ in range(len(p.X))]
    everywhere = np.concatenate([p.feasible & p.all_dnns for p in pools])
    usable = np.concatenate([p.feasible for p in pools])
    picks = [_pick(T[:, j], area, usable, X) for j in range(k)]
    if None in picks:
        raise ValueError(f"no feasible design evaluated on {dnns[picks.index(None)]}")
    # evaluate the per-DNN picks on every DNN: each may be another DNN's best
    ev = problem.evaluate_designs(X[picks])
    X = np.concatenate([X, X[picks]])
    T = np.concatenate([T, np.stack([ev.metrics[f"{d}.throughput_ips"] for d in dnns], 1)])
    area = np.concatenate([area, ev.metrics["area_mm2"]])
    src += [src[i] for i in picks]
    everywhere = np.concatenate([everywhere, ev.feasible])
    usable = np.concatenate([usable, ev.feasible])
    picks = [_pick(T[:, j], area, usable, X) for j in range(k)]
    gmean = np.exp(np.mean(np.log(np.where(np.isfinite(T), T, 1.0)), axis=1))
    gm = _pick(np.where(np.isfinite(T).all(axis=1), gmean, np.nan), area, everywhere, X)
    if gm is None:
        raise ValueError("no design satisfies the constraints on every DNN")
    chosen = [*picks, gm]
    final = problem.evaluate_designs(X[chosen])
    return Selection(
        dnns=list(dnns),
        labels=[f"best for {d}" for d in dnns] + ["geomean"],
        X=X[chosen],
        throughput=np.stack([final.metrics[f"{d}.throughput_ips"] for d in dnns], axis=1),
        area_mm2=final.metrics["area_mm2"],
        found_by=[src[i] for i in chosen],
    )


def many_objective_view(selection: Selection, pool: Pool, front_X: np.ndarray) -> dict[str, Any]:
    """Where the geometric-mean configuration sits among the many-objective front."""
    rows = {x.tobytes(): i for i, x in enumerate(pool.X)}
    idx = [rows[x.tobytes()] for x in front_X if x.tobytes() in rows]
    F = pool.throughput[idx] / selection.best[None, :]
    gm = selection.normalized[-1]
    dominated_by = int(((gm <= F).all(axis=1) & (gm < F).any(axis=1)).sum())
    gmeans = np.exp(np.log(F).mean(axis=1))
    gm_mean = float(np.exp(np.log(gm).mean()))
    return {
        "front_size": len(idx),
        "gm_dominated_by": dominated_by,
        "gm_on_front": any(np.array_equal(x, selection.X[-1]) for x in front_X),
        "gm_geomean_normalized": gm_mean,
        "front_best_geomean_normalized": float(gmeans.max()) if len(idx) else None,
        "front_designs_with_higher_geomean": int((gmeans > gm_mean * (1 + 1e-12)).sum()),
        "front_per_dnn_max": F.max(axis=0).tolist() if len(idx) else [],
        "front_per_dnn_min": F.min(axis=0).tolist() if len(idx) else [],
        "gm_per_dnn": gm.tolist(),
        "front_normalized": F.tolist(),
    }


def _area_constraint_columns(problem: AcceleratorProblem) -> tuple[list[int], float | None]:
    """G columns of ``area_mm2 <= A`` and A (None when absent)."""
    names = problem.workload_names
    col, cols, bound = 0, [], None
    for c in problem.constraint_list:
        per_design = c.metric in problem.design_metric_names
        width = 1 if c.workload is not None or per_design else len(names)
        if c.metric == "area_mm2" and c.upper:
            cols += list(range(col, col + width))
            bound = c.bound if bound is None else min(bound, c.bound)
        col += width
    return cols, bound


def exhaustive_reference(
    problem: AcceleratorProblem, factors=BUDGET_FACTORS, chunk: int = 20_000
) -> dict[str, Any]:
    """Every design of the space: true optima at the configured area budget and at others."""
    dnns = problem.workload_names
    X_parts, T_parts, area_parts, other_parts = [], [], [], []
    area_cols, budget = _area_constraint_columns(problem)
    for X in problem.design_space.enumerate(chunk):
        ev = problem.evaluate_designs(X)
        X_parts.append(X)
        T_parts.append(np.stack([ev.metrics[f"{d}.throughput_ips"] for d in dnns], axis=1))
        area_parts.append(ev.metrics["area_mm2"])
        G = np.delete(ev.G, area_cols, axis=1)
        other_parts.append((G <= 0).all(axis=1) if G.size else np.ones(len(X), dtype=bool))
    X, T, area = np.concatenate(X_parts), np.concatenate(T_parts), np.concatenate(area_parts)
    other = np.concatenate(other_parts)
    g = np.exp(np.log(T).mean(axis=1))
    out: dict[str, Any] = {"designs": len(T), "budget_mm2": budget, "budgets": []}
    budgets = [budget * f for f in factors] if budget is not None else [None]
    for b in budgets:
        ok = other & (area <= b) if b is not None else other
        if not ok.any():
            continue
        best_rows = np.asarray([_pick(T[:, j], area, ok, X) for j in range(len(dnns))])
        best = T[best_rows, np.arange(len(dnns))]
        gm_row = _pick(g, area, ok, X)
        imp = g[gm_row] / g[best_rows] - 1.0
        out["budgets"].append(
            {
                "area_mm2": b,
                "feasible_designs": int(ok.sum()),
                "best_throughput": best.tolist(),
                "gm_geomean": float(g[gm_row]),
                "improvement": imp.tolist(),
                "improvement_min": float(imp.min()),
                "improvement_max": float(imp.max()),
            }
        )
    return out


def _single_experiment(exp: Experiment, j: int, dnn: str) -> Experiment:
    """The search for one DNN alone (same space, budget; constraints on it or on the design)."""
    problem = exp.build_problem()
    keep = [
        c.label
        for c in problem.constraint_list
        if c.workload is None or c.workload == problem.workload_names[j]
    ]
    return dataclasses.replace(
        exp,
        name=f"{exp.name}.{dnn}",
        workloads=(exp.workloads[j],),
        objectives=("throughput", "area"),
        constraints=tuple(keep),
    )


def run_study(
    config: str | Path, out: str | Path, *, quick: bool = False, log: Log = quiet
) -> dict[str, Any]:
    """Run the whole study; write CSV/JSON/figures under ``out``; return the results."""
    start = time.perf_counter()
    out = Path(out)
    exp = budgeted(load_study_config(config), quick)
    require(
        exp.workloads is not None and len(exp.workloads) >= 2,
        "the study needs at least two workloads listed in the experiment",
        source=str(config),
        key="workloads",
    )
    problem = exp.build_problem()
    require(
        type(problem) is AcceleratorProblem,
        "the many-DNN study runs plain hardware searches (no problem class)",
        source=str(config),
        key="problem",
    )
    dnns = problem.workload_names
    log(f"{NAME}: {len(dnns)} DNNs, constraints {problem.constraint_labels}")
    runs: dict[str, RunResult] = {}
    for j, d in enumerate(dnns):
        runs[d] = search(_single_experiment(exp, j, d), out / "runs" / f"single_{d}", log)
    runs["geomean"] = search(exp, out / "runs" / "geomean", log)
    many = dataclasses.replace(
        exp,
        name=f"{exp.name}.many_objective",
        objectives=({"name": "throughput", "per_workload": True},),
        algorithm="nsga3",
        options={k: v for k, v in exp.options.items() if k == "pop_size"},
    )
    runs["many_objective"] = search(many, out / "runs" / "many_objective", log)
    pools = [pool_from_run(runs[d], dnns, f"single-DNN search for {d}") for d in dnns]
    pools.append(pool_from_run(runs["geomean"], dnns, "geomean search"))
    many_pool = pool_from_run(runs["many_objective"], dnns, "many-objective search")
    pools.append(many_pool)
    sel = select_configurations(problem, pools)
    front = runs["many_objective"].X
    view = many_objective_view(sel, many_pool, front)
    imp = sel.improvement
    results: dict[str, Any] = {
        "study": NAME,
        "config": str(config),
        "quick": quick,
        "experiment": exp.name,
        "dnns": dnns,
        **search_record(exp, problem),
        "evaluations": {k: r.summary["evaluations"] for k, r in runs.items()},
        "configurations": [
            {
                "label": label,
                "found_by": src,
                "hardware": problem.describe(x, name=label)["hardware"],
                "area_mm2": float(a),
                "throughput_ips": dict(zip(dnns, t.tolist(), strict=True)),
                "normalized": dict(zip(dnns, n.tolist(), strict=True)),
                "geomean_ips": float(g),
            }
            for label, src, x, a, t, n, g in zip(
                sel.labels,
                sel.found_by,
                sel.X,
                sel.area_mm2,
                sel.throughput,
                sel.normalized,
                sel.geomean,
                strict=True,
            )
        ],
        "improvement": dict(zip(dnns, imp.tolist(), strict=True)),
        "improvement_min": float(imp.min()),
        "improvement_max": float(imp.max()),
        "improvement_min_dnn": dnns[int(np.argmin(imp))],
        "improvement_max_dnn": dnns[int(np.argmax(imp))],
        "paper_range": list(PAPER_RANGE),
        "many_objective": view,
    }
    if not quick and problem.space_size <= EXHAUSTIVE_LIMIT:
        t0 = time.perf_counter()
        ref = exhaustive_reference(problem)
        at = next(b for b in ref["budgets"] if np.isclose(b["area_mm2"], ref["budget_mm2"]))
        ref["found_over_true"] = {
            **{d: float(sel.best[j] / at["best_throughput"][j]) for j, d in enumerate(dnns)},
            "geomean": float(sel.geomean[-1] / at["gm_geomean"]),
        }
        ref["wall_time_s"] = time.perf_counter() - t0
        results["exhaustive"] = ref
        log(f"  exhaustive check: {ref['designs']} designs, {ref['wall_time_s']:.1f} s")
    results["wall_time_s"] = time.perf_counter() - start
    _write(out, results, sel)
    return results


def _write(out: Path, results: dict[str, Any], sel: Selection) -> None:
    dnns = sel.dnns
    rows = [
        [label, src, *t.tolist(), *n.tolist(), g]
        for label, src, t, n, g in zip(
            sel.labels, sel.found_by, sel.throughput, sel.normalized, sel.geomean, strict=True
        )
    ]
    write_csv(
        out / "cross_evaluation.csv",
        [
            "configuration",
            "found_by",
            *(f"{d}.throughput_ips" for d in dnns),
            *(f"{d}.normalized" for d in dnns),
            "geomean_ips",
        ],
        rows,
    )
    write_csv(
        out / "improvement.csv",
        ["dnn", "geomean_of_best_for_dnn", "geomean_of_gm", "improvement"],
        [[d, sel.geomean[j], sel.geomean[-1], sel.improvement[j]] for j, d in enumerate(dnns)],
    )
    write_json(out / "results.json", results)
    figures = out / "figures"
    _heatmap(sel, figures / "cross_evaluation.png")
    _improvement_bars(results, figures / "improvement.png")
    _parallel(results, figures / "many_objective.png")
    if "exhaustive" in results:
        _budgets(results, figures / "budgets.png")


def _heatmap(sel: Selection, path: Path) -> None:
    M = sel.normalized
    fig = new_figure(7.2, 4.6)
    ax = fig.add_subplot()
    im = ax.imshow(M, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(sel.dnns)), sel.dnns, rotation=35, ha="right")
    ax.set_yticks(range(len(sel.labels)), sel.labels)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(
                j,
                i,
                f"{M[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if M[i, j] < 0.6 else "black",
            )
    ax.set_xlabel("DNN run")
    ax.set_ylabel("configuration")
    ax.set_title("Throughput / the DNN's best configuration")
    fig.colorbar(im, ax=ax, shrink=0.8)
    save_figure(fig, path)


def _improvement_bars(results: dict[str, Any], path: Path) -> None:
    dnns = results["dnns"]
    imp = [100 * results["improvement"][d] for d in dnns]
    fig = new_figure(6.4, 3.6)
    ax = fig.add_subplot()
    lo, hi = (100 * v for v in results["paper_range"])
    ax.axhspan(lo, hi, color="0.85", label=f"paper: {lo:.1f}% to {hi:.1f}%")
    ax.bar(range(len(dnns)), imp, color="tab:blue", label="measured")
    ax.set_xticks(range(len(dnns)), dnns, rotation=35, ha="right")
    ax.set_ylabel("geomean gain of the gm config (%)")
    ax.set_title("Geometric-mean configuration vs each single-DNN configuration")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def _parallel(results: dict[str, Any], path: Path) -> Figure:
    """The many-objective front (grey), each DNN's best configuration (its own colour and
    marker, one legend entry each) and the geometric-mean configuration (black)."""
    view = results["many_objective"]
    dnns = results["dnns"]
    fig = new_figure(7.2, 4.0)
    ax = fig.add_subplot()
    xs = np.arange(len(dnns))
    for row in view["front_normalized"]:
        ax.plot(xs, row, color=style.LIGHT_GREY, lw=0.6, alpha=0.8)
    ax.plot([], [], color=style.LIGHT_GREY, label=f"NSGA-III front ({view['front_size']} designs)")
    for i, cfg in enumerate(results["configurations"][:-1]):
        ax.plot(
            xs,
            [cfg["normalized"][d] for d in dnns],
            color=style.color(i),
            ls=style.LINESTYLES[i % len(style.LINESTYLES)],
            marker=style.MARKERS[i % len(style.MARKERS)],
            ms=4,
            lw=0.9,
            label=cfg["label"],
        )
    ax.plot(xs, view["gm_per_dnn"], color="black", lw=2.2, label="geomean configuration")
    ax.set_xticks(xs, dnns, rotation=35, ha="right")
    ax.set_ylabel("throughput / DNN's best")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("One objective per DNN: the front and the geometric-mean choice")
    save_figure(fig, path)
    return fig


def _budgets(results: dict[str, Any], path: Path) -> Figure:
    """The improvement range against the area budget (exhaustive optima); ticks at the budgets
    evaluated, the configured one marked."""
    ref = results["exhaustive"]
    b = [e["area_mm2"] for e in ref["budgets"]]
    fig = new_figure(5.6, 3.4)
    ax = fig.add_subplot()
    ax.fill_between(
        b,
        [100 * e["improvement_min"] for e in ref["budgets"]],
        [100 * e["improvement_max"] for e in ref["budgets"]],
        color=style.BLUE,
        alpha=0.4,
        label="measured range (exhaustive)",
    )
    lo, hi = (100 * v for v in results["paper_range"])
    ax.axhline(lo, color="k", ls=":", lw=1)
    ax.axhline(hi, color="k", ls=":", lw=1, label="paper range")
    if ref["budget_mm2"] is not None:
        ax.axvline(ref["budget_mm2"], color=style.VERMILLION, ls="--", lw=1, label="study budget")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(b))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(r"area budget (mm$^2$)")
    ax.set_ylabel("improvement (%)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)  # below
    save_figure(fig, path)
    return fig
