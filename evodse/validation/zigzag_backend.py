"""A second opinion from ZigZag 3.9.1 (``evodse validate RUN_DIR --backend zigzag``).

Every GEMM layer of every design runs once through ZigZag's mapper (LOMA, the latency-optimal
temporal mapping with ties broken by energy, :data:`~evodse.export.zigzag.ZIGZAG_SETTINGS`) on
the design's ZigZag twin (:mod:`evodse.export.zigzag`, the same inputs ``evodse export --to
zigzag`` writes), priced with evodse's own prices. Per layer it reports ZigZag's latency
(``latency_total2``: ideal temporal cycles, stalls, on-/off-loading and systolic drain) and
dynamic energy, times the layer's ``repeat``.

Compared with the model (``(model - zigzag) / zigzag``):

* cycles and **dynamic** energy (the model's without leakage: ZigZag has none) of the layers
  ZigZag ran (``gemm``), and of the whole workload, where vector-unit layers (and layers on a
  dataflow the twin cannot run) keep the model's numbers on both sides;
* per design, the objectives with ZigZag's latency and energy replacing the model's: energy is
  ZigZag's dynamic energy of the GEMM layers, the model's of the others, plus the model's
  leakage scaled to ZigZag's latency; area and DRAM bytes stay the model's;
* Kendall tau of latency and of energy (geometric mean over workloads), the ranking by
  ``--by`` and which designs leave or join the front.

Runs go through the disk cache of :mod:`evodse.validation.cache` (the key hashes the twin
design, its prices, ZigZag's settings and the layer) and a process pool of ``jobs`` workers.
Files: ``validation_zigzag.csv``, ``validation_zigzag_layers.csv``,
``validation_zigzag_summary.json`` (the SCALE-Sim files keep their names). docs/validation.md.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.export.common import SYSTOLIC
from evodse.export.zigzag import ZIGZAG_SETTINGS, twin_design, twin_layer, twin_prices
from evodse.export.zigzag_twin import ConvLayer, build_inputs, sram_port_bits, write_inputs
from evodse.hardware.template import DATAFLOWS, Accelerator
from evodse.model.evaluate import evaluate
from evodse.search.objectives import Constraint, Objective, workload_metrics
from evodse.validation.cache import SimCache, run_key
from evodse.validation.core import (
    Progress,
    Validation,
    _abs_stats,
    _design_metrics,
    _error,
    _objective_matrix,
    design_columns,
    front_mask,
    kendall_tau,
    pick_objective,
)
from evodse.validation.pool import run_and_cache
from evodse.workload.network import Network

BACKEND = "zigzag"
STEM = "validation_zigzag"
_LAYER_NAME = "L"  # every cached layer carries the same name: the result does not depend on it


def zigzag_version() -> str:
    try:
        from importlib.metadata import version

        return version("zigzag-dse")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def run_zigzag(inputs: Any, *, opt: str = ZIGZAG_SETTINGS["opt"]) -> Any:
    """ZigZag's cost model evaluation of one twin layer's inputs (:func:`build_inputs`), run
    in a temporary folder with :data:`ZIGZAG_SETTINGS` (``opt``: ``latency`` or ``energy``)."""
    from zigzag.api import get_hardware_performance_zigzag

    s = ZIGZAG_SETTINGS
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # ZigZag logs every step at INFO and WARNING
    try:
        with (
            tempfile.TemporaryDirectory(prefix="evodse_zigzag_") as folder,
            contextlib.redirect_stdout(io.StringIO()),
        ):
            accelerator, mapping, workload = write_inputs(inputs, folder)
            _, _, cmes = get_hardware_performance_zigzag(
                workload,
                accelerator,
                mapping,
                temporal_mapping_search_engine=s["temporal_mapping_search_engine"],
                temporal_mapping_type=s["temporal_mapping_type"],
                opt=opt,
                dump_folder=os.path.join(folder, "out"),
                lpf_limit=s["lpf_limit"],
                loma_show_progress_bar=False,
            )
    finally:
        logging.disable(previous)
    return cmes[0][1][0][0]


def simulate(design: dict[str, Any], prices: dict[str, Any], layer: ConvLayer) -> dict[str, Any]:
    """Run ZigZag on one twin layer in a temporary folder; latency (cycles) and energy (pJ)."""
    start = time.perf_counter()
    cme = run_zigzag(build_inputs(design, prices, [layer]))
    return {
        "latency_cycles": float(cme.latency_total2),
        "ideal_cycles": float(cme.ideal_cycle),
        "energy_pj": float(cme.energy_total),
        "mac_energy_pj": float(cme.mac_energy),
        "memory_energy_pj": float(cme.mem_energy),
        "macs": int(cme.layer.total_mac_count),
        "spatial_utilization": float(cme.mac_spatial_utilization),
        "sim_seconds": round(time.perf_counter() - start, 3),
        "zigzag_version": zigzag_version(),
    }


@dataclass(frozen=True)
class _Run:
    key: str
    design: dict[str, Any]
    prices: dict[str, Any]
    layer: ConvLayer
    macs: int  # ordering: largest first

    def request(self, version: str) -> dict[str, Any]:
        return {
            "backend": BACKEND,
            "version": version,
            "hardware": _hardware(self.design, self.prices),
            "layer": _layer_dict(self.layer),
        }


def _hardware(design: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    """What ZigZag sees of a design (the cache key's hardware part): the twin's port widths
    too, which the twin derives from the design."""
    ports = sram_port_bits(design)
    return {"design": design, "ports": ports, "prices": prices, "settings": ZIGZAG_SETTINGS}


def _layer_dict(layer: ConvLayer) -> dict[str, Any]:
    return {k: v for k, v in asdict(layer).items() if k != "name"}


def _label(layer: ConvLayer) -> str:
    return (
        f"conv {layer.in_height}x{layer.in_width}x{layer.in_channels} k{layer.kernel}/"
        f"{layer.stride} -> {layer.out_channels}"
        + (f" g{layer.groups}" if layer.groups > 1 else "")
        + (f" b{layer.batch}" if layer.batch > 1 else "")
    )


def _run_all(
    runs: list[_Run], cache: SimCache, version: str, *, jobs: int, say: Progress | None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Run the cache misses, largest first, caching each result as it arrives."""
    return run_and_cache(
        sorted(runs, key=lambda r: (-r.macs, r.key)),
        simulate,
        args=lambda run: (run.design, run.prices, run.layer),
        request=lambda run: run.request(version),
        label=lambda run: (
            f"{run.design['rows']}x{run.design['cols']} {run.design['dataflow']} "
            f"{_label(run.layer)}"
        ),
        status=lambda r: (
            f"{r['latency_cycles']:,.0f} cycles, {r['energy_pj'] * 1e-6:.4g} uJ "
            f"({r['sim_seconds']:.1f} s)"
        ),
        cache=cache,
        jobs=jobs,
        say=say,
    )


@dataclass(frozen=True)
class _Planned:
    """One (workload, design, layer): its run (None: not run), repeat, dataflow, note."""

    run: _Run | None
    repeat: int
    dataflow: str
    note: str


def _plan(
    accs: Sequence[Accelerator], networks: Sequence[Network], costs: list, version: str
) -> dict[tuple[int, int, int], _Planned]:
    plan: dict[tuple[int, int, int], _Planned] = {}
    twins: dict[tuple[int, str], tuple[dict[str, Any], dict[str, Any]]] = {}
    for w, (net, cost) in enumerate(zip(networks, costs, strict=True)):
        flows = cost.layer("dataflow")
        for i, acc in enumerate(accs):
            for li, op in enumerate(net.ops):
                code = int(flows[i, li])
                if code < 0:
                    note = "vector unit: not run (model cycles and energy kept)"
                    plan[w, i, li] = _Planned(None, 0, "", note)
                    continue
                dataflow = DATAFLOWS[code]
                if dataflow not in SYSTOLIC:
                    note = f"dataflow {dataflow}: no ZigZag twin (model cycles and energy kept)"
                    plan[w, i, li] = _Planned(None, 0, dataflow, note)
                    continue
                twin = twin_layer(op, net.batch, name=_LAYER_NAME)
                if (i, dataflow) not in twins:
                    design = twin_design(acc, dataflow)
                    twins[i, dataflow] = (design, twin_prices(acc, design))
                design, prices = twins[i, dataflow]
                key = run_key(BACKEND, version, _hardware(design, prices), _layer_dict(twin.layer))
                run = _Run(key, design, prices, twin.layer, twin.layer.macs)
                plan[w, i, li] = _Planned(run, twin.repeat, dataflow, twin.note)
    return plan


def validate_designs(
    designs: Sequence[tuple[int, Accelerator]],
    networks: Sequence[Network],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint] = (),
    *,
    cache_dir: str | Path,
    jobs: int,
    by: str | None = None,
    progress: Progress | None = None,
) -> Validation:
    """Run every GEMM layer of every design on every network through ZigZag; compare with the
    model (module docstring)."""
    if not designs:
        raise InputError("no designs to validate")
    version = zigzag_version()
    cache = SimCache(cache_dir)
    ids = [i for i, _ in designs]
    accs = [a for _, a in designs]
    costs = [evaluate(accs, net) for net in networks]
    plan = _plan(accs, networks, costs, version)
    needed = {p.run.key: p.run for p in plan.values() if p.run is not None}
    cached = {k: r for k in needed if (r := cache.get(k)) is not None}
    missing = [run for k, run in needed.items() if k not in cached]
    if progress is not None:
        progress(
            f"{len(designs)} designs x {len(networks)} workloads: {len(needed)} distinct ZigZag "
            f"runs, {len(cached)} cached, {len(missing)} to run with "
            f"{min(jobs, max(1, len(missing)))} process(es)"
        )
    t0 = time.perf_counter()
    fresh, failures = _run_all(missing, cache, version, jobs=jobs, say=progress)
    wall = time.perf_counter() - t0
    results = {**cached, **fresh}

    layer_rows: list[dict[str, Any]] = []
    design_rows: list[dict[str, Any]] = []
    ref_cycles = np.zeros((len(networks), len(accs)))
    ref_dynamic = np.zeros((len(networks), len(accs)))
    for w, (net, cost) in enumerate(zip(networks, costs, strict=True)):
        cycles = cost.layer("cycles")
        dynamic = cost.layer("energy_pj") - cost.layer("leakage")
        for i, acc in enumerate(accs):
            tot = dict.fromkeys(_TOTALS, 0.0)
            counts = {"gemm": 0, "run": 0, "failed": 0}
            for li, op in enumerate(net.ops):
                p = plan[w, i, li]
                mc, me = float(cycles[i, li]), float(dynamic[i, li])
                row = {
                    "design_id": ids[i],
                    "workload": net.name,
                    "layer": op.name,
                    "op": op.kind,
                    "simulated": 0,
                    "zigzag_layer": "" if p.run is None else _label(p.run.layer),
                    "repeat": p.repeat if p.run is not None else "",
                    "dataflow": p.dataflow,
                    "model_cycles": mc,
                    "zigzag_cycles": "",
                    "zigzag_ideal_cycles": "",
                    "model_energy_pj": me,
                    "zigzag_energy_pj": "",
                    "zigzag_mac_energy_pj": "",
                    "zigzag_memory_energy_pj": "",
                    "cached": "",
                    "sim_seconds": "",
                    "note": p.note,
                }
                result = None
                if p.run is not None:
                    counts["gemm"] += 1
                    if p.run.key in failures:
                        counts["failed"] += 1
                        row["note"] = "; ".join(
                            filter(None, [f"ZigZag failed: {failures[p.run.key]}", p.note])
                        )
                    else:
                        result = results[p.run.key]
                tot["model_cycles"] += mc
                tot["model_energy_pj"] += me
                if result is None:
                    tot["zigzag_cycles"] += mc
                    tot["zigzag_energy_pj"] += me
                else:
                    r = p.repeat
                    zc, ze = r * result["latency_cycles"], r * result["energy_pj"]
                    counts["run"] += 1
                    row.update(
                        simulated=1,
                        zigzag_cycles=zc,
                        zigzag_ideal_cycles=r * result["ideal_cycles"],
                        zigzag_energy_pj=ze,
                        zigzag_mac_energy_pj=r * result["mac_energy_pj"],
                        zigzag_memory_energy_pj=r * result["memory_energy_pj"],
                        cached=int(p.run.key in cached),
                        sim_seconds=result["sim_seconds"],
                    )
                    tot["zigzag_cycles"] += zc
                    tot["zigzag_energy_pj"] += ze
                    tot["model_gemm_cycles"] += mc
                    tot["zigzag_gemm_cycles"] += zc
                    tot["model_gemm_energy_pj"] += me
                    tot["zigzag_gemm_energy_pj"] += ze
                layer_rows.append(row)
            ref_cycles[w, i] = tot["zigzag_cycles"]
            ref_dynamic[w, i] = tot["zigzag_energy_pj"]
            f_hz = acc.frequency_mhz * 1e6
            design_rows.append(
                {
                    **design_columns(ids[i], net, acc),
                    "layers": len(net.ops),
                    "gemm_layers": counts["gemm"],
                    "simulated_layers": counts["run"],
                    "failed_layers": counts["failed"],
                    **tot,
                    "cycles_error": _error(tot["model_cycles"], tot["zigzag_cycles"]),
                    "gemm_cycles_error": _error(
                        tot["model_gemm_cycles"], tot["zigzag_gemm_cycles"]
                    ),
                    "energy_error": _error(tot["model_energy_pj"], tot["zigzag_energy_pj"]),
                    "gemm_energy_error": _error(
                        tot["model_gemm_energy_pj"], tot["zigzag_gemm_energy_pj"]
                    ),
                    "model_latency_s": tot["model_cycles"] / f_hz,
                    "zigzag_latency_s": tot["zigzag_cycles"] / f_hz,
                }
            )
    summary = _summary(
        ids, accs, networks, costs, ref_cycles, ref_dynamic, design_rows, objectives, constraints
    )
    summary["ranking"] = _ranking(summary, ids, objectives, by)
    summary["backend"] = BACKEND
    summary["zigzag_version"] = version
    summary["zigzag_settings"] = dict(ZIGZAG_SETTINGS)
    summary["settings"] = {"jobs": jobs, "cache_dir": str(cache_dir)}
    summary["simulations"] = {
        "distinct_runs": len(needed),
        "cached": len(cached),
        "simulated": len(fresh),
        "failed": len(failures),
        "simulated_seconds": round(sum(r["sim_seconds"] for r in fresh.values()), 3),
        "wall_seconds": round(wall, 3),
    }
    return Validation(layer_rows, design_rows, summary, list(designs))


_TOTALS = (
    "model_cycles",
    "zigzag_cycles",
    "model_gemm_cycles",
    "zigzag_gemm_cycles",
    "model_energy_pj",
    "zigzag_energy_pj",
    "model_gemm_energy_pj",
    "zigzag_gemm_energy_pj",
)


def _reference_metrics(cost, cycles: np.ndarray, dynamic_pj: np.ndarray) -> dict[str, np.ndarray]:
    """The workload metrics with ZigZag's cycles and dynamic energy (plus the model's leakage
    scaled to ZigZag's latency) replacing the model's."""
    out = dict(workload_metrics(cost))
    d = cost.designs
    latency = cycles / (d.frequency_mhz * 1e6)
    leakage = cost.energy_breakdown_pj["leakage"] * latency / cost.latency_s
    energy = dynamic_pj + leakage
    throughput = cost.network.batch / latency
    dram = out["dram_energy_pj"]
    out.update(
        latency_s=latency,
        energy_pj=energy,
        power_w=energy * 1e-12 / latency,
        chip_power_w=(energy - dram) * 1e-12 / latency,
        edp_js=energy * 1e-12 * latency,
        throughput_ips=throughput,
        perf_per_area_ips_mm2=throughput / cost.area_mm2,
        fps=throughput,
        utilization=cost.macs / (cycles * d.pe_rows * d.pe_cols),
        onchip_energy_pj=energy - dram,
    )
    return out


def _geomean(values: np.ndarray) -> np.ndarray:
    return np.exp(np.log(values).mean(axis=0))


def _summary(
    ids, accs, networks, costs, ref_cycles, ref_dynamic, design_rows, objectives, constraints
) -> dict[str, Any]:
    design = _design_metrics(costs[0].designs, costs[0])
    model_w = {n.name: workload_metrics(c) for n, c in zip(networks, costs, strict=True)}
    ref_w = {
        n.name: _reference_metrics(c, ref_cycles[w], ref_dynamic[w])
        for w, (n, c) in enumerate(zip(networks, costs, strict=True))
    }
    model_obj = _objective_matrix(objectives, design, model_w)
    ref_obj = _objective_matrix(objectives, design, ref_w)
    sign = np.asarray([-1.0 if o.maximize else 1.0 for o in objectives])
    infeasible = np.zeros(len(ids), dtype=bool)
    for c in constraints:
        infeasible |= (c.violations(design, ref_w) > 0).any(axis=0)
    model_front = front_mask(model_obj * sign)
    ref_front = front_mask(ref_obj * sign, among=~infeasible)
    tau = {}
    for metric in ("latency_s", "energy_pj"):
        m = np.stack([model_w[n.name][metric] for n in networks])
        r = np.stack([ref_w[n.name][metric] for n in networks])
        tau[metric] = {
            "all_workloads": kendall_tau(_geomean(m), _geomean(r)),
            "per_workload": {n.name: kendall_tau(m[w], r[w]) for w, n in enumerate(networks)},
        }
    columns = [o.column for o in objectives]
    rows = design_rows
    return {
        "designs": ids,
        "workloads": [n.name for n in networks],
        "error": {
            "gemm_cycles": _abs_stats([r["gemm_cycles_error"] for r in rows]),
            "cycles": _abs_stats([r["cycles_error"] for r in rows]),
            "gemm_energy": _abs_stats([r["gemm_energy_error"] for r in rows]),
            "energy": _abs_stats([r["energy_error"] for r in rows]),
            "definition": "(model - zigzag) / zigzag over (design, workload) rows; gemm: the "
            "layers ZigZag ran; cycles, energy: the whole workload, other layers at the "
            "model's numbers on both sides; energy is dynamic (no leakage) on both sides",
        },
        "kendall_tau": {
            "latency": tau["latency_s"]["all_workloads"],
            "energy": tau["energy_pj"]["all_workloads"],
            "per_workload": {
                "latency": tau["latency_s"]["per_workload"],
                "energy": tau["energy_pj"]["per_workload"],
            },
        },
        "front": {
            "model": [ids[i] for i in np.flatnonzero(model_front)],
            "zigzag": [ids[i] for i in np.flatnonzero(ref_front)],
            "leave_front": [ids[i] for i in np.flatnonzero(model_front & ~ref_front)],
            "join_front": [ids[i] for i in np.flatnonzero(~model_front & ref_front)],
            "infeasible_with_zigzag": [ids[i] for i in np.flatnonzero(infeasible)],
            "note": "non-dominance among the validated designs only, ZigZag's latency and "
            "energy replacing the model's (area and DRAM bytes stay the model's)",
        },
        "per_design": [
            {
                "id": did,
                "hardware": {k: v for k, v in acc.to_dict().items() if k != "name"},
                "model": {c: float(v) for c, v in zip(columns, model_obj[i], strict=True)},
                "zigzag": {c: float(v) for c, v in zip(columns, ref_obj[i], strict=True)},
                "on_model_front": bool(model_front[i]),
                "on_zigzag_front": bool(ref_front[i]),
                "feasible_with_zigzag": not bool(infeasible[i]),
            }
            for i, (did, acc) in enumerate(zip(ids, accs, strict=True))
        ],
    }


def _ranking(
    summary: dict[str, Any], ids: list[int], objectives: Sequence[Objective], by: str | None
) -> dict[str, Any]:
    """Design ids best first by the ``by`` objective, model and ZigZag; ranks per design."""
    obj = pick_objective(objectives, by)
    s = -1.0 if obj.maximize else 1.0
    per = summary["per_design"]
    out: dict[str, Any] = {"objective": obj.column}
    for who in ("model", "zigzag"):
        values = np.asarray([s * p[who][obj.column] for p in per])
        order = [ids[i] for i in np.argsort(values, kind="stable")]
        out[who] = order
        for p in per:
            p[f"{who}_rank"] = order.index(p["id"]) + 1
    return out


def print_lines(summary: dict[str, Any]) -> list[str]:
    """Two summary lines for the CLI."""

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1%}"

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    e, tau, front, sims = (
        summary["error"],
        summary["kendall_tau"],
        summary["front"],
        summary["simulations"],
    )
    return [
        f"{len(summary['designs'])} designs vs ZigZag: |error| ZigZag-run layers, cycles median "
        f"{pct(e['gemm_cycles']['median_abs'])}, energy median "
        f"{pct(e['gemm_energy']['median_abs'])}; Kendall tau latency {num(tau['latency'])}, "
        f"energy {num(tau['energy'])}; leave the front: {front['leave_front'] or 'none'}, "
        f"join: {front['join_front'] or 'none'}",
        f"ZigZag runs: {sims['simulated']} run, {sims['cached']} cached, {sims['failed']} "
        f"failed in {sims['wall_seconds']:.0f} s",
    ]
