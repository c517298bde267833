"""Simultaneous DNNs: a partitioned accelerator against running the same DNNs one after another.

The study's experiment searches :class:`~evodse.studies.partition.PartitionedProblem` (shared
hardware plus the partition; per-application latency and area as objectives; per-application
deadlines ``latency_s[app] <= D`` and the area budget as constraints). The study then:

* picks the **partitioned design**: among every feasible evaluated design (all deadlines met,
  within the budget), the one with the shortest makespan (the longest application latency);
* evaluates the **sequential schedule on the same hardware**: the whole, unpartitioned
  accelerator runs one inference of each application after another. With all applications
  released together and run earliest-deadline-first, application ``i`` completes at the sum of
  the latencies up to and including its own; a round takes the sum of all of them; each
  application gets one result per round (throughput ``batch / round``). The accelerator's
  **load**, ``sum_j L_j / D_j``, is the fraction of time it is busy when every application runs
  once per deadline period: above 1 no order can keep up. The partitioned design's applications
  run concurrently, each at ``batch / L_i`` with per-slice load ``L_i / D_i``;
* runs a **sequential search** for the best unpartitioned hardware under the same area budget
  (objectives: the sum of latencies, i.e. the round, and area; same space without the
  partition), and evaluates its schedule the same way.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from evodse.experiment.runner import RunResult
from evodse.model.evaluate import evaluate
from evodse.search.archive import best_row
from evodse.search.problem import AcceleratorProblem
from evodse.studies.common import (
    Log,
    feasible_rows,
    new_figure,
    quiet,
    save_figure,
    search,
    search_record,
    study_problem,
    write_csv,
    write_json,
)
from evodse.studies.partition import PartitionedProblem

NAME = "simultaneous"


def deadlines(problem: PartitionedProblem) -> dict[str, float]:
    """Per-application latency bound (s) from ``latency_s[app] <= D`` constraints (the tightest;
    inf where none)."""
    out = {n: float("inf") for n in problem.workload_names}
    for c in problem.constraint_list:
        if c.metric == "latency_s" and c.upper:
            for n in [c.workload] if c.workload else problem.workload_names:
                out[n] = min(out[n], c.bound)
    return out


def sequential_schedule(latency: dict[str, float], deadline: dict[str, float]) -> dict[str, Any]:
    """One round of the applications run one after another, earliest deadline first."""
    order = sorted(latency, key=lambda n: (deadline[n], n))
    done, t = {}, 0.0
    for n in order:
        t += latency[n]
        done[n] = t
    finite = [n for n in latency if np.isfinite(deadline[n])]
    return {
        "order": order,
        "completion_s": done,
        "round_s": t,
        "load": float(sum(latency[n] / deadline[n] for n in finite)),
        "deadlines_met": {n: bool(done[n] <= deadline[n]) for n in latency},
    }


def run_study(
    config: str | Path, out: str | Path, *, quick: bool = False, log: Log = quiet
) -> dict[str, Any]:
    """Run the whole study; write CSV/JSON/figures under ``out``; return the results."""
    start = time.perf_counter()
    out = Path(out)
    exp, problem = study_problem(config, quick, PartitionedProblem, "simultaneous-DNN")
    apps = problem.workload_names
    batch = {n.name: n.batch for n in problem.networks}
    limit = deadlines(problem)
    log(f"{NAME}: {apps}, deadlines {limit}, constraints {problem.constraint_labels}")
    part_run = search(exp, out / "runs" / "partitioned", log)
    # sequential search: same hardware space, no partition, round = sum of latencies
    hw_space = {k: v for k, v in (exp.space or {}).items() if k != problem.settings_key}
    per_design = problem.design_metric_names
    design_constraints = [c.label for c in problem.constraint_list if c.metric in per_design]
    seq_exp = dataclasses.replace(
        exp,
        name=f"{exp.name}.sequential",
        problem=None,
        problem_class=AcceleratorProblem,
        space=hw_space,
        objectives=({"name": "latency", "aggregate": "sum"}, "area"),
        constraints=tuple(design_constraints),
    )
    seq_run = search(seq_exp, out / "runs" / "sequential", log)

    part = _pick_partitioned(part_run)
    results: dict[str, Any] = {
        "study": NAME,
        "config": str(config),
        "quick": quick,
        "experiment": exp.name,
        "apps": apps,
        "batch": batch,
        "deadline_s": limit,
        "settings": dict(problem.options),
        **search_record(exp, problem),
        "evaluations": {
            "partitioned": part_run.summary["evaluations"],
            "sequential": seq_run.summary["evaluations"],
        },
        "partitioned_front_size": part_run.summary["front_size"],
        "feasible_partitioned": len(feasible_rows(part_run)),
    }
    if part is None:
        results["partitioned"] = None
        log("  no partitioned design met every deadline within the budget")
    else:
        x, ev = part
        lat = {n: float(ev.metrics[f"{n}.latency_s"][0]) for n in apps}
        whole = problem.design_space.accelerator(x, name="partitioned")
        same = {n.name: float(evaluate(whole, n).latency_s[0]) for n in problem.networks}
        results["partitioned"] = {
            "hardware": whole.to_dict(),
            "partition": problem.describe(x)["partition"],
            "area_mm2": float(ev.metrics["area_mm2"][0]),
            "latency_s": lat,
            "makespan_s": max(lat.values()),
            "throughput_ips": {n: batch[n] / lat[n] for n in apps},
            "load": {n: lat[n] / limit[n] for n in apps if np.isfinite(limit[n])},
            "deadlines_met": {n: bool(lat[n] <= limit[n]) for n in apps},
        }
        results["sequential_same_hardware"] = _sequential(same, limit, batch, whole.to_dict())
    best_seq = _pick_sequential(seq_run)
    if best_seq is not None:
        hw, area = best_seq
        lat = {n.name: float(evaluate(hw, n).latency_s[0]) for n in problem.networks}
        results["sequential_best_hardware"] = {
            **_sequential(lat, limit, batch, hw.to_dict()),
            "area_mm2": area,
        }
    if results.get("partitioned") is not None:
        p = results["partitioned"]
        for key in ("sequential_same_hardware", "sequential_best_hardware"):
            if key in results:
                s = results[key]
                s["round_over_makespan"] = s["round_s"] / p["makespan_s"]
                s["throughput_gain_of_partitioned"] = {
                    n: p["throughput_ips"][n] / s["throughput_ips"][n] - 1 for n in apps
                }
    results["wall_time_s"] = time.perf_counter() - start
    _write(out, results)
    return results


def _sequential(
    latency: dict[str, float], limit: dict[str, float], batch: dict[str, int], hw: dict
) -> dict[str, Any]:
    s = sequential_schedule(latency, limit)
    return {
        "hardware": hw,
        "latency_alone_s": latency,
        **s,
        "throughput_ips": {n: batch[n] / s["round_s"] for n in latency},
    }


def _pick_partitioned(run: RunResult):
    """Shortest-makespan feasible design of the partitioned run: (x, its evaluation); ties to
    the smaller area, then the lexicographically smallest design."""
    rows = feasible_rows(run)
    if len(rows) == 0:
        return None
    archive = run.state.archive
    makespan = archive.column("makespan_s")[rows]
    area = archive.column("area_mm2")[rows]
    row = rows[best_row(makespan, archive.column("X")[rows], then=(area,))]
    x = archive.column("X")[row].astype(np.int64)
    return x, run.state.problem.evaluate_designs(x[None, :])


def _pick_sequential(run: RunResult):
    """Shortest-round feasible design of the sequential run: (accelerator, area); ties as in
    :func:`_pick_partitioned`."""
    rows = feasible_rows(run)
    if len(rows) == 0:
        return None
    archive = run.state.archive
    j = run.state.problem.objective_columns.index("latency_s_sum")
    latency = archive.column("objectives")[rows, j]
    area = archive.column("area_mm2")[rows]
    row = rows[best_row(latency, archive.column("X")[rows], then=(area,))]
    x = archive.column("X")[row].astype(np.int64)
    hw = run.state.problem.design_space.accelerator(x, name="sequential")
    return hw, float(archive.column("area_mm2")[row])


def _write(out: Path, results: dict[str, Any]) -> None:
    write_json(out / "results.json", results)
    p = results.get("partitioned")
    if p is None:
        return
    apps = results["apps"]
    cols = ["app", "deadline_s", "partitioned_latency_s", "partitioned_throughput_ips"]
    seq_keys = [k for k in ("sequential_same_hardware", "sequential_best_hardware") if k in results]
    for k in seq_keys:
        cols += [f"{k}.alone_s", f"{k}.completion_s", f"{k}.throughput_ips"]
    rows = []
    for n in apps:
        row = [n, results["deadline_s"][n], p["latency_s"][n], p["throughput_ips"][n]]
        for k in seq_keys:
            s = results[k]
            row += [s["latency_alone_s"][n], s["completion_s"][n], s["throughput_ips"][n]]
        rows.append(row)
    write_csv(out / "comparison.csv", cols, rows)
    write_csv(
        out / "partition.csv",
        [
            "app",
            "pe_rows",
            "pe_cols",
            "ifmap_sram_kib",
            "weight_sram_kib",
            "ofmap_sram_kib",
            "dram_bandwidth_gbps",
            "vector_lanes",
        ],
        [[n, *p["partition"][n].values()] for n in apps],
    )
    _bars(results, out / "figures" / "latency.png")
    _shares(results, out / "figures" / "partition.png")


def _bars(results: dict[str, Any], path: Path) -> None:
    apps = results["apps"]
    p = results["partitioned"]
    series = [("partitioned (concurrent)", [p["latency_s"][n] for n in apps])]
    labels = {
        "sequential_same_hardware": "sequential, same hardware",
        "sequential_best_hardware": "sequential, its best hardware",
    }
    for key, label in labels.items():
        if key in results:
            series.append((label, [results[key]["completion_s"][n] for n in apps]))
    fig = new_figure(6.4, 3.6)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    xs = np.arange(len(apps))
    for i, (label, values) in enumerate(series):
        ax.bar(
            xs + (i - (len(series) - 1) / 2) * width, np.asarray(values) * 1e3, width, label=label
        )
    for i, n in enumerate(apps):
        d = results["deadline_s"][n]
        if np.isfinite(d):
            ax.hlines(d * 1e3, i - 0.45, i + 0.45, colors="k", linestyles="--", lw=1)
    ax.plot([], [], "k--", lw=1, label="deadline")
    finite = [d for d in results["deadline_s"].values() if np.isfinite(d)]
    top = max([*(max(v) for _, v in series), *finite]) * 1e3
    ax.set_ylim(0, 1.45 * top)
    ax.set_xticks(xs, apps)
    ax.set_ylabel("latency / completion time (ms)")
    ax.set_title("One inference of each application")
    ax.legend(fontsize=7, ncol=2, loc="upper center")
    save_figure(fig, path)


def _shares(results: dict[str, Any], path: Path) -> None:
    apps = results["apps"]
    part = results["partitioned"]["partition"]
    resources = {
        "PE columns": "pe_cols",
        "SRAM": "ifmap_sram_kib",
        "DRAM bandwidth": "dram_bandwidth_gbps",
        "vector lanes": "vector_lanes",
    }
    fig = new_figure(6.0, 2.8)
    ax = fig.add_subplot()
    for i, key in enumerate(resources.values()):
        total = sum(part[n][key] for n in apps)
        left = 0.0
        for j, n in enumerate(apps):
            share = part[n][key] / total
            ax.barh(i, share, left=left, color=f"C{j}", label=n if i == 0 else None)
            left += share
    ax.set_yticks(range(len(resources)), list(resources))
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the accelerator")
    ax.legend(fontsize=7, ncol=len(apps), loc="upper center", bbox_to_anchor=(0.5, 1.25))
    save_figure(fig, path)
