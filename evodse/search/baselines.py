"""The two baselines as searches (:class:`~evodse.search.algorithms.Search`): ``random``
samples the space uniformly without repeats, in batches of one cost-model call; ``exhaustive``
enumerates it in C order (which is sorted order), a chunk per generation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from evodse.model.layers import layer_table
from evodse.search.archive import Archive
from evodse.search.problem import AcceleratorProblem
from evodse.search.space import index_rows

CHUNK_PAIRS = 250_000  # design x layer-shape pairs per vectorized call of the exhaustive baseline


def grid_sizes(problem: AcceleratorProblem) -> np.ndarray:
    """The number of values of each decision variable."""
    return np.asarray(problem.xu, dtype=np.int64) + 1


def exhaustive_chunk(problem: AcceleratorProblem) -> int:
    """Designs per vectorized call of the baselines: about ``CHUNK_PAIRS`` design x
    layer-shape pairs (the cost model's temporaries take ~340 bytes per pair, so ~85 MB),
    between 1,024 and 65,536 designs."""
    shapes = sum(layer_table(n).n_shapes for n in getattr(problem, "networks", ())) or 30
    return int(np.clip(CHUNK_PAIRS // shapes, 1024, 65_536))


def random_rows(
    problem: AcceleratorProblem, archive: Archive, rng: np.random.Generator, want: int
) -> np.ndarray:
    """Up to ``want`` uniform random designs not yet archived, in the order drawn (fewer near
    exhaustion)."""
    sizes = grid_sizes(problem)
    X_out = np.zeros((0, len(sizes)), dtype=np.int64)
    keys_out = archive.keys(X_out)
    for _ in range(100):  # resample duplicates; a nearly exhausted space ends early
        X = rng.integers(0, sizes, (want, len(sizes)))
        keys = archive.keys(X)
        first = np.sort(np.unique(keys, return_index=True)[1])  # first draws, in draw order
        X, keys = X[first], keys[first]
        fresh = ~archive.contains_keys(keys) & ~np.isin(keys, keys_out)
        take = np.flatnonzero(fresh)[: want - len(X_out)]
        X_out = np.concatenate([X_out, X[take]])
        keys_out = np.concatenate([keys_out, keys[take]])
        if len(X_out) >= want or len(archive) + len(X_out) >= problem.space_size:
            break
    return X_out


class RandomSearch:
    """Uniform random designs, ``pop_size`` per generation when set, else as many as one
    vectorized call of the cost model takes efficiently (:func:`exhaustive_chunk`)."""

    def __init__(
        self, problem: AcceleratorProblem, options: Mapping[str, Any], rng: np.random.Generator
    ):
        self.problem = problem
        self.batch = int(options.get("pop_size") or exhaustive_chunk(problem))
        self.rng = rng

    def ask(self, archive: Archive, *, max_new: int | None, termination: Any = None) -> np.ndarray:
        X = random_rows(self.problem, archive, self.rng, self.batch)
        if max_new is not None:
            X = X[archive.within_budget(X, max_new)]
        return X

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        """Nothing to learn."""


class Enumeration:
    """The space in C order from design number ``cursor``, ``pop_size`` designs per
    generation when set, else :func:`exhaustive_chunk`; designs already archived are served
    from the archive."""

    def __init__(self, problem: AcceleratorProblem, options: Mapping[str, Any], cursor: int = 0):
        self.problem = problem
        self.chunk = int(options.get("pop_size") or exhaustive_chunk(problem))
        self.cursor = cursor  # the next design's number

    def ask(self, archive: Archive, *, max_new: int | None, termination: Any = None) -> np.ndarray:
        """The next chunk, cut after ``max_new`` designs new to the archive; empty when the
        enumeration is done."""
        stop = min(self.cursor + self.chunk, self.problem.space_size)
        X = index_rows(np.arange(self.cursor, stop), grid_sizes(self.problem))
        if max_new is not None:
            new = np.cumsum(~archive.contains_rows(X))
            if len(new) and new[-1] > max_new:
                X = X[: int(np.searchsorted(new, max_new, side="left")) + 1]
        self.cursor += len(X)
        return X

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        """Nothing to learn."""
