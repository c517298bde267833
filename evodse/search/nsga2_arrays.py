"""pymoo's NSGA-II, generation by generation, on arrays.

pymoo holds a population as one Python object per individual: at the model's speed, reading
and writing those objects (selection, crossover, mutation, duplicate filter, survival) costs
more than evaluating the designs. :class:`ArrayNSGA2` runs the same algorithm on whole arrays:
after pymoo's own first generation (initial sample and survival), each generation is

1. mating (pymoo's ``InfillCriterion.do``): until ``n_offsprings`` new designs are found, or
   100 attempts: binary tournaments on random permutations (``TournamentSelection`` with
   NSGA-II's ``binary_tournament``: the smaller constraint violation, else domination, else the
   larger crowding distance, ties drawn at random), the crossover (its ``_do``, on the mating
   pairs that cross), the mutation (its ``_do``), and evodse's duplicate filter
   (:class:`~evodse.search.archive.ArchiveDuplicates`'s rule: new to the archive, to each other,
   to the population and to the offspring found so far);
2. survival (``RankAndCrowding`` under ``Survival.do``): feasible designs by pymoo's
   non-dominated sorting, the splitting front cut by pymoo's crowding distance with pymoo's
   randomized sort; infeasible ones fill up by constraint violation.

Every random number is drawn from the algorithm's generator in pymoo's order, and pymoo's own
functions do the sorting, the crowding distance, the permutations and the variation, so a run
proposes exactly the designs pymoo's ``NSGA2`` proposes (``tests/test_nsga2_arrays.py``
compares them generation by generation); only the bookkeeping is new.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2, binary_tournament
from pymoo.core.repair import NoRepair
from pymoo.core.variable import get
from pymoo.operators.selection.tournament import TournamentSelection
from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
from pymoo.util.misc import random_permutations
from pymoo.util.randomized_argsort import randomized_argsort

from evodse.search.archive import Archive, ArchiveDuplicates, repeats
from evodse.search.problem import AcceleratorProblem


def runs_on_arrays(algorithm: object) -> bool:
    """Whether ``algorithm`` is pymoo's NSGA-II as evodse sets it up: binary tournaments,
    rank and crowding survival, no repair, evodse's duplicate filter, comparison by domination
    and crowding."""
    return (
        type(algorithm) is NSGA2
        and type(algorithm.survival) is RankAndCrowding
        and isinstance(algorithm.mating.selection, TournamentSelection)
        and algorithm.mating.selection.func_comp is binary_tournament
        and algorithm.mating.selection.pressure == 2
        and algorithm.mating.crossover.n_parents == algorithm.mating.crossover.n_offsprings == 2
        and type(algorithm.repair) is NoRepair
        and isinstance(algorithm.eliminate_duplicates, ArchiveDuplicates)
        and algorithm.tournament_type == "comp_by_dom_and_crowding"
    )


@dataclass(frozen=True, slots=True)
class Population:
    """A population as arrays: index rows, objectives, constraint violation, and the rank and
    crowding distance of its feasible members (NaN for infeasible ones, which no tournament or
    survival reads)."""

    X: np.ndarray
    F: np.ndarray
    cv: np.ndarray
    rank: np.ndarray
    crowding: np.ndarray


class ArrayNSGA2:
    """pymoo's ``NSGA2`` (as :func:`runs_on_arrays` accepts) after its first generation, as a
    :class:`~evodse.search.algorithms.Search` on arrays (module docstring)."""

    def __init__(
        self,
        algorithm: NSGA2,
        problem: AcceleratorProblem,
        archive: Archive,
    ):
        if not runs_on_arrays(algorithm) or not algorithm.is_initialized or not len(algorithm.pop):
            raise ValueError("ArrayNSGA2 continues an initialized pymoo NSGA2 set up by evodse")
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
        feasible = cv <= 0.0
        rank, crowding = (
            np.array(
                [v if f else np.nan for v, f in zip(values, feasible, strict=True)], dtype=float
            )
            for values in algorithm.pop.get("rank", "crowding")
        )
        self.pop = Population(X=X, F=archive.column("F")[rows], cv=cv, rank=rank, crowding=crowding)
        self._asked: np.ndarray | None = None

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
        X_all = np.concatenate([self.pop.X, off])
        F = np.concatenate([self.pop.F, archive.column("F")[rows]])
        cv = np.concatenate([self.pop.cv, archive.column("cv")[rows]])
        self.pop = self._survive(X_all, F, cv)

    # --- mating ---------------------------------------------------------------------------------

    def _mate(self, archive: Archive) -> np.ndarray:
        pop_keys = archive.keys(self.pop.X)
        off = np.zeros((0, self.pop.X.shape[1]), dtype=np.int64)
        off_keys = np.zeros(0, dtype=pop_keys.dtype)
        for _ in range(self.max_attempts):
            n_matings = math.ceil((self.n_offsprings - len(off)) / 2)
            parents = self._select(n_matings)
            X = self._mutate(self._cross(parents))
            keys = archive.keys(X)
            seen = np.concatenate([pop_keys, off_keys])
            new = ~(archive.contains_keys(keys) | repeats(keys) | np.isin(keys, seen))
            X, keys = (
                X[new][: self.n_offsprings - len(off)],
                keys[new][: self.n_offsprings - len(off)],
            )
            off, off_keys = np.concatenate([off, X]), np.concatenate([off_keys, keys])
            if len(off) >= self.n_offsprings:
                break
        return off

    def _select(self, n_matings: int) -> np.ndarray:
        """``TournamentSelection._do`` with ``binary_tournament``: parent pairs (n_matings, 2)."""
        n_random = n_matings * 2 * 2
        n_perms = math.ceil(n_random / len(self.pop.X))
        P = random_permutations(n_perms, len(self.pop.X), random_state=self.rng)[:n_random]
        a, b = np.reshape(P, (n_matings * 2, 2)).T
        p = self.pop
        infeasible = (p.cv[a] > 0.0) | (p.cv[b] > 0.0)
        a_better = (p.F[a] < p.F[b]).any(axis=1)
        b_better = (p.F[b] < p.F[a]).any(axis=1)
        a_wins = np.where(
            infeasible,
            p.cv[a] < p.cv[b],
            (a_better & ~b_better) | (~(a_better ^ b_better) & (p.crowding[a] > p.crowding[b])),
        )
        b_wins = np.where(
            infeasible,
            p.cv[b] < p.cv[a],
            (b_better & ~a_better) | (~(a_better ^ b_better) & (p.crowding[b] > p.crowding[a])),
        )
        S = np.where(a_wins, a, b)
        for i in np.flatnonzero(~a_wins & ~b_wins):  # pymoo's compare: a random pick, in order
            S[i] = self.rng.choice([a[i], b[i]])
        return S.reshape(n_matings, 2)

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

    def _survive(self, X: np.ndarray, F: np.ndarray, cv: np.ndarray) -> Population:
        """``Survival.do`` with ``RankAndCrowding``: the next population, in pymoo's order."""
        n_survive = min(self.pop_size, len(X))
        rank = np.full(len(X), np.nan)
        crowding = np.full(len(X), np.nan)
        if self.problem.has_constraints():
            feasible = np.flatnonzero(cv <= 0.0)
            infeasible = np.flatnonzero(cv > 0.0)
            infeasible = infeasible[np.argsort(cv[infeasible])]
        else:
            feasible, infeasible = np.arange(len(X)), np.zeros(0, dtype=np.int64)
        survivors = np.zeros(0, dtype=np.int64)
        if len(feasible):
            survivors = feasible[
                self._rank_and_crowd(
                    F[feasible], min(len(feasible), n_survive), rank, crowding, feasible
                )
            ]
        survivors = np.concatenate([survivors, infeasible[: n_survive - len(survivors)]])
        return Population(
            X=X[survivors],
            F=F[survivors],
            cv=cv[survivors],
            rank=rank[survivors],
            crowding=crowding[survivors],
        )

    def _rank_and_crowd(
        self, F: np.ndarray, n_survive: int, rank: np.ndarray, crowding: np.ndarray, at: np.ndarray
    ) -> np.ndarray:
        """``RankAndCrowding._do`` on ``F``: survivor positions in ``F``; the rank and crowding
        distance of every sorted design are written to ``rank[at]`` and ``crowding[at]``."""
        survivors: list[np.ndarray] = []
        n = 0
        for k, front in enumerate(self.survival.nds.do(F, n_stop_if_ranked=n_survive)):
            front = np.asarray(front)
            if n + len(front) > n_survive:
                n_remove = n + len(front) - n_survive
                distance = self.survival.crowding_func.do(F[front, :], n_remove=n_remove)
                order = randomized_argsort(
                    distance, order="descending", method="numpy", random_state=self.rng
                )[:-n_remove]
            else:
                distance = self.survival.crowding_func.do(F[front, :], n_remove=0)
                order = slice(None)
            rank[at[front]] = k
            crowding[at[front]] = distance
            survivors.append(front[order])
            n += len(survivors[-1])
        return np.concatenate(survivors) if survivors else np.zeros(0, dtype=np.int64)
