"""The search loop: pymoo's ask-and-tell around the archive, with terminations, hypervolume
history, progress reports and resumable state.

One generation: the algorithm proposes designs, the archive evaluates only the new ones in one
vectorized call, the algorithm is told the results.

A run is deterministic given its configuration and seed, so its state is stored as data only
(:mod:`evodse.experiment.checkpoint`): the archive, history, hypervolume normalization, the
random generators of the baselines and the surrogate search, and what ``auto`` chose. A pymoo
algorithm's state is not stored: :func:`restore_algorithm` rebuilds it by replaying the run's
generations with every design served from the restored archive (no model calls; ``auto``
replays its recorded choice) and checks the replay proposes the recorded designs, so a resumed
run continues exactly where its checkpoint left it and ends with the same front as an
uninterrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymoo.core.population import Population
from pymoo.core.termination import NoTermination

from evodse.model.evaluate import layer_table
from evodse.search.algorithms import make_algorithm, make_surrogate
from evodse.search.archive import Archive, ArchiveEvaluator, ChunkRunner, ReplayError
from evodse.search.choice import AUTO, AUTO_OPTIONS, PROBE_DESIGNS, Choice, choose, small_budget
from evodse.search.indicators import Hypervolume
from evodse.search.problem import AcceleratorProblem
from evodse.search.space import index_rows
from evodse.search.surrogate import SurrogateSearch

HISTORY_COLUMNS = ("generation", "evaluations", "hypervolume", "front_size", "wall_time_s")
CHUNK_PAIRS = 250_000  # design x layer-shape pairs per vectorized call of the exhaustive baseline


@dataclass(frozen=True)
class Termination:
    """Stop at the first limit reached (unset limits are ignored). ``time_s`` bounds the run's
    wall time with what it still has to write (:attr:`SearchState.reserve_s`)."""

    generations: int | None = None
    evaluations: int | None = None
    time_s: float | None = None
    hv_window: int | None = None  # stagnation: no relative hv gain > hv_tol over this many gens
    hv_tol: float = 1e-4

    def reached(self, state: SearchState) -> str | None:
        """The name of the limit reached, or None. An exhaustive evaluation that ``auto``
        chose ignores ``generations`` and ``hv_stagnation`` (they count and judge the steps of
        a search; the whole space was chosen because it fits the time budget)."""
        choice = getattr(state, "choice", None)  # None in checkpoints of earlier versions
        searching = choice is None or choice.chosen != "exhaustive"
        if searching and self.generations is not None and state.generation >= self.generations:
            return "generations"
        if self.evaluations is not None and len(state.archive) >= self.evaluations:
            return "evaluations"
        if self.time_s is not None and state.elapsed_s + state.reserve_s >= self.time_s:
            return "time_s"
        if searching and self.hv_window and len(state.history) > self.hv_window:
            old = state.history[-1 - self.hv_window]["hypervolume"]
            new = state.history[-1]["hypervolume"]
            if old > 0 and (new - old) / old <= self.hv_tol:
                return "hv_stagnation"
        return None


@dataclass
class SearchState:
    """Everything a run needs to continue (saved as data for --resume: see the module
    docstring)."""

    problem: AcceleratorProblem
    algorithm_name: str  # "auto" until its first generation has chosen the algorithm
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
    choice: Choice | None = None  # what "auto" chose and why (None: the algorithm was named)
    replay: Archive | None = None  # restored, pymoo algorithm not rebuilt yet: the archive to
    # replay (:func:`restore_algorithm`; ``archive`` is this one meanwhile)
    forced_choice: Choice | None = None  # replaying "auto": its recorded choice, not a new one
    reserve_s: float = 0.0  # wall time the run still needs after its search (its last writes)
    hv_of: tuple[np.ndarray, float] | None = None  # the last front and its hypervolume

    def attach_runner(self, runner: ChunkRunner | None, chunk_size: int = 1024) -> None:
        """Evaluate large populations in chunks through ``runner`` (None: in process)."""
        self.evaluator.runner = runner
        self.evaluator.chunk_size = chunk_size


def new_state(
    problem: AcceleratorProblem, algorithm: str, options: Mapping[str, Any], seed: int
) -> SearchState:
    """A fresh search state (nothing evaluated yet). ``auto`` chooses the algorithm in its
    first generation (:mod:`evodse.search.choice`)."""
    archive = Archive(problem.n_var, problem.n_obj, problem.n_ieq_constr, grid_sizes(problem))
    state = SearchState(
        problem=problem, algorithm_name=algorithm, options=dict(options), seed=seed, archive=archive
    )
    state.evaluator = ArchiveEvaluator(archive, problem)
    if algorithm == AUTO:
        state.rng = np.random.default_rng(seed)  # draws the first generation
    else:
        _start(state, algorithm, options)
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
    choice: Choice | None = None,
) -> SearchState:
    """A state from checkpointed data (:mod:`evodse.experiment.checkpoint`): the baselines'
    and the surrogate search's random generator state (``rng_state``, a
    ``bit_generator.state``) is restored; a pymoo algorithm is rebuilt by
    :func:`restore_algorithm` (which :func:`step` calls first). ``choice``: what ``auto``
    chose (then ``algorithm`` is ``auto`` and the chosen one runs with its defaults).
    ValueError (or TypeError, KeyError) on a generator state numpy rejects."""
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
        choice=choice,
    )
    if choice is not None:  # an "auto" run: the chosen algorithm, with its defaults
        algorithm, options = choice.chosen, {}
        state.algorithm_name, state.options = algorithm, {}
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


def _start(
    state: SearchState,
    algorithm: str,
    options: Mapping[str, Any],
    first: np.ndarray | None = None,
) -> None:
    """Set ``state`` up to run ``algorithm``; a pymoo algorithm takes the archived designs
    ``first`` as its initial population (instead of sampling one)."""
    problem = state.problem
    state.algorithm_name = algorithm
    if algorithm in ("random", "exhaustive"):
        if state.rng is None:
            state.rng = np.random.default_rng(state.seed)
    elif algorithm == "surrogate":
        state.algorithm = make_surrogate(options, problem, state.seed)
    else:
        algo = make_algorithm(algorithm, options, problem, state.archive)
        algo.evaluator = state.evaluator
        algo.setup(problem, termination=NoTermination(), seed=state.seed, verbose=False)
        if first is not None and len(first):
            algo.ask()  # initializes the algorithm; its own sample is replaced, not evaluated
            pop = Population.new(X=np.asarray(first))
            algo.evaluator.eval(problem, pop)  # all archived: nothing is evaluated again
            algo.tell(infills=pop)
        state.algorithm = algo


def _choose(state: SearchState, max_new: int | None, termination: Termination | None) -> bool:
    """The first generation of ``auto``: evaluate and time a first batch (kept in the
    archive), choose the algorithm (:func:`evodse.search.choice.choose`) and set it up."""
    problem = state.problem
    evaluations = None if termination is None else termination.evaluations
    time_s = None if termination is None else termination.time_s
    budget_s = float(state.options.get("exhaustive_budget_s", AUTO_OPTIONS["exhaustive_budget_s"]))
    if small_budget(problem.space_size, evaluations):  # decided now: exactly a surrogate run
        _start(state, "surrogate", {})
        X = state.algorithm.ask(state.archive, max_new=max_new)
    else:
        X = _random_batch(state, PROBE_DESIGNS)
        if max_new is not None:
            X = X[state.archive.within_budget(X, max_new)]
    before = len(state.archive)
    start = time.perf_counter()
    if len(X):
        state.evaluator.evaluate_rows(X)
    seconds = time.perf_counter() - start
    evaluated = len(state.archive) - before
    declared = problem.seconds_per_evaluation
    state.choice = state.forced_choice or choose(
        space_size=problem.space_size,
        n_obj=problem.n_obj,
        seconds_per_evaluation=seconds / max(evaluated, 1) if declared is None else declared,
        cost_source="measured" if declared is None else "declared",
        first_generation=evaluated,
        evaluations=evaluations,
        time_s=time_s,
        exhaustive_budget_s=budget_s,
    )
    if state.algorithm_name == AUTO:
        state.options = {}  # the chosen algorithm runs with its defaults
        _start(state, state.choice.chosen, {}, first=X)
    return evaluated > 0


def exhaustive_chunk(problem: AcceleratorProblem) -> int:
    """Designs per vectorized call of the exhaustive baseline: about ``CHUNK_PAIRS`` design x
    layer-shape pairs (the cost model's temporaries take ~340 bytes per pair, so ~85 MB),
    between 1,024 and 65,536 designs."""
    shapes = sum(layer_table(n).n_shapes for n in getattr(problem, "networks", ())) or 30
    return int(np.clip(CHUNK_PAIRS // shapes, 1024, 65_536))


def grid_sizes(problem: AcceleratorProblem) -> np.ndarray:
    """The number of values of each decision variable."""
    return np.asarray(problem.xu, dtype=np.int64) + 1


def random_batch_size(state: SearchState) -> int:
    """Designs per generation of the random baseline: ``pop_size`` when set, else as many as
    one vectorized call of the cost model takes efficiently (:func:`exhaustive_chunk`)."""
    return int(state.options.get("pop_size") or exhaustive_chunk(state.problem))


def _random_batch(state: SearchState, want: int) -> np.ndarray:
    """Up to ``want`` uniform random designs not yet archived, in the order drawn (fewer near
    exhaustion)."""
    sizes = grid_sizes(state.problem)
    archive = state.archive
    X_out = np.zeros((0, len(sizes)), dtype=np.int64)
    keys_out = archive.keys(X_out)
    for _ in range(100):  # resample duplicates; a nearly exhausted space ends early
        X = state.rng.integers(0, sizes, (want, len(sizes)))
        keys = archive.keys(X)
        first = np.sort(np.unique(keys, return_index=True)[1])  # first draws, in draw order
        X, keys = X[first], keys[first]
        fresh = ~archive.contains_keys(keys) & ~np.isin(keys, keys_out)
        take = np.flatnonzero(fresh)[: want - len(X_out)]
        X_out = np.concatenate([X_out, X[take]])
        keys_out = np.concatenate([keys_out, keys[take]])
        if len(X_out) >= want or len(archive) + len(X_out) >= state.problem.space_size:
            break
    return X_out


def _exhaustive_batch(state: SearchState, max_new: int | None) -> np.ndarray:
    """The next chunk of the enumeration (C order, which is sorted order), cut after
    ``max_new`` designs new to the archive; empty when the enumeration is done."""
    problem = state.problem
    sizes = np.asarray(problem.xu, dtype=np.int64) + 1
    chunk = int(state.options.get("pop_size") or exhaustive_chunk(problem))
    stop = min(state.cursor + chunk, problem.space_size)
    X = index_rows(np.arange(state.cursor, stop), sizes)
    if max_new is not None:
        new = np.cumsum(~state.archive.contains_rows(X))
        if len(new) and new[-1] > max_new:
            X = X[: int(np.searchsorted(new, max_new, side="left")) + 1]
    state.cursor += len(X)
    return X


def restore_algorithm(state: SearchState) -> None:
    """Rebuild the pymoo algorithm of a restored state (no-op for other states): a fresh state
    of the same configuration and seed replays the state's generations, each design served from
    the restored archive in order; the replay must propose exactly the recorded designs
    (:class:`ReplayError` otherwise, the state unchanged). Then the state continues live."""
    recorded = state.replay
    if recorded is None:
        return
    if state.choice is None:
        fresh = new_state(state.problem, state.algorithm_name, state.options, state.seed)
    else:  # "auto": its first generation again, with the recorded choice
        fresh = new_state(state.problem, AUTO, {}, state.seed)
        fresh.forced_choice = state.choice
    fresh.evaluator.recorded = recorded
    for _ in range(state.generation):  # the last generation of a budget may have been cut
        step(fresh, max_new=len(recorded) - len(fresh.archive))
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
    state.rng = fresh.rng  # "auto" before its choice draws its first generation from it
    state.replay = None


def step(
    state: SearchState, max_new: int | None = None, *, termination: Termination | None = None
) -> bool:
    """Run one generation; False when the algorithm has nothing left to propose. At most
    ``max_new`` designs new to the archive are evaluated (the rest of an evaluation budget):
    the last generation of a budget is cut to exactly what is left. ``auto``'s first
    generation chooses the algorithm, knowing the run's ``termination``."""
    restore_algorithm(state)
    start = time.perf_counter()
    before = len(state.archive)
    state.evaluator.generation = state.generation
    algorithm = state.algorithm
    if state.algorithm_name == AUTO:
        progressed = _choose(state, max_new, termination)
    elif algorithm is None or isinstance(algorithm, SurrogateSearch):
        if state.algorithm_name == "exhaustive":
            X = _exhaustive_batch(state, max_new)
            more = len(X) > 0
        else:
            if algorithm is None:
                X = _random_batch(state, random_batch_size(state))
                if max_new is not None:
                    X = X[state.archive.within_budget(X, max_new)]
            else:
                X = algorithm.ask(state.archive, max_new=max_new)
            more = None
        if len(X):
            state.evaluator.evaluate_rows(X)
        progressed = more if more is not None else len(state.archive) > before
    else:
        pop = algorithm.ask()
        if pop is None:  # mating found nothing new: pymoo has terminated the algorithm
            return _record(state, start, progressed=False)
        keep = (
            np.ones(len(pop), dtype=bool)
            if max_new is None
            else state.archive.within_budget(np.rint(pop.get("X")), max_new)
        )
        algorithm.evaluator.eval(state.problem, pop[keep])
        if keep.all():
            algorithm.tell(infills=pop)
        # else the budget ends with this generation: its evaluated part is archived, and the
        # algorithm is not told (pymoo's MOEA/D pairs offspring with subproblems, C-TAEA's
        # first survival needs a full population)
        progressed = True
    return _record(state, start, progressed=progressed)


def _record(state: SearchState, start: float, *, progressed: bool) -> bool:
    """Close a generation: count it, and append its history row (the hypervolume is computed
    again only when the front changed)."""
    state.generation += 1
    front = state.archive.front
    if state.hv_of is None or not np.array_equal(state.hv_of[0], front):
        front_F = state.archive.column("F")[front]
        state.hv_of = (front, state.hypervolume(front_F) if len(front_F) else 0.0)
    hv = state.hv_of[1]
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
    return progressed


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
    """Advance ``state`` until a termination limit is reached or the space is exhausted.
    The time ``on_generation`` takes (progress, checkpoints) counts in ``state.elapsed_s``."""
    idle = 0
    while (reason := termination.reached(state)) is None:
        before = len(state.archive)
        left = None if termination.evaluations is None else termination.evaluations - before
        progressed = step(state, max_new=left, termination=termination)
        idle = idle + 1 if len(state.archive) == before else 0
        if on_generation is not None:
            start = time.perf_counter()
            on_generation(state)
            state.elapsed_s += time.perf_counter() - start
        if not progressed or len(state.archive) >= state.problem.space_size:
            reason = "space_exhausted"
            break
        if idle >= max_idle_generations:
            reason = "no_new_designs"
            break
    state.stopped_by = reason
    return state
