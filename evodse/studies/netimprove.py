"""Network improvement: change a CNN's stage widths so it fits the accelerator better.

The study's experiment searches :class:`~evodse.studies.network.NetworkProblem` (latency or
energy against a model-size or accuracy proxy; the hardware fixed or searched jointly). The study
compares against the **original** network (published widths) on the same hardware, and reports:

* the **iso-capacity gain**: the lowest latency (the first objective) among feasible evaluated
  networks whose accuracy proxy, parameter ratio and MAC ratio are all at least the original's
  (1.0), relative to the original's latency;
* the **iso-latency capacity gain**: the highest accuracy proxy (and the parameters it brings)
  among feasible evaluated networks no slower than the original;
* per-layer array utilization and latency before (original) and after (the iso-capacity
  network), in a CSV and a figure, with the stage widths of both.

With a joint hardware search the "before" network runs on the hardware chosen for "after", so
the comparison isolates the network change.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from evodse.plots import style
from evodse.search.archive import best_row
from evodse.studies.common import (
    Log,
    feasible_rows,
    new_figure,
    quiet,
    require,
    save_figure,
    search,
    search_record,
    study_problem,
    write_csv,
    write_json,
)
from evodse.studies.network import NetworkProblem, layer_utilization
from evodse.workload.zoo import STAGE_NAMES

NAME = "network"


def original_index(problem: NetworkProblem, x: np.ndarray) -> np.ndarray:
    """``x`` with every width variable set to the published width."""
    x = np.array(x, dtype=np.int64)
    n_hw = problem.design_space.n_hardware
    for j, (p, group) in enumerate(zip(problem.design_space.extra, problem.groups, strict=True)):
        x[n_hw + j] = p.values.index(problem.default_widths[group[0]])
    return x


def run_study(
    config: str | Path, out: str | Path, *, quick: bool = False, log: Log = quiet
) -> dict[str, Any]:
    """Run the whole study; write CSV/JSON/figures under ``out``; return the results."""
    start = time.perf_counter()
    out = Path(out)
    exp, problem = study_problem(config, quick, NetworkProblem, "network")
    net_name = problem.workload_names[0]
    first = problem.objective_list[0]
    require(
        not first.maximize and first.metric not in problem.design_objectives,
        "the first objective must be a cost of the network (latency, energy ...)",
        source=str(config),
        key="objectives",
    )
    cost_col = first.metric
    log(f"{NAME}: {net_name}, objectives {problem.objective_columns}")
    result = search(exp, out / "runs" / "search", log)
    archive = result.state.archive
    rows = feasible_rows(result)
    cost = archive.column("objectives")[rows, 0]
    proxy = archive.column("accuracy_proxy")[rows]
    params = archive.column("params_ratio")[rows]
    macs = archive.column("macs_ratio")[rows]
    X = archive.column("X")[rows].astype(np.int64)
    require(len(rows) > 0, "no feasible design", source=str(config), key="constraints")
    eps = 1e-12
    proxy0 = problem.proxy_value(problem.reference)
    # "after": the cheapest network at no capacity loss
    keep = (proxy >= proxy0 * (1 - eps)) & (params >= 1 - eps) & (macs >= 1 - eps)
    # ties (here and below): to more capacity / lower cost, then the smallest design vector
    i_after = best_row(np.where(keep, cost, np.nan), X, then=(-proxy,))
    x_ref = X[i_after] if i_after is not None else X[best_row(cost, X, then=(-proxy,))]
    x_orig = original_index(problem, x_ref)
    ev_orig = problem.evaluate_designs(x_orig[None, :])
    c_orig = float(ev_orig.metrics[f"{net_name}.{cost_col}"][0])
    # iso-cost: most capacity no costlier than the original
    no_worse = cost <= c_orig * (1 + eps)
    i_iso = best_row(np.where(no_worse, proxy, np.nan), X, maximize=True, then=(cost,))
    if i_iso is not None and proxy[i_iso] <= proxy0:
        i_iso = None  # nothing no costlier has more capacity than the original

    def design(i: int | None, x: np.ndarray | None = None) -> dict[str, Any] | None:
        if i is None and x is None:
            return None
        x = X[i] if x is None else x
        ev = problem.evaluate_designs(x[None, :])
        d = problem.describe(x, name="design")
        return {
            **d,
            cost_col: float(ev.metrics[f"{net_name}.{cost_col}"][0]),
            "latency_s": float(ev.metrics[f"{net_name}.latency_s"][0]),
            "energy_pj": float(ev.metrics[f"{net_name}.energy_pj"][0]),
            "utilization": float(ev.metrics[f"{net_name}.utilization"][0]),
            "params": int(ev.metrics["params"][0]),
            "macs": int(ev.metrics["macs"][0]),
            "params_ratio": float(ev.metrics["params_ratio"][0]),
            "macs_ratio": float(ev.metrics["macs_ratio"][0]),
            "accuracy_proxy": float(ev.metrics["accuracy_proxy"][0]),
        }

    before = design(None, x_orig)
    if i_after is not None and cost[i_after] >= c_orig:
        i_after = None  # nothing at full capacity beats the original: keep it
    after = design(i_after) if i_after is not None else dict(before)
    iso = design(i_iso)
    front_rows = result.state.archive.front
    results: dict[str, Any] = {
        "study": NAME,
        "config": str(config),
        "quick": quick,
        "experiment": exp.name,
        "workload": net_name,
        "objectives": problem.objective_columns,
        "cost_metric": cost_col,
        "settings": dict(problem.options),
        "stages": list(STAGE_NAMES[problem.zoo_name]),
        "width_choices": {p.name: list(p.values) for p in problem.design_space.extra},
        "hardware_fixed": problem.design_space.hardware is None,
        **search_record(exp, problem),
        "evaluations": result.summary["evaluations"],
        "front_size": len(front_rows),
        "original": before,
        "improved": after,
        "iso_cost": iso,
        "improvement_found": i_after is not None,
        "gain": 1 - after[cost_col] / before[cost_col] + 0.0,
        "iso_cost_proxy_gain": None if iso is None else iso["accuracy_proxy"] / proxy0 - 1,
        "iso_cost_params_gain": None if iso is None else iso["params_ratio"] - 1,
        "front": {
            cost_col: archive.column("objectives")[front_rows, 0].tolist(),
            "accuracy_proxy": archive.column("accuracy_proxy")[front_rows].tolist(),
            "params_ratio": archive.column("params_ratio")[front_rows].tolist(),
        },
        "all": {cost_col: cost.tolist(), "accuracy_proxy": proxy.tolist()},
    }
    x_after = X[i_after] if i_after is not None else x_orig
    hw = problem.design_space.accelerator(x_after)
    net_b = problem.network(problem.widths(x_orig[None, :])[0])
    net_a = problem.network(problem.widths(x_after[None, :])[0])
    ub, ua = layer_utilization(net_b, hw), layer_utilization(net_a, hw)
    layers = [
        [
            b["layer"],
            b["class"],
            b["out_channels"],
            a["out_channels"],
            b["macs"],
            a["macs"],
            b["utilization"],
            a["utilization"],
            b["latency_s"],
            a["latency_s"],
        ]
        for b, a in zip(ub, ua, strict=True)
    ]
    gemm = np.asarray([r[4:] for r in layers if r[4] > 0], dtype=float)
    results["layers"] = {
        "array_layers": len(gemm),
        "widened": int(sum(r[3] > r[2] for r in layers if r[4] > 0)),
        "narrowed": int(sum(r[3] < r[2] for r in layers if r[4] > 0)),
        "mean_utilization_before": float(gemm[:, 2].mean()),
        "mean_utilization_after": float(gemm[:, 3].mean()),
        "layers_better_utilized": int((gemm[:, 3] > gemm[:, 2] + 1e-9).sum()),
        "layers_worse_utilized": int((gemm[:, 3] < gemm[:, 2] - 1e-9).sum()),
        "by_class": _by_class(layers),
    }
    results["wall_time_s"] = time.perf_counter() - start
    _write(out, results, layers)
    return results


def _by_class(layers: list[list]) -> dict[str, dict[str, float]]:
    """Per layer class: count, MACs, MAC-weighted utilization and latency, before and after."""
    out: dict[str, dict[str, float]] = {}
    for r in layers:
        c = out.setdefault(
            r[1],
            {
                "layers": 0,
                "macs_before": 0,
                "macs_after": 0,
                "latency_before_s": 0.0,
                "latency_after_s": 0.0,
                "busy_before": 0.0,
                "busy_after": 0.0,
            },
        )
        c["layers"] += 1
        c["macs_before"] += r[4]
        c["macs_after"] += r[5]
        c["latency_before_s"] += r[8]
        c["latency_after_s"] += r[9]
        c["busy_before"] += r[6] * r[8]  # utilization x time: PE-busy time
        c["busy_after"] += r[7] * r[9]
    for c in out.values():
        for when in ("before", "after"):
            t = c[f"latency_{when}_s"]
            c[f"utilization_{when}"] = c.pop(f"busy_{when}") / t if t > 0 else 0.0
    return out


def _write(out: Path, results: dict[str, Any], layers: list[list]) -> None:
    write_json(out / "results.json", results)
    if layers:
        write_csv(
            out / "layers.csv",
            [
                "layer",
                "kind",
                "out_channels_before",
                "out_channels_after",
                "macs_before",
                "macs_after",
                "utilization_before",
                "utilization_after",
                "latency_before_s",
                "latency_after_s",
            ],
            layers,
        )
        _utilization(results, [r for r in layers if r[4] > 0], out / "figures" / "utilization.png")
    _front(results, out / "figures" / "front.png")


def _utilization(results: dict[str, Any], layers: list[list], path: Path) -> Figure:
    fig = new_figure(7.2, 4.2)
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    xs = np.arange(len(layers))
    ax.step(xs, [r[6] for r in layers], where="mid", lw=1, label="original", color="0.5")
    ax.step(xs, [r[7] for r in layers], where="mid", lw=1, label="improved", color=style.VERMILLION)
    ax.set_ylabel("array utilization")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"{results['workload']}: per-layer utilization on the same hardware")
    delta = np.asarray([1e3 * (r[9] - r[8]) for r in layers])
    faster = delta < 0
    ax2.bar(xs[faster], delta[faster], color=style.GREEN, width=1, label="faster after")
    ax2.bar(xs[~faster], delta[~faster], color=style.ORANGE, width=1, label="slower after")
    ax2.axhline(0, color="0.3", lw=0.6)
    ax2.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2)  # above
    ax2.set_ylabel("latency change (ms)")
    ax2.set_xlabel("array layer (network order)")
    save_figure(fig, path)
    return fig


def _front(results: dict[str, Any], path: Path) -> Figure:
    col = results["cost_metric"]
    scale, unit = (1e3, "ms") if col == "latency_s" else (1e-9, "mJ")
    fig = new_figure(5.6, 3.8)
    ax = fig.add_subplot()
    ax.scatter(
        np.asarray(results["all"][col]) * scale,
        results["all"]["accuracy_proxy"],
        s=4,
        color="0.8",
        label="evaluated",
    )
    order = np.argsort(results["front"][col])
    fx = np.asarray(results["front"][col])[order] * scale
    fy = np.asarray(results["front"]["accuracy_proxy"])[order]
    ax.plot(fx, fy, ".-", color="tab:blue", ms=4, label="front")
    o = results["original"]
    ax.scatter(
        [o[col] * scale],
        [o["accuracy_proxy"]],
        marker="*",
        s=120,
        color="k",
        label="original",
        zorder=5,
    )
    if results["improvement_found"]:
        a = results["improved"]
        ax.scatter(
            [a[col] * scale],
            [a["accuracy_proxy"]],
            marker="D",
            s=40,
            color="tab:red",
            label="improved (no capacity loss)",
            zorder=5,
        )
    ax.axhline(  # the constraints keep at least the original's parameters and MACs
        o["accuracy_proxy"], color=style.VERMILLION, ls="--", lw=0.9, label="original's capacity"
    )
    ax.set_xlabel(f"{col.split('_')[0]} ({unit})")
    ax.set_ylabel("accuracy proxy (capacity vs original)")
    ax.legend(fontsize=7)
    save_figure(fig, path)
    return fig
