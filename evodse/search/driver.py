"""The search loop: every algorithm's ask-and-tell around the archive, with terminations,
hypervolume history, progress reports and resumable state.

One generation, whatever the algorithm (:class:`~evodse.search.algorithms.Search`): the
algorithm proposes designs (``ask``), the archive evaluates only the new ones in one vectorized
call, the algorithm is told (``tell``). ``auto`` is a search too: its first generation
evaluates and times a batch, and its ``tell`` hands the run over to the algorithm it chose.

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

from evodse.search.algorithms import Search, SearchSetup, make_search
from evodse.search.archive import Archive, ArchiveEvaluator, ChunkRunner, ReplayError
from evodse.search.baselines import grid_sizes, random_rows
from evodse.search.choice import AUTO, AUTO_OPTIONS, PROBE_DESIGNS, Choice, choose, small_budget
from evodse.search.indicators import Hypervolume
from evodse.search.problem import AcceleratorProblem

HISTORY_COLUMNS = ("generation", "evaluations", "hypervolume", "front_size", "wall_time_s")


@dataclass(frozen=True)
class Termination:
    """Stop at the first limit reached (unset limits are ignored). ``time_s`` bounds the run's
    wall time with what it still has to write (:attr:`SearchState.reserve_s`)."""

    generations: int | None = None
    evaluations: int | None = None
    time_s: float | None = None
    hv_window: int | None = None  # stagnation: no relative hv gain > hv_tol over this many gens
    hv_tol: float = 1e-4

    @property
    def time_only(self) -> bool:
        """Bounded by ``time_s`` and no count of generations or evaluations (the algorithms
        then take :func:`~evodse.search.choice.time_budget_options`)."""
        return self.time_s is not None and self.generations is None and self.evaluations is None

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
    algorithm: Search | None = None  # None only while a restored pymoo algorithm is not rebuilt
    rng: np.random.Generator | None = None  # random, exhaustive and auto before its choice
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

    @property
    def cursor(self) -> int:
        """Exhaustive: the next design's number (0 for the other algorithms)."""
        return int(getattr(self.algorithm, "cursor", 0))

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
        state.algorithm = AutoSearch(state)
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
        generation=generation,
        elapsed_s=elapsed_s,
        history=history,
        hypervolume=hypervolume,
        stopped_by=stopped_by,
        evaluator=ArchiveEvaluator(archive, problem),
        choice=choice,
    )
    if choice is not None:  # an "auto" run: the chosen algorithm, with its defaults
        algorithm, options = choice.chosen, dict(choice.options)
        state.algorithm_name, state.options = algorithm, dict(options)
    if algorithm in ("random", "exhaustive", "surrogate"):
        _start(state, algorithm, options, cursor=cursor)
        if algorithm == "surrogate":
            state.algorithm._weights = surrogate_weights
            rng = state.algorithm.rng
        else:
            rng = state.rng
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
    cursor: int = 0,
) -> None:
    """Set ``state`` up to run ``algorithm`` (:func:`~evodse.search.algorithms.make_search`);
    a pymoo algorithm takes the archived designs ``first`` as its initial population (instead
    of sampling one), an enumeration starts at design number ``cursor``."""
    state.algorithm_name = algorithm
    if algorithm in ("random", "exhaustive") and state.rng is None:
        state.rng = np.random.default_rng(state.seed)
    setup = SearchSetup(
        problem=state.problem,
        options=options,
        archive=state.archive,
        evaluator=state.evaluator,
        seed=state.seed,
        rng=state.rng,
        cursor=cursor,
        first=first,
    )
    state.algorithm = make_search(algorithm, setup)


class AutoSearch:
    """``auto`` as a :class:`~evodse.search.algorithms.Search`: its first generation evaluates
    a batch (timed between ``ask`` and ``tell``), then ``tell`` chooses the algorithm
    (:func:`evodse.search.choice.choose`, knowing the run's termination) and hands the state
    over to it; a replay reuses the recorded choice (``state.forced_choice``)."""

    def __init__(self, state: SearchState):
        self.state = state
        self._asked: tuple[float, Termination | None] | None = None

    def ask(
        self, archive: Archive, *, max_new: int | None, termination: Termination | None = None
    ) -> np.ndarray:
        state = self.state
        evaluations = None if termination is None else termination.evaluations
        if small_budget(state.problem.space_size, evaluations):  # decided now: a surrogate run
            _start(state, "surrogate", {})
            X = state.algorithm.ask(archive, max_new=max_new)
        else:
            X = random_rows(state.problem, archive, state.rng, PROBE_DESIGNS)
            if max_new is not None:
                X = X[archive.within_budget(X, max_new)]
        self._asked = (time.perf_counter(), termination)
        return X

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        state = self.state
        start, termination = self._asked
        seconds = time.perf_counter() - start
        evaluated = len(X)  # all new to the archive
        declared = state.problem.seconds_per_evaluation
        budget_s = state.options.get("exhaustive_budget_s", AUTO_OPTIONS["exhaustive_budget_s"])
        state.choice = state.forced_choice or choose(
            space_size=state.problem.space_size,
            n_obj=state.problem.n_obj,
            seconds_per_evaluation=seconds / max(evaluated, 1) if declared is None else declared,
            cost_source="measured" if declared is None else "declared",
            first_generation=evaluated,
            evaluations=None if termination is None else termination.evaluations,
            time_s=None if termination is None else termination.time_s,
            exhaustive_budget_s=float(budget_s),
            time_only=termination is not None and termination.time_only,
        )
        if state.algorithm_name == AUTO:
            state.options = dict(state.choice.options)  # the chosen algorithm's defaults
            _start(state, state.choice.chosen, state.choice.options, first=X)


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
    if isinstance(state.algorithm, AutoSearch):  # restored before its choice: it runs on ``state``
        state.algorithm.state = state
    state.rng = fresh.rng  # "auto" before its choice draws its first generation from it
    state.replay = None


def step(
    state: SearchState, max_new: int | None = None, *, termination: Termination | None = None
) -> bool:
    """Run one generation (ask, evaluate, tell); False when the algorithm has nothing left to
    propose. At most ``max_new`` designs new to the archive are evaluated (the rest of an
    evaluation budget): the last generation of a budget is cut to exactly what is left. The
    algorithm knows the run's ``termination`` (``auto`` chooses by it)."""
    restore_algorithm(state)
    start = time.perf_counter()
    state.evaluator.generation = state.generation
    search = state.algorithm
    X = search.ask(state.archive, max_new=max_new, termination=termination)
    if len(X):
        state.evaluator.evaluate_rows(X)
    search.tell(state.archive, X)
    return _record(state, start, progressed=len(X) > 0)


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
