"""LLM serving: one accelerator for a decoder's prefill and decode, time-shared or partitioned.

The study's experiment (``experiments/study_llm_serving.yaml``) has two workloads, the same
decoder's ``<model>_prefill`` (one request's prompt: its latency is the time to first token,
TTFT) and ``<model>_decode`` (one decode step of ``batch`` sequences: ``throughput_ips`` is
tokens per second), and searches the serving front: decode tokens/s, TTFT, area and the energy
of a decode step, with ``dram_type`` and ``dram_bandwidth_gbps`` among the decision variables.
From every feasible design it evaluated, the study picks (ties to the smaller area, then the
smallest design vector):

* the **decode** configuration (most tokens/s), the **prefill** configuration (shortest TTFT)
  and the **geomean** configuration (highest geometric mean of tokens/s and 1/TTFT: one chip
  time-shared between the phases), each evaluated on both phases;
* each one's distance from the physical limits: decode latency over (weight + KV-cache DRAM
  bytes) / bandwidth, prefill latency over MACs / peak MAC rate.

It then searches the same space with the chip **partitioned** between the phases
(:class:`~evodse.studies.partition.PartitionedProblem`: array columns, SRAM and bandwidth
split; the settings are :data:`PARTITION`), objectives each phase's latency and area under the
same constraints, and picks the feasible partitioned design with the highest geometric mean of
its decode slice's tokens/s and its prefill slice's 1/TTFT. A partitioned chip runs a prompt and
a decode step at once; a time-shared chip runs them one after the other (a round of one
prefill and one decode step), which is what the comparison reports.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from evodse.experiment.runner import RunResult
from evodse.hardware.template import Accelerator, accelerator_from_dict, design_summary
from evodse.model.evaluate import evaluate
from evodse.plots.roofline import layer_points
from evodse.search.archive import best_row
from evodse.search.problem import AcceleratorProblem
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
from evodse.studies.partition import PartitionedProblem
from evodse.workload.network import Network

NAME = "llm_serving"
PHASES = ("prefill", "decode")
#: How the partitioned search splits the chip (``space.partition`` of its experiment).
PARTITION = {"array_granularity": 16, "sram_units": 16, "bandwidth_units": 16, "weights": 8}


def phase_networks(networks: tuple[Network, ...], source: str) -> dict[str, Network]:
    """The prefill and decode workload of the experiment (names ``*_prefill``, ``*_decode``)."""
    found = {p: [n for n in networks if n.name.endswith(f"_{p}")] for p in PHASES}
    require(
        len(networks) == 2 and all(len(v) == 1 for v in found.values()),
        "the llm_serving study needs two workloads, a decoder's prefill and decode "
        "(e.g. llama3_1_8b:phase=prefill and llama3_1_8b:phase=decode)",
        source=source,
        key="workloads",
    )
    return {p: v[0] for p, v in found.items()}


def serving_metrics(hw: Accelerator, nets: dict[str, Network]) -> dict[str, Any]:
    """Both phases of one design: TTFT, tokens/s, energy per token and the physical limits."""
    pre, dec = (evaluate(hw, nets[p]) for p in PHASES)
    batch = nets["decode"].batch
    bandwidth = hw.dram_bandwidth_gbps * 1e9
    floor_bytes = sum(
        float(dec.total_bytes(key)[0])
        for key in (("dram", "weight", "read"), ("dram", "kv", "read"))
    )
    peak_macs_per_s = hw.pe_rows * hw.pe_cols * hw.frequency_mhz * 1e6
    ttft = float(pre.latency_s[0])
    step = float(dec.latency_s[0])
    bound = {p: _memory_bound_share(c) for p, c in zip(PHASES, (pre, dec), strict=True)}
    return {
        "memory_bound_share": bound,
        "ttft_s": ttft,
        "decode_step_s": step,
        "tokens_per_s": batch / step,
        "energy_per_token_j": float(dec.energy_pj[0]) * 1e-12 / batch,
        "prefill_energy_j": float(pre.energy_pj[0]) * 1e-12,
        "area_mm2": float(pre.area_mm2[0]),
        "geomean": float(np.sqrt(batch / step / ttft)),
        "decode_over_bandwidth_floor": step / (floor_bytes / bandwidth),
        "prefill_over_compute_floor": ttft / (nets["prefill"].macs / peak_macs_per_s),
        "kv_cache_on_chip": bool(dec.total_bytes(("sram", "kv", "read"))[0] > 0)
        and float(dec.total_bytes(("dram", "kv", "read"))[0]) == 0.0,
        "hardware": hw.to_dict(),
    }


def _memory_bound_share(cost) -> float:
    """Share of a design's latency spent in layers whose DRAM traffic outlasts their compute."""
    latency = cost.layer("latency_s")[0]
    memory = cost.layer("memory_cycles")[0] >= cost.layer("compute_cycles")[0]
    return float(latency[memory].sum() / latency.sum())


def _best(values: np.ndarray, area: np.ndarray, X: np.ndarray) -> int:
    """Index of the largest value, ties to the smaller area, then the smallest design vector
    (independent of evaluation order)."""
    i = best_row(values, X, maximize=True, then=(area,))
    assert i is not None, "called on feasible designs with finite metrics"
    return i


def run_study(
    config: str | Path, out: str | Path, *, quick: bool = False, log: Log = quiet
) -> dict[str, Any]:
    """Run the whole study; write CSV/JSON/figures under ``out``; return the results."""
    start = time.perf_counter()
    out = Path(out)
    exp, problem = study_problem(config, quick, AcceleratorProblem, "LLM-serving")
    # it partitions the array and reads its peak: a systolic template only
    problem.design_space.template.require(
        "partition", what="the LLM-serving study", source=str(config)
    )
    nets = phase_networks(problem.networks, str(config))
    log(f"{NAME}: {[n.name for n in problem.networks]}, constraints {problem.constraint_labels}")
    run = search(exp, out / "runs" / "serving", log)
    rows = feasible_rows(run)
    results: dict[str, Any] = {
        "study": NAME,
        "config": str(config),
        "quick": quick,
        "experiment": exp.name,
        "workloads": {p: nets[p].name for p in PHASES},
        "decode_batch": nets["decode"].batch,
        "macs": {p: nets[p].macs for p in PHASES},
        **search_record(exp, problem),
        "front_size": run.summary["front_size"],
        "feasible": len(rows),
    }
    picks = _pick_time_shared(run, rows, nets)
    results["configurations"] = picks
    part_run = _partitioned_search(exp, problem, out, log)
    results["evaluations"] = {
        "time_shared": run.summary["evaluations"],
        "partitioned": part_run.summary["evaluations"],
    }
    results["partitioned"] = _pick_partitioned(part_run, nets)
    if picks and results["partitioned"]:
        gm, part = picks["geomean"], results["partitioned"]
        results["comparison"] = {
            "time_shared_round_s": gm["ttft_s"] + gm["decode_step_s"],
            "partitioned_round_s": max(part["ttft_s"], part["decode_step_s"]),
            "tokens_per_s_ratio": part["tokens_per_s"] / gm["tokens_per_s"],
            "ttft_ratio": part["ttft_s"] / gm["ttft_s"],
        }
    results["wall_time_s"] = time.perf_counter() - start
    _write(out, results, run, rows, nets)
    return results


def _pick_time_shared(run: RunResult, rows: np.ndarray, nets: dict[str, Network]) -> dict:
    if len(rows) == 0:
        return {}
    archive = run.state.archive
    problem = run.state.problem
    X = archive.column("X")[rows].astype(np.int64)
    ev = problem.evaluate_designs(X)
    tps = nets["decode"].batch / ev.metrics[f"{nets['decode'].name}.latency_s"]
    ttft = ev.metrics[f"{nets['prefill'].name}.latency_s"]
    area = ev.metrics["area_mm2"]
    chosen = {
        "decode": _best(tps, area, X),
        "prefill": _best(-ttft, area, X),
        "geomean": _best(np.sqrt(tps / ttft), area, X),
    }
    picks = {}
    for label, i in chosen.items():
        hw = problem.design_space.accelerator(X[i], name=f"{label}_config")
        picks[label] = serving_metrics(hw, nets)
    return picks


def _partitioned_search(exp, problem, out: Path, log: Log) -> RunResult:
    space = {**(exp.space or {}), "partition": dict(PARTITION)}
    part_exp = dataclasses.replace(
        exp,
        name=f"{exp.name}.partitioned",
        problem=None,
        problem_class=PartitionedProblem,
        space=space,
        objectives=({"name": "latency", "per_workload": True}, "area"),
    )
    return search(part_exp, out / "runs" / "partitioned", log)


def _pick_partitioned(run: RunResult, nets: dict[str, Network]) -> dict | None:
    rows = feasible_rows(run)
    if len(rows) == 0:
        return None
    problem = run.state.problem
    X = run.state.archive.column("X")[rows].astype(np.int64)
    ev = problem.evaluate_designs(X)
    step = ev.metrics[f"{nets['decode'].name}.latency_s"]
    ttft = ev.metrics[f"{nets['prefill'].name}.latency_s"]
    tps = nets["decode"].batch / step
    i = _best(np.sqrt(tps / ttft), ev.metrics["area_mm2"], X)
    whole = problem.design_space.accelerator(X[i], name="partitioned")
    energy = ev.metrics[f"{nets['decode'].name}.energy_pj"][i]
    return {
        "hardware": whole.to_dict(),
        "partition": problem.describe(X[i])["partition"],
        "area_mm2": float(ev.metrics["area_mm2"][i]),
        "ttft_s": float(ttft[i]),
        "decode_step_s": float(step[i]),
        "tokens_per_s": float(tps[i]),
        "energy_per_token_j": float(energy) * 1e-12 / nets["decode"].batch,
        "geomean": float(np.sqrt(tps[i] / ttft[i])),
    }


# -- output ---------------------------------------------------------------------------------------


def _write(out: Path, r: dict, run: RunResult, rows: np.ndarray, nets) -> None:
    write_json(out / "results.json", r)
    picks = r["configurations"]
    if not picks:
        return
    columns = [
        "configuration",
        "tokens_per_s",
        "ttft_s",
        "energy_per_token_j",
        "area_mm2",
        "dram_type",
        "dram_bandwidth_gbps",
        "pe_rows",
        "pe_cols",
        "decode_over_bandwidth_floor",
        "prefill_over_compute_floor",
    ]
    table = [
        [
            label,
            *(c[k] for k in columns[1:5]),
            *(c["hardware"][k] for k in columns[5:9]),
            *(c[k] for k in columns[9:]),
        ]
        for label, c in picks.items()
    ]
    write_csv(out / "configurations.csv", columns, table)
    _front(run, rows, nets, r, out / "figures" / "front.png")
    hw = accelerator_from_dict(picks["geomean"]["hardware"])
    _roofline(hw, nets, out / "figures" / "roofline.png")


def _front(run: RunResult, rows: np.ndarray, nets, r: dict, path: Path) -> None:
    problem = run.state.problem
    X = run.state.archive.column("X")[rows].astype(np.int64)
    ev = problem.evaluate_designs(X)
    tps = nets["decode"].batch / ev.metrics[f"{nets['decode'].name}.latency_s"]
    ttft = ev.metrics[f"{nets['prefill'].name}.latency_s"]
    dram = problem.design_space.values_table(X)["dram_type"]
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    for j, kind in enumerate(sorted(set(dram))):
        mask = np.asarray([d == kind for d in dram])
        ax.scatter(ttft[mask] * 1e3, tps[mask], s=6, alpha=0.5, color=f"C{j}", label=kind)
    for label, marker in (("decode", "^"), ("prefill", "v"), ("geomean", "*")):
        c = r["configurations"][label]
        ax.scatter(
            c["ttft_s"] * 1e3,
            c["tokens_per_s"],
            marker=marker,
            s=90,
            color="k",
            label=f"{label} configuration",
            zorder=3,
        )
    if r.get("partitioned"):
        p = r["partitioned"]
        ax.scatter(
            p["ttft_s"] * 1e3,
            p["tokens_per_s"],
            marker="D",
            s=60,
            color="C3",
            label="partitioned (concurrent)",
            zorder=3,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time to first token (ms)")
    ax.set_ylabel(f"decode tokens/s (batch {nets['decode'].batch})")
    ax.set_title("Feasible designs evaluated by the serving search")
    ax.legend(fontsize=7, loc="lower left")
    save_figure(fig, path)


def _roofline(hw: Accelerator, nets, path: Path) -> None:
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    peak = hw.pe_rows * hw.pe_cols * hw.frequency_mhz * 1e6
    bandwidth = hw.dram_bandwidth_gbps * 1e9
    lo, hi = 1e-2, 1e5
    x = np.logspace(np.log10(lo), np.log10(hi), 200)
    ax.plot(x, np.minimum(peak, x * bandwidth), "k-", lw=1, label="roof: array, DRAM")
    for j, phase in enumerate(PHASES):
        pts = layer_points(evaluate(hw, nets[phase]))
        keep = ~pts["vector"] & np.isfinite(pts["intensity"]) & (pts["intensity"] > 0)
        ax.scatter(
            np.clip(pts["intensity"][keep], lo, hi),
            pts["attained"][keep],
            s=10,
            alpha=0.6,
            color=f"C{j}",
            label=f"{phase} GEMMs",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (MACs per DRAM byte)")
    ax.set_ylabel("attained MACs/s")
    ax.set_title("Roofline of the geomean configuration")
    ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, path)


# -- page -----------------------------------------------------------------------------------------

TITLE = "An LLM serving accelerator: prefill and decode, time-shared or partitioned"
INDEX_NOTE = (
    "The last study is not the paper's: it asks its many-DNN and simultaneous-DNN questions "
    "of an LLM serving chip, whose two phases are the two workloads.\n\n"
)


def _row(label: str, c: dict[str, Any]) -> str:
    limits = (
        f"{c['decode_over_bandwidth_floor']:.2f} | {c['prefill_over_compute_floor']:.2f}"
        if "decode_over_bandwidth_floor" in c
        else "— | —"
    )
    return (
        f"| {label} | {c['tokens_per_s']:,.0f} | {c['ttft_s'] * 1e3:.1f} | "
        f"{c['energy_per_token_j'] * 1e3:.2f} | {c['area_mm2']:.1f} | "
        f"{design_summary(c['hardware'])} | {limits} |"
    )


def headline(r: dict[str, Any]) -> str:
    """One line for the studies index."""
    c = r.get("configurations") or {}
    if "geomean" not in c:
        return "no feasible design"
    gm = c["geomean"]
    text = (
        f"one chip for both phases: {gm['tokens_per_s']:,.0f} tokens/s (batch "
        f"{r['decode_batch']}) and {gm['ttft_s'] * 1e3:.0f} ms TTFT on "
        f"{gm['area_mm2']:.0f} mm^2 ({gm['hardware']['dram_type']} "
        f"{gm['hardware']['dram_bandwidth_gbps']:g} GB/s)"
    )
    if r.get("comparison"):
        cmp = r["comparison"]
        text += (
            f"; partitioned: {cmp['partitioned_round_s'] * 1e3:.0f} ms per prefill + decode step "
            f"vs {cmp['time_shared_round_s'] * 1e3:.0f} ms time-shared"
        )
    return text


def page(r: dict[str, Any], fig: str, setup: str) -> str:
    """The study's markdown page (``setup``: the shared config and regeneration line)."""
    out = [f"# {TITLE}\n\n", setup]
    b = r["base"]
    out.append(
        "\n**Question.** A serving chip runs a decoder's two phases: prefill (the prompt, bound "
        "by compute) and decode (one token per sequence per step, bound by the bandwidth of the "
        "weights and the KV cache). Which DRAM, how much bandwidth and how much array buy "
        "decode tokens/s and time to first token (TTFT) per mm^2 and per joule, and is one "
        "time-shared configuration or a chip partitioned between the phases better?\n"
    )
    space = "; ".join(f"`{k}` {v}" for k, v in r["space"].items())
    constraints = ", ".join(f"`{c}`" for c in r["constraints"])
    out.append(
        "\n## Setup\n\n"
        f"- Workloads: `{r['workloads']['prefill']}` (TTFT: one prompt, "
        f"{r['macs']['prefill'] / 1e12:.2f} TMACs) and `{r['workloads']['decode']}` (one step of "
        f"{r['decode_batch']} sequences, {r['macs']['decode'] / 1e9:.0f} GMACs; tokens/s = "
        f"{r['decode_batch']} / step latency).\n"
        f"- Fixed: {b['frequency_mhz']:g} MHz, {b['technology_nm']} nm, "
        f"{b['precision_bits']}-bit weights and activations, "
        f"{b.get('kv_bits') or b['precision_bits']}-bit KV cache, dataflow `{b['dataflow']}`. "
        f"Constraints: {constraints}.\n"
        f"- Space ({r['space_size']:,} designs): {space}.\n"
        f"- Searches ({r['algorithm']}, population {r['options'].get('pop_size', 100)}, "
        f"{r['termination'].get('generations')} generations, seed 0): the serving front "
        "(decode tokens/s, TTFT, area, decode-step energy) and the partitioned chip (each "
        "phase's latency and area); evaluations: "
        + ", ".join(f"{k} {v:,}" for k, v in r["evaluations"].items())
        + f". The serving search's front has {r['front_size']} designs; "
        f"{r['feasible']:,} evaluated designs are feasible.\n"
        "- Picks (`evodse/studies/llm_serving.py`): among the feasible designs, the most "
        "tokens/s, the shortest TTFT, and the highest geometric mean of tokens/s and 1/TTFT "
        "(ties to the smaller area).\n"
    )
    c = r.get("configurations") or {}
    if not c:
        out.append("\nNo evaluated design met the constraints.\n")
        return "".join(out)
    out.append("\n## Configurations\n\n")
    out.append(
        "| configuration | decode tokens/s | TTFT (ms) | energy/token (mJ) | mm^2 | hardware "
        "| decode / bandwidth floor | prefill / compute floor |\n"
        "|---|---:|---:|---:|---:|---|---:|---:|\n"
    )
    for label in ("decode", "prefill", "geomean"):
        out.append(_row(f"best {label}" if label != "geomean" else "geomean", c[label]) + "\n")
    if r.get("partitioned"):
        out.append(_row("partitioned (concurrent)", r["partitioned"]) + "\n")
    gm, dec, pre = c["geomean"], c["decode"], c["prefill"]
    out.append(
        "\nThe last two columns are the distance from the physical limits: decode-step latency "
        "over (weight + KV-cache DRAM bytes) / bandwidth, prefill latency over MACs / the "
        "array's peak rate (both >= 1 by construction of the model, `tests/test_llm.py`). The "
        f"geomean configuration reaches {gm['tokens_per_s'] / dec['tokens_per_s']:.2f} of the "
        f"best decode throughput and {pre['ttft_s'] / gm['ttft_s']:.2f} of the best TTFT "
        "(best / its own).\n"
    )
    out.append(f"\n![front](figures/{fig}_front.png)\n")
    if r.get("partitioned"):
        p, cmp = r["partitioned"], r["comparison"]
        shares = p["partition"]
        pre_name, dec_name = r["workloads"]["prefill"], r["workloads"]["decode"]
        out.append("\n## Both phases at once on a partitioned chip\n\n")
        out.append(
            f"The partitioned design ({design_summary(p['hardware'])}, "
            f"{p['area_mm2']:.1f} mm^2) gives "
            f"prefill {shares[pre_name]['pe_cols']} of {p['hardware']['pe_cols']} array columns "
            f"and {shares[pre_name]['dram_bandwidth_gbps']:g} GB/s, decode "
            f"{shares[dec_name]['pe_cols']} columns and "
            f"{shares[dec_name]['dram_bandwidth_gbps']:g} GB/s. Running a prompt and a decode "
            "step at once takes "
            f"{cmp['partitioned_round_s'] * 1e3:.1f} ms; the geomean configuration, time-shared, "
            f"runs them one after the other in {cmp['time_shared_round_s'] * 1e3:.1f} ms "
            f"({cmp['time_shared_round_s'] / cmp['partitioned_round_s']:.2f}x the partitioned "
            "round). "
            f"The decode slice alone reaches {cmp['tokens_per_s_ratio']:.2f} of the "
            f"time-shared chip's tokens/s and the prefill slice {1 / cmp['ttft_ratio']:.2f} of "
            "its TTFT speed (each phase has only its share of the array and the bandwidth).\n"
        )
    out.append("\n## Roofline of the geomean configuration\n\n")
    share = gm["memory_bound_share"]
    out.append(
        "Every GEMM of both phases on the geomean configuration (vector operations left "
        f"out). {share['prefill'] * 100:.0f}% of the prefill's latency and "
        f"{share['decode'] * 100:.0f}% of the decode step's is spent in layers whose DRAM "
        "traffic outlasts their compute; the rest is bound by the array, which a GEMM of "
        f"{r['decode_batch']} rows (a decode step's projections) uses only in part.\n"
        f"\n![roofline](figures/{fig}_roofline.png)\n"
    )
    return "".join(out)
