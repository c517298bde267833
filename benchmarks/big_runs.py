"""Big runs: does ``time_s`` hold, and what do checkpoints, outputs and memory cost at 10^6
evaluations (issue 24)?

Usage::

    nice -n 10 python benchmarks/big_runs.py --label after            # all parts, ~10 min
    PYTHONPATH=/path/to/old/tree nice -n 10 python benchmarks/big_runs.py --label before
    python benchmarks/big_runs.py --doc                                # docs/big_runs.md only

The space is the issue's: resnet50 + bert_base (geomean latency, energy; area), a 32 x 32
array shape, three SRAMs of 16-2048 KiB in 16 KiB steps, DRAM bandwidth 1-64 GB/s in 0.5 GB/s
steps and the clock 200-1000 MHz in 1 MHz steps: 218,457,069,060,096 designs.

Parts (``--parts``):

``command``
    ``evodse run`` of the space with ``termination: {time_s: T}``, one fresh process each
    (``python -m evodse.cli.main``, run directory included): command wall time, CPU time (user
    + system of the child) and peak resident memory, and the designs evaluated.
``rate``
    NSGA-II designs per second (CPU and wall) for a few population sizes, in process.
``profile``
    Where an NSGA-II generation's CPU time goes (cProfile, at populations of 50 and 1,000):
    the cost model, the rest of the archive's evaluation step, the search's ask (NSGA-II's
    mating and duplicate filter) and tell (its survival), the history.
``population``
    ``evodse run`` of NSGA-II with ``time_s: 20`` at populations of 50 to 1,600, three seeds
    each: designs evaluated, generations, and the hypervolume of each run's front, all fronts
    normalized together (what a time budget's default population is chosen by).
``io``
    A random-search archive of ``--io-designs`` designs, then: the checkpoint written whole
    (``save_checkpoint``), the incremental checkpoint after one more generation (``RunWriter``,
    where the code has it), evaluations.csv with the other result files written at once
    (``write_results``), and the bytes per archived design.
``plot`` (with ``io``)
    ``evodse plot`` and ``evodse report`` of that run directory, in child processes; ``evodse
    plot`` again without its ``evaluations.npz`` (the CSV read by numpy's loader), and of a run
    directory of the archive's first ``SMALL_DESIGNS`` designs (the memory a plot takes
    whatever the run's size).

Labels: ``before`` is the code issue 24 was filed against, ``previous`` the first pass at it,
``after`` the current one.

The machine is shared (two cores, other jobs running): run under ``nice -n 10``; wall and CPU
times are both recorded, and CPU time is the one to compare between runs. Results are merged
into ``--json`` under ``--label`` (with the evodse commit measured), and ``docs/big_runs.md``'s
generated block is rewritten from them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "data" / "big_runs.json"
DOC = ROOT / "docs" / "big_runs.md"
BEGIN = "<!-- big_runs results: begin (generated) -->"
END = "<!-- big_runs results: end -->"

EXPERIMENT: dict[str, Any] = {
    "name": "big",
    "workloads": ["resnet50", "bert_base"],
    "base": "edge",
    "space": {
        "pe_rows": {"range": [8, 256], "step": 8},
        "pe_cols": {"range": [8, 256], "step": 8},
        "ifmap_sram_kib": {"range": [16, 2048], "step": 16},
        "weight_sram_kib": {"range": [16, 2048], "step": 16},
        "ofmap_sram_kib": {"range": [16, 2048], "step": 16},
        "dram_bandwidth_gbps": {"range": [1, 64], "step": 0.5},
        "frequency_mhz": {"range": [200, 1000], "step": 1},
    },
    "objectives": ["latency", "energy", "area"],
    "seeds": [0],
}
COMMANDS = (("random", 20), ("random", 60), ("nsga2", 20), ("nsga2", 60))
LABELS = ("before", "previous", "after")
SMALL_DESIGNS = 10_000
RATE_POPS = (50, 200, 1000)
RATE_CPU_S = 6.0
#: The issue's measure of NSGA-II on this space when it was filed: 204,150 designs in 60 s.
ISSUE_DESIGNS_PER_S = 204_150 / 60


#: The population part: NSGA-II with ``time_s: POPULATION_TIME_S`` at each population size and
#: seed, the fronts scored by one hypervolume (log10 objectives, normalized to the bounds of
#: every run's front together, reference point 1.1 in each).
POPULATION_SIZES = (50, 100, 200, 400, 800, 1600)
POPULATION_SEEDS = (0, 1, 2)
POPULATION_TIME_S = 20.0


def experiment(
    algorithm: str, options: dict[str, Any] | None = None, seed: int = 0, **termination: Any
) -> dict[str, Any]:
    return {
        **EXPERIMENT,
        "algorithm": {"name": algorithm, **(options or {})},
        "termination": termination,
        "seeds": [seed],
    }


def commit() -> str:
    """The commit of the evodse measured (its package's repository)."""
    import evodse

    where = Path(evodse.__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"unknown ({where})"


# --- parts ----------------------------------------------------------------------------------------


def run_command(
    algorithm: str,
    time_s: float,
    tmp: Path,
    limit_s: float,
    env: dict[str, str] | None = None,
    *,
    options: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """``evodse run`` in a child process (environment ``env``): wall, CPU, peak memory, designs
    evaluated (killed after ``limit_s`` seconds of wall time); the run directory stays in
    ``tmp``."""
    name = "-".join([algorithm, *(f"{k}{v}" for k, v in (options or {}).items()), f"s{seed}"])
    config = tmp / f"{name}-{time_s:g}.yaml"
    spec = experiment(algorithm, options, seed, time_s=time_s)
    config.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp / f"run-{name}-{time_s:g}"
    if out.exists():
        shutil.rmtree(out)
    argv = [sys.executable, "-m", "evodse.cli.main", "run", str(config), "--out", str(out)]
    start = time.perf_counter()
    # run from ``tmp``: ``python -m`` puts the working directory first on the path, ahead of a
    # compared tree's PYTHONPATH
    child = subprocess.Popen([*argv, "--quiet"], stdout=subprocess.DEVNULL, env=env, cwd=tmp)
    killed = False
    while True:  # the child's own resource usage, killed after ``limit_s``
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if not killed and time.perf_counter() - start > limit_s:
            child.kill()
            killed = True
        time.sleep(0.1)
    wall = time.perf_counter() - start
    record = {
        "algorithm": algorithm,
        **({"options": options} if options else {}),
        "time_s": time_s,
        "status": "killed" if killed else os.waitstatus_to_exitcode(status),
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
    }
    if not killed:
        summary = json.loads((out / "summary.json").read_text())
        sizes = {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file()}
        config_yaml = yaml.safe_load((out / "config.yaml").read_text())
        record.update(
            pop_size=config_yaml["algorithm"].get("pop_size"),
            evaluations=summary["evaluations"],
            generations=summary["generations"],
            search_wall_s=summary["wall_time_s"],
            evaluations_csv_mib=sizes.get("evaluations.csv", 0) / 2**20,
            run_dir_mib=sum(sizes.values()) / 2**20,
        )
    return record


def populations(tmp: Path, limit_s: float) -> dict[str, Any]:
    """The population part (:data:`POPULATION_SIZES`): each run's record, front size and
    hypervolume under one normalization of every front."""
    from pymoo.indicators.hv import HV

    objectives = [f"{o}_geomean" for o in ("latency_s", "energy_pj")] + ["area_mm2"]
    runs, fronts = [], []
    for seed in POPULATION_SEEDS:
        for pop in POPULATION_SIZES:
            record = run_command(
                "nsga2", POPULATION_TIME_S, tmp, limit_s, options={"pop_size": pop}, seed=seed
            )
            out = tmp / f"run-nsga2-pop_size{pop}-s{seed}-{POPULATION_TIME_S:g}"
            with (out / "pareto.csv").open() as fh:
                rows = list(csv.DictReader(fh))
            fronts.append(np.log10([[float(r[c]) for c in objectives] for r in rows]))
            runs.append({**record, "pop_size": pop, "seed": seed, "front_size": len(rows)})
            shutil.rmtree(out)
            print(json.dumps(runs[-1]), flush=True)
    union = np.vstack(fronts)
    low, high = union.min(axis=0), union.max(axis=0)
    hv = HV(ref_point=np.full(len(objectives), 1.1))
    for run, front in zip(runs, fronts, strict=True):
        run["hypervolume"] = float(hv((front - low) / (high - low)))
    return {"time_s": POPULATION_TIME_S, "objectives": objectives, "runs": runs}


def startup_s(repeats: int = 3) -> float:
    """The median wall time of a process that only imports evodse's command line."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import evodse.cli.main"], check=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def problem():
    from evodse.experiment.config import load_experiment

    exp = load_experiment(experiment("random", generations=1))
    return exp, exp.build_problem()


def nsga2_rate(pop_size: int) -> dict[str, Any]:
    """NSGA-II designs per CPU and wall second over ``RATE_CPU_S`` of CPU time."""
    from evodse.search.driver import Termination, new_state, run_search

    _, prob = problem()
    model_cpu = [0.0]
    evaluate = prob.evaluate_designs

    def timed(X):  # the cost model's share of the CPU time
        start = time.process_time()
        try:
            return evaluate(X)
        finally:
            model_cpu[0] += time.process_time() - start

    prob.evaluate_designs = timed
    state = new_state(prob, "nsga2", {"pop_size": pop_size}, 0)
    run_search(state, Termination(generations=2))  # set up, first population
    n0, gen0 = len(state.archive), state.generation
    model_cpu[0] = 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.process_time() - cpu0 < RATE_CPU_S:
        run_search(state, Termination(generations=state.generation + 1))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    designs = len(state.archive) - n0
    return {
        "pop_size": pop_size,
        "designs": designs,
        "generations": state.generation - gen0,
        "cpu_s": cpu,
        "wall_s": wall,
        "model_cpu_s": model_cpu[0],
        "designs_per_cpu_s": designs / cpu,
        "designs_per_wall_s": designs / wall,
    }


PROFILE_GENERATIONS = {50: 400, 1000: 30}
#: What a generation's CPU time goes to, by the functions that do it (cumulative cProfile time):
#: the search's ask (NSGA-II's mating and duplicate filter) and tell (its survival), the archive's
#: evaluation step (the cost model included) and the history.
PROFILED = {
    "cost_model": ("evodse/search/problem.py", "evaluate_designs"),
    "ask": ("evodse/search/algorithms.py", "ask"),
    "tell": ("evodse/search/algorithms.py", "tell"),
    "archive": ("evodse/search/archive.py", "evaluate_rows"),
    "history": ("evodse/search/driver.py", "_record"),
}


def nsga2_profile(pop_size: int, generations: int) -> dict[str, Any]:
    """Where an NSGA-II generation's CPU time goes, by cProfile (which slows Python-heavy code
    more than numpy-heavy code: the shares, not the seconds, are the result)."""
    import cProfile
    import pstats

    from evodse.search.driver import Termination, new_state, run_search

    _, prob = problem()
    state = new_state(prob, "nsga2", {"pop_size": pop_size}, 0)
    run_search(state, Termination(generations=2))
    profiler = cProfile.Profile()
    profiler.enable()
    run_search(state, Termination(generations=2 + generations))
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(tt for _, _, tt, _, _ in stats.values())
    out: dict[str, Any] = {"pop_size": pop_size, "generations": generations, "total_s": total}
    for name, (file, function) in PROFILED.items():
        out[f"{name}_s"] = sum(
            cumulative
            for (where, _, called), (_, _, _, cumulative, _) in stats.items()
            if where.endswith(file) and called == function
        )
    return out


#: The commands run again on each compared tree, the trees interleaved.
COMPARED_COMMANDS = (("nsga2", 20), ("smsemoa", 20), ("nsga2", 60))  # 60 s: the issue's run


def compared_commands(
    trees: dict[str, tuple[str, str]], tmp: Path, limit_s: float
) -> list[dict[str, Any]]:
    """:func:`run_command` of :data:`COMPARED_COMMANDS` on each tree (label -> (commit, evodse
    source tree)), the trees interleaved command by command: the same machine load for all."""
    out = []
    for algorithm, time_s in COMPARED_COMMANDS:
        for label, (sha, tree) in trees.items():
            env = {**os.environ, "PYTHONPATH": tree}
            record = run_command(algorithm, time_s, tmp, limit_s, env=env)
            out.append({"label": label, "commit": sha, **record})
            print(json.dumps(out[-1]), flush=True)
    return out


def compared_rates(trees: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """:func:`nsga2_rate` of each tree (label -> (commit, evodse source tree)) in child
    processes, the trees interleaved population by population: the same machine load for all."""
    out = []
    for pop in RATE_POPS:
        for label, (sha, tree) in trees.items():
            env = {**os.environ, "PYTHONPATH": tree}
            run = _child([sys.executable, __file__, "--rate-only", str(pop)], env=env)
            out.append({"label": label, "commit": sha, **json.loads(run["stdout"])})
    return out


def io_costs(designs: int, tmp: Path, parts: Sequence[str]) -> dict[str, Any]:
    """Checkpoint and output costs on a random-search archive of ``designs`` designs (and, with
    the part ``plot``, ``evodse plot`` and ``evodse report`` of its run directory)."""
    from evodse.experiment import rundir
    from evodse.search.driver import Termination, new_state, run_search

    exp, prob = problem()
    base = _rss_mib()  # the process with its problem built, nothing evaluated
    batch = 10_000
    state = new_state(prob, "random", {"pop_size": batch}, 0)
    if "plot" in parts:  # a small run directory: what a plot takes beside the run's rows
        run_search(state, Termination(evaluations=SMALL_DESIGNS))
        rundir.write_results(tmp / "small", state, exp.resolved(prob, 0))
        rundir.write_config(tmp / "small", exp.resolved(prob, 0))
    cpu0 = time.process_time()
    run_search(state, Termination(evaluations=designs // 2))
    half = (len(state.archive), _rss_mib())  # memory per design: between half and all
    run_search(state, Termination(evaluations=designs - batch))
    search_cpu = time.process_time() - cpu0
    resolved = exp.resolved(prob, 0)
    out: dict[str, Any] = {
        "designs": designs,
        "search_cpu_s": search_cpu,
        "base_rss_mib": base,
        "half_rows": half[0],
        "rss_at_half_mib": half[1],
    }
    writer = (
        rundir.RunWriter(tmp / "incremental", resolved) if hasattr(rundir, "RunWriter") else None
    )
    if writer is not None:  # everything so far, then one generation more
        writer.checkpoint(state)
        writer.append_rows(state)
    run_search(state, Termination(evaluations=designs))
    out["archive_rows"] = len(state.archive)
    out["rss_after_search_mib"] = _rss_mib()  # the archive, its index and the history held
    if writer is not None:
        for name, write in (
            ("incremental_checkpoint", writer.checkpoint),
            ("append_rows", writer.append_rows),
        ):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            write(state)
            out[name] = {
                "new_rows": batch,
                "wall_s": time.perf_counter() - wall0,
                "cpu_s": time.process_time() - cpu0,
            }
    for name, write in (  # a run's writes first, for its peak memory; then a whole checkpoint
        ("write_results", lambda d: rundir.write_results(d, state, resolved)),
        ("whole_checkpoint", lambda d: rundir.save_checkpoint(d, state, resolved)),
    ):
        if name == "whole_checkpoint":
            out["peak_rss_run_mib"] = _peak_rss_mib()
        where = tmp / name
        cpu0, wall0 = time.process_time(), time.perf_counter()
        write(where)
        out[name] = {"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0}
    if "plot" in parts:  # the run directory written at once, plotted and reported
        rundir.write_config(tmp / "write_results", resolved)
        run_dir = tmp / "write_results"
        out["plot"] = _child([*_CLI, "plot", str(run_dir), "--out", str(tmp / "p")])
        out["plot"].pop("stdout")
        out["report"] = _child([*_CLI, "report", str(run_dir)])
        out["report"].pop("stdout")
        out["plot_small"] = _child([*_CLI, "plot", str(tmp / "small"), "--out", str(tmp / "s")])
        out["plot_small"]["designs"] = SMALL_DESIGNS
        out["plot_small"].pop("stdout")
        columns = run_dir / "evaluations.npz"
        if columns.exists():  # the CSV alone
            columns.rename(tmp / "evaluations.npz")
            out["plot_csv"] = _child([*_CLI, "plot", str(run_dir), "--out", str(tmp / "c")])
            out["plot_csv"].pop("stdout")
            out["evaluations_npz_mib"] = (tmp / "evaluations.npz").stat().st_size / 2**20
    archive = state.archive
    columns = ["X", "objectives", "F", "G", "generation", "cv", "feasible"]
    columns += archive.metric_names()
    out["archive_column_bytes_per_design"] = sum(archive.column(c).nbytes for c in columns) / len(
        archive
    )
    out["peak_rss_mib"] = _peak_rss_mib()
    return out


_CLI = [sys.executable, "-m", "evodse.cli.main"]


def _child(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall time, CPU time and peak memory of a command in a child process. The peak is the
    child's own high-water mark (``VmHWM``, read every 20 ms while it runs): ``ru_maxrss``
    would also count this process's memory, which the child holds until its ``exec``."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    status_file, peak_kib = Path(f"/proc/{child.pid}/status"), 0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        try:
            hwm = status_file.read_text().split("VmHWM:")[1].split()[0]
            peak_kib = max(peak_kib, int(hwm))
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.02)
    return {
        "status": os.waitstatus_to_exitcode(status),
        "wall_s": time.perf_counter() - start,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": peak_kib / 1024,
        "stdout": child.stdout.read().decode(),
    }


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    """The process's resident memory now (Linux ``/proc``)."""
    fields = Path("/proc/self/status").read_text().split("VmRSS:")[1].split()
    return float(fields[0]) / 1024


# --- results and docs -----------------------------------------------------------------------------


def headlines(results: dict[str, Any]) -> list[str]:
    """The measured answers to the issue's goals, one line each."""
    before, after = results.get("before", {}), results.get("after", {})
    lines = []
    done = [r for r in after.get("command", []) if r["status"] == 0]
    if done:
        worst = max(done, key=lambda r: r["wall_s"] / r["time_s"])
        ratio = worst["wall_s"] / worst["time_s"]
        line = (
            f"- `time_s`: the largest command wall time was {ratio:.2f}x its budget "
            f"({worst['algorithm']}, `time_s: {worst['time_s']:g}`: {worst['wall_s']:.1f} s)"
        )
        if "startup_wall_s" in after:
            start = after["startup_wall_s"]
            within = max((r["wall_s"] - start) / r["time_s"] for r in done)
            line += (
                f"; without the {start:.1f} s a process takes to start and import evodse "
                f"(measured alone), at most {within:.2f}x"
            )
        lines.append(line + ".")
    rate = {
        k: {r["pop_size"]: r["designs_per_cpu_s"] for r in results.get(k, {}).get("rate", [])}
        for k in LABELS
    }
    common = sorted(set(rate["before"]) & set(rate["after"]))
    if common:
        ratios = ", ".join(
            f"{rate['after'][p] / rate['before'][p]:.1f}x at population {p}" for p in common
        )
        lines.append(f"- NSGA-II designs per CPU second, after / before: {ratios}.")
    compared = after.get("rate_compared", [])
    if compared:
        by = {(r["label"], r["pop_size"]): r["designs_per_cpu_s"] for r in compared}
        others = [k for k in dict.fromkeys(r["label"] for r in compared) if k != "after"]
        parts = []
        for pop in RATE_POPS:
            if ("after", pop) in by:
                mine = by[("after", pop)]
                ratios = ", ".join(
                    f"{mine / by[(k, pop)]:.2f}x {k}" for k in others if (k, pop) in by
                )
                parts.append(f"{by[('after', pop)]:,.0f} at population {pop} ({ratios})")
        commits = ", ".join(
            f"{k} `{next(r['commit'] for r in compared if r['label'] == k)}`" for k in others
        )
        mine = next(r["commit"] for r in compared if r["label"] == "after")
        lines.append(
            "- NSGA-II designs per CPU second measured in one session, the trees interleaved "
            f"(after `{mine}`, {commits}; the same machine load for all): " + "; ".join(parts) + "."
        )
        against = ", ".join(
            f"{by[('after', pop)] / ISSUE_DESIGNS_PER_S:.1f}x at population {pop}"
            for pop in RATE_POPS
            if ("after", pop) in by
        )
        lines.append(
            "- The issue's goal, ten times the designs per second of NSGA-II: against the "
            f"issue's own figure ({ISSUE_DESIGNS_PER_S:,.0f} designs per second, 204,150 in "
            f"60 s) {against}; against the code it was filed on, measured above, the ratios "
            "to `before`."
        )
    for r in after.get("command", []):
        if r["algorithm"] == "nsga2" and r["status"] == 0:
            rate = r["evaluations"] / r["wall_s"]
            line = (
                f"- `evodse run` of NSGA-II with `time_s: {r['time_s']:g}` and its defaults "
                f"(population {r.get('pop_size', 'not recorded')}): {r['evaluations']:,} designs "
                f"in {r['wall_s']:.1f} s of command wall time, {rate:,.0f} per second, "
                f"{rate / ISSUE_DESIGNS_PER_S:.1f}x the issue's {ISSUE_DESIGNS_PER_S:,.0f}"
            )
            if r["time_s"] == 60:
                line += f"; {r['evaluations'] / 204_150:.1f}x the issue's 204,150 designs in 60 s"
            lines.append(line + ".")
    commands = [r for r in after.get("command_compared", []) if r["status"] == 0]
    if commands:
        by = {(r["label"], r["algorithm"], r["time_s"]): r for r in commands}
        others = [k for k in dict.fromkeys(r["label"] for r in commands) if k != "after"]
        parts = []
        for algorithm, time_s in COMPARED_COMMANDS:
            mine = by.get(("after", algorithm, time_s))
            if mine is None:
                continue
            rate = {
                k: r["evaluations"] / r["wall_s"]
                for (k, a, t), r in by.items()
                if (a, t) == (algorithm, time_s)
            }
            ratios = ", ".join(f"{rate['after'] / rate[k]:.2f}x {k}" for k in others if k in rate)
            parts.append(
                f"{algorithm} `time_s: {time_s:g}` {mine['evaluations']:,} designs in "
                f"{mine['wall_s']:.1f} s ({ratios})"
            )
        lines.append(
            "- `evodse run`, the trees interleaved, each with its defaults (designs per second "
            "of command wall time compared): " + "; ".join(parts) + "."
        )
    shares = [r for r in after.get("rate", []) if "model_cpu_s" in r]
    if shares:
        parts = ", ".join(
            f"{1e3 * r['cpu_s'] / r['generations']:.1f} ms at population {r['pop_size']} "
            f"({100 * r['model_cpu_s'] / r['cpu_s']:.0f}% in the cost model)"
            for r in shares
        )
        lines.append(
            f"- NSGA-II CPU time per generation: {parts}; the rest is NSGA-II's ask and tell and "
            "evodse's bookkeeping (archive, front, history), which no longer grows with the "
            "archive."
        )
    for r in after.get("profile", []):
        total = r["total_s"]
        lines.append(
            f"- Profiled NSGA-II generation at population {r['pop_size']} (cProfile, "
            f"{r['generations']} generations, {1e3 * total / r['generations']:.0f} ms each under "
            f"the profiler): cost model {100 * r['cost_model_s'] / total:.0f}%, archive "
            f"{100 * (r['archive_s'] - r['cost_model_s']) / total:.0f}%, NSGA-II's ask (mating, "
            f"duplicate filter) {100 * r['ask_s'] / total:.0f}%, its tell (survival) "
            f"{100 * r['tell_s'] / total:.0f}%, the history {100 * r['history_s'] / total:.0f}%."
        )
    io_b, io_a = before.get("io", {}), after.get("io", {})
    if "incremental_checkpoint" in io_a:
        inc = io_a["incremental_checkpoint"]
        lines.append(
            f"- Checkpoint at {io_a['archive_rows']:,} designs: {inc['wall_s']:.2f} s of wall "
            f"time ({inc['cpu_s']:.2f} s CPU) for the incremental checkpoint (the archive's "
            f"last {inc['new_rows']:,} designs appended to the tail); written whole "
            f"{io_a['whole_checkpoint']['wall_s']:.2f} s"
            + (
                f" (before: {io_b['whole_checkpoint']['wall_s']:.2f} s)."
                if "whole_checkpoint" in io_b
                else "."
            )
        )
    if "write_results" in io_a and "write_results" in io_b:
        lines.append(
            f"- evaluations.csv (and the other result files) for {io_a['archive_rows']:,} rows: "
            f"{io_a['write_results']['cpu_s']:.1f} s of CPU time, before "
            f"{io_b['write_results']['cpu_s']:.1f} s."
        )
    if "rss_after_search_mib" in io_a:
        n = io_a["archive_rows"]
        held = io_a["rss_after_search_mib"] - io_a["rss_at_half_mib"]
        per_design = held * 2**20 / (n - io_a["half_rows"])
        estimate = io_a["peak_rss_run_mib"] / 1024 + per_design * (1e7 - n) / 2**30
        lines.append(
            f"- Memory: {per_design:,.0f} resident bytes per design held (the growth of the "
            "process between half and all of the designs; archive columns "
            f"{io_a['archive_column_bytes_per_design']:.0f}, the rest its index and the "
            f"history); the run's peak at {n:,} designs was "
            f"{io_a['peak_rss_run_mib']:,.0f} MiB (searching and writing its results). "
            f"Adding {1e7 - n:,.0f} designs at that rate, a 10^7-evaluation run peaks near "
            f"{estimate:.1f} GiB (a checkpoint written whole, as a sweep's task returns it, "
            "adds a copy of the archive)."
        )
    lines += _plot_headlines(results.get("previous", {}).get("io", {}), io_a)
    return lines


def _plot_headlines(io_p: dict[str, Any], io_a: dict[str, Any]) -> list[str]:
    """``plot`` and ``report`` on the 10^6-design run: seconds, and the memory they take."""
    if "plot" not in io_a or "report" not in io_a:
        return []
    n = io_a["archive_rows"]
    line = (
        f"- `evodse plot` (all figures) and `evodse report` of the {n:,}-design run: "
        f"{io_a['plot']['wall_s']:.1f} s and {io_a['report']['wall_s']:.1f} s of wall time "
        f"({io_a['plot']['cpu_s']:.1f} s and {io_a['report']['cpu_s']:.1f} s CPU)"
    )
    if "plot" in io_p and "report" in io_p:
        line += (
            f", before {io_p['plot']['wall_s']:.1f} s and {io_p['report']['wall_s']:.1f} s "
            f"({io_p['plot']['cpu_s']:.1f} s and {io_p['report']['cpu_s']:.1f} s CPU)"
        )
    if "plot_csv" in io_a:
        line += (
            f"; from evaluations.csv alone (no evaluations.npz) `plot` takes "
            f"{io_a['plot_csv']['wall_s']:.1f} s ({io_a['plot_csv']['cpu_s']:.1f} s CPU)"
        )
    lines = [line + "."]
    if "plot_small" in io_a:
        small = io_a["plot_small"]
        per_row = (io_a["plot"]["peak_rss_mib"] - small["peak_rss_mib"]) / (n - small["designs"])
        at_1e7 = small["peak_rss_mib"] + per_row * (1e7 - small["designs"])
        lines.append(
            f"- Memory of `evodse plot`: {small['peak_rss_mib']:,.0f} MiB at "
            f"{small['designs']:,} designs, {io_a['plot']['peak_rss_mib']:,.0f} MiB at {n:,} "
            f"({per_row * 2**20:,.0f} bytes per design); at that rate a 10^7-design run's plot "
            f"peaks near {at_1e7 / 1024:.1f} GiB (`report`: "
            f"{io_a['report']['peak_rss_mib']:,.0f} MiB at {n:,})."
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The docs block: the headlines, then before and after side by side."""
    labels = [k for k in LABELS if k in results]
    lines = [*headlines(results), ""] if headlines(results) else []
    lines += [
        "Measured by `benchmarks/big_runs.py` (raw results: `docs/data/big_runs.json`) on a "
        "shared two-core machine under `nice -n 10`; CPU time is the child's user + system time, "
        "wall time includes waiting for the CPU. Commits: "
        + ", ".join(f"{k} `{results[k]['commit']}`{_part_commits(results[k])}" for k in labels)
        + ".",
        "",
        "| run (`time_s`) | "
        + " | ".join(f"{k}: command wall / CPU s, designs" for k in labels)
        + " |",
        "| --- |" + " --- |" * len(labels),
    ]
    for algorithm, time_s in COMMANDS:
        cells = []
        for k in labels:
            rows = [
                r
                for r in results[k].get("command", [])
                if (r["algorithm"], r["time_s"]) == (algorithm, time_s)
            ]
            if not rows:
                cells.append("not measured")
            elif rows[0]["status"] == "killed":
                cells.append(f"killed after {rows[0]['wall_s']:.0f} / {rows[0]['cpu_s']:.0f}")
            else:
                r = rows[0]
                cells.append(f"{r['wall_s']:.1f} / {r['cpu_s']:.1f}, {r['evaluations']:,}")
        lines.append(f"| {algorithm} ({time_s:g} s) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| NSGA-II population | "
        + " | ".join(f"{k}: designs per CPU s (per wall s)" for k in labels)
        + " |",
        "| --- |" + " --- |" * len(labels),
    ]
    for pop in RATE_POPS:
        cells = []
        for k in labels:
            rows = [r for r in results[k].get("rate", []) if r["pop_size"] == pop]
            cells.append(
                f"{rows[0]['designs_per_cpu_s']:,.0f} ({rows[0]['designs_per_wall_s']:,.0f})"
                if rows
                else "not measured"
            )
        lines.append(f"| {pop} | " + " | ".join(cells) + " |")
    lines += population_table(results.get("after", {}).get("population"))
    lines += [
        "",
        "| at 10^6 designs | " + " | ".join(labels) + " |",
        "| --- |" + " --- |" * len(labels),
    ]
    facts = (
        ("checkpoint written whole, wall / CPU s", "whole_checkpoint"),
        ("incremental checkpoint after 10,000 new designs, wall / CPU s", "incremental_checkpoint"),
        ("their 10,000 rows appended to evaluations.csv, wall / CPU s", "append_rows"),
        ("evaluations.csv and the other results at once, wall / CPU s", "write_results"),
    )
    for text, key in facts:
        cells = []
        for k in labels:
            io = results[k].get("io", {})
            cells.append(
                f"{io[key]['wall_s']:.2f} / {io[key]['cpu_s']:.2f}"
                if key in io
                else "not available"
            )
        lines.append(f"| {text} | " + " | ".join(cells) + " |")
    for text, key in (
        ("`evodse plot` of the run directory (all figures), wall / CPU s", "plot"),
        ("`evodse report` of the run directory, wall / CPU s", "report"),
        ("`evodse plot` without evaluations.npz (the CSV alone), wall / CPU s", "plot_csv"),
    ):
        cells = []
        for k in labels:
            io = results[k].get("io", {})
            cells.append(
                f"{io[key]['wall_s']:.1f} / {io[key]['cpu_s']:.1f}" if key in io else "not measured"
            )
        lines.append(f"| {text} | " + " | ".join(cells) + " |")
    for text, key, fmt in (
        ("archive columns, bytes per design", "archive_column_bytes_per_design", "{:.0f}"),
        ("peak resident memory of the process, MiB", "peak_rss_mib", "{:,.0f}"),
        ("of which before the checkpoint written whole, MiB", "peak_rss_run_mib", "{:,.0f}"),
        ("peak resident memory of `evodse plot`, MiB", "plot.peak_rss_mib", "{:,.0f}"),
        ("peak resident memory of `evodse report`, MiB", "report.peak_rss_mib", "{:,.0f}"),
        ("evaluations.npz beside evaluations.csv, MiB", "evaluations_npz_mib", "{:,.0f}"),
    ):
        cells = [_io_cell(results[k].get("io", {}), key, fmt) for k in labels]
        lines.append(f"| {text} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def population_table(part: dict[str, Any] | None) -> list[str]:
    """The population part as a table: per population, the means over seeds."""
    if not part:
        return []
    seeds = sorted({r["seed"] for r in part["runs"]})
    lines = [
        "",
        f"NSGA-II with `time_s: {part['time_s']:g}` by population, seeds {seeds} (`after`; means "
        "over seeds; the hypervolume of each front with every front normalized together, log10 "
        "objectives, reference point 1.1):",
        "",
        "| population | designs | generations | front size | hypervolume (min-max) |",
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    for pop in dict.fromkeys(r["pop_size"] for r in part["runs"]):
        runs = [r for r in part["runs"] if r["pop_size"] == pop and r["status"] == 0]
        hv = [r["hypervolume"] for r in runs]
        lines.append(
            f"| {pop:,} | {np.mean([r['evaluations'] for r in runs]):,.0f} | "
            f"{np.mean([r['generations'] for r in runs]):,.0f} | "
            f"{np.mean([r['front_size'] for r in runs]):,.0f} | "
            f"{np.mean(hv):.5f} ({min(hv):.5f}-{max(hv):.5f}) |"
        )
    return lines


def _part_commits(entry: dict[str, Any]) -> str:
    """The parts of a label measured at another commit than its own, e.g. " (rate: `abc`)"."""
    other = {p: c for p, c in entry.get("part_commits", {}).items() if c != entry["commit"]}
    return f" ({', '.join(f'{p}: `{c}`' for p, c in other.items())})" if other else ""


def _io_cell(io: dict[str, Any], key: str, fmt: str) -> str:
    """``io[key]`` formatted (``a.b``: ``io[a][b]``), or "not available"."""
    value: Any = io
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return "not available"
        value = value[part]
    return fmt.format(value)


def write_doc(results: dict[str, Any], path: Path = DOC) -> None:
    """Rewrite the generated block of ``path`` (between BEGIN and END)."""
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{markdown(results)}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", choices=LABELS, help="where the results go")
    ap.add_argument(
        "--parts",
        nargs="+",
        default=["startup", "command", "rate", "profile", "population", "io", "plot"],
    )
    ap.add_argument("--io-designs", type=int, default=1_000_000)
    ap.add_argument("--json", type=Path, default=RESULTS)
    ap.add_argument("--limit-s", type=float, default=300.0, help="kill a command after this")
    ap.add_argument("--commit", default=None, help="the commit measured (default: git's)")
    ap.add_argument("--doc", action="store_true", help="only rewrite docs/big_runs.md")
    ap.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="LABEL=COMMIT:TREE",
        help="with the command and rate parts: also measure these evodse source trees, interleaved",
    )
    ap.add_argument("--rate-only", type=int, help=argparse.SUPPRESS)  # a compared tree's child
    args = ap.parse_args(argv)
    if args.rate_only:
        print(json.dumps(nsga2_rate(args.rate_only)))
        return 0
    results = json.loads(args.json.read_text()) if args.json.exists() else {}
    if not args.doc:
        if args.label is None:
            ap.error("--label is required to measure")
        entry = results.setdefault(args.label, {})
        measured = args.commit or commit()
        parts = entry.setdefault("part_commits", {})
        if "commit" in entry and not parts:  # measured before parts had commits: all at one
            parts.update(
                dict.fromkeys(("startup", "command", "rate", "profile", "io"), entry["commit"])
            )
        for part in args.parts:
            parts[part] = measured
        entry["commit"] = measured
        trees = {}
        for item in args.compare:
            label, rest = item.split("=", 1)
            trees[label] = tuple(rest.split(":", 1))
        if trees:
            trees[args.label] = (entry["commit"], str(ROOT))
        with tempfile.TemporaryDirectory() as tmp:
            if "command" in args.parts:
                entry["command"] = []
                for algorithm, time_s in COMMANDS:
                    record = run_command(algorithm, time_s, Path(tmp), args.limit_s)
                    entry["command"].append(record)
                    print(json.dumps(entry["command"][-1]), flush=True)
                if trees:
                    entry["command_compared"] = compared_commands(trees, Path(tmp), args.limit_s)
            if "startup" in args.parts:
                entry["startup_wall_s"] = startup_s()
            if "rate" in args.parts:
                entry["rate"] = [nsga2_rate(pop) for pop in RATE_POPS]
                print(json.dumps(entry["rate"]), flush=True)
                if trees:
                    entry["rate_compared"] = compared_rates(trees)
                    print(json.dumps(entry["rate_compared"]), flush=True)
            if "profile" in args.parts:
                entry["profile"] = [nsga2_profile(p, g) for p, g in PROFILE_GENERATIONS.items()]
                print(json.dumps(entry["profile"]), flush=True)
            if "population" in args.parts:
                entry["population"] = populations(Path(tmp), args.limit_s)
            if "io" in args.parts:
                entry["io"] = io_costs(args.io_designs, Path(tmp), args.parts)
                print(json.dumps(entry["io"]), flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    write_doc(results)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
