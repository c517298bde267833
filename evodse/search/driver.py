"""The search loop: pymoo's ask-and-tell around the archive, with terminations, hypervolume
history, progress reports and resumable state.

One generation: the algorithm proposes designs, the archive evaluates only the new ones in one
vectorized call, the algorithm is told the results.

A run is deterministic given its configuration and seed, so its state is stored as data only
(:mod:`evodse.experiment.checkpoint`): the archive, history, hypervolume normalization and the
random generators of the baselines and the surrogate search. A pymoo algorithm's state is not
stored: :func:`restore_algorithm` rebuilds it by replaying the run's generations with every
design served from the restored archive (no model calls) and checks the replay proposes the
recorded designs, so a resumed run continues exactly where its checkpoint left it and ends with
the same front as an uninterrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymoo.core.termination import NoTermination
from pymoo.indicators.hv import HV

from evodse.search.algorithms import make_algorithm, make_surrogate
from evodse.search.archive import Archive, ArchiveEvaluator, ChunkRunner, ReplayError
from evodse.search.problem import AcceleratorProblem
from evodse.search.space import index_rows
from evodse.search.surrogate import SurrogateSearch

HV_MARGIN = 1.1  # reference point: 1.1 in objectives normalized to [0, 1] on the first front
MC_SAMPLES = 20_000  # Monte-Carlo hypervolume samples beyond EXACT_HV_MAX_OBJ objectives
EXHAUSTIVE_CHUNK = 8192  # designs per "generation" of the exhaustive baseline
EXACT_HV_MAX_OBJ = 4
HISTORY_COLUMNS = ("generation", "evaluations", "hypervolume", "front_size", "wall_time_s")


@dataclass(frozen=True)
class Termination:
    """Stop at the first limit reached (unset limits are ignored)."""

    generations: int | None = None
    evaluations: int | None = None
    time_s: float | None = None
    hv_window: int | None = None  # stagnation: no relative hv gain > hv_tol over this many gens
    hv_tol: float = 1e-4

    def reached(self, state: SearchState) -> str | None:
        """The name of the limit reached, or None."""
        if self.generations is not None and state.generation >= self.generations:
            return "generations"
        if self.evaluations is not None and len(state.archive) >= self.evaluations:
            return "evaluations"
        if self.time_s is not None and state.elapsed_s >= self.time_s:
            return "time_s"
        if self.hv_window and len(state.history) > self.hv_window:
            old = state.history[-1 - self.hv_window]["hypervolume"]
            new = state.history[-1]["hypervolume"]
            if old > 0 and (new - old) / old <= self.hv_tol:
                return "hv_stagnation"
        return None


class Hypervolume:
    """Hypervolume of fronts in the optimizer's space (+-log10 objectives), normalized by the
    ideal and nadir of the first feasible front seen, reference point 1.1 in every objective.
    Fixed after the first call, so values of one run compare across generations."""

    def __init__(self) -> None:
        self.ideal: np.ndarray | None = None
        self.nadir: np.ndarray | None = None
        self._samples: np.ndarray | None = None

    def _init_samples(self, n_obj: int) -> None:
        self._samples = np.random.default_rng(0).uniform(0.0, HV_MARGIN, (MC_SAMPLES, n_obj))
        self._dominated = np.zeros(MC_SAMPLES, dtype=bool)
        self._tested: set[bytes] = set()

    def __call__(self, F: np.ndarray) -> float:
        if len(F) == 0:
            return 0.0
        if self.ideal is None:
            self.ideal, self.nadir = F.min(axis=0), F.max(axis=0)
            flat = self.nadir - self.ideal <= 1e-12
            self.nadir = np.where(flat, self.ideal + 1.0, self.nadir)
        Z = (F - self.ideal) / (self.nadir - self.ideal)
        n_obj = F.shape[1]
        ref = np.full(n_obj, HV_MARGIN)
        Z = Z[(ref > Z).all(axis=1)]
        if len(Z) == 0:
            return 0.0
        if n_obj <= EXACT_HV_MAX_OBJ:
            return float(HV(ref_point=ref)(Z))
        return self._monte_carlo(Z, ref)

    def _monte_carlo(self, Z: np.ndarray, ref: np.ndarray) -> float:
        """Monte-Carlo estimate over fixed samples of the box [0, ref]: deterministic, ~0.5%
        standard error. The archive front only improves, so a sample once dominated stays
        dominated and each front point is tested once."""
        if self._samples is None:
            self._init_samples(len(ref))
        new = [z for z in Z if z.tobytes() not in self._tested]
        self._tested.update(z.tobytes() for z in new)
        open_ = np.flatnonzero(~self._dominated)
        for z in new:
            hit = (self._samples[open_] >= z).all(axis=1)
            self._dominated[open_[hit]] = True
            open_ = open_[~hit]
        return float(self._dominated.mean() * np.prod(ref))

    def arrays(self) -> dict[str, np.ndarray]:
        """The state as arrays (for checkpoints): ``ideal`` and ``nadir`` once set, and the
        Monte-Carlo estimate's ``dominated`` samples and ``tested`` points once used."""
        if self.ideal is None:
            return {}
        out = {"ideal": self.ideal, "nadir": self.nadir}
        if self._samples is not None:
            tested = [np.frombuffer(key, dtype=np.float64) for key in sorted(self._tested)]
            out["dominated"] = self._dominated
            out["tested"] = np.asarray(tested, dtype=np.float64).reshape(-1, len(self.ideal))
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Hypervolume:
        """The inverse of :meth:`arrays`."""
        hv = cls()
        if "ideal" in arrays:
            hv.ideal, hv.nadir = arrays["ideal"], arrays["nadir"]
        if "dominated" in arrays:
            hv._init_samples(len(hv.ideal))
            hv._dominated = arrays["dominated"].copy()
            hv._tested = {row.tobytes() for row in np.ascontiguousarray(arrays["tested"])}
        return hv

    def reference(self) -> dict[str, Any]:
        """How the hypervolume was normalized (for summary.json)."""
        return {
            "space": "optimizer objectives (+-log10 of true values), min-max normalized",
            "ideal": None if self.ideal is None else self.ideal.tolist(),
            "nadir": None if self.nadir is None else self.nadir.tolist(),
            "ref_point": HV_MARGIN,
            "method": "exact (pymoo HV)"
            if self.ideal is None or len(self.ideal) <= EXACT_HV_MAX_OBJ
            else f"Monte-Carlo, {MC_SAMPLES} fixed samples",
        }


@dataclass
class SearchState:
    """Everything a run needs to continue (saved as data for --resume: see the module
    docstring)."""

    problem: AcceleratorProblem
    algorithm_name: str
    options: dict[str, Any]
    seed: int
    archive: Archive
    algorithm: Any = None  # pymoo algorithm or SurrogateSearch (None for the baselines)
    rng: np.random.Generator | None = None  # baselines
    cursor: int = 0  # exhaustive: next design index
    generation: int = 0
    elapsed_s: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    hypervolume: Hypervolume = field(default_factory=Hypervolume)
    stopped_by: str | None = None
    evaluator: ArchiveEvaluator | None = None
    replay: Archive | None = None  # restored, pymoo algorithm not rebuilt yet: the archive to
    # replay (:func:`restore_algorithm`; ``archive`` is this one meanwhile)

    def attach_runner(self, runner: ChunkRunner | None, chunk_size: int = 1024) -> None:
        """Evaluate large populations in chunks through ``runner`` (None: in process)."""
        self.evaluator.runner = runner
        self.evaluator.chunk_size = chunk_size


def new_state(
    problem: AcceleratorProblem, algorithm: str, options: Mapping[str, Any], seed: int
) -> SearchState:
    """A fresh search state (nothing evaluated yet)."""
    archive = Archive(problem.n_var, problem.n_obj, problem.n_ieq_constr)
    state = SearchState(
        problem=problem, algorithm_name=algorithm, options=dict(options), seed=seed, archive=archive
    )
    state.evaluator = ArchiveEvaluator(archive, problem)
    if algorithm in ("random", "exhaustive"):
        state.rng = np.random.default_rng(seed)
    elif algorithm == "surrogate":
        state.algorithm = make_surrogate(options, problem, seed)
    else:
        algo = make_algorithm(algorithm, options, problem, archive)
        algo.evaluator = state.evaluator
        algo.setup(problem, termination=NoTermination(), seed=seed, verbose=False)
        state.algorithm = algo
    return state


def restore_state(
    problem: AcceleratorProblem,
    algorithm: str,
    options: Mapping[str, Any],
    seed: int,
    *,
    archive: Archive,
    generation: int,
    elapsed_s: float,
    history: list[dict[str, float]],
    stopped_by: str | None,
    hypervolume: Hypervolume,
    cursor: int = 0,
    rng_state: Mapping[str, Any] | None = None,
    surrogate_weights: tuple[int, np.ndarray] | None = None,
) -> SearchState:
    """A state from checkpointed data (:mod:`evodse.experiment.checkpoint`): the baselines'
    and the surrogate search's random generator state (``rng_state``, a
    ``bit_generator.state``) is restored; a pymoo algorithm is rebuilt by
    :func:`restore_algorithm` (which :func:`step` calls first). ValueError (or TypeError,
    KeyError) on a generator state numpy rejects."""
    state = SearchState(
        problem=problem,
        algorithm_name=algorithm,
        options=dict(options),
        seed=seed,
        archive=archive,
        cursor=cursor,
        generation=generation,
        elapsed_s=elapsed_s,
        history=history,
        hypervolume=hypervolume,
        stopped_by=stopped_by,
        evaluator=ArchiveEvaluator(archive, problem),
    )
    if algorithm in ("random", "exhaustive", "surrogate"):
        if algorithm == "surrogate":
            state.algorithm = make_surrogate(options, problem, seed)
            state.algorithm._weights = surrogate_weights
            rng = state.algorithm.rng
        else:
            state.rng = rng = np.random.default_rng(seed)
        if rng_state is None or rng_state.get("bit_generator") != type(rng.bit_generator).__name__:
            raise ValueError(f"expected a {type(rng.bit_generator).__name__} generator state")
        rng.bit_generator.state = dict(rng_state)
    else:
        state.replay = archive
    return state


def _baseline_batch(state: SearchState) -> np.ndarray:
    """Next designs of the random or exhaustive baseline (none left: empty)."""
    problem = state.problem
    sizes = np.asarray(problem.xu, dtype=np.int64) + 1
    if state.algorithm_name == "exhaustive":
        chunk = int(state.options.get("pop_size", EXHAUSTIVE_CHUNK))
        stop = min(state.cursor + chunk, problem.space_size)
        flat = np.arange(state.cursor, stop)
        state.cursor = stop
        return index_rows(flat, sizes)
    want = int(state.options.get("pop_size", 100))
    rows: list[np.ndarray] = []
    seen = set()
    for _ in range(100):  # resample duplicates; a nearly exhausted space ends early
        X = state.rng.integers(0, sizes, (want, len(sizes)))
        for x in X[~state.archive.contains_rows(X)]:
            key = x.tobytes()
            if key not in seen and len(rows) < want:
                seen.add(key)
                rows.append(x)
        if len(rows) >= want or len(state.archive) + len(rows) >= problem.space_size:
            break
    return np.asarray(rows, dtype=np.int64).reshape(-1, len(sizes))


def restore_algorithm(state: SearchState) -> None:
    """Rebuild the pymoo algorithm of a restored state (no-op for other states): a fresh state
    of the same configuration and seed replays the state's generations, each design served from
    the restored archive in order; the replay must propose exactly the recorded designs
    (:class:`ReplayError` otherwise, the state unchanged). Then the state continues live."""
    recorded = state.replay
    if recorded is None:
        return
    fresh = new_state(state.problem, state.algorithm_name, state.options, state.seed)
    fresh.evaluator.recorded = recorded
    for generation in range(state.generation):
        fresh.evaluator.generation = generation
        _advance(fresh)
    fresh.evaluator.recorded = None
    replayed = fresh.archive
    if len(replayed) != len(recorded):
        raise ReplayError(
            f"the replayed run evaluated {len(replayed)} designs in {state.generation} "
            f"generations where the checkpoint holds {len(recorded)}"
        )
    for name in ("X", "F", "generation"):
        a, b = replayed.column(name), recorded.column(name)
        if a.dtype != b.dtype or a.tobytes() != b.tobytes():
            raise ReplayError(f"the replayed run differs from the checkpoint in column {name}")
    if not np.array_equal(replayed.front, recorded.front):
        raise ReplayError("the replayed run has another front than the checkpoint")
    fresh.evaluator.runner = state.evaluator.runner
    fresh.evaluator.chunk_size = state.evaluator.chunk_size
    state.algorithm, state.archive, state.evaluator = fresh.algorithm, replayed, fresh.evaluator
    state.replay = None


def _advance(state: SearchState, max_new: int | None = None) -> bool:
    """Propose designs and evaluate the new ones (one generation without the bookkeeping);
    True for a pymoo algorithm."""
    pymoo = state.algorithm is not None and not isinstance(state.algorithm, SurrogateSearch)
    if not pymoo:
        if state.algorithm is None:
            X = _baseline_batch(state)
        else:
            X = state.algorithm.ask(state.archive, max_new=max_new)
        if len(X):
            state.evaluator.evaluate_rows(X)
    else:
        pop = state.algorithm.ask()
        state.algorithm.evaluator.eval(state.problem, pop)
        state.algorithm.tell(infills=pop)
    return pymoo


def step(state: SearchState, max_new: int | None = None) -> bool:
    """Run one generation; False when the algorithm has nothing new to evaluate. ``max_new``
    caps the designs the surrogate search proposes (the rest of an evaluation budget)."""
    restore_algorithm(state)
    start = time.perf_counter()
    before = len(state.archive)
    state.evaluator.generation = state.generation
    pymoo = _advance(state, max_new)
    state.generation += 1
    front_F = state.archive.column("F")[state.archive.front]
    hv = state.hypervolume(front_F) if len(front_F) else 0.0
    state.elapsed_s += time.perf_counter() - start
    state.history.append(
        {
            "generation": state.generation,
            "evaluations": len(state.archive),
            "hypervolume": hv,
            "front_size": len(state.archive.front),
            "wall_time_s": state.elapsed_s,
        }
    )
    return len(state.archive) > before or pymoo


def finished(state: SearchState, termination: Termination | None = None) -> bool:
    """Whether a (restored) run is over: it stopped and ``termination`` (None: any) is reached,
    or it stopped because the space is exhausted or nothing new was proposed."""
    if state.stopped_by is None:
        return False
    if termination is None or state.stopped_by in ("space_exhausted", "no_new_designs"):
        return True
    return termination.reached(state) is not None


def run_search(
    state: SearchState,
    termination: Termination,
    *,
    on_generation: Callable[[SearchState], None] | None = None,
    max_idle_generations: int = 20,
) -> SearchState:
    """Advance ``state`` until a termination limit is reached or the space is exhausted."""
    idle = 0
    while (reason := termination.reached(state)) is None:
        before = len(state.archive)
        left = None if termination.evaluations is None else termination.evaluations - before
        progressed = step(state, max_new=left)
        idle = idle + 1 if len(state.archive) == before else 0
        if on_generation is not None:
            on_generation(state)
        if not progressed or len(state.archive) >= state.problem.space_size:
            reason = "space_exhausted"
            break
        if idle >= max_idle_generations:
            reason = "no_new_designs"
            break
    state.stopped_by = reason
    return state
