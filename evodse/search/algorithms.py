"""Search algorithms by name: pymoo's multi-objective algorithms plus two baselines.

``nsga2``, ``nsga3``, ``unsga3``, ``moead`` (unconstrained problems only), ``agemoea``,
``agemoea2``, ``smsemoa``, ``rnsga2`` and ``ctaea`` are pymoo's, set up for integer-encoded
design spaces (random integer sampling, uniform crossover,
:class:`~evodse.search.operators.NeighbourMutation`, duplicates eliminated against the whole
archive). Algorithms that need reference directions get pymoo's
Das-Dennis directions (Riesz s-energy directions beyond 5 objectives) sized to the population.
``surrogate`` is evodse's surrogate-assisted search (:mod:`evodse.search.surrogate`), the
best at small evaluation budgets. ``random`` samples the space uniformly and ``exhaustive``
enumerates it; all use the same archive, so their fronts compare at equal evaluations.
``auto``, the default, chooses one of them by what an evaluation costs
(:mod:`evodse.search.choice`).

The driver runs every one of them through one protocol, :class:`Search`: ``ask`` for the
designs of a generation, evaluate them into the archive, ``tell``. :data:`SEARCHES` builds
each by name (pymoo's through :class:`PymooSearch` over :data:`BUILDERS`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.population import Population
from pymoo.core.termination import NoTermination
from pymoo.operators.crossover.ux import UX
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.util.ref_dirs import get_reference_directions

from evodse.errors import InputError
from evodse.search.archive import Archive, ArchiveDuplicates, ArchiveEvaluator
from evodse.search.baselines import Enumeration, RandomSearch
from evodse.search.choice import AUTO, AUTO_OPTIONS
from evodse.search.ga_arrays import ArrayGA, on_arrays
from evodse.search.operators import NeighbourMutation
from evodse.search.problem import AcceleratorProblem
from evodse.search.surrogate import SURROGATE_OPTIONS, SurrogateSearch


@dataclass(frozen=True)
class _Setup:
    """What every pymoo algorithm is built from: the problem, the options, the population
    size, the integer operators, the archive's duplicate filter and (lazily) reference
    directions."""

    problem: AcceleratorProblem
    opts: Mapping[str, Any]
    pop_size: int
    operators: Mapping[str, Any]
    dedup: ArchiveDuplicates

    @property
    def ref_dirs(self) -> np.ndarray:
        return reference_directions(self.problem.n_obj, self.pop_size)


def _nsga2(s: _Setup) -> Algorithm:
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return NSGA2(pop_size=s.pop_size, eliminate_duplicates=s.dedup, **s.operators)


def _nsga3(s: _Setup, *, unified: bool = False) -> Algorithm:
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.algorithms.moo.unsga3 import UNSGA3

    ref_dirs = s.ref_dirs
    size = max(s.pop_size, len(ref_dirs))
    return (UNSGA3 if unified else NSGA3)(
        ref_dirs=ref_dirs, pop_size=size, eliminate_duplicates=s.dedup, **s.operators
    )


def _moead(s: _Setup) -> Algorithm:
    from pymoo.algorithms.moo.moead import ParallelMOEAD

    if s.problem.n_ieq_constr:
        raise InputError(
            "moead does not support constraints; use nsga2, nsga3 or ctaea", key="algorithm.name"
        )
    ref_dirs = s.ref_dirs
    # the batch variant: a whole generation of offspring per ask, evaluated in one call
    return ParallelMOEAD(
        ref_dirs=ref_dirs,
        n_offsprings=len(ref_dirs),
        n_neighbors=int(s.opts.get("n_neighbors", 15)),
        prob_neighbor_mating=float(s.opts.get("prob_neighbor_mating", 0.7)),
        **s.operators,
    )


def _agemoea(s: _Setup, *, second: bool = False) -> Algorithm:
    from pymoo.algorithms.moo.age import AGEMOEA
    from pymoo.algorithms.moo.age2 import AGEMOEA2

    cls = AGEMOEA2 if second else AGEMOEA
    return cls(pop_size=s.pop_size, eliminate_duplicates=s.dedup, **s.operators)


def _smsemoa(s: _Setup) -> Algorithm:
    from pymoo.algorithms.moo.sms import SMSEMOA

    return SMSEMOA(pop_size=s.pop_size, eliminate_duplicates=s.dedup, **s.operators)


def _rnsga2(s: _Setup) -> Algorithm:
    from pymoo.algorithms.moo.rnsga2 import RNSGA2

    # reference points are given in true objective units; the optimizer sees +-log10
    points = np.asarray(s.opts["ref_points"], dtype=float)
    n_obj = s.problem.n_obj
    if points.ndim != 2 or points.shape[1] != n_obj or (points <= 0).any():
        raise InputError(
            f"ref_points must be positive vectors of {n_obj} objectives",
            key="algorithm.ref_points",
        )
    sign = np.asarray([-1.0 if o.maximize else 1.0 for o in s.problem.objective_list])
    return RNSGA2(
        ref_points=sign * np.log10(points),
        epsilon=float(s.opts.get("epsilon", 0.001)),
        pop_size=s.pop_size,
        eliminate_duplicates=s.dedup,
        **s.operators,
    )


def _ctaea(s: _Setup) -> Algorithm:
    from pymoo.algorithms.moo.ctaea import CTAEA

    return CTAEA(ref_dirs=s.ref_dirs, eliminate_duplicates=s.dedup, **s.operators)


#: pymoo algorithms by name: each builder takes the shared :class:`_Setup`.
BUILDERS: dict[str, Callable[[_Setup], Algorithm]] = {
    "nsga2": _nsga2,
    "nsga3": _nsga3,
    "unsga3": functools.partial(_nsga3, unified=True),
    "moead": _moead,
    "agemoea": _agemoea,
    "agemoea2": functools.partial(_agemoea, second=True),
    "smsemoa": _smsemoa,
    "rnsga2": _rnsga2,
    "ctaea": _ctaea,
}


@runtime_checkable
class Search(Protocol):
    """An algorithm as the driver runs it, one generation at a time: :meth:`ask` for designs,
    the driver evaluates the new ones into the archive, :meth:`tell`."""

    def ask(self, archive: Archive, *, max_new: int | None, termination: Any = None) -> np.ndarray:
        """Index rows to evaluate, at most ``max_new`` of them new to ``archive`` (None: no
        limit); empty when the algorithm has nothing left to propose. ``termination``: the
        run's limits (:class:`~evodse.search.driver.Termination`), None when unknown."""
        ...

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        """The designs ``X`` that :meth:`ask` returned are in ``archive`` now."""
        ...


class PymooSearch:
    """A pymoo algorithm as a :class:`Search`: ``ask`` is pymoo's ask (its population's
    designs, cut to the budget), ``tell`` serves the population from the archive and is pymoo's
    tell. ``first``: archived designs that replace the algorithm's own initial sample. After
    its first generation, an algorithm :mod:`evodse.search.ga_arrays` reproduces runs on arrays
    (the same designs, without pymoo's per-individual objects)."""

    def __init__(
        self,
        algorithm: Algorithm,
        problem: AcceleratorProblem,
        evaluator: ArchiveEvaluator,
        seed: int,
        first: np.ndarray | None = None,
    ):
        algorithm.evaluator = evaluator
        algorithm.setup(problem, termination=NoTermination(), seed=seed, verbose=False)
        if first is not None and len(first):
            algorithm.ask()  # initializes the algorithm; its own sample is replaced, not evaluated
            pop = Population.new(X=np.asarray(first))
            evaluator.eval(problem, pop)  # all archived: nothing is evaluated again
            algorithm.tell(infills=pop)
        self.pymoo = algorithm
        self.problem = problem
        self._array_ga = on_arrays(algorithm)
        self.arrays: ArrayGA | None = None  # the array version, once the algorithm has a population
        self._asked: tuple[Population, np.ndarray] | None = None

    @property
    def population(self) -> np.ndarray:
        """The current population's index rows."""
        if self.arrays is not None:
            return self.arrays.population
        return np.rint(self.pymoo.pop.get("X")).astype(np.int64)

    def ask(self, archive: Archive, *, max_new: int | None, termination: Any = None) -> np.ndarray:
        if self.arrays is None and self._array_ga is not None and self.pymoo.is_initialized:
            self.arrays = self._array_ga(self.pymoo, self.problem, archive)
        if self.arrays is not None:
            return self.arrays.ask(archive, max_new=max_new)
        pop = self.pymoo.ask()
        self._asked = None
        if pop is None:  # mating found nothing new: pymoo has terminated the algorithm
            return np.zeros((0, self.problem.n_var), dtype=np.int64)
        X = np.rint(pop.get("X")).astype(np.int64)
        keep = np.ones(len(X), dtype=bool) if max_new is None else archive.within_budget(X, max_new)
        self._asked = (pop, keep)
        return X[keep]

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        if self.arrays is not None:
            self.arrays.tell(archive, X)
            return
        if self._asked is None:
            return
        pop, keep = self._asked
        self._asked = None
        self.pymoo.evaluator.eval(self.problem, pop[keep])  # served from the archive
        if keep.all():
            self.pymoo.tell(infills=pop)
        # else the budget ends with this generation: its evaluated part is archived, and the
        # algorithm is not told (pymoo's MOEA/D pairs offspring with subproblems, C-TAEA's
        # first survival needs a full population)


@dataclass(frozen=True)
class SearchSetup:
    """What a :class:`Search` is built from: the problem, the options, the run's archive and
    evaluator, the seed, the run's random generator (``random``), the enumeration's next design
    number (``exhaustive``, resumed) and archived designs a pymoo algorithm starts from."""

    problem: AcceleratorProblem
    options: Mapping[str, Any]
    archive: Archive
    evaluator: ArchiveEvaluator
    seed: int
    rng: np.random.Generator
    cursor: int = 0
    first: np.ndarray | None = None


def _pymoo_search(name: str, s: SearchSetup) -> Search:
    algorithm = make_algorithm(name, s.options, s.problem, s.archive)
    return PymooSearch(algorithm, s.problem, s.evaluator, s.seed, s.first)


PYMOO_ALGORITHMS = tuple(BUILDERS)

#: Every algorithm but ``auto`` (which chooses one of them) by name, as a :class:`Search`.
SEARCHES: dict[str, Callable[[SearchSetup], Search]] = {
    **{name: functools.partial(_pymoo_search, name) for name in PYMOO_ALGORITHMS},
    "surrogate": lambda s: make_surrogate(s.options, s.problem, s.seed),
    "random": lambda s: RandomSearch(s.problem, s.options, s.rng),
    "exhaustive": lambda s: Enumeration(s.problem, s.options, s.cursor),
}

BASELINES = ("random", "exhaustive")
ALGORITHMS = (AUTO, *SEARCHES)

#: Options every algorithm accepts, with defaults (measured in docs/search_quality.md).
COMMON_OPTIONS = {
    "pop_size": 50,
    "crossover_prob": 0.9,
    "mutation_prob_var": None,  # None: 1 / n_var
    "mutation_step_p": 0.5,
    "mutation_reset": 0.1,
}
_INTEGER_OPTIONS = {"pop_size": 2, "batch": 1, "candidates": 1, "max_train": 2}
_EXTRA_OPTIONS = {
    "moead": ("n_neighbors", "prob_neighbor_mating"),
    "rnsga2": ("ref_points", "epsilon"),
}


#: The algorithm of an experiment that names none: ``auto`` evaluates and times a first
#: generation, then runs ``exhaustive``, ``surrogate`` or an evolutionary algorithm by what an
#: evaluation costs and the budget (:mod:`evodse.search.choice`, docs/search.md).
DEFAULT_ALGORITHM = AUTO


def reference_directions(n_obj: int, n_points: int, seed: int = 1) -> np.ndarray:
    """Das-Dennis directions with the most points <= ``n_points`` (at least ``n_obj + 1``);
    Riesz s-energy directions (``n_points`` of them) for more than 5 objectives."""
    if n_obj == 1:
        return np.ones((1, 1))
    if n_obj > 5:
        return get_reference_directions("energy", n_obj, n_points, seed=seed)
    partitions = 1
    while math.comb(partitions + 1 + n_obj - 1, n_obj - 1) <= n_points:
        partitions += 1
    return get_reference_directions("das-dennis", n_obj, n_partitions=partitions)


def default_options(name: str) -> dict[str, Any]:
    """The options ``name`` accepts, with their defaults."""
    if name == AUTO:
        return dict(AUTO_OPTIONS)
    return dict(SURROGATE_OPTIONS if name == "surrogate" else COMMON_OPTIONS)


def make_surrogate(
    options: Mapping[str, Any], problem: AcceleratorProblem, seed: int
) -> SurrogateSearch:
    """evodse's surrogate-assisted search with ``options`` over ``problem``'s space."""
    return SurrogateSearch(
        upper=np.asarray(problem.xu, dtype=np.int64),
        categorical=problem.design_space.categorical_mask,
        rng=np.random.default_rng(seed),
        composition=problem.composition,
        **options,
    )


def check_algorithm(name: Any, options: Mapping[str, Any], *, source: str | None) -> None:
    """Validate an algorithm name and its options (before anything runs)."""
    if name not in ALGORITHMS:
        raise InputError(
            f"unknown algorithm {name!r}; expected one of {list(ALGORITHMS)}",
            source=source,
            key="algorithm.name",
        )
    allowed = set(default_options(name)) | set(_EXTRA_OPTIONS.get(name, ()))
    for key, value in options.items():
        if key not in allowed:
            hint = " (auto chooses the algorithm; name one to set its options)" * (name == AUTO)
            raise InputError(
                f"unknown option {key!r} for {name}{hint}; expected one of {sorted(allowed)}",
                source=source,
                key=f"algorithm.{key}",
            )
        if key == "exhaustive_budget_s" and (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not 0 <= value < math.inf
        ):
            raise InputError(
                "expected a finite number of seconds >= 0 (0: never exhaustive)",
                source=source,
                key="algorithm.exhaustive_budget_s",
            )
        minimum = _INTEGER_OPTIONS.get(key)
        if minimum is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < minimum
        ):
            raise InputError(
                f"expected an integer >= {minimum}", source=source, key=f"algorithm.{key}"
            )
        if key == "batch_fraction" and (
            not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1
        ):
            raise InputError(
                "expected a number in [0, 1]", source=source, key="algorithm.batch_fraction"
            )
        if key in ("ard", "composite") and not isinstance(value, bool):
            raise InputError("expected true or false", source=source, key=f"algorithm.{key}")
    if name == "rnsga2" and "ref_points" not in options:
        raise InputError(
            "rnsga2 needs ref_points (a list of objective vectors)",
            source=source,
            key="algorithm.ref_points",
        )


def make_search(name: str, setup: SearchSetup) -> Search:
    """The algorithm ``name`` (not ``auto``) as a :class:`Search`."""
    build = SEARCHES.get(name)
    if build is None:
        raise InputError(f"unknown algorithm {name!r}", key="algorithm.name")
    return build(setup)


def make_algorithm(
    name: str, options: Mapping[str, Any], problem: AcceleratorProblem, archive: Archive
) -> Algorithm:
    """A configured pymoo algorithm (not the baselines) sharing ``archive`` for duplicates."""
    build = BUILDERS.get(name)
    if build is None:
        raise InputError(f"unknown algorithm {name!r}", key="algorithm.name")
    opts = {**COMMON_OPTIONS, **options}
    mutation = NeighbourMutation(
        categorical=problem.design_space.categorical_mask,
        prob_var=opts["mutation_prob_var"],
        step_p=float(opts["mutation_step_p"]),
        reset=float(opts["mutation_reset"]),
    )
    operators = {
        "sampling": IntegerRandomSampling(),
        "crossover": UX(prob=float(opts["crossover_prob"])),
        "mutation": mutation,
    }
    setup = _Setup(problem, opts, int(opts["pop_size"]), operators, ArchiveDuplicates(archive))
    return build(setup)
