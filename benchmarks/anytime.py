"""Anytime comparison: hypervolume ratio against CPU seconds, every method on every space.

Usage::

    python benchmarks/anytime.py run --raw /work/scratch/anytime --processes 2   # the runs
    python benchmarks/anytime.py score --raw /work/scratch/anytime \\
        --json docs/data/anytime.json                 # reference fronts, curves (raw -> JSON)
    python benchmarks/anytime.py report --json docs/data/anytime.json \\
        --out docs/search_quality.md --figure docs/figures/anytime.png   # table and figure
    python benchmarks/anytime.py run --raw /tmp/a --spaces quick-1e4 --seconds 2 --seeds 1

**run**: every method of ``--methods`` runs for ``--seconds`` of CPU time (``time.process_time``
of its one-threaded process: a shared machine does not skew it; wall time is recorded too) on
every space of ``--spaces``, seeds 0..``--seeds``-1, with no evaluation budget (at most
``MAX_EVALUATIONS``, which bounds the archive's memory), two runs at a time with one BLAS thread
each. Methods: evodse's algorithms by name (``auto`` is the default itself), and Optuna's
``optuna-nsga2`` and ``optuna-tpe`` (one trial per evaluation; the ``bench`` extra). A run's
front (everything it evaluated, non-dominated) is taken at CPU times 0.25 x 2^(k/2) s and at
``--seconds``, from the designs evaluated by then: each run writes one ``.npz`` of those fronts
(their union, with the first and last time index each point is on the front) into ``--raw``,
so an interrupted benchmark resumes where it stopped. On enumerable spaces one ``enumeration``
run per space times the vectorized evaluation of the whole space (chunks of 50,000 designs and
a running non-dominated set, one process): what exhaustive search costs.

**score**: per space a reference front, the exact one (``benchmarks/search_quality.py``'s
cached exhaustive front) on enumerable spaces and on spaces too big to enumerate the
non-dominated union of the last front of every run of every method (its longest run), then
every run's hypervolume ratio (:mod:`evodse.search.indicators`) at every time; ``--json`` keeps
these curves and the reference fronts (the committed raw results).

**report**: tables (median over seeds) and the figure from the ``--json`` file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from search_quality import (
    BENCHMARKS,
    BIG,
    DEFAULT_CACHE,
    Benchmark,
    _front_of_range,
    _log_objectives,
    _maximize,
    optuna_available,
    optuna_trials,
    parse_method,
    true_front,
    worker_pool,
)

from evodse.search.archive import non_dominated
from evodse.search.driver import new_state, step
from evodse.search.indicators import Normalization, hypervolume

SPACES = {**BENCHMARKS, **BIG}
ENUMERABLE = ("mobile-1e5", "cnn-1e6", "transformer-1e7", "cnn-1e6-2obj")
METHODS = ("auto", "nsga2", "smsemoa", "random", "surrogate", "optuna-nsga2", "optuna-tpe")
#: Evaluations after which a run stops early: about 3 KB of archive per design (random
#: sampling on fine-1e13 would otherwise hold millions).
MAX_EVALUATIONS = 400_000
SMALLEST_S = 0.25  # the earliest time a front is taken at (about)
CHUNK = 50_000  # designs per step of a running non-dominated set


def mark_times(seconds: float) -> list[float]:
    """``SMALLEST_S`` x 2^(k/2) below ``seconds``, then ``seconds`` itself."""
    k = math.ceil(2 * math.log2(seconds / SMALLEST_S) - 1e-9)
    return [SMALLEST_S * 2 ** (i / 2) for i in range(k)] + [seconds]


# ----------------------------------------------------------------------------- run


def run_for(bench: Benchmark, spec: str, seed: int, seconds: float) -> dict[str, Any]:
    """One method for ``seconds`` of CPU time: every evaluation's objectives in order, and
    (evaluations, CPU s, wall s) after every generation or trial."""
    name, options = parse_method(spec)
    problem = bench.problem()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    marks: list[tuple[int, float, float]] = []
    if name.startswith("optuna"):
        rows = []
        for trial in optuna_trials(problem, name, seed):
            rows.append(trial)
            spent = time.process_time() - cpu0
            marks.append((len(rows), spent, time.perf_counter() - wall0))
            if spent >= seconds or len(rows) >= MAX_EVALUATIONS:
                break
        return {"objectives": np.asarray(rows), "marks": marks, "chosen": name}
    state = new_state(problem, name, options, seed)
    while True:
        more = step(state)
        spent = time.process_time() - cpu0
        n = len(state.archive)
        marks.append((n, spent, time.perf_counter() - wall0))
        if spent >= seconds or n >= min(problem.space_size, MAX_EVALUATIONS) or not more:
            break
    return {
        "objectives": state.archive.column("objectives"),
        "marks": marks,
        "chosen": state.algorithm_name,
    }


def mark_fronts(L: np.ndarray, counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fronts of the first ``counts[k]`` rows of ``L`` (minimized), as the rows on any of
    them with the first and last ``k`` each is on (a point leaves a front only for good)."""
    front = np.zeros(0, dtype=np.int64)
    done = 0
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for k, n in enumerate(counts):
        for lo in range(done, n, CHUNK):
            rows = np.concatenate([front, np.arange(lo, min(lo + CHUNK, n))])
            front = rows[non_dominated(L[rows])]
        done = max(done, n)
        for r in front.tolist():
            first.setdefault(r, k)
            last[r] = k
    rows = np.asarray(sorted(first), dtype=np.int64)
    return (
        rows,
        np.asarray([first[r] for r in rows], dtype=np.int64),
        np.asarray([last[r] for r in rows], dtype=np.int64),
    )


def _job(args: tuple) -> str:
    name, spec, seed, seconds, raw = args
    bench = SPACES[name]
    path = raw_path(raw, name, spec, seed)
    if path.exists():  # done meanwhile by another invocation sharing --raw
        return f"{name} {spec} seed {seed}: done before"
    if spec == "enumeration":
        problem = bench.problem()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        _, objectives = _front_of_range((name, 0, problem.space_size, CHUNK))
        meta = {
            "benchmark": name,
            "method": spec,
            "seed": seed,
            "cpu_s": time.process_time() - cpu0,
            "wall_s": time.perf_counter() - wall0,
            "evaluations": problem.space_size,
        }
        first = last = np.zeros(len(objectives), dtype=np.int64)
    else:
        run = run_for(bench, spec, seed, seconds)
        times = mark_times(seconds)
        counts, walls = [], []
        for t in times:
            done = [(n, w) for n, s, w in run["marks"] if s <= t]
            counts.append(done[-1][0] if done else 0)
            walls.append(done[-1][1] if done else 0.0)
        L = _log_objectives(run["objectives"], bench.problem())
        rows, first, last = mark_fronts(L, counts)
        objectives = run["objectives"][rows]
        n, cpu, wall = run["marks"][-1]
        meta = {
            "benchmark": name,
            "method": spec,
            "seed": seed,
            "chosen": run["chosen"],
            "seconds": seconds,
            "times": times,
            "evaluations": counts,
            "wall_s": walls,
            "total": {"evaluations": n, "cpu_s": cpu, "wall_s": wall},
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, objectives=objectives, first=first, last=last, meta=np.asarray(json.dumps(meta))
    )
    tmp.replace(path)
    return f"{name} {spec} seed {seed}: {meta.get('total', meta)}"


def raw_path(raw: Path, name: str, spec: str, seed: int) -> Path:
    return raw / name / f"{spec}-{seed}.npz"


def run_all(
    spaces: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    seconds: dict[str, float],
    raw: Path,
    processes: int,
    auto_seconds: dict[str, float] | None = None,
) -> None:
    """Every method on every space (``auto`` for ``auto_seconds`` when given), seeds
    0..``seeds``-1, and the enumeration of each enumerable space; runs already in ``raw`` are
    not repeated."""
    auto_seconds = auto_seconds or seconds
    methods = list(methods)
    if any(m.startswith("optuna") for m in methods) and not optuna_available():
        print("optuna is not installed (pip install 'evodse[bench]'): skipping optuna-*")
        methods = [m for m in methods if not m.startswith("optuna")]
    for name in spaces:
        if name in ENUMERABLE:
            true_front(SPACES[name], DEFAULT_CACHE, processes=processes)  # cached once
    jobs = [
        (name, m, s, auto_seconds[name] if m == "auto" else seconds[name], raw)
        for name in spaces
        for m in methods
        for s in range(seeds)
    ]
    jobs += [(name, "enumeration", 0, 0.0, raw) for name in spaces if name in ENUMERABLE]
    jobs = [j for j in jobs if not raw_path(raw, j[0], j[1], j[2]).exists()]
    print(f"{len(jobs)} runs to do", flush=True)
    if processes > 1:
        with worker_pool(processes) as pool:
            for line in pool.imap_unordered(_job, jobs):
                print(line, flush=True)
    else:
        for job in jobs:
            print(_job(job), flush=True)


# ----------------------------------------------------------------------------- score


def load_raw(raw: Path, name: str) -> list[dict[str, Any]]:
    runs = []
    for path in sorted((raw / name).glob("*.npz")):
        if path.name.endswith(".tmp.npz"):
            continue
        with np.load(path, allow_pickle=False) as data:
            runs.append(
                {
                    "meta": json.loads(str(data["meta"])),
                    "objectives": data["objectives"],
                    "first": data["first"],
                    "last": data["last"],
                }
            )
    return runs


def score(raw: Path, spaces: Sequence[str], command: str) -> dict[str, Any]:
    """Reference fronts and every run's hypervolume ratio at every time."""
    out: dict[str, Any] = {"command": command, "benchmarks": {}, "records": []}
    for name in spaces:
        runs = load_raw(raw, name)
        if not runs:
            continue
        bench = SPACES[name]
        maximize = _maximize(bench.problem())
        searches = [r for r in runs if r["meta"]["method"] != "enumeration"]
        if name in ENUMERABLE:
            front = true_front(bench, DEFAULT_CACHE)
            reference, kind = front.objectives, "exact"
            space_size = front.space_size
        else:
            finals = [r["objectives"][r["last"] == len(r["meta"]["times"]) - 1] for r in searches]
            union = np.concatenate(finals)
            keep = np.sort(non_dominated(_log_objectives(union, bench.problem())))
            reference, kind = union[keep], "union"
            space_size = bench.problem().space_size
        norm = Normalization.of(reference, maximize)
        hv_reference = hypervolume(reference, norm)
        enumeration = [r["meta"] for r in runs if r["meta"]["method"] == "enumeration"]
        out["benchmarks"][name] = {
            "space_size": space_size,
            "objectives": [
                o if isinstance(o, str) else f"{o['name']} ({o['aggregate']})"
                for o in bench.objectives
            ],
            "note": bench.note,
            "reference": kind,
            "reference_size": len(reference),
            "reference_front": reference.tolist(),
            "enumeration_cpu_s": enumeration[0]["cpu_s"] if enumeration else None,
            "enumeration_wall_s": enumeration[0]["wall_s"] if enumeration else None,
        }
        order = {m: i for i, m in enumerate(METHODS)}
        searches.sort(key=lambda r: (order.get(r["meta"]["method"], len(order)), r["meta"]["seed"]))
        for r in searches:
            meta = r["meta"]
            ratios = []
            for k in range(len(meta["times"])):
                on = (r["first"] <= k) & (r["last"] >= k)
                hv = hypervolume(r["objectives"][on], norm) if on.any() else 0.0
                ratios.append(hv / hv_reference)
            out["records"].append({**meta, "hv_ratio": ratios})
        print(f"[{name}] scored {len(searches)} runs against the {kind} front", flush=True)
    return out


# ----------------------------------------------------------------------------- report


TABLE_TIMES = (0.25, 1.0, 4.0, 8.0, 16.0, 30.0, 60.0)  # the tables' columns (CPU s), where run
OPTUNA = ("optuna-nsga2", "optuna-tpe")
TARGETS = (0.99, 0.999)
GAP_FLOOR = 1e-4  # gaps (1 - HV ratio) below this are not told apart (figure, gap ratios)


def _records(out: dict[str, Any], name: str, method: str) -> list[dict[str, Any]]:
    return [r for r in out["records"] if r["benchmark"] == name and r["method"] == method]


def median_curve(records: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, median HV ratio and median evaluations over the records' seeds."""
    times = np.asarray(records[0]["times"])
    hv = np.median([r["hv_ratio"] for r in records], axis=0)
    n = np.median([r["evaluations"] for r in records], axis=0)
    return times, hv, n


def time_to(times: np.ndarray, hv: np.ndarray, target: float) -> float | None:
    """The first time (of the grid) the median HV ratio reaches ``target``; None if never."""
    reached = np.flatnonzero(hv >= target)
    return float(times[reached[0]]) if len(reached) else None


def _at(times: np.ndarray, values: np.ndarray, t: float) -> float | None:
    k = np.flatnonzero(np.isclose(times, t, rtol=0.02))
    return float(values[k[0]]) if len(k) else None


def _s(t: float | None) -> str:
    return "-" if t is None else f"{t:.3g}"


def report(out: dict[str, Any]) -> str:
    """The tables: per space, per method the median HV ratio at CPU times, and the time to the
    targets; then the default against Optuna at equal CPU time."""
    lines = [
        f"Regenerate: `{out['command']}`",
        "",
        "| space | designs | objectives | reference front | points | enumeration CPU s |",
        "|---|---:|---|---|---:|---:|",
    ]
    for name, b in out["benchmarks"].items():
        ref = "exact (exhaustive)" if b["reference"] == "exact" else "union of all runs"
        lines.append(
            f"| {name} | {b['space_size']:.3g} | {', '.join(b['objectives'])} | {ref} | "
            f"{b['reference_size']:,} | {_s(b['enumeration_cpu_s'])} |"
        )
    for name in out["benchmarks"]:
        methods = list(dict.fromkeys(r["method"] for r in out["records"] if r["benchmark"] == name))
        if not methods:
            continue
        grid = {t for m in methods for t in _records(out, name, m)[0]["times"]}
        columns = [t for t in TABLE_TIMES if any(math.isclose(t, g, rel_tol=0.02) for g in grid)]
        seeds = sorted({len(_records(out, name, m)) for m in methods})
        lines += [
            "",
            f"**{name}**: median HV ratio [evaluations] after CPU seconds, "
            f"{'/'.join(map(str, seeds))} seed(s); CPU s to HV ratio "
            + " and ".join(f"{t:g}" for t in TARGETS),
            "",
            "| method | "
            + " | ".join(f"{t:g} s" for t in columns)
            + " | "
            + " | ".join(f"to {t:g}" for t in TARGETS)
            + " | wall s |",
            "|---|" + "---:|" * (len(columns) + len(TARGETS) + 1),
        ]
        for method in methods:
            rs = _records(out, name, method)
            t, hv, n = median_curve(rs)
            chosen = sorted({r["chosen"] for r in rs})
            label = f"auto ({', '.join(chosen)})" if method == "auto" else method
            cells = []
            for c in columns:
                h = _at(t, hv, c)
                cells.append("" if h is None else f"{h:.4f} [{int(_at(t, n, c)):,}]")
            cells += [_s(time_to(t, hv, target)) for target in TARGETS]
            wall = np.median([r["wall_s"][-1] for r in rs])
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {wall:.1f} |")
    lines += ["", *goals(out)]
    return "\n".join(lines) + "\n"


def goals(out: dict[str, Any]) -> list[str]:
    """The issue's goals, per space, from the median curves: the default's CPU time to HV
    ratio 0.99 and 0.999 (and the enumeration's), and the default against Optuna's samplers at
    the longest CPU time both ran (HV ratios, and how many times larger Optuna's gap 1 - HV
    is)."""
    lines = [
        "| space | default | default's CPU s to 0.99 / 0.999 | enumeration CPU s | "
        "at CPU s | default | Optuna NSGA-II | Optuna TPE | Optuna's gap / default's "
        "(NSGA-II / TPE) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, b in out["benchmarks"].items():
        auto = _records(out, name, "auto")
        if not auto:
            continue
        t, hv, _ = median_curve(auto)
        chosen = ", ".join(sorted({r["chosen"] for r in auto}))
        curves = {m: median_curve(rs) for m in OPTUNA if (rs := _records(out, name, m))}
        common = [
            x for x in t if all(np.isclose(c[0], x, rtol=1e-9).any() for c in curves.values())
        ]
        at = float(common[-1])
        mine = float(_at(t, hv, at))
        theirs = {m: _at(*curves[m][:2], at) if m in curves else None for m in OPTUNA}
        gaps = []
        for v in theirs.values():
            if v is None:
                gaps.append("-")
            elif 1 - mine < GAP_FLOOR:  # the default's gap is below what the ratio can tell
                gaps.append(f">= {(1 - v) / GAP_FLOOR:.0f}x")
            else:
                gaps.append(f"{(1 - v) / (1 - mine):.1f}x")
        cells = [
            name,
            chosen,
            f"{_s(time_to(t, hv, 0.99))} / {_s(time_to(t, hv, 0.999))}",
            _s(b["enumeration_cpu_s"]),
            f"{at:.3g}",
            f"{mine:.4f}",
            *("-" if v is None else f"{v:.4f}" for v in theirs.values()),
            " / ".join(gaps),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


BEGIN = "<!-- anytime results: begin (generated) -->"
END = "<!-- anytime results: end -->"


def write_markdown(path: Path, table: str) -> None:
    """Write ``table`` between the BEGIN and END markers of ``path`` (which must have them)."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no '{BEGIN}' ... '{END}' block to fill")
    head, rest = text.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{table}{END}{rest.split(END, 1)[1]}")


def figure(out: dict[str, Any], path: Path) -> None:
    """Per space, the gap to the reference front (1 - HV ratio, median over seeds, log scale)
    against CPU seconds, one line per method; the enumeration's CPU time marked."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in out["benchmarks"] if any(r["benchmark"] == n for r in out["records"])]
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    methods = list(dict.fromkeys(r["method"] for r in out["records"]))
    colours = plt.get_cmap("tab10")
    for ax, name in zip(axes.flat, names, strict=False):
        for i, method in enumerate(methods):
            rs = _records(out, name, method)
            if not rs:
                continue
            t, hv, _ = median_curve(rs)
            ax.plot(t, np.maximum(1 - hv, GAP_FLOOR), color=colours(i), label=method, lw=1.4)
        enum = out["benchmarks"][name]["enumeration_cpu_s"]
        if enum:
            ax.axvline(enum, color="black", lw=0.8, ls=":")
        ax.axhline(0.01, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yscale("log")
        ax.set_ylim(GAP_FLOOR * 0.8, 1.0)
        ax.set_title(f"{name} ({out['benchmarks'][name]['space_size']:.2g} designs)", fontsize=9)
        ax.set_xlabel("CPU seconds")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for row in axes:
        row[0].set_ylabel("1 - HV ratio")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=["run", "score", "report"])
    parser.add_argument("--spaces", nargs="+", choices=list(SPACES), default=None)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument(
        "--seconds", type=float, default=None, help="CPU s per run (default 16; 60 on big spaces)"
    )
    parser.add_argument(
        "--auto-seconds", type=float, default=None, help="CPU s per run of auto (--seconds)"
    )
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--raw", type=Path, default=None, help="run/score: the per-run .npz dir")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="report: markdown to fill")
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args(argv)
    spaces = args.spaces or [*ENUMERABLE, *BIG]
    if args.part == "run":
        seconds = {n: args.seconds or (60.0 if n in BIG else 16.0) for n in spaces}
        auto = {n: args.auto_seconds or seconds[n] for n in spaces}
        run_all(spaces, args.methods, args.seeds, seconds, args.raw, args.processes, auto)
    elif args.part == "score":
        command = "python benchmarks/anytime.py " + " ".join(argv or sys.argv[1:])
        out = score(args.raw, spaces, command)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    else:
        out = json.loads(args.json.read_text())
        text = report(out)
        print(text)
        if args.out:
            write_markdown(args.out, text)
        if args.figure:
            figure(out, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
