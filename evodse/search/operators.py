"""Variation operators for accelerator design spaces (integer indices into ordered value lists).

Ordered parameters (array sizes, buffer sizes, bandwidths) have neighbours: 64 KiB is closer to
128 KiB than to 8 MiB, so mutation mostly steps to a nearby index. Categorical parameters
(dataflow) have no order: they are reset to another category. Crossover is pymoo's uniform
crossover (each gene from either parent), which keeps every gene a valid index.
"""

from __future__ import annotations

import numpy as np
from pymoo.core.mutation import Mutation


class NeighbourMutation(Mutation):
    """Per gene with probability ``prob_var`` (default ``1 / n_var``): a categorical gene is
    reset to a different category; an ordered one moves ``+-s`` indices with ``s`` geometric
    (``P(s) = p (1 - p)^(s - 1)``, mean ``1 / p``, reflected at the bounds), or with probability
    ``reset`` jumps to a uniformly drawn other value. At least one gene of every offspring
    changes (when any gene has more than one value).
    """

    def __init__(
        self,
        *,
        categorical: np.ndarray,
        prob_var: float | None = None,
        step_p: float = 0.5,
        reset: float = 0.1,
    ):
        super().__init__(prob=1.0)
        self.categorical = np.asarray(categorical, dtype=bool)
        self.prob_gene = prob_var
        self.step_p = step_p
        self.reset = reset

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        upper = np.asarray(problem.xu, dtype=np.int64)
        return neighbour_step(
            np.rint(X).astype(np.int64),
            upper=upper,
            categorical=self.categorical,
            rng=random_state,
            prob_var=self.prob_gene,
            step_p=self.step_p,
            reset=self.reset,
        ).astype(float)


_SIGNS = np.array([-1, 1])


def neighbour_step(
    X: np.ndarray,
    *,
    upper: np.ndarray,
    categorical: np.ndarray,
    rng: np.random.Generator,
    prob_var: float | None = None,
    step_p: float = 0.5,
    reset: float = 0.1,
) -> np.ndarray:
    """:class:`NeighbourMutation` on integer index rows ``X`` with bounds ``[0, upper]``."""
    n, n_var = X.shape
    p = prob_var if prob_var is not None else 1.0 / n_var
    mutable = upper > 0  # a single-valued gene cannot change
    mask = (rng.random((n, n_var)) < p) & mutable[None, :]
    # ``pool[rng.integers(0, len(pool), size)]`` is what ``rng.choice(pool, size)`` draws (its
    # code for a uniform choice with replacement), without its checks of the pool
    if mutable.any():  # force one mutable gene per offspring
        pool = np.flatnonzero(mutable)
        forced = pool[rng.integers(0, len(pool), n, dtype=np.int64)]
        mask[np.arange(n), forced] = True
    # every draw for every gene (the random stream does not depend on the mask), the
    # arithmetic on the mutated genes only
    lengths = rng.geometric(step_p, (n, n_var))
    signs = _SIGNS[rng.integers(0, 2, (n, n_var), dtype=np.int64)]
    jumps = rng.random((n, n_var)) < reset
    sizes = np.broadcast_to(upper + 1, X.shape)
    offsets = rng.integers(0, np.maximum(sizes - 1, 1))

    r, c = np.divmod(np.flatnonzero(mask), n_var)
    x, top, size = X[r, c], upper[c], upper[c] + 1
    span = 2 * top
    moved = np.mod(x + lengths[r, c] * signs[r, c], np.where(span > 0, span, 1))
    moved = np.where(moved > top, span - moved, moved)  # reflect into [0, upper]
    stuck = moved == x  # a reflection can land back home: take one step instead
    moved = np.where(stuck, np.where(top > x, x + 1, x - 1), moved)
    other = (x + 1 + offsets[r, c]) % size  # != x
    ordered = np.where(jumps[r, c], other, moved)
    out = X.copy()
    out[r, c] = np.where(np.asarray(categorical, dtype=bool)[c], other, ordered)
    return np.minimum(np.maximum(out, 0), upper).astype(np.int64)  # np.clip, at a fifth of its cost
