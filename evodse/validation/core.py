"""Re-simulate designs layer by layer with SCALE-Sim and compare with the analytical model.

:func:`validate_designs` takes designs (``(id, Accelerator)`` pairs), networks and the run's
objectives and constraints, and returns a :class:`Validation`: per layer, per (design,
workload) and summary records (written by :mod:`evodse.validation.report`).

Per layer (see :mod:`evodse.export.scalesim_mapping` for the layer -> SCALE-Sim mapping):

* ``model_cycles`` / ``model_compute_cycles``: the cost model's cycles (compute, DRAM and
  exposed prologue) and its stall-free systolic cycles;
* ``simulator_cycles``: SCALE-Sim's ``Total Cycles`` (compute plus memory stalls in USER
  bandwidth mode) times the layer's ``repeat``; ``simulator_compute_cycles``: ``Total Cycles -
  Stall Cycles`` times ``repeat``. SCALE-Sim reports a 0-based last-cycle index, so on every
  simulated layer ``model_compute_cycles - simulator_compute_cycles == repeat`` exactly
  (docs/scalesim_conventions.md); the CSVs keep SCALE-Sim's raw numbers.
* Vector-unit layers, and layers whose simulation would count more than ``max_cycles``
  stall-free cycles (``simulator_compute_cycles``, known in closed form before running: the
  ``demand_rows`` of one run less one, times ``repeat``), are not simulated: ``simulated = 0``, the
  model's cycles stand in for the simulator's in the whole-workload totals, and the note says
  why.

Errors are ``(model - simulator) / simulator``: positive when the model overestimates.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.export.scalesim_mapping import (
    SimHardware,
    SimLayer,
    demand_rows,
    map_layer,
    sim_hardware,
    words_per_cycle,
)
from evodse.hardware.protocol import get_template
from evodse.hardware.template import DATAFLOWS, Accelerator
from evodse.model.evaluate import evaluate
from evodse.model.mappings import MAPPINGS
from evodse.search.archive import non_dominated
from evodse.search.objectives import (
    Constraint,
    Objective,
    design_metrics,
    workload_metrics,
)
from evodse.validation.cache import SimCache, cache_key
from evodse.validation.pool import run_and_cache
from evodse.validation.spec import DEFAULT_JOBS, DEFAULT_MAX_CYCLES, require_backend
from evodse.workload.network import Network

Progress = Callable[[str], None]


@dataclass
class Validation:
    """Everything a validation produced (plain data; see :mod:`evodse.validation.report`)."""

    layer_rows: list[dict[str, Any]]
    design_rows: list[dict[str, Any]]
    summary: dict[str, Any]
    designs: list[tuple[int, Accelerator]] = field(repr=False, default_factory=list)


def stderr_progress(message: str) -> None:
    print(f"validate: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# statistics


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b of two samples (scipy's); None for < 2 points or when a sample is
    constant."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 2:
        return None
    from scipy.stats import kendalltau  # scipy is a dependency; imported here for CLI start-up

    tau = float(kendalltau(x, y).statistic)
    return tau if math.isfinite(tau) else None


def front_mask(F: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``F`` (all minimized) among the rows
    ``among`` marks (default: all); rows outside ``among`` are never on the front."""
    among = np.ones(len(F), dtype=bool) if among is None else np.asarray(among, dtype=bool)
    rows = np.flatnonzero(among)
    mask = np.zeros(len(F), dtype=bool)
    mask[rows[non_dominated(np.asarray(F, dtype=float)[rows])]] = True
    return mask


def _abs_stats(errors: Sequence[float]) -> dict[str, float | None]:
    values = [abs(e) for e in errors if e is not None and math.isfinite(e)]
    if not values:
        return {"median_abs": None, "mean_abs": None, "max_abs": None}
    return {
        "median_abs": float(np.median(values)),
        "mean_abs": float(np.mean(values)),
        "max_abs": float(np.max(values)),
    }


def _error(model: float, simulator: float) -> float | None:
    return None if simulator == 0 else (model - simulator) / simulator


# ---------------------------------------------------------------------------------------------
# metrics and objectives


def _design_metrics(designs, cost) -> dict[str, np.ndarray]:
    out = {"area_mm2": cost.area_mm2}
    names = design_metrics(get_template(designs.template))
    out.update({k: getattr(designs, k) for k in names if k != "area_mm2"})
    return out


def _simulated_metrics(cost, cycles: np.ndarray) -> dict[str, np.ndarray]:
    """The workload metrics with the simulator's cycles replacing the model's (energy, area and
    DRAM bytes stay the model's)."""
    d = cost.designs
    latency = cycles / (d.frequency_mhz * 1e6)
    energy = cost.energy_pj
    throughput = cost.network.batch / latency
    return {
        "latency_s": latency,
        "energy_pj": energy,
        "power_w": energy * 1e-12 / latency,
        "chip_power_w": (energy - cost.energy_breakdown_pj["dram"]) * 1e-12 / latency,
        "edp_js": energy * 1e-12 * latency,
        "throughput_ips": throughput,
        "perf_per_area_ips_mm2": throughput / cost.area_mm2,
        "fps": throughput,
        "utilization": cost.macs / (cycles * d.pe_rows * d.pe_cols),
        "dram_bytes": cost.dram_bytes,
    }


def _objective_matrix(objectives: Sequence[Objective], design, per_workload) -> np.ndarray:
    return np.stack([o.values(design, per_workload) for o in objectives], axis=1)


def pick_objective(objectives: Sequence[Objective], by: str | None) -> Objective:
    """The objective named ``by`` (name or column); default the latency one, else the first."""
    if by is None:
        return next((o for o in objectives if o.name == "latency"), objectives[0])
    for o in objectives:
        if by in (o.name, o.column):
            return o
    names = sorted({o.name for o in objectives} | {o.column for o in objectives})
    raise InputError(f"{by!r} is not an objective of this run; expected one of {names}", key="--by")


def model_objectives(
    designs: Sequence[tuple[int, Accelerator]],
    networks: Sequence[Network],
    objectives: Sequence[Objective],
) -> np.ndarray:
    """True-sign model objective values (N, n_obj) of ``designs``."""
    accs = [a for _, a in designs]
    costs = [evaluate(accs, net) for net in networks]
    per_workload = {net.name: workload_metrics(c) for net, c in zip(networks, costs, strict=True)}
    return _objective_matrix(objectives, _design_metrics(costs[0].designs, costs[0]), per_workload)


def select_top(
    designs: Sequence[tuple[int, Accelerator]],
    networks: Sequence[Network],
    objectives: Sequence[Objective],
    *,
    top: int | None,
    by: str | None,
) -> list[tuple[int, Accelerator]]:
    """The ``top`` best of ``designs`` by objective ``by`` (model values), best first; all of
    them (in that order) when ``top`` is None."""
    obj = pick_objective(objectives, by)
    j = list(objectives).index(obj)
    values = model_objectives(designs, networks, objectives)[:, j]
    order = np.argsort(-values if obj.maximize else values, kind="stable")
    chosen = [designs[i] for i in order]
    return chosen if top is None else chosen[:top]


# ---------------------------------------------------------------------------------------------
# running the simulator


@dataclass(frozen=True)
class _Run:
    key: str
    hw: SimHardware
    layer: SimLayer
    rows: int


def _simulate_all(
    runs: list[_Run],
    cache: SimCache,
    version: str,
    *,
    jobs: int,
    say: Progress | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Simulate ``runs`` (cache misses), longest first, caching each result as it arrives."""
    from evodse.validation import scalesim_backend

    return run_and_cache(
        sorted(runs, key=lambda r: -r.rows),
        scalesim_backend.simulate,
        args=lambda run: (run.hw, run.layer),
        request=lambda run: {
            "backend": "scalesim",
            "version": version,
            "hardware": run.hw.to_dict(),
            "layer": run.layer.to_dict(),
        },
        label=lambda run: f"{run.hw.rows}x{run.hw.cols} {run.hw.dataflow} {run.layer.label()}",
        status=lambda r: f"{r['total_cycles']:,} cycles ({r['sim_seconds']:.1f} s)",
        cache=cache,
        jobs=jobs,
        say=say,
    )


# ---------------------------------------------------------------------------------------------


#: The hardware of a design that its validation rows record (what both simulators see).
DESIGN_KEYS = (
    "pe_rows",
    "pe_cols",
    "dataflow",
    "ifmap_sram_kib",
    "weight_sram_kib",
    "ofmap_sram_kib",
    "dram_bandwidth_gbps",
    "frequency_mhz",
)


def design_columns(design_id: int, net: Network, acc: Accelerator) -> dict[str, Any]:
    """The leading columns of a design's row in a validation CSV: id, workload, batch and the
    hardware of :data:`DESIGN_KEYS`."""
    return {
        "design_id": design_id,
        "workload": net.name,
        "batch": net.batch,
        **{key: getattr(acc, key) for key in DESIGN_KEYS},
    }


def validate_designs(
    designs: Sequence[tuple[int, Accelerator]],
    networks: Sequence[Network],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint] = (),
    *,
    cache_dir: str | Path,
    backend: str = "scalesim",
    jobs: int = DEFAULT_JOBS,
    max_cycles: int | None = DEFAULT_MAX_CYCLES,
    by: str | None = None,
    progress: Progress | None = None,
) -> Validation:
    """Simulate every GEMM layer of every design on every network; compare (module docstring)."""
    if require_backend(backend) != "scalesim":
        raise InputError(
            f"this engine runs SCALE-Sim; {backend} has its own "
            f"(evodse.validation.{backend}_backend.validate_designs)",
            key="--backend",
        )
    for i, acc in designs:  # SCALE-Sim simulates the systolic dataflows only
        if acc.dataflow not in (*MAPPINGS, "auto"):
            raise InputError(
                f"design {i} uses dataflow {acc.dataflow!r}; SCALE-Sim validates the systolic "
                f"dataflows {', '.join(MAPPINGS)} and auto only"
            )
    if not designs:
        raise InputError("no designs to validate")
    for template in sorted({a.template for _, a in designs}):  # simulators model its array
        get_template(template).require(backend, what=f"validation with {backend}")
    from evodse.validation.scalesim_backend import scalesim_version

    version = scalesim_version()
    cache = SimCache(cache_dir)
    accs = [a for _, a in designs]
    ids = [i for i, _ in designs]
    costs = [evaluate(accs, net) for net in networks]
    mappings = [
        [
            [
                map_layer(op, net.batch, hw=acc, dataflow=_dataflow_name(cost, i, li))
                for li, op in enumerate(net.ops)
            ]
            for i, acc in enumerate(accs)
        ]
        for net, cost in zip(networks, costs, strict=True)
    ]

    # 1. which runs each layer needs
    plan: dict[tuple[int, int, int], tuple[str, _Run | None, str]] = {}
    needed: dict[str, _Run] = {}
    for w, cost in enumerate(costs):
        flows = cost.layer("dataflow")
        for i, acc in enumerate(accs):
            for li, m in enumerate(mappings[w][i]):
                if m.layer is None:
                    continue
                dataflow = DATAFLOWS[int(flows[i, li])]
                hw = sim_hardware(acc, dataflow)
                rows = demand_rows(hw, m.layer)
                layer_cycles = (rows - 1) * m.repeat  # simulator_compute_cycles, were it run
                if max_cycles is not None and layer_cycles > max_cycles:
                    plan[w, i, li] = (
                        dataflow,
                        None,
                        f"not simulated: {layer_cycles:,} stall-free cycles > max_cycles",
                    )
                    continue
                key = cache_key(backend, version, hw, m.layer)
                run = _Run(key, hw, m.layer, rows)
                needed.setdefault(key, run)
                plan[w, i, li] = (dataflow, run, "")

    # 2. cache, then the simulator for the misses
    cached = {k: r for k in needed if (r := cache.get(k)) is not None}
    missing = [run for k, run in needed.items() if k not in cached]
    skipped = sum(1 for v in plan.values() if v[1] is None)
    if progress is not None:
        workers = min(jobs, max(1, len(missing)))
        progress(
            f"{len(designs)} designs x {len(networks)} workloads: {len(needed)} distinct layer "
            f"runs, {len(cached)} cached, {len(missing)} to simulate with {workers} "
            f"process(es); {skipped} layer(s) over max_cycles={max_cycles}"
        )
    t0 = time.perf_counter()
    fresh, failures = _simulate_all(missing, cache, version, jobs=jobs, say=progress)
    wall = time.perf_counter() - t0
    results = {**cached, **fresh}

    # 3. per-layer and per-(design, workload) records
    layer_rows: list[dict[str, Any]] = []
    design_rows: list[dict[str, Any]] = []
    sim_cycles = np.zeros((len(networks), len(accs)))
    compute_exact = True
    for w, (net, cost) in enumerate(zip(networks, costs, strict=True)):
        model_cyc = cost.layer("cycles")
        model_cmp = cost.layer("compute_cycles")
        for i, acc in enumerate(accs):
            tot = {
                "model_cycles": 0.0,
                "simulator_cycles": 0.0,
                "model_compute_cycles": 0.0,
                "simulator_compute_cycles": 0.0,
                "model_gemm_cycles": 0.0,
                "simulator_gemm_cycles": 0.0,
                "simulator_stall_cycles": 0.0,
                "simulator_gemm_cycles_incl_prefetch": 0.0,
            }
            counts = {"gemm": 0, "simulated": 0, "skipped": 0, "failed": 0}
            for li, (op, m) in enumerate(zip(net.ops, mappings[w][i], strict=True)):
                mc, mcc = float(model_cyc[i, li]), float(model_cmp[i, li])
                tot["model_cycles"] += mc
                row: dict[str, Any] = {
                    "design_id": ids[i],
                    "workload": net.name,
                    "layer": op.name,
                    "op": op.kind,
                    "simulated": 0,
                    "mode": "",
                    "simulator_layer": "",
                    "repeat": m.repeat if m.layer is not None else "",
                    "dataflow": "",
                    "demand_rows": "",
                    "model_cycles": mc,
                    "model_compute_cycles": mcc,
                    "simulator_cycles": "",
                    "simulator_compute_cycles": "",
                    "simulator_stall_cycles": "",
                    "simulator_cycles_incl_prefetch": "",
                    "cached": "",
                    "sim_seconds": "",
                    "note": m.note,
                }
                result = None
                if m.layer is not None:
                    counts["gemm"] += 1
                    dataflow, run, why = plan[w, i, li]
                    row["mode"] = m.layer.mode
                    row["simulator_layer"] = m.layer.label()
                    row["dataflow"] = dataflow
                    row["demand_rows"] = demand_rows(sim_hardware(acc, dataflow), m.layer)
                    if run is None:
                        counts["skipped"] += 1
                        row["note"] = "; ".join(filter(None, [why, m.note]))
                    elif run.key in failures:
                        counts["failed"] += 1
                        row["note"] = "; ".join(
                            filter(None, [f"simulator failed: {failures[run.key]}", m.note])
                        )
                    else:
                        result = results[run.key]
                if result is None:
                    tot["simulator_cycles"] += mc
                else:
                    r = m.repeat
                    sc, scc = r * result["total_cycles"], r * result["compute_cycles"]
                    counts["simulated"] += 1
                    compute_exact &= mcc - scc == r
                    row.update(
                        simulated=1,
                        simulator_cycles=sc,
                        simulator_compute_cycles=scc,
                        simulator_stall_cycles=r * result["stall_cycles"],
                        simulator_cycles_incl_prefetch=r * result["total_cycles_incl_prefetch"],
                        cached=int(run.key in cached),
                        sim_seconds=result["sim_seconds"],
                    )
                    tot["simulator_cycles"] += sc
                    tot["model_compute_cycles"] += mcc
                    tot["simulator_compute_cycles"] += scc
                    tot["model_gemm_cycles"] += mc
                    tot["simulator_gemm_cycles"] += sc
                    tot["simulator_stall_cycles"] += r * result["stall_cycles"]
                    tot["simulator_gemm_cycles_incl_prefetch"] += (
                        r * result["total_cycles_incl_prefetch"]
                    )
                layer_rows.append(row)
            sim_cycles[w, i] = tot["simulator_cycles"]
            f_hz = acc.frequency_mhz * 1e6
            design_rows.append(
                {
                    **design_columns(ids[i], net, acc),
                    "words_per_cycle": words_per_cycle(acc),
                    "simulator_words_per_cycle": sim_hardware(acc, "ws").bandwidth,
                    "layers": len(net.ops),
                    "gemm_layers": counts["gemm"],
                    "simulated_layers": counts["simulated"],
                    "skipped_layers": counts["skipped"] + counts["failed"],
                    "model_cycles": tot["model_cycles"],
                    "simulator_cycles": tot["simulator_cycles"],
                    "cycles_error": _error(tot["model_cycles"], tot["simulator_cycles"]),
                    "model_compute_cycles": tot["model_compute_cycles"],
                    "simulator_compute_cycles": tot["simulator_compute_cycles"],
                    "compute_error": _error(
                        tot["model_compute_cycles"], tot["simulator_compute_cycles"]
                    ),
                    "model_gemm_cycles": tot["model_gemm_cycles"],
                    "simulator_gemm_cycles": tot["simulator_gemm_cycles"],
                    "gemm_error": _error(tot["model_gemm_cycles"], tot["simulator_gemm_cycles"]),
                    "simulator_stall_cycles": tot["simulator_stall_cycles"],
                    "simulator_gemm_cycles_incl_prefetch": tot[
                        "simulator_gemm_cycles_incl_prefetch"
                    ],
                    "gemm_error_incl_prefetch": _error(
                        tot["model_gemm_cycles"], tot["simulator_gemm_cycles_incl_prefetch"]
                    ),
                    "simulated_share": (
                        tot["model_gemm_cycles"] / tot["model_cycles"] if tot["model_cycles"] else 0
                    ),
                    "model_latency_s": tot["model_cycles"] / f_hz,
                    "simulator_latency_s": tot["simulator_cycles"] / f_hz,
                }
            )

    summary = _summary(
        ids,
        accs,
        networks,
        costs,
        sim_cycles,
        design_rows,
        objectives,
        constraints,
        by=by,
    )
    summary["backend"] = backend
    summary["scalesim_version"] = version
    summary["settings"] = {"jobs": jobs, "max_cycles": max_cycles, "cache_dir": str(cache_dir)}
    summary["simulations"] = {
        "distinct_runs": len(needed),
        "cached": len(cached),
        "simulated": len(fresh),
        "failed": len(failures),
        "skipped_layers": skipped,
        "simulated_seconds": round(sum(r["sim_seconds"] for r in fresh.values()), 3),
        "wall_seconds": round(wall, 3),
    }
    summary["compute_matches_model"] = compute_exact
    return Validation(layer_rows, design_rows, summary, list(designs))


def _summary(
    ids: list[int],
    accs: list[Accelerator],
    networks: Sequence[Network],
    costs: list,
    sim_cycles: np.ndarray,
    design_rows: list[dict[str, Any]],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint],
    *,
    by: str | None,
) -> dict[str, Any]:
    d = costs[0].designs
    design = _design_metrics(d, costs[0])
    model_w = {net.name: workload_metrics(c) for net, c in zip(networks, costs, strict=True)}
    sim_w = {
        net.name: _simulated_metrics(c, sim_cycles[w])
        for w, (net, c) in enumerate(zip(networks, costs, strict=True))
    }
    model_obj = _objective_matrix(objectives, design, model_w)
    sim_obj = _objective_matrix(objectives, design, sim_w)
    sign = np.asarray([-1.0 if o.maximize else 1.0 for o in objectives])
    model_front = front_mask(model_obj * sign)
    infeasible = np.zeros(len(ids), dtype=bool)
    for c in constraints:
        infeasible |= (c.violations(design, sim_w) > 0).any(axis=0)
    # the simulated front among the designs the simulation keeps feasible: an infeasible
    # design must not push a feasible one off it
    sim_front = front_mask(sim_obj * sign, among=~infeasible)

    # latency agreement: per workload, and the geometric mean over workloads
    lat_model = np.stack([model_w[n.name]["latency_s"] for n in networks])
    lat_sim = np.stack([sim_w[n.name]["latency_s"] for n in networks])
    tau_per = {n.name: kendall_tau(lat_model[w], lat_sim[w]) for w, n in enumerate(networks)}
    geo_model = np.exp(np.log(lat_model).mean(axis=0))
    geo_sim = np.exp(np.log(lat_sim).mean(axis=0))
    tau = kendall_tau(geo_model, geo_sim)
    same_order = bool(
        np.array_equal(np.argsort(geo_model, kind="stable"), np.argsort(geo_sim, kind="stable"))
    )

    obj = pick_objective(objectives, by)
    j = list(objectives).index(obj)
    s = -1.0 if obj.maximize else 1.0
    model_rank = [ids[i] for i in np.argsort(s * model_obj[:, j], kind="stable")]
    sim_rank = [ids[i] for i in np.argsort(s * sim_obj[:, j], kind="stable")]
    columns = [o.column for o in objectives]
    per_design = []
    for i, (did, acc) in enumerate(zip(ids, accs, strict=True)):
        per_design.append(
            {
                "id": did,
                "hardware": {k: v for k, v in acc.to_dict().items() if k != "name"},
                "model": {c: float(v) for c, v in zip(columns, model_obj[i], strict=True)},
                "simulator": {c: float(v) for c, v in zip(columns, sim_obj[i], strict=True)},
                "model_rank": model_rank.index(did) + 1,
                "simulator_rank": sim_rank.index(did) + 1,
                "on_model_front": bool(model_front[i]),
                "on_simulator_front": bool(sim_front[i]),
                "feasible_with_simulator": not bool(infeasible[i]),
            }
        )
    rows = design_rows
    return {
        "designs": ids,
        "workloads": [n.name for n in networks],
        "error": {
            "compute": _abs_stats([r["compute_error"] for r in rows]),
            "gemm": _abs_stats([r["gemm_error"] for r in rows]),
            "total": _abs_stats([r["cycles_error"] for r in rows]),
            "gemm_incl_prefetch": _abs_stats([r["gemm_error_incl_prefetch"] for r in rows]),
            "definition": "(model - simulator) / simulator over (design, workload) rows; compute:"
            " stall-free array cycles of the simulated layers; gemm: the simulated layers'"
            " cycles (model with DRAM, SCALE-Sim with memory stalls); total: whole workload,"
            " non-simulated layers at model cycles on both sides; gemm_incl_prefetch: as gemm"
            " with SCALE-Sim's 'Total Cycles (incl. prefetch)' (its DRAM window: initial buffer"
            " fill and final drain included)",
        },
        "kendall_tau": {"latency": tau, "per_workload": tau_per},
        "order_preserved": same_order,
        "ranking": {"objective": obj.column, "model": model_rank, "simulator": sim_rank},
        "front": {
            "model": [ids[i] for i in np.flatnonzero(model_front)],
            "simulator": [ids[i] for i in np.flatnonzero(sim_front)],
            "leave_front": [ids[i] for i in np.flatnonzero(model_front & ~sim_front)],
            "join_front": [ids[i] for i in np.flatnonzero(~model_front & sim_front)],
            "infeasible_with_simulator": [ids[i] for i in np.flatnonzero(infeasible)],
            "note": "non-dominance among the validated designs only, the simulator's latency "
            "replacing the model's (energy, area and DRAM bytes stay the model's)",
        },
        "per_design": per_design,
    }


def _dataflow_name(cost, design: int, layer: int) -> str | None:
    """The dataflow the model used for a layer (None for vector-unit layers)."""
    code = int(cost.layer("dataflow")[design, layer])
    return DATAFLOWS[code] if code >= 0 else None
