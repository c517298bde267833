"""The archive: every design evaluated in a run, and the non-dominated set among them.

The reported front is the archive's front, not the final population's: a design found in
generation 3 and later lost by the population still counts. Designs are keyed by their index
vector, so a design is never evaluated twice in a run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.evaluator import Evaluator
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from evodse.search.problem import AcceleratorProblem, Evaluation

_NDS = NonDominatedSorting()


def _keys(X: np.ndarray) -> list[bytes]:
    X = np.ascontiguousarray(np.asarray(X, dtype=np.int64))
    return [row.tobytes() for row in X]


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``F`` (minimization)."""
    if len(F) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(_NDS.do(F, only_non_dominated_front=True), dtype=np.int64)


def best_row(
    values: np.ndarray,
    X: np.ndarray,
    *,
    maximize: bool = False,
    rtol: float = 0.0,
    then: tuple[np.ndarray, ...] = (),
) -> int | None:
    """The row with the best finite value (None when there is none), independent of row
    order: rows within ``rtol`` of the best tie; ties go to the smallest of each array in
    ``then`` in turn, then to the lexicographically smallest design vector ``X``."""
    v = np.asarray(values, dtype=float)
    v = -v if maximize else v
    ok = np.isfinite(v)
    if not ok.any():
        return None
    best = v[ok].min()
    tie = np.flatnonzero(ok & (v <= best + rtol * abs(best)))
    keys = [np.asarray(k)[tie] for k in then] + list(np.asarray(X)[tie].T)
    return int(tie[np.lexsort(keys[::-1])[0]])


class ReplayError(ValueError):
    """A replayed run proposed designs other than the ones its checkpoint recorded."""


class Archive:
    """All evaluations of a run, in order, with an incrementally maintained feasible front."""

    def __init__(self, n_var: int, n_obj: int, n_constr: int):
        self.n_var, self.n_obj, self.n_constr = n_var, n_obj, n_constr
        self._index: dict[bytes, int] = {}
        self._chunks: list[tuple[Evaluation, np.ndarray]] = []  # (evaluation, generation per row)
        self._front = np.zeros(0, dtype=np.int64)  # row ids into the concatenated archive
        self._cache: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: bytes) -> bool:
        return key in self._index

    def contains_rows(self, X: np.ndarray) -> np.ndarray:
        """Boolean mask: which rows of ``X`` are already evaluated."""
        return np.asarray([k in self._index for k in _keys(X)], dtype=bool)

    def within_budget(self, X: np.ndarray, new_designs: int) -> np.ndarray:
        """Boolean mask of the rows of ``X`` to evaluate so that at most ``new_designs`` of them
        are new to the archive: rows already archived are kept, and of the new designs those
        first in the order :meth:`ArchiveEvaluator.evaluate_rows` adds them (sorted index
        rows), so a budget cut short evaluates a prefix of what a longer one would."""
        X = np.asarray(X, dtype=np.int64)
        new = ~self.contains_rows(X)
        unique = np.unique(X[new], axis=0)
        if len(unique) <= new_designs:
            return np.ones(len(X), dtype=bool)
        keep = set(_keys(unique[: max(new_designs, 0)]))
        return ~new | np.asarray([k in keep for k in _keys(X)], dtype=bool)

    def add(self, ev: Evaluation, generation: int) -> None:
        """Append new (not yet archived, mutually distinct) evaluations."""
        start = len(self._index)
        for i, key in enumerate(_keys(ev.X)):
            if key in self._index:
                raise ValueError("design already in the archive")
            self._index[key] = start + i
        self._chunks.append((ev, np.full(len(ev.X), generation, dtype=np.int64)))
        self._cache = None
        feasible = np.flatnonzero(ev.feasible) + start
        if len(feasible):
            candidates = np.concatenate([self._front, feasible])
            F = self.column("F")[candidates]
            self._front = np.sort(candidates[non_dominated(F)])

    @classmethod
    def restore(cls, ev: Evaluation, generation: np.ndarray, front: np.ndarray) -> Archive:
        """An archive holding the rows of ``ev`` (added in ``generation``, per row) with the
        front ``front`` (row ids), as a checkpoint recorded them; ValueError if inconsistent."""
        archive = cls(ev.X.shape[1], ev.F.shape[1], ev.G.shape[1])
        generation = np.asarray(generation, dtype=np.int64)
        if len(generation) != len(ev.X) or (np.diff(generation) < 0).any():
            raise ValueError("the generation column is not one non-decreasing value per design")
        archive._index = {key: i for i, key in enumerate(_keys(ev.X))}
        if len(archive._index) != len(ev.X):
            raise ValueError("a design appears twice")
        front = np.asarray(front, dtype=np.int64)
        if len(front) and (
            (np.diff(front) <= 0).any()
            or front[0] < 0
            or front[-1] >= len(ev.X)
            or not ev.feasible[front].all()
        ):
            raise ValueError("the front is not a sorted set of feasible designs")
        if len(ev.X):
            archive._chunks.append((ev, generation))
        archive._front = front
        return archive

    def evaluation(self, rows: slice | np.ndarray) -> Evaluation:
        """The archived evaluations of ``rows``."""
        return Evaluation(
            X=self.column("X")[rows],
            objectives=self.column("objectives")[rows],
            F=self.column("F")[rows],
            G=self.column("G")[rows],
            metrics={name: self.column(name)[rows] for name in self.metric_names()},
        )

    def column(self, name: str) -> np.ndarray:
        """A stacked array over all evaluations: X, F, G, objectives, generation, cv, feasible."""
        if self._cache is None:
            self._cache = {}
        if name not in self._cache:
            if name == "generation":
                parts = [g for _, g in self._chunks]
            elif name in ("cv", "feasible") or name in ("X", "F", "G", "objectives"):
                parts = [getattr(ev, name) for ev, _ in self._chunks]
            else:
                parts = [ev.metrics[name] for ev, _ in self._chunks]
            empty = {"X": (0, self.n_var), "F": (0, self.n_obj), "objectives": (0, self.n_obj)}
            shape = empty.get(name, (0, self.n_constr) if name == "G" else (0,))
            self._cache[name] = np.concatenate(parts) if parts else np.zeros(shape)
        return self._cache[name]

    def metric_names(self) -> list[str]:
        return list(self._chunks[0][0].metrics) if self._chunks else []

    def rows(self, X: np.ndarray) -> np.ndarray:
        """Archive row ids of designs ``X`` (all must be archived)."""
        return np.asarray([self._index[k] for k in _keys(X)], dtype=np.int64)

    @property
    def front(self) -> np.ndarray:
        """Row ids of the feasible non-dominated designs, in evaluation order."""
        return self._front

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = None
        return state


class ArchiveDuplicates(DuplicateElimination):
    """Drop offspring equal to each other, to the population, or to anything evaluated before."""

    def __init__(self, archive: Archive):
        super().__init__()
        self.archive = archive

    def _do(self, pop, other, is_duplicate):
        X = pop.get("X")
        keys = _keys(X)
        if other is None:
            seen: set[bytes] = set()
            for i, key in enumerate(keys):
                if key in seen or key in self.archive:
                    is_duplicate[i] = True
                seen.add(key)
        else:
            other_keys = set(_keys(other.get("X")))
            for i, key in enumerate(keys):
                if key in other_keys or key in self.archive:
                    is_duplicate[i] = True
        return is_duplicate


#: ``runner(function, chunks) -> results``: maps ``function`` over chunks, possibly elsewhere
#: (processes, a Dask cluster). ``None`` evaluates in process in one vectorized call.
ChunkRunner = Callable[[Callable[[np.ndarray], Evaluation], list[np.ndarray]], list[Evaluation]]


class ArchiveEvaluator(Evaluator):
    """pymoo evaluator that evaluates only designs new to the archive, vectorized.

    With a ``runner``, populations larger than ``chunk_size`` are split into chunks that the
    runner evaluates (e.g. on Dask workers); results are identical to in-process evaluation.
    """

    def __init__(
        self,
        archive: Archive,
        problem: AcceleratorProblem,
        runner: ChunkRunner | None = None,
        chunk_size: int = 1024,
    ):
        super().__init__()
        self.archive = archive
        self.problem = problem
        self.runner = runner
        self.chunk_size = chunk_size
        self.generation = 0
        self.recorded: Archive | None = None  # replay: new designs come from here, in order

    def __getstate__(self):
        state = self.__dict__.copy()
        state["runner"] = None  # a pool or cluster client does not pickle; re-attach on resume
        return state

    def evaluate_rows(self, X: np.ndarray) -> np.ndarray:
        """Archive row ids for ``X``, evaluating the designs not seen before."""
        X = np.asarray(X, dtype=np.int64)
        new = ~self.archive.contains_rows(X)
        if new.any():
            X_new = np.unique(X[new], axis=0)
            if self.recorded is not None:
                ev = self._recorded(X_new)
            elif self.runner is None or len(X_new) <= self.chunk_size:
                ev = self.problem.evaluate_designs(X_new)
            else:
                chunks = np.array_split(X_new, -(-len(X_new) // self.chunk_size))
                ev = Evaluation.concat(self.runner(self.problem.evaluate_designs, chunks))
            self.archive.add(ev, self.generation)
        return self.archive.rows(X)

    def _recorded(self, X_new: np.ndarray) -> Evaluation:
        """The next rows of the recorded archive, which must be the designs ``X_new``."""
        start = len(self.archive)
        stop = start + len(X_new)
        recorded = self.recorded.column("X")
        if stop > len(recorded) or not np.array_equal(recorded[start:stop], X_new):
            raise ReplayError(
                f"the replayed run proposes other designs than the checkpoint holds from row "
                f"{start} on"
            )
        return self.recorded.evaluation(slice(start, stop))

    def _eval(self, problem, pop, evaluate_values_of, **kwargs):
        X = np.rint(pop.get("X")).astype(np.int64)
        rows = self.evaluate_rows(X)
        pop.set("F", self.archive.column("F")[rows])
        if problem.n_ieq_constr:
            pop.set("G", self.archive.column("G")[rows])
        pop.apply(lambda ind: ind.evaluated.update(["F", "G"]))
