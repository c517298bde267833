"""pymoo's NSGA-II and SMS-EMOA, generation by generation, on arrays.

pymoo holds a population as one Python object per individual: at the model's speed, reading
and writing those objects (selection, crossover, mutation, duplicate filter, survival) costs
more than evaluating the designs. :class:`ArrayGA` runs the same algorithm on whole arrays:
after pymoo's own first generation (initial sample and survival), each generation is

1. mating (pymoo's ``InfillCriterion.do``): until ``n_offsprings`` new designs are found, or
   100 attempts: binary tournaments on random permutations (``TournamentSelection``), the
   crossover (its ``_do``, on the mating pairs that cross), the mutation (its ``_do``), and
   evodse's duplicate filter (:class:`~evodse.search.archive.ArchiveDuplicates`'s rule: new to
   the archive, to each other, to the population and to the offspring found so far);
2. survival (``Survival.do``): the feasible designs by the algorithm's own rule, then the
   infeasible ones by constraint violation.

The tournament and the feasible survival are the algorithm's:

- NSGA-II (``binary_tournament``, ``RankAndCrowding``): the smaller constraint violation, else
  domination, else the larger crowding distance, ties drawn at random; survival by pymoo's
  non-dominated sorting, the splitting front cut by pymoo's crowding distance and its
  randomized sort;
- SMS-EMOA (``cv_and_dom_tournament``, ``LeastHypervolumeContributionSurvival``): the smaller
  constraint violation, else domination, else a random pick; survival by non-dominated sorting,
  the splitting front cut one least hypervolume contributor (moocore's, in the objectives
  normalized to the population's bounds) at a time.

Every random number is drawn from the algorithm's generator in pymoo's order, and pymoo's own
functions do the sorting, crowding, hypervolume contributions, permutations and variation, so a
run proposes exactly the designs pymoo's algorithm proposes (``tests/test_ga_arrays.py``
compares them generation by generation); only the bookkeeping is new.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from moocore import hv_contributions
from pymoo.algorithms.moo.nsga2 import NSGA2, binary_tournament
from pymoo.algorithms.moo.sms import (
    SMSEMOA,
    LeastHypervolumeContributionSurvival,
    cv_and_dom_tournament,
)
from pymoo.core.algorithm import Algorithm
from pymoo.core.repair import NoRepair
from pymoo.core.variable import get
from pymoo.operators.selection.tournament import TournamentSelection
from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
from pymoo.util.misc import random_permutations
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from pymoo.util.normalization import normalize
from pymoo.util.randomized_argsort import randomized_argsort

from evodse.search.archive import Archive, ArchiveDuplicates
from evodse.search.problem import AcceleratorProblem


@dataclass(frozen=True, slots=True)
class Population:
    """A population as arrays: index rows, objectives, constraint violation and (NSGA-II) the
    crowding distance of its feasible members (NaN where no tournament reads it)."""

    X: np.ndarray
    F: np.ndarray
    cv: np.ndarray
    crowding: np.ndarray


class ArrayGA:
    """A pymoo genetic algorithm after its first generation, as a
    :class:`~evodse.search.algorithms.Search` on arrays (module docstring); subclasses name the
    pymoo algorithm, survival and tournament they reproduce, and give the tournament's tie break
    and the feasible survival."""

    pymoo_class: ClassVar[type[Algorithm]]
    survival_class: ClassVar[type]
    tournament: ClassVar[Callable]

    @classmethod
    def accepts(cls, algorithm: Algorithm) -> bool:
        """Whether ``algorithm`` is the pymoo algorithm this class reproduces, set up as evodse
        sets it up: binary tournaments, two parents and two offspring, no repair, evodse's
        duplicate filter."""
        selection = algorithm.mating.selection
        crossover = algorithm.mating.crossover
        return (
            type(algorithm) is cls.pymoo_class
            and type(algorithm.survival) is cls.survival_class
            and isinstance(selection, TournamentSelection)
            and selection.func_comp is cls.tournament
            and selection.pressure == 2
            and crossover.n_parents == crossover.n_offsprings == 2
            and type(algorithm.repair) is NoRepair
            and isinstance(algorithm.eliminate_duplicates, ArchiveDuplicates)
        )

    def __init__(self, algorithm: Algorithm, problem: AcceleratorProblem, archive: Archive):
        if not algorithm.is_initialized or not len(algorithm.pop):
            raise ValueError(f"{type(self).__name__} continues an initialized pymoo algorithm")
        self.problem = problem
        self.rng = algorithm.random_state
        self.pop_size = algorithm.pop_size
        self.n_offsprings = algorithm.n_offsprings
        self.max_attempts = algorithm.mating.n_max_iterations
        self.crossover = algorithm.mating.crossover
        self.mutation = algorithm.mating.mutation
        self.survival = algorithm.survival
        X = np.rint(algorithm.pop.get("X")).astype(np.int64)
        rows = archive.rows(X)
        cv = archive.column("cv")[rows]
        self.pop = Population(
            X=X, F=archive.column("F")[rows], cv=cv, crowding=self._crowding(algorithm, cv <= 0.0)
        )
        self._asked: np.ndarray | None = None

    @staticmethod
    def _crowding(algorithm: Algorithm, feasible: np.ndarray) -> np.ndarray:
        """The crowding distances pymoo's first survival gave the population (NaN: none)."""
        return np.full(len(feasible), np.nan)

    @property
    def population(self) -> np.ndarray:
        """The current population's index rows."""
        return self.pop.X

    def ask(self, archive: Archive, *, max_new: int | None, termination: object = None):
        off = self._mate(archive)
        keep = (
            np.ones(len(off), dtype=bool)
            if max_new is None
            else archive.within_budget(off, max_new)
        )
        self._asked = off if keep.all() else None  # a cut generation is not told
        return off[keep]

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        off, self._asked = self._asked, None
        if off is None or not len(off):
            return
        rows = archive.rows(off)  # the driver has evaluated them
        self.pop = self._survive(
            X=np.concatenate([self.pop.X, off]),
            F=np.concatenate([self.pop.F, archive.column("F")[rows]]),
            cv=np.concatenate([self.pop.cv, archive.column("cv")[rows]]),
        )

    # --- mating ---------------------------------------------------------------------------------

    def _mate(self, archive: Archive) -> np.ndarray:
        pop_keys = archive.keys(self.pop.X)
        off = np.zeros((0, self.pop.X.shape[1]), dtype=np.int64)
        off_keys = np.zeros(0, dtype=pop_keys.dtype)
        for _ in range(self.max_attempts):
            n_matings = math.ceil((self.n_offsprings - len(off)) / 2)
            X = self._mutate(self._cross(self._select(n_matings)))
            keys = archive.keys(X)
            new = ~archive.duplicate_keys(keys, pop_keys, off_keys)
            take = np.flatnonzero(new)[: self.n_offsprings - len(off)]
            off, off_keys = np.concatenate([off, X[take]]), np.concatenate([off_keys, keys[take]])
            if len(off) >= self.n_offsprings:
                break
        return off

    def _select(self, n_matings: int) -> np.ndarray:
        """``TournamentSelection._do``: parent pairs (n_matings, 2)."""
        n_random = n_matings * 2 * 2
        n_perms = math.ceil(n_random / len(self.pop.X))
        P = random_permutations(n_perms, len(self.pop.X), random_state=self.rng)[:n_random]
        a, b = np.reshape(P, (n_matings * 2, 2)).T
        cv = self.pop.cv
        infeasible = (cv[a] > 0.0) | (cv[b] > 0.0)
        a_better = (self.pop.F[a] < self.pop.F[b]).any(axis=1)
        b_better = (self.pop.F[b] < self.pop.F[a]).any(axis=1)
        a_wins = np.where(infeasible, cv[a] < cv[b], a_better & ~b_better)
        b_wins = np.where(infeasible, cv[b] < cv[a], b_better & ~a_better)
        undecided = ~infeasible & ~a_wins & ~b_wins  # neither dominates
        a_wins, b_wins = self._tie_break(a, b, undecided, a_wins, b_wins)
        S = np.where(a_wins, a, b)
        for i in np.flatnonzero(~a_wins & ~b_wins):  # pymoo's random pick, in tournament order
            S[i] = self.rng.choice([a[i], b[i]])
        return S.reshape(n_matings, 2)

    def _tie_break(self, a, b, undecided, a_wins, b_wins):
        """Who wins the tournaments ``undecided`` by constraints and domination (neither:
        a random pick)."""
        return a_wins, b_wins

    def _cross(self, parents: np.ndarray) -> np.ndarray:
        """``Crossover.do`` for two parents and two offspring."""
        X = np.swapaxes(self.pop.X[parents], 0, 1)  # (2, n_matings, n_var)
        n_matings = X.shape[1]
        cross = self.rng.random(n_matings) < get(self.crossover.prob, size=n_matings)
        Xp = X.copy()  # pairs that do not cross pass both parents on
        if cross.any():
            Q = self.crossover._do(self.problem, X, random_state=self.rng)
            Xp[:, cross] = Q[:, cross]
        return Xp.reshape(-1, X.shape[-1])

    def _mutate(self, X: np.ndarray) -> np.ndarray:
        """``Mutation.do``: every row mutated with the mutation's probability."""
        Xm = self.mutation._do(self.problem, X, random_state=self.rng)
        mutated = self.rng.random(size=len(X)) <= get(self.mutation.prob, size=len(X))
        return np.where(mutated[:, None], np.rint(Xm).astype(np.int64), X)

    # --- survival -------------------------------------------------------------------------------

    def _survive(self, *, X: np.ndarray, F: np.ndarray, cv: np.ndarray) -> Population:
        """``Survival.do``: the next population, in pymoo's order."""
        n_survive = min(self.pop_size, len(X))
        crowding = np.full(len(X), np.nan)
        if self.problem.has_constraints():
            feasible = np.flatnonzero(cv <= 0.0)
            infeasible = np.flatnonzero(cv > 0.0)
            infeasible = infeasible[np.argsort(cv[infeasible])]
        else:
            feasible, infeasible = np.arange(len(X)), np.zeros(0, dtype=np.int64)
        survivors = np.zeros(0, dtype=np.int64)
        if len(feasible):
            keep, distance = self._survive_feasible(F[feasible], min(len(feasible), n_survive))
            survivors = feasible[keep]
            crowding[survivors] = distance
        survivors = np.concatenate([survivors, infeasible[: n_survive - len(survivors)]])
        return Population(
            X=X[survivors], F=F[survivors], cv=cv[survivors], crowding=crowding[survivors]
        )

    def _survive_feasible(self, F: np.ndarray, n_survive: int) -> tuple[np.ndarray, np.ndarray]:
        """The survivors among feasible designs ``F`` (positions, in order) and their crowding
        distances."""
        raise NotImplementedError


class ArrayNSGA2(ArrayGA):
    """pymoo's ``NSGA2`` on arrays: crowding breaks domination ties, rank and crowding survive."""

    pymoo_class = NSGA2
    survival_class = RankAndCrowding
    tournament = staticmethod(binary_tournament)

    @classmethod
    def accepts(cls, algorithm: Algorithm) -> bool:
        return (
            super().accepts(algorithm) and algorithm.tournament_type == "comp_by_dom_and_crowding"
        )

    @staticmethod
    def _crowding(algorithm: Algorithm, feasible: np.ndarray) -> np.ndarray:
        values = algorithm.pop.get("crowding")
        return np.array(
            [v if f else np.nan for v, f in zip(values, feasible, strict=True)], dtype=float
        )

    def _tie_break(self, a, b, undecided, a_wins, b_wins):
        crowding = self.pop.crowding
        a_wins = a_wins | (undecided & (crowding[a] > crowding[b]))
        b_wins = b_wins | (undecided & (crowding[b] > crowding[a]))
        return a_wins, b_wins

    def _survive_feasible(self, F: np.ndarray, n_survive: int) -> tuple[np.ndarray, np.ndarray]:
        """``RankAndCrowding._do``."""
        keep: list[np.ndarray] = []
        distances: list[np.ndarray] = []
        n = 0
        for front in self.survival.nds.do(F, n_stop_if_ranked=n_survive):
            front = np.asarray(front)
            n_remove = max(n + len(front) - n_survive, 0)
            distance = self.survival.crowding_func.do(F[front, :], n_remove=n_remove)
            order = np.arange(len(front))
            if n_remove:
                order = randomized_argsort(
                    distance, order="descending", method="numpy", random_state=self.rng
                )[:-n_remove]
            keep.append(front[order])
            distances.append(distance[order])
            n += len(order)
        return np.concatenate(keep), np.concatenate(distances)


class ArraySMSEMOA(ArrayGA):
    """pymoo's ``SMSEMOA`` on arrays: random picks break domination ties, the least
    hypervolume contributors of the splitting front are removed one at a time."""

    pymoo_class = SMSEMOA
    survival_class = LeastHypervolumeContributionSurvival
    tournament = staticmethod(cv_and_dom_tournament)

    def __init__(self, algorithm: Algorithm, problem: AcceleratorProblem, archive: Archive):
        super().__init__(algorithm, problem, archive)
        self.normalize = algorithm.normalize
        self.eps = algorithm.survival.eps
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        # SMSEMOA._advance: the bounds of the population before the offspring join it
        F = self.pop.F
        self._bounds = (F.min(axis=0), F.max(axis=0) + 1e-32) if self.normalize else None
        super().tell(archive, X)

    def _survive_feasible(self, F: np.ndarray, n_survive: int) -> tuple[np.ndarray, np.ndarray]:
        """``LeastHypervolumeContributionSurvival._do``."""
        ideal, nadir = self._bounds if self._bounds is not None else (F.min(axis=0), F.max(axis=0))
        keep: list[np.ndarray] = []
        n = 0
        for front in NonDominatedSorting().do(F, n_stop_if_ranked=n_survive):
            front = np.asarray(front)
            if n + len(front) > n_survive:
                Ff = normalize(F[front], ideal, nadir)
                ref_point = np.full(F.shape[1], 1.0 + self.eps)
                while n + len(front) > n_survive:
                    k = hv_contributions(Ff, ref=ref_point).argmin()
                    Ff = np.delete(Ff, k, axis=0)
                    front = np.delete(front, k)
            keep.append(front)
            n += len(front)
        survivors = np.concatenate(keep)
        return survivors, np.full(len(survivors), np.nan)


#: The array version of each pymoo algorithm that has one.
ARRAY_GAS = (ArrayNSGA2, ArraySMSEMOA)


def on_arrays(algorithm: Algorithm) -> type[ArrayGA] | None:
    """The array version of ``algorithm`` when it is one :data:`ARRAY_GAS` reproduces exactly
    (as evodse sets it up), else None."""
    return next((cls for cls in ARRAY_GAS if cls.accepts(algorithm)), None)
