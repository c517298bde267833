"""Why the surrogate misses: its prediction error per objective next to the true front's span;
and what it costs per evaluation.

Usage::

    python benchmarks/surrogate_diagnostics.py                   # mobile-1e5, 10 seeds (~6 min)
    python benchmarks/surrogate_diagnostics.py --space quick-1e4 --seeds 3 --evaluations 60
    python benchmarks/surrogate_diagnostics.py --overhead --json overhead.json   # (~1 min)

``--overhead``: the surrogate's own CPU time per evaluation (its model fits, candidate pool
and selection: everything but the cost model), on ``fine-1e13`` (nine parameters, too big to
enumerate) by default at 150 evaluations, seeds 0..``--seeds``-1 (default 5 here): the run's
process CPU time minus the CPU time inside ``problem.evaluate_designs``, divided by the
evaluations. ``--json`` appends the raw per-seed results under ``--label`` (default: the git
commit) to that file, so measurements of two versions of the code sit side by side;
``--overhead --load FILE`` prints their table.

For one space of ``benchmarks/search_quality.py``, evaluated exhaustively here (keep it to about
10^6 designs), it prints three tables:

1. **Front**: per objective, the span of the true front (largest / smallest true value) and of
   the whole space; the size of the true front and of each two-objective front (the front of
   the space in those two objectives alone): a two-objective front of few designs means that
   few designs decide that trade-off.
2. **Additivity**: the share of the variance of each log objective, and of the log of each part
   the surrogate models (:class:`~evodse.search.objectives.Composite`: energy as DRAM plus
   on-chip energy), explained by the parameters' main effects and by main effects plus
   pairwise interactions (least squares on one-hot parameter levels, fitted and scored on up
   to ``--sample`` designs drawn without replacement). What pairwise interactions leave
   unexplained is what a model fitted to a few hundred designs finds hardest.
3. **Prediction error**: evodse's surrogate search is run ``--evaluations`` evaluations per
   seed; its model (:meth:`SurrogateSearch.predict`) is then scored on the true-front designs
   and on the near-front band (designs whose additive-epsilon distance to the true front is at
   most ``--band`` in the log space normalized by the true front, the space of the benchmark's
   indicators). Errors are RMSE of log10 values, also as a fraction of the true front's log10
   span, mean over seeds; for the defaults, without the parts (``composite: false``) and
   without the per-parameter weights (``ard: false``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from search_quality import BENCHMARKS, BIG
from search_quality import _log_objectives as log_objectives

from evodse.search.archive import non_dominated
from evodse.search.driver import Termination, new_state, run_search
from evodse.search.problem import AcceleratorProblem
from evodse.search.space import index_rows
from evodse.search.surrogate import epsilon_gain

CHUNK = 50_000  # designs per vectorized evaluation


VARIANTS = {"defaults": {}, "composite: false": {"composite": False}, "ard: false": {"ard": False}}


def all_designs(problem: AcceleratorProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every design of the space (index rows), its log objectives (minimized) and the log10 of
    the parts of its objectives (``problem.composition``)."""
    X = index_rows(np.arange(problem.space_size), np.asarray(problem.xu, dtype=np.int64) + 1)
    objectives, parts = [], []
    for i in range(0, len(X), CHUNK):
        ev = problem.evaluate_designs(X[i : i + CHUNK])
        objectives.append(ev.objectives)
        parts.append(problem.composition.values(ev.objectives, ev.metrics))
    objectives = np.concatenate(objectives)
    return X, log_objectives(objectives, problem), np.log10(np.concatenate(parts))


def explained_variance(X: np.ndarray, L: np.ndarray, *, pairs: bool) -> np.ndarray:
    """R^2 per column of ``L`` of least squares on one-hot levels of each parameter (and of
    each pair of parameters when ``pairs``)."""
    sizes = X.max(axis=0) + 1
    groups = (
        [X[:, a] * sizes[b] + X[:, b] for a, b in itertools.combinations(range(X.shape[1]), 2)]
        if pairs
        else list(X.T)
    )
    A = np.hstack([np.ones((len(X), 1))] + [np.eye(int(g.max()) + 1)[g] for g in groups])
    coef, *_ = np.linalg.lstsq(A, L, rcond=None)
    return 1.0 - (L - A @ coef).var(axis=0) / L.var(axis=0)


def prediction_rmse(
    problem: AcceleratorProblem,
    X: np.ndarray,
    L: np.ndarray,
    targets: Sequence[np.ndarray],
    *,
    evaluations: int,
    seed: int,
    options: dict,
) -> list[np.ndarray]:
    """Per target set (row indices into ``X``, every design of the space, and ``L``, their log
    objectives): RMSE per objective of the surrogate's log10 prediction after a surrogate
    search of ``evaluations`` evaluations with ``options``."""
    state = new_state(problem, "surrogate", options, seed)
    run_search(state, Termination(evaluations=evaluations))
    out = []
    for rows in targets:
        predicted = state.algorithm.predict(state.archive, X[rows])
        out.append(np.sqrt(((predicted - L[rows]) ** 2).mean(axis=0)))
    return out


def overhead(problem: AcceleratorProblem, *, evaluations: int, seed: int) -> dict[str, float]:
    """One surrogate run of ``evaluations``: CPU seconds in all and inside the cost model."""
    model_s = 0.0
    evaluate = problem.evaluate_designs

    def timed(X: np.ndarray):
        nonlocal model_s
        start = time.process_time()
        try:
            return evaluate(X)
        finally:
            model_s += time.process_time() - start

    problem.evaluate_designs = timed  # the archive's evaluator calls the instance's method
    try:
        start = time.process_time()
        state = new_state(problem, "surrogate", {}, seed)
        run_search(state, Termination(evaluations=evaluations))
        total_s = time.process_time() - start
    finally:
        del problem.evaluate_designs
    n = len(state.archive)
    return {
        "seed": seed,
        "evaluations": n,
        "cpu_s": total_s,
        "model_cpu_s": model_s,
        "overhead_ms_per_evaluation": 1e3 * (total_s - model_s) / n,
    }


def git_commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()


def overhead_table(out: dict) -> str:
    """One row per measurement: median [range] over seeds of the overhead per evaluation."""
    lines = [
        "| measurement | space (parameters) | evaluations | seeds | overhead ms per evaluation,"
        " median [min-max] | CPU s per run (cost model) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in out["measurements"]:
        ms = [r["overhead_ms_per_evaluation"] for r in m["runs"]]
        cpu = np.median([r["cpu_s"] for r in m["runs"]])
        model = np.median([r["model_cpu_s"] for r in m["runs"]])
        lines.append(
            f"| {m['label']} | {m['space']} ({m['parameters']}) | {m['evaluations']} | "
            f"{len(ms)} | {np.median(ms):.1f} [{min(ms):.1f}-{max(ms):.1f}] | "
            f"{cpu:.1f} ({model:.2f}) |"
        )
    return "\n".join(lines) + "\n"


def overhead_main(args: argparse.Namespace) -> int:
    if args.load:
        print(overhead_table(json.loads(args.load.read_text())), end="")
        return 0
    bench = {**BENCHMARKS, **BIG}[args.space]
    problem = bench.problem()
    runs = []
    for seed in range(args.seeds):
        runs.append(overhead(problem, evaluations=args.evaluations, seed=seed))
        print(
            f"[{bench.name} seed {seed}] {runs[-1]['overhead_ms_per_evaluation']:.1f} ms per"
            f" evaluation ({runs[-1]['cpu_s']:.1f} s CPU)",
            flush=True,
        )
    label = args.label or git_commit()
    median = float(np.median([r["overhead_ms_per_evaluation"] for r in runs]))
    print(f"{label}: median {median:.1f} ms per evaluation over {len(runs)} seeds")
    if args.json:
        out = json.loads(args.json.read_text()) if args.json.exists() else {"measurements": []}
        out["measurements"].append(
            {
                "label": label,
                "space": bench.name,
                "parameters": problem.n_var,
                "evaluations": args.evaluations,
                "runs": runs,
            }
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", choices=[*BENCHMARKS, *BIG], default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--evaluations", type=int, default=None)
    parser.add_argument("--band", type=float, default=0.03)
    parser.add_argument("--sample", type=int, default=30_000)
    parser.add_argument("--overhead", action="store_true", help="the surrogate's cost instead")
    parser.add_argument("--json", type=Path, default=None, help="--overhead: append results")
    parser.add_argument("--label", default=None, help="--overhead: name of the measurement")
    parser.add_argument("--load", type=Path, default=None, help="--overhead: print the table")
    args = parser.parse_args(argv)
    if args.overhead:
        args.space = args.space or "fine-1e13"
        args.seeds = args.seeds or 5
        args.evaluations = args.evaluations or 150
        return overhead_main(args)
    args.space = args.space or "mobile-1e5"
    args.seeds = args.seeds or 10
    args.evaluations = args.evaluations or 141
    if args.space not in BENCHMARKS:
        parser.error(f"--space {args.space}: the error tables need an enumerable space")

    bench = BENCHMARKS[args.space]
    problem = bench.problem()
    names = [o.column for o in problem.objective_list]
    X, L, P = all_designs(problem)
    front = np.sort(non_dominated(L))
    lo, hi = L[front].min(axis=0), L[front].max(axis=0)
    span = hi - lo
    distance = -epsilon_gain((L - lo) / span, (L[front] - lo) / span)
    band = np.flatnonzero(distance <= args.band)

    print(f"## {bench.name}: {len(L):,} designs, true front {len(front)}, band {len(band)}\n")
    print("| objective | front span | space span |")
    print("|---|---:|---:|")
    for j, name in enumerate(names):
        print(f"| {name} | {10 ** span[j]:.3g}x | {10 ** np.ptp(L[:, j]):.3g}x |")
    print("\n| two-objective front | designs |")
    print("|---|---:|")
    for a, b in itertools.combinations(range(len(names)), 2):
        print(f"| {names[a]}, {names[b]} | {len(non_dominated(L[:, [a, b]]))} |")

    rng = np.random.default_rng(0)
    sample = rng.choice(len(L), size=min(args.sample, len(L)), replace=False)
    parts = problem.composition.parts
    split = [k for k, p in enumerate(parts) if isinstance(p, str)]  # parts that are not objectives
    targets = np.concatenate([L, P[:, split]], axis=1)[sample]
    labels = [*names, *(parts[k] for k in split)]
    main_r2 = explained_variance(X[sample], targets, pairs=False)
    pair_r2 = explained_variance(X[sample], targets, pairs=True)
    print(f"\n| log of | R^2 main effects | R^2 + pairwise ({len(sample):,} designs) |")
    print("|---|---:|---:|")
    for j, name in enumerate(labels):
        print(f"| {name} | {main_r2[j]:.3f} | {pair_r2[j]:.3f} |")

    print(
        f"\nSurrogate after {args.evaluations} evaluations, RMSE of log10 values (as a fraction"
        f" of the front's log10 span), mean over {args.seeds} seeds:\n"
    )
    print("| model | objective | on the true front | on the band |")
    print("|---|---|---:|---:|")
    for variant, options in VARIANTS.items():
        runs = [
            prediction_rmse(
                problem,
                X,
                L,
                [front, band],
                evaluations=args.evaluations,
                seed=seed,
                options=options,
            )
            for seed in range(args.seeds)
        ]
        on_front, on_band = (np.mean([r[k] for r in runs], axis=0) for k in (0, 1))
        for j, name in enumerate(names):
            print(
                f"| {variant} | {name} | {on_front[j]:.4f} ({on_front[j] / span[j]:.2f})"
                f" | {on_band[j]:.4f} ({on_band[j] / span[j]:.2f}) |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
