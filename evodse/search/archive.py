"""The archive: every design evaluated in a run, and the non-dominated set among them.

The reported front is the archive's front, not the final population's: a design found in
generation 3 and later lost by the population still counts. Designs are keyed by their index
vector, so a design is never evaluated twice in a run.

The archive is held as whole columns (one array per field, grown geometrically), so reading a
column is a view and adding a generation costs what the generation holds, not what the archive
holds; look-ups go through :class:`KeyIndex` (sorted key arrays, no Python object per design).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.evaluator import Evaluator
from pymoo.util.nds.non_dominated_sorting import find_non_dominated

from evodse.search.problem import AcceleratorProblem, Evaluation

GROWTH = 1.5  # column capacity grows by this factor when full
MIN_CAPACITY = 1024


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``F`` (minimization), ascending; equal rows are
    all kept. pymoo's filter (not its full non-dominated sorting, which ranks every row)."""
    if len(F) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(find_non_dominated(F), dtype=np.int64)


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


def _columns(ev: Evaluation, generation: Any, metrics: list[str]) -> dict[str, Any]:
    """The archive's columns for the rows of ``ev``, added in ``generation``."""
    return {
        "X": ev.X,
        "objectives": ev.objectives,
        "F": ev.F,
        "G": ev.G,
        "generation": generation,
        "cv": ev.cv,
        "feasible": ev.feasible,
        **{name: ev.metrics[name] for name in metrics},
    }


class ReplayError(ValueError):
    """A replayed run proposed designs other than the ones its checkpoint recorded."""


BUCKET = 8  # keys per bucket of the index: one 64-byte cache line of int64 keys
MAX_LOAD = 0.5  # the index grows (doubles its buckets) before more of its slots are taken
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing's multiplier (2^64 / phi, odd)


class KeyIndex:
    """Archive row ids by design, without a Python object per design.

    A design's key is its flat number in the grid ``sizes`` (one int64) when the grid has fewer
    than 2^63 points, else the bytes of its index row. Keys live in a hash table of buckets of
    ``BUCKET`` slots (Fibonacci hashing; a full bucket continues in the next one), at most
    ``MAX_LOAD`` full, so a look-up reads about one bucket per key whatever the archive's size
    (a binary search reads about 20 cache lines per key in an archive of 10^6 designs). Adding
    a key costs O(1) amortized: the table doubles and is refilled when it reaches its load.
    About 45 bytes per key (keys and row ids, int64, at a load of 0.25 to 0.5)."""

    def __init__(self, n_var: int, sizes: np.ndarray | None = None):
        self.n_var = n_var
        self._strides: np.ndarray | None = None
        if sizes is not None and math.prod(int(s) for s in sizes) < 2**63:
            sizes = np.asarray(sizes, dtype=np.int64)
            self._strides = np.append(np.cumprod(sizes[::-1])[::-1][1:], 1).astype(np.int64)
        self._n = 0
        self._allocate(bits=6)

    def _allocate(self, bits: int) -> None:
        """An empty table of 2^bits buckets (an empty slot holds the key of the row of -1s,
        which no index row is)."""
        self._bits = bits
        empty = self.keys(np.full((1, self.n_var), -1, dtype=np.int64))
        self._keys = np.empty((1 << bits, BUCKET), dtype=empty.dtype)
        self._keys[...] = empty[0]
        self._rows = np.full((1 << bits, BUCKET), -1, dtype=np.int64)
        self._fill = np.zeros(1 << bits, dtype=np.int64)  # slots taken, from the left

    def keys(self, X: np.ndarray) -> np.ndarray:
        """The keys of index rows ``X`` (int64, or void holding the row's bytes)."""
        X = np.ascontiguousarray(np.asarray(X, dtype=np.int64)).reshape(-1, self.n_var)
        if self._strides is not None:
            return X @ self._strides
        return X.view(np.dtype((np.void, 8 * self.n_var))).ravel()

    @property
    def numbered(self) -> bool:
        """Whether keys are the flat numbers in the grid (int64), not row bytes."""
        return self._strides is not None

    def _bucket(self, keys: np.ndarray) -> np.ndarray:
        words = keys.view(np.uint64).reshape(len(keys), keys.itemsize // 8)  # void: a row
        mixed = words[:, 0].copy()
        for j in range(1, words.shape[1]):
            mixed = mixed * _GOLDEN + words[:, j]  # wraps modulo 2^64
        return ((mixed * _GOLDEN) >> np.uint64(64 - self._bits)).astype(np.int64)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The row id of each key, -1 where absent."""
        out = np.full(len(keys), -1, dtype=np.int64)
        todo = np.arange(len(keys))
        bucket = self._bucket(keys) if self._n else todo[:0]
        while len(bucket):
            hit = self._keys[bucket] == keys[todo, None]  # (keys, BUCKET): at most one True
            found = hit.any(axis=1)
            slot = hit.argmax(axis=1)
            out[todo[found]] = self._rows[bucket[found], slot[found]]
            on = ~found & (self._fill[bucket] == BUCKET)  # a full bucket: maybe in the next
            todo, bucket = todo[on], (bucket[on] + 1) & ((1 << self._bits) - 1)
        return out

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Index ``keys`` (absent and distinct) as ``rows``."""
        if self._n + len(keys) > MAX_LOAD * (BUCKET << self._bits):
            taken = np.arange(BUCKET) < self._fill[:, None]
            old_keys, old_rows = self._keys[taken], self._rows[taken]
            bits = self._bits
            while self._n + len(keys) > MAX_LOAD * (BUCKET << bits):
                bits += 1
            self._allocate(bits)
            self._insert(old_keys, old_rows)
        self._insert(np.asarray(keys), np.asarray(rows, dtype=np.int64))
        self._n += len(keys)

    def _insert(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Put ``keys`` in the first free slots of their buckets (the next bucket's when full)."""
        bucket = self._bucket(keys)
        while len(bucket):
            order = np.argsort(bucket, kind="stable")
            bucket, keys, rows = bucket[order], keys[order], rows[order]
            first = np.searchsorted(bucket, bucket)  # the first key of each key's bucket
            slot = self._fill[bucket] + np.arange(len(bucket)) - first
            fits = slot < BUCKET
            self._keys[bucket[fits], slot[fits]] = keys[fits]
            self._rows[bucket[fits], slot[fits]] = rows[fits]
            self._fill[bucket[fits]] = slot[fits] + 1  # the last write of a bucket wins
            on = ~fits
            keys, rows = keys[on], rows[on]
            bucket = (bucket[on] + 1) & ((1 << self._bits) - 1)


class Archive:
    """All evaluations of a run, in order, as whole columns, with an incrementally maintained
    feasible front. ``sizes`` (the number of values of each variable) makes keys one int64."""

    def __init__(self, n_var: int, n_obj: int, n_constr: int, sizes: np.ndarray | None = None):
        self.n_var, self.n_obj, self.n_constr = n_var, n_obj, n_constr
        self._index = KeyIndex(n_var, sizes)
        self._n = 0
        self._columns: dict[str, np.ndarray] = {
            "X": np.zeros((0, n_var), dtype=np.int64),
            "objectives": np.zeros((0, n_obj)),
            "F": np.zeros((0, n_obj)),
            "G": np.zeros((0, n_constr)),
            "generation": np.zeros(0, dtype=np.int64),
            "cv": np.zeros(0),
            "feasible": np.zeros(0, dtype=bool),
        }
        self._metrics: list[str] = []
        self._front = np.zeros(0, dtype=np.int64)  # row ids

    def __len__(self) -> int:
        return self._n

    def keys(self, X: np.ndarray) -> np.ndarray:
        """The look-up keys of index rows ``X``."""
        return self._index.keys(X)

    def contains_rows(self, X: np.ndarray) -> np.ndarray:
        """Boolean mask: which rows of ``X`` are already evaluated."""
        return self.contains_keys(self.keys(X))

    def contains_keys(self, keys: np.ndarray) -> np.ndarray:
        """Boolean mask: which designs of :meth:`keys` ``keys`` are already evaluated."""
        return self._index.lookup(keys) >= 0

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The row id of each design of :meth:`keys` ``keys``, -1 where not yet evaluated."""
        return self._index.lookup(keys)

    def duplicate_keys(
        self, keys: np.ndarray, *others: np.ndarray, to_itself: bool = True
    ) -> np.ndarray:
        """Boolean mask of the designs ``keys`` that are not new: already evaluated, a repeat
        of an earlier one of ``keys`` (``to_itself``), or among the keys ``others``."""
        duplicate = self.contains_keys(keys)
        if to_itself:
            duplicate |= _repeats(keys)
        others = tuple(o for o in others if len(o))
        if others:
            duplicate |= _member(keys, np.concatenate(others))
        return duplicate

    def within_budget(self, X: np.ndarray, new_designs: int) -> np.ndarray:
        """Boolean mask of the rows of ``X`` to evaluate so that at most ``new_designs`` of them
        are new to the archive: rows already archived are kept, and of the new designs those
        first in the order :meth:`ArchiveEvaluator.evaluate_rows` adds them (sorted index
        rows), so a budget cut short evaluates a prefix of what a longer one would."""
        X = np.asarray(X, dtype=np.int64)
        new = ~self.contains_rows(X)
        unique = self.distinct_rows(X[new])
        if len(unique) <= new_designs:
            return np.ones(len(X), dtype=bool)
        keep = self.keys(unique[: max(new_designs, 0)])
        return ~new | np.isin(self.keys(X), keep)

    def distinct_rows(self, X: np.ndarray) -> np.ndarray:
        """The distinct index rows of ``X``, sorted as ``np.unique(X, axis=0)`` sorts them
        (with int64 keys, the flat number in the grid orders rows as they compare)."""
        X = np.asarray(X, dtype=np.int64)
        if self._index.numbered:
            return X[np.unique(self.keys(X), return_index=True)[1]]
        return np.unique(X, axis=0)

    def _reserve(self, rows: int, ev: Evaluation) -> None:
        if not self._metrics and self._n == 0:
            self._metrics = list(ev.metrics)
            for name in self._metrics:
                self._columns[name] = np.zeros(0, dtype=np.asarray(ev.metrics[name]).dtype)
        capacity = len(self._columns["X"])
        if self._n + rows <= capacity:
            return
        capacity = max(self._n + rows, int(GROWTH * capacity), MIN_CAPACITY)
        for name, old in self._columns.items():
            new = np.empty((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self._n] = old[: self._n]
            self._columns[name] = new

    def add(self, ev: Evaluation, generation: int, *, keys: np.ndarray | None = None) -> None:
        """Append new (not yet archived, mutually distinct) evaluations; ValueError if they are
        not. ``keys``: their :meth:`keys`, from a caller that has checked them (not again)."""
        if keys is None:
            keys = self.keys(ev.X)
            if len(np.unique(keys)) != len(keys) or self.contains_keys(keys).any():
                raise ValueError("design already in the archive")
        start, stop = self._n, self._n + len(keys)
        self._reserve(len(keys), ev)
        for name, value in _columns(ev, generation, self._metrics).items():
            self._columns[name][start:stop] = value
        self._n = stop
        self._index.add(keys, np.arange(start, stop, dtype=np.int64))
        feasible = np.flatnonzero(ev.feasible) + start
        if len(feasible):
            candidates = np.concatenate([self._front, feasible])
            self._front = np.sort(candidates[non_dominated(self.column("F")[candidates])])

    @classmethod
    def restore(
        cls,
        ev: Evaluation,
        generation: np.ndarray,
        front: np.ndarray,
        sizes: np.ndarray | None = None,
    ) -> Archive:
        """An archive holding the rows of ``ev`` (added in ``generation``, per row) with the
        front ``front`` (row ids), as a checkpoint recorded them; ValueError if inconsistent."""
        archive = cls(ev.X.shape[1], ev.F.shape[1], ev.G.shape[1], sizes)
        generation = np.asarray(generation, dtype=np.int64)
        if len(generation) != len(ev.X) or (np.diff(generation) < 0).any():
            raise ValueError("the generation column is not one non-decreasing value per design")
        keys = archive.keys(ev.X)
        if len(np.unique(keys)) != len(keys):
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
            archive._metrics = list(ev.metrics)
            archive._columns = _columns(ev, generation, archive._metrics)
            archive._columns["X"] = np.asarray(ev.X, dtype=np.int64)
            archive._n = len(keys)
            archive._index.add(keys, np.arange(len(keys), dtype=np.int64))
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
        """One field over all evaluations, a read-only view: X, F, G, objectives, generation,
        cv, feasible, or a metric."""
        view = self._columns[name][: self._n]
        view.flags.writeable = False
        return view

    def metric_names(self) -> list[str]:
        return list(self._metrics)

    def rows(self, X: np.ndarray) -> np.ndarray:
        """Archive row ids of designs ``X`` (all must be archived; KeyError otherwise)."""
        rows = self._index.lookup(self.keys(X))
        if (rows < 0).any():
            raise KeyError("design not in the archive")
        return rows

    @property
    def front(self) -> np.ndarray:
        """Row ids of the feasible non-dominated designs, in evaluation order."""
        return self._front


def _member(keys: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``np.isin(keys, others)`` for a few hundred keys, by a binary search in ``others``
    sorted (10x faster than ``np.isin`` at that size)."""
    others = np.sort(others)
    i = np.minimum(np.searchsorted(others, keys), len(others) - 1)
    return others[i] == keys


def _repeats(keys: np.ndarray) -> np.ndarray:
    """Mask of the keys that repeat an earlier one."""
    first = np.zeros(len(keys), dtype=bool)
    first[np.unique(keys, return_index=True)[1]] = True
    return ~first


class ArchiveDuplicates(DuplicateElimination):
    """Drop offspring equal to each other, to the population, or to anything evaluated before."""

    def __init__(self, archive: Archive):
        super().__init__()
        self.archive = archive

    def do(self, pop, *args, return_indices=False, to_itself=True):
        """``pop`` without its duplicates, as :meth:`DuplicateElimination.do` filters it, with
        each population's designs read once (pymoo's reads the candidates once per other)."""
        if return_indices or len(pop) == 0:
            return super().do(pop, *args, return_indices=return_indices, to_itself=to_itself)
        others = (self.archive.keys(other.get("X")) for other in args if len(other))
        keys = self.archive.keys(pop.get("X"))
        return pop[~self.archive.duplicate_keys(keys, *others, to_itself=to_itself)]

    def _do(self, pop, other, is_duplicate):
        keys = self.archive.keys(pop.get("X"))
        if other is None:  # a repeat of an earlier offspring
            is_duplicate |= self.archive.duplicate_keys(keys)
        else:
            others = self.archive.keys(other.get("X"))
            is_duplicate |= self.archive.duplicate_keys(keys, others, to_itself=False)
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
        archive = self.archive
        keys = archive.keys(X)
        rows = archive.lookup(keys)
        new = rows < 0
        if new.any():
            X_new = archive.distinct_rows(X[new])
            new_keys = archive.keys(X_new)
            if self.recorded is not None:
                ev = self._recorded(X_new)
            elif self.runner is None or len(X_new) <= self.chunk_size:
                ev = self.problem.evaluate_designs(X_new)
            else:
                chunks = np.array_split(X_new, -(-len(X_new) // self.chunk_size))
                ev = Evaluation.concat(self.runner(self.problem.evaluate_designs, chunks))
            order = np.argsort(new_keys, kind="stable")
            rows[new] = len(archive) + order[np.searchsorted(new_keys[order], keys[new])]
            archive.add(ev, self.generation, keys=new_keys)
        return rows

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
