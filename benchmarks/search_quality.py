"""Search quality against exhaustively computed true Pareto fronts.

Usage::

    python benchmarks/search_quality.py --processes 2        # full benchmark (~50 min, 2 cores)
    python benchmarks/search_quality.py --quick              # small space, 3 seeds (< 60 s)
    python benchmarks/search_quality.py --spaces cnn-1e6 --methods nsga2 random \\
        "nsga2[pop_size=50,mutation_step_p=0.3]" --seeds 10 --budgets 0.001 0.01

Each benchmark is a design space plus one workload with objectives latency, energy and area. Its
true front is computed once by exhaustive vectorized evaluation of every design and cached
(``--cache``, default ``~/.cache/evodse/search_quality/``) under a key of the space, workload
and the cost model's output on a fixed sample of designs (a model change invalidates it).
Every method then gets the same number of evaluations, a fraction of the space (``--budgets``),
and its front (the non-dominated set of everything it evaluated) is scored in log-normalized
objective space (:mod:`evodse.search.indicators`): hypervolume ratio to the true front, IGD+,
and the fraction of true-front points recovered.

Methods: evodse's algorithms by name (``nsga2``, ``nsga3``, ``agemoea``, ``smsemoa``, ``random``
...) with options in brackets (``nsga2[pop_size=50,crossover_prob=0.5]``); ``sobol`` and ``lhs``
(scipy.stats.qmc over the index grid, duplicates dropped); ``optuna-nsga2`` and ``optuna-tpe``
(Optuna's NSGAIISampler and TPESampler, one trial per evaluation; needs the ``bench`` extra).

Every method except ``lhs`` evaluates the same designs in the same order whatever its budget,
so one run to the largest budget is scored at each smaller budget on its first evaluations
(identical to a separate shorter run); wall times are taken at those points too. Methods too
slow for a budget (see ``MAX_EVALUATIONS``) are skipped there and listed as such.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evodse.experiment.executors import one_blas_thread_per_process
from evodse.search.archive import non_dominated
from evodse.search.driver import Termination, new_state, run_search
from evodse.search.indicators import Normalization, hypervolume, igd_plus, recovered
from evodse.search.problem import AcceleratorProblem
from evodse.search.space import index_rows
from evodse.studies.network import NetworkProblem
from evodse.studies.partition import PartitionedProblem

DEFAULT_CACHE = Path("~/.cache/evodse/search_quality").expanduser()
OBJECTIVES = ("latency", "energy", "area")

_ARRAY = {"range": [8, 256], "step": 8}  # 32 array sizes: a fine ordered grid
BANDWIDTHS = [6.4, 12.8, 25.6, 51.2, 102.4, 204.8]
_CNN_SPACE = {  # resnet50 with 2 and 3 objectives
    "pe_rows": {"range": [8, 128], "step": 8},
    "pe_cols": {"range": [8, 128], "step": 8},
    "dataflow": ["ws", "os", "is", "auto"],
    "ifmap_sram_kib": {"pow2": [32, 4096]},
    "weight_sram_kib": {"pow2": [32, 4096]},
    "ofmap_sram_kib": {"pow2": [16, 128]},
    "dram_bandwidth_gbps": BANDWIDTHS,
}


@dataclass(frozen=True)
class Benchmark:
    """A design space and its workloads (several joined by ``+``); objectives latency, energy,
    area unless given. ``problem_class`` is the problem searched (a study's joint space:
    stage widths, a partition among workloads)."""

    name: str
    workload: str
    space: dict[str, Any]
    base: str = "edge"
    objectives: tuple[str | dict[str, Any], ...] = OBJECTIVES
    note: str = ""
    problem_class: type[AcceleratorProblem] = AcceleratorProblem

    @property
    def workloads(self) -> list[str]:
        return self.workload.split("+")

    def problem(self) -> AcceleratorProblem:
        return self.problem_class(
            workloads=self.workloads, base=self.base, space=self.space, objectives=self.objectives
        )

    def key(self) -> str:
        """Cache key: the benchmark's definition and a fingerprint of the cost model, the
        objective values of a fixed sample of the space's designs (any change to the model that
        moves them invalidates the cached front; unrelated source edits do not)."""
        problem = self.problem()
        sizes = np.asarray(problem.xu, dtype=np.int64) + 1
        rng = np.random.default_rng(20240601)
        sample = np.concatenate(
            [np.zeros((1, len(sizes)), np.int64), rng.integers(0, sizes, (FINGERPRINT, len(sizes)))]
        )
        digest = hashlib.sha256(
            json.dumps(
                [self.workload, self.space, self.base, self.objectives], sort_keys=True
            ).encode()
        )
        digest.update(np.ascontiguousarray(problem.evaluate_designs(sample).objectives).tobytes())
        return digest.hexdigest()[:16]


FINGERPRINT = 2048  # designs whose objective values key the cache


BENCHMARKS = {
    b.name: b
    for b in [
        Benchmark(
            "mobile-1e5",
            "mobilenet_v2",
            {
                "pe_rows": {"pow2": [4, 256]},
                "pe_cols": {"pow2": [4, 256]},
                "dataflow": ["ws", "os", "is"],
                "ifmap_sram_kib": {"pow2": [16, 2048]},
                "weight_sram_kib": {"pow2": [16, 2048]},
                "ofmap_sram_kib": {"pow2": [16, 64]},
                "dram_bandwidth_gbps": BANDWIDTHS[:5],
            },
            note="mobile CNN, powers of two",
        ),
        Benchmark(
            "cnn-1e6",
            "resnet50",
            _CNN_SPACE,
            note="large CNN, array sizes in steps of 8",
        ),
        Benchmark(
            "transformer-1e7",
            "bert_base",
            {
                "pe_rows": _ARRAY,
                "pe_cols": _ARRAY,
                "dataflow": ["ws", "os", "is"],
                "ifmap_sram_kib": {"pow2": [16, 4096]},
                "weight_sram_kib": {"pow2": [16, 4096]},
                "ofmap_sram_kib": {"pow2": [16, 128]},
                "dram_bandwidth_gbps": BANDWIDTHS,
                "vector_lanes": [16, 64],
            },
            note="transformer, array sizes in steps of 8",
        ),
        Benchmark(
            "cnn-1e6-2obj",
            "resnet50",
            _CNN_SPACE,
            objectives=("latency", "area"),
            note="cnn-1e6 with two objectives (which algorithm for two objectives)",
        ),
        Benchmark(
            "quick-1e4",
            "squeezenet1_1",
            {
                "pe_rows": {"pow2": [4, 128]},
                "pe_cols": {"pow2": [4, 128]},
                "dataflow": ["ws", "os", "is"],
                "ifmap_sram_kib": {"pow2": [16, 512]},
                "weight_sram_kib": {"pow2": [16, 512]},
                "dram_bandwidth_gbps": BANDWIDTHS[:4],
            },
            note="small space for --quick and the tests",
        ),
    ]
}
FULL = ("mobile-1e5", "cnn-1e6", "transformer-1e7")
#: Spaces too big to enumerate (10^11-10^13 designs): no true front; the anytime benchmark
#: (benchmarks/anytime.py) scores against the non-dominated union of every method's runs.
_HARDWARE = {  # the hardware part of the two joint spaces
    "pe_rows": {"range": [8, 128], "step": 8},
    "pe_cols": {"range": [8, 128], "step": 8},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [32, 2048]},
    "weight_sram_kib": {"pow2": [32, 2048]},
    "dram_bandwidth_gbps": BANDWIDTHS[:5],
}
BIG = {
    b.name: b
    for b in [
        Benchmark(
            "codesign-1e11",
            "resnet50",
            {**_HARDWARE, "widths": {"bound": 0.25, "multiple": 16}},
            objectives=("latency", "energy", "accuracy_proxy"),
            note="hardware plus ResNet-50's five stage widths (+-25%, multiples of 16); the"
            " capacity proxy maximized (evodse.studies.network)",
            problem_class=NetworkProblem,
        ),
        Benchmark(
            "multi-dnn-1e12",
            "resnet50+mobilenet_v2+bert_base",
            {
                "pe_rows": {"pow2": [16, 128]},
                "pe_cols": {"range": [32, 256], "step": 32},
                "dataflow": ["ws", "os", "is"],
                "ifmap_sram_kib": {"pow2": [64, 2048]},
                "weight_sram_kib": {"pow2": [64, 2048]},
                "dram_bandwidth_gbps": BANDWIDTHS[1:5],
                "partition": {"weights": 8},
            },
            objectives=("makespan", {"name": "energy", "aggregate": "sum"}, "area"),
            note="three DNNs at once on one accelerator partitioned among them: shared"
            " hardware plus array, SRAM and bandwidth shares per DNN (evodse.studies.partition)",
            problem_class=PartitionedProblem,
        ),
        Benchmark(
            "fine-1e13",
            "resnet50",
            {
                "pe_rows": {"range": [8, 256], "step": 8},
                "pe_cols": {"range": [8, 256], "step": 8},
                "dataflow": ["ws", "os", "is"],
                "ifmap_sram_kib": {"range": [16, 2048], "step": 16},
                "weight_sram_kib": {"range": [16, 2048], "step": 16},
                "ofmap_sram_kib": {"range": [16, 256], "step": 16},
                "dram_bandwidth_gbps": {"range": [3.2, 204.8], "step": 3.2},
                "frequency_mhz": {"range": [200, 1200], "step": 25},
                "vector_lanes": [16, 32, 64],
            },
            note="nine parameters in fine steps: SRAMs in 16 KiB, bandwidth in 3.2 GB/s, clock"
            " in 25 MHz",
        ),
    ]
}

DEFAULT_METHODS = (
    "surrogate",
    "nsga2",
    "nsga2[pop_size=100]",
    "smsemoa",
    "nsga3",
    "agemoea",
    "random",
    "sobol",
    "lhs",
    "optuna-nsga2",
    "optuna-tpe",
)
QUICK_METHODS = ("surrogate", "nsga2", "smsemoa", "random", "sobol", "lhs")
#: Evaluations beyond which a method (full spec, else name) is not run, to keep the full
#: benchmark within an hour on two cores: AGE-MOEA's survival and Optuna's samplers cost more
#: per evaluation as the run grows (TPE roughly quadratically: 600 trials take about a minute);
#: the surrogate refits on up to 2,000 designs and scores 20,000 candidates per step.
MAX_EVALUATIONS = {
    "surrogate": 12_000,
    "nsga2[pop_size=100]": 16_000,
    "nsga3": 16_000,
    "agemoea": 12_000,
    "optuna-nsga2": 2_000,
    "optuna-tpe": 1_000,
}


def evaluation_cap(spec: str) -> float:
    return MAX_EVALUATIONS.get(spec, MAX_EVALUATIONS.get(parse_method(spec)[0], math.inf))


@contextlib.contextmanager
def worker_pool(processes: int) -> Iterator[multiprocessing.pool.Pool]:
    """A pool of ``processes`` fresh (spawned) workers with one BLAS thread each: the runs are
    parallel over seeds already (:func:`one_blas_thread_per_process`)."""
    with one_blas_thread_per_process():
        pool = multiprocessing.get_context("spawn").Pool(processes)  # the workers start here
    with pool:
        yield pool


# ----------------------------------------------------------------------------- true fronts


@dataclass
class TrueFront:
    X: np.ndarray
    objectives: np.ndarray
    space_size: int
    seconds: float  # exhaustive evaluation time (when computed; cached value otherwise)
    cached: bool = False


def _front_of_range(args: tuple[str, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Non-dominated (X, objectives) of the designs with flat indices [start, stop)."""
    name, start, stop, chunk = args
    problem = BENCHMARKS[name].problem()
    sizes = np.asarray(problem.xu, dtype=np.int64) + 1
    X_front = np.zeros((0, problem.n_var), dtype=np.int64)
    F_front = np.zeros((0, problem.n_obj))
    O_front = np.zeros((0, problem.n_obj))
    for lo in range(start, stop, chunk):
        ev = problem.evaluate_designs(index_rows(np.arange(lo, min(lo + chunk, stop)), sizes))
        X = np.concatenate([X_front, ev.X])
        F = np.concatenate([F_front, ev.F])
        O = np.concatenate([O_front, ev.objectives])  # noqa: E741
        keep = non_dominated(F)
        X_front, F_front, O_front = X[keep], F[keep], O[keep]
    return X_front, O_front


def true_front(
    bench: Benchmark, cache: Path, processes: int = 1, chunk: int = 50_000, log=print
) -> TrueFront:
    """The exhaustive front of ``bench`` (from the cache when there)."""
    path = cache / f"{bench.name}-{bench.key()}.npz"
    if path.exists():
        data = np.load(path)
        return TrueFront(
            data["X"], data["objectives"], int(data["space_size"]), float(data["seconds"]), True
        )
    problem = bench.problem()
    size = problem.space_size
    log(f"[{bench.name}] exhaustive evaluation of {size:,} designs ({processes} process(es))")
    start = time.perf_counter()
    pieces = max(1, min(4 * processes, math.ceil(size / chunk)))
    bounds = np.linspace(0, size, pieces + 1).astype(np.int64)
    jobs = [(bench.name, int(a), int(b), chunk) for a, b in itertools.pairwise(bounds)]
    if processes > 1:
        with worker_pool(processes) as pool:
            parts = pool.map(_front_of_range, jobs)
    else:
        parts = [_front_of_range(j) for j in jobs]
    X = np.concatenate([p[0] for p in parts])
    O = np.concatenate([p[1] for p in parts])  # noqa: E741
    keep = np.sort(non_dominated(_log_objectives(O, problem)))
    seconds = time.perf_counter() - start
    front = TrueFront(X[keep], O[keep], size, seconds)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, X=front.X, objectives=front.objectives, space_size=size, seconds=seconds
    )
    tmp.replace(path)
    log(f"[{bench.name}] true front: {len(keep)} designs in {seconds:.0f} s -> {path}")
    return front


def _maximize(problem: AcceleratorProblem) -> list[bool]:
    return [o.maximize for o in problem.objective_list]


def _log_objectives(objectives: np.ndarray, problem: AcceleratorProblem) -> np.ndarray:
    sign = np.where(np.asarray(_maximize(problem)), -1.0, 1.0)
    return sign * np.log10(objectives)


# ----------------------------------------------------------------------------- methods


@dataclass
class Trace:
    """What a method evaluated, in order, and the wall time after each evaluation count."""

    objectives: np.ndarray  # (n, n_obj), evaluation order (repeats included for Optuna)
    marks: list[tuple[int, float]] = field(default_factory=list)  # (evaluations, seconds)

    def seconds_at(self, n: int) -> float:
        for count, seconds in self.marks:
            if count >= n:
                return seconds
        return self.marks[-1][1] if self.marks else float("nan")


def parse_method(spec: str) -> tuple[str, dict[str, Any]]:
    """``nsga2[pop_size=50,crossover_prob=0.5]`` -> ("nsga2", {...})."""
    match = re.fullmatch(r"([\w-]+)(?:\[(.*)\])?", spec.strip())
    if not match:
        raise ValueError(f"bad method {spec!r}; expected name or name[key=value,...]")
    name, body = match.groups()
    options: dict[str, Any] = {}
    for item in filter(None, (body or "").split(",")):
        key, _, value = item.partition("=")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[key.strip()] = value.strip()
    return name, options


def run_evodse(
    problem: AcceleratorProblem, algorithm: str, options: dict, budget: int, seed: int
) -> Trace:
    marks: list[tuple[int, float]] = []
    start = time.perf_counter()
    state = new_state(problem, algorithm, options, seed)

    def mark(s) -> None:
        marks.append((len(s.archive), time.perf_counter() - start))

    run_search(state, Termination(evaluations=budget), on_generation=mark)
    return Trace(state.archive.column("objectives")[:budget], marks)


def _unique_rows_in_order(X: np.ndarray) -> np.ndarray:
    _, first = np.unique(X, axis=0, return_index=True)
    return X[np.sort(first)]


def run_qmc(problem: AcceleratorProblem, kind: str, budget: int, seed: int) -> Trace:
    """Sobol or Latin-hypercube points mapped to the index grid, duplicates dropped."""
    from scipy.stats import qmc

    start = time.perf_counter()
    sizes = np.asarray(problem.xu, dtype=np.int64) + 1
    d = len(sizes)
    budget = min(budget, problem.space_size)
    if kind == "sobol":
        engine = qmc.Sobol(d, scramble=True, seed=seed)
    else:
        engine = qmc.LatinHypercube(d, seed=seed)
    X = np.zeros((0, d), dtype=np.int64)
    want = budget
    while len(X) < budget:
        if kind == "sobol":
            U = engine.random(2 ** math.ceil(math.log2(max(want, 2))))
        else:
            U = engine.random(want)
        new = np.minimum((U * sizes).astype(np.int64), sizes - 1)
        X = _unique_rows_in_order(np.concatenate([X, new]))
        want = budget - len(X)
    X = X[:budget]
    objectives, marks = [], []
    for lo in range(0, budget, 4096):
        objectives.append(problem.evaluate_designs(X[lo : lo + 4096]).objectives)
        marks.append((min(lo + 4096, budget), time.perf_counter() - start))
    return Trace(np.concatenate(objectives), marks)


def optuna_available() -> bool:
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


def optuna_trials(problem: AcceleratorProblem, kind: str, seed: int) -> Iterator[np.ndarray]:
    """Optuna's NSGA-II or TPE sampler, one trial per evaluation: ordered parameters as
    integer indices (so the sampler sees their order), categorical ones as categories. Yields
    each trial's objectives (true values), endlessly."""
    import optuna
    from optuna.distributions import CategoricalDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = problem.design_space.parameters
    distributions = {
        p.name: CategoricalDistribution(list(range(p.size)))
        if p.categorical
        else IntDistribution(0, p.size - 1)
        for p in params
    }
    if kind == "optuna-nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)
    directions = ["maximize" if m else "minimize" for m in _maximize(problem)]
    study = optuna.create_study(directions=directions, sampler=sampler)
    while True:
        trial = study.ask(distributions)
        x = np.asarray([[trial.params[p.name] for p in params]], dtype=np.int64)
        objectives = problem.evaluate_designs(x).objectives[0]
        study.tell(trial, objectives.tolist())
        yield objectives


def run_optuna(problem: AcceleratorProblem, kind: str, budget: int, seed: int) -> Trace:
    """``budget`` trials of :func:`optuna_trials`."""
    start = time.perf_counter()
    objectives = np.zeros((budget, problem.n_obj))
    marks = []
    for i, trial in zip(range(budget), optuna_trials(problem, kind, seed), strict=False):
        objectives[i] = trial
        if (i + 1) % 100 == 0 or i + 1 == budget:
            marks.append((i + 1, time.perf_counter() - start))
    return Trace(objectives, marks)


def run_method(spec: str, problem: AcceleratorProblem, budget: int, seed: int) -> Trace:
    name, options = parse_method(spec)
    if name in ("sobol", "lhs"):
        return run_qmc(problem, name, budget, seed)
    if name in ("optuna-nsga2", "optuna-tpe"):
        return run_optuna(problem, name, budget, seed)
    return run_evodse(problem, name, options, budget, seed)


# ----------------------------------------------------------------------------- scoring


@dataclass
class Scorer:
    """Indicators against one true front."""

    truth: np.ndarray
    maximize: list[bool]

    def __post_init__(self) -> None:
        self.norm = Normalization.of(self.truth, self.maximize)
        self.hv_true = hypervolume(self.truth, self.norm)

    def front(self, objectives: np.ndarray) -> np.ndarray:
        sign = np.where(np.asarray(self.maximize), -1.0, 1.0)
        return objectives[non_dominated(sign * np.log10(objectives))]

    def score(self, front: np.ndarray) -> dict[str, float]:
        return {
            "hv_ratio": hypervolume(front, self.norm) / self.hv_true,
            "igd_plus": igd_plus(front, self.truth, self.norm),
            "recovered": recovered(front, self.truth),
        }

    def curve(self, objectives: np.ndarray, points: Sequence[int]) -> list[tuple[int, float]]:
        """Hypervolume ratio of the first ``k`` evaluations for each ``k`` in ``points``."""
        out, front, done = [], objectives[:0], 0
        for k in points:
            front = self.front(np.concatenate([front, objectives[done:k]]))
            done = k
            out.append((int(k), hypervolume(front, self.norm) / self.hv_true))
        return out


def curve_points(budget: int, n: int = 16) -> list[int]:
    return sorted({round(float(v)) for v in np.geomspace(min(20, budget), budget, n)})


def evaluate_method(
    bench: Benchmark,
    problem: AcceleratorProblem,
    scorer: Scorer,
    spec: str,
    budgets: Sequence[int],
    seed: int,
) -> list[dict[str, Any]]:
    """Scores of one method and seed at every budget it can afford."""
    name, _ = parse_method(spec)
    cap = evaluation_cap(spec)
    affordable = [b for b in budgets if b <= cap]
    records = []
    if not affordable:
        return records
    runs = (
        [(b, run_method(spec, problem, b, seed)) for b in affordable]
        if name == "lhs"  # a Latin hypercube depends on its size
        else [(None, run_method(spec, problem, max(affordable), seed))]
    )
    for budget in affordable:
        trace = next(t for b, t in runs if b in (None, budget))
        objectives = trace.objectives[:budget]
        scores = scorer.score(scorer.front(objectives))
        records.append(
            {
                "benchmark": bench.name,
                "method": spec,
                "seed": seed,
                "budget": budget,
                "budget_fraction": budget / problem.space_size,
                "evaluations": len(objectives),
                **scores,
                "wall_s": trace.seconds_at(budget),
                "curve": scorer.curve(objectives, curve_points(budget)),
            }
        )
    return records


def _worker(args: tuple) -> list[dict[str, Any]]:
    bench_name, spec, budgets, seed, truth = args
    bench = BENCHMARKS[bench_name]
    problem = bench.problem()
    scorer = Scorer(truth, _maximize(problem))
    return evaluate_method(bench, problem, scorer, spec, budgets, seed)


def run_benchmark(
    benchmarks: Sequence[str],
    methods: Sequence[str],
    fractions: Sequence[float],
    seeds: int,
    cache: Path = DEFAULT_CACHE,
    processes: int = 1,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every method on every benchmark; records plus per-benchmark facts."""
    methods = list(methods)
    if any(parse_method(m)[0].startswith("optuna") for m in methods) and not optuna_available():
        log("optuna is not installed (pip install 'evodse[bench]'): skipping optuna-* methods")
        methods = [m for m in methods if not parse_method(m)[0].startswith("optuna")]
    out: dict[str, Any] = {"benchmarks": {}, "records": [], "skipped": []}
    for name in benchmarks:
        bench = BENCHMARKS[name]
        problem = bench.problem()
        front = true_front(bench, cache, processes=processes, log=log)
        budgets = sorted({max(1, round(f * front.space_size)) for f in fractions})
        out["benchmarks"][name] = {
            "workload": bench.workload,
            "space_size": front.space_size,
            "parameters": {p.name: len(p.values) for p in problem.design_space.parameters},
            "true_front_size": len(front.objectives),
            "exhaustive_s": round(front.seconds, 1),
            "budgets": budgets,
            "note": bench.note,
        }
        for spec in methods:
            cap = evaluation_cap(spec)
            out["skipped"] += [
                {"benchmark": name, "method": spec, "budget": b} for b in budgets if b > cap
            ]
            jobs = [(name, spec, budgets, seed, front.objectives) for seed in range(seeds)]
            started = time.perf_counter()
            if processes > 1:
                with worker_pool(processes) as pool:
                    results = pool.map(_worker, jobs)
            else:
                results = [_worker(j) for j in jobs]
            records = [r for rs in results for r in rs]
            out["records"] += records
            for budget in budgets:
                rows = [r for r in records if r["budget"] == budget]
                if rows:
                    hv = np.median([r["hv_ratio"] for r in rows])
                    igd = np.median([r["igd_plus"] for r in rows])
                    log(
                        f"[{name}] {spec:40s} {budget:>7} evals: hv {hv:.4f} igd+ {igd:.4f}"
                        f" ({time.perf_counter() - started:.0f} s for {seeds} seeds)"
                    )
    return out


# ----------------------------------------------------------------------------- reports


def summarize(out: dict[str, Any]) -> list[dict[str, Any]]:
    """Median and quartiles per (benchmark, budget, method)."""
    rows = []
    keys = []
    for r in out["records"]:
        key = (r["benchmark"], r["budget"], r["method"])
        if key not in keys:
            keys.append(key)
    for bench, budget, method in keys:
        rs = [
            r
            for r in out["records"]
            if (r["benchmark"], r["budget"], r["method"]) == (bench, budget, method)
        ]
        row = {"benchmark": bench, "budget": budget, "method": method, "seeds": len(rs)}
        row["budget_fraction"] = rs[0]["budget_fraction"]
        for metric in ("hv_ratio", "igd_plus", "recovered", "wall_s"):
            values = np.asarray([r[metric] for r in rs], dtype=float)
            q1, med, q3 = np.percentile(values, [25, 50, 75])
            row[metric] = {"median": float(med), "q1": float(q1), "q3": float(q3)}
        rows.append(row)
    for row in rows:
        base = next(
            (
                r
                for r in rows
                if (r["benchmark"], r["budget"], r["method"])
                == (row["benchmark"], row["budget"], "random")
            ),
            None,
        )
        if base is not None and base["igd_plus"]["median"] > 0:
            row["igd_vs_random"] = row["igd_plus"]["median"] / base["igd_plus"]["median"]
        else:
            row["igd_vs_random"] = None
        row["goal"] = bool(
            row["igd_vs_random"] is not None
            and row["igd_vs_random"] <= 0.5
            and row["hv_ratio"]["median"] >= 0.99
        )
    return rows


def _fmt(stat: dict[str, float], digits: int) -> str:
    return f"{stat['median']:.{digits}f} [{stat['q1']:.{digits}f}-{stat['q3']:.{digits}f}]"


def markdown(out: dict[str, Any], command: str) -> str:
    """The results table (one section per benchmark and budget)."""
    rows = summarize(out)
    lines = [f"Regenerate: `{command}`", ""]
    lines.append(
        "| benchmark | workload | designs | true front | exhaustive s | budgets (evaluations) |"
    )
    lines.append("|---|---|---:|---:|---:|---|")
    for name, b in out["benchmarks"].items():
        lines.append(
            f"| {name} | {b['workload']} | {b['space_size']:,} | {b['true_front_size']:,} | "
            f"{b['exhaustive_s']:.0f} | {', '.join(f'{x:,}' for x in b['budgets'])} |"
        )
    lines.append("")
    lines.append(
        "Median [interquartile range] over seeds. HV: hypervolume ratio to the true front; "
        "IGD+ and its ratio to random sampling's median (lower is better); recovered: "
        "fraction of true-front points found; goal: HV >= 0.99 and IGD+ <= 0.5 x random."
    )
    for bench in out["benchmarks"]:
        for budget in out["benchmarks"][bench]["budgets"]:
            group = [r for r in rows if r["benchmark"] == bench and r["budget"] == budget]
            if not group:
                continue
            pct = 100 * group[0]["budget_fraction"]
            seeds = max(r["seeds"] for r in group)
            lines += [
                "",
                f"**{bench}, {budget:,} evaluations ({pct:.2g}% of the space), {seeds} seeds**",
                "",
                "| method | HV ratio | IGD+ | IGD+ / random | recovered | wall s | goal |",
                "|---|---|---|---:|---|---:|:-:|",
            ]
            for r in group:
                ratio = "" if r["igd_vs_random"] is None else f"{r['igd_vs_random']:.2f}"
                label = (
                    r["method"] if r["seeds"] == seeds else f"{r['method']} ({r['seeds']} seeds)"
                )
                lines.append(
                    f"| {label} | {_fmt(r['hv_ratio'], 4)} | {_fmt(r['igd_plus'], 4)} | "
                    f"{ratio} | {_fmt(r['recovered'], 3)} | {r['wall_s']['median']:.2f} | "
                    f"{'yes' if r['goal'] else 'no'} |"
                )
    skipped = out.get("skipped", [])
    if skipped:
        lines += ["", "Not run (too slow for 10 seeds at that budget; `MAX_EVALUATIONS`):"]
        lines.append(
            ", ".join(f"{s['method']} on {s['benchmark']} at {s['budget']:,}" for s in skipped)
        )
    return "\n".join(lines) + "\n"


BEGIN = "<!-- search_quality results: begin (generated) -->"
END = "<!-- search_quality results: end -->"


def write_markdown(path: Path, table: str) -> None:
    """Write ``table`` between the BEGIN and END markers of ``path`` (the rest of the document
    is kept), or as the whole file when it has no markers."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = f"{head}{BEGIN}\n{table}{END}{tail}"
    else:
        text = table
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


GAP_FLOOR = 1e-4  # the figure's smallest hypervolume gap (an exact front has gap 0)


def figure(out: dict[str, Any], path: Path) -> None:
    """Per benchmark, against evaluations, median and interquartile band per method: the
    hypervolume ratio (top) and the gap to the true front, 1 - ratio, on a log scale with the
    goal's 0.01 marked (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(out["benchmarks"])
    fig, axes = plt.subplots(
        2, len(names), figsize=(4.6 * len(names), 6.6), squeeze=False, sharex="col"
    )
    methods = list(dict.fromkeys(r["method"] for r in out["records"]))
    colours = plt.get_cmap("tab10")
    for col, name in enumerate(names):
        ratio_ax, gap_ax = axes[0][col], axes[1][col]
        for i, method in enumerate(methods):
            rs = [r for r in out["records"] if r["benchmark"] == name and r["method"] == method]
            if not rs:
                continue
            top = max(r["budget"] for r in rs)
            curves = [r["curve"] for r in rs if r["budget"] == top]
            k = np.asarray([p[0] for p in curves[0]])
            hv = np.asarray([[p[1] for p in c] for c in curves])
            q1, med, q3 = np.percentile(hv, [25, 50, 75], axis=0)
            line = {"color": colours(i % 10), "ls": ("-", "--", ":")[(i // 10) % 3], "lw": 1.4}
            ratio_ax.plot(k, med, label=method, **line)
            ratio_ax.fill_between(k, q1, q3, color=colours(i % 10), alpha=0.2, lw=0)
            gap = [np.maximum(1.0 - q, GAP_FLOOR) for q in (q1, med, q3)]
            gap_ax.plot(k, gap[1], **line)
            gap_ax.fill_between(k, gap[2], gap[0], color=colours(i % 10), alpha=0.2, lw=0)
        for ax in (ratio_ax, gap_ax):
            for b in out["benchmarks"][name]["budgets"]:
                ax.axvline(b, color="grey", lw=0.6, ls=":")
            ax.set_xscale("log")
            ax.grid(alpha=0.3)
        ratio_ax.set_ylim(0.6, 1.005)
        ratio_ax.set_title(
            f"{name} ({out['benchmarks'][name]['space_size']:,} designs)", fontsize=9
        )
        gap_ax.axhline(0.01, color="black", lw=0.8, ls="--")
        gap_ax.set_yscale("log")
        gap_ax.set_ylim(GAP_FLOOR, 0.5)
        gap_ax.set_xlabel("evaluations")
    axes[0][0].set_ylabel("hypervolume ratio to true front")
    axes[1][0].set_ylabel("gap, 1 - ratio (goal: < 0.01, dashed)")
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(len(handles), 6))
    fig.tight_layout(rect=(0, 0.035 * math.ceil(len(handles) / 6), 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_results(path: Path, out: dict[str, Any]) -> None:
    """The raw results as compact JSON, one record per line (``--load`` reads them back)."""
    head = {k: v for k, v in out.items() if k != "records"}
    records = ",\n".join(json.dumps(r, separators=(",", ":")) for r in out["records"])
    text = json.dumps(head, indent=1)[:-2] + ',\n "records": [\n' + records + "\n ]\n}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def merge(outs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One result from several ``--json`` files (e.g. a new method run on its own, or a method
    re-run after a change): the records of a (benchmark, method, budget) present in an earlier
    file replace all of that group's records in later files (so a re-run with fewer seeds is
    not mixed with the old run's other seeds)."""
    merged: dict[str, Any] = {"benchmarks": {}, "records": [], "skipped": [], "total_s": 0.0}
    seen: set[tuple] = set()
    for out in outs:
        for name, facts in out["benchmarks"].items():
            into = merged["benchmarks"].setdefault(name, dict(facts))
            into["budgets"] = sorted({*into["budgets"], *facts["budgets"]})
        groups = {(r["benchmark"], r["method"], r["budget"]) for r in out["records"]}
        merged["records"] += [
            r for r in out["records"] if (r["benchmark"], r["method"], r["budget"]) not in seen
        ]
        seen |= groups
        merged["skipped"] += [s for s in out.get("skipped", []) if s not in merged["skipped"]]
        merged["total_s"] += out.get("total_s", 0.0)
    order = list(BENCHMARKS)  # the benchmarks in their usual order, whichever file came first
    merged["benchmarks"] = dict(
        sorted(
            merged["benchmarks"].items(),
            key=lambda item: order.index(item[0]) if item[0] in order else len(order),
        )
    )
    merged["command"] = "; ".join(out["command"] for out in outs)
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small space, 3 seeds (< 60 s)")
    parser.add_argument("--spaces", nargs="+", choices=list(BENCHMARKS), default=None)
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--budgets", nargs="+", type=float, default=None)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=None, help="markdown table")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument(
        "--load",
        type=Path,
        nargs="+",
        default=None,
        help="redraw --out/--figure from saved --json files (several are merged, first wins;"
        " --json then writes the merged results)",
    )
    args = parser.parse_args(argv)
    if args.load:
        out = merge([json.loads(path.read_text()) for path in args.load])
        if args.out:
            write_markdown(args.out, markdown(out, out["command"]))
        if args.figure:
            figure(out, args.figure)
        if args.json:
            write_results(args.json, out)
        return 0
    spaces = args.spaces or (["quick-1e4"] if args.quick else list(FULL))
    methods = args.methods or list(QUICK_METHODS if args.quick else DEFAULT_METHODS)
    seeds = args.seeds or (3 if args.quick else 10)
    budgets = args.budgets or ([0.01, 0.05] if args.quick else [0.001, 0.01])
    started = time.perf_counter()
    out = run_benchmark(spaces, methods, budgets, seeds, args.cache, args.processes)
    out["total_s"] = time.perf_counter() - started
    out["command"] = "python benchmarks/search_quality.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    print(markdown(out, out["command"]))
    if args.out:
        write_markdown(args.out, markdown(out, out["command"]))
    if args.json:
        write_results(args.json, out)
    if args.figure:
        figure(out, args.figure)
    print(f"total {out['total_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
