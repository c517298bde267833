"""Surrogate-assisted search: the algorithm for small evaluation budgets.

Each step fits radial-basis-function surrogates (scipy's :class:`RBFInterpolator`, cubic kernel,
linear tail) to the archive: inputs are the design indices scaled to [0, 1] per ordered
parameter and dummy-coded categories, outputs the log10 of each part of the objectives (min-max
normalized over the training set) and the constraint values. The parts come from the problem's
:class:`~evodse.search.objectives.Composite`: energy is modelled as DRAM energy plus on-chip
energy, per workload, and recomposed (pairwise parameter interactions explain more of the log
of each part than of the log of their sum); every other objective is its own part (option
``composite: false`` models the objectives directly). Input columns that are linear
combinations of others over the training designs are dropped (:func:`independent_columns`),
and predictions are clipped to ``EXTRAPOLATION`` training ranges beyond the training set.
Each part has its own model whose inputs are weighted per parameter (automatic relevance
determination): the weights minimize the model's leave-one-out error on the archive (Rippa's
closed form, :func:`loo_error`; fitted by L-BFGS-B on its analytic gradient from the
previous fit, :func:`fit_weights`), refitted every step up to ``ARD_POINTS`` designs and then
whenever the archive has grown by ``ARD_REFIT``; a parameter that barely moves a part gets a
small weight, so the interpolant stops spending its smoothness on it. It then scores a pool of
unevaluated candidates: neighbours of the archive front (:func:`neighbour_step`), uniform
crossovers of front pairs and uniform random designs (or the whole space when it is smaller
than the pool). The batch to evaluate is chosen greedily by predicted additive-epsilon
improvement over the archive front,

    gain(c) = min over front points p of max over objectives j of (p_j - c_j),

positive when no front point dominates the prediction ``c`` (how far it pushes the front out),
negative when one does (how far it falls behind). After each pick its prediction joins the
front ("believer" batch), so a batch spreads along the front. Candidates predicted to violate
a constraint are taken only when no candidate is predicted feasible, least violation first.

The state is the random generator and the last fitted weights (the surrogate is refitted
from the archive every step, the weights from a prefix of the archive whose length depends on
the archive size only, starting from the last fit; a checkpoint keeps both), so a resumed run
continues exactly as an uninterrupted one. Measured against exhaustive
fronts in ``docs/search_quality.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from scipy.interpolate import RBFInterpolator
from scipy.optimize import minimize
from scipy.spatial.distance import cdist

from evodse.search.archive import Archive
from evodse.search.objectives import Composite
from evodse.search.operators import neighbour_step
from evodse.search.space import index_rows

KERNEL = "cubic"  # measured best of cubic, thin-plate spline, quintic, linear (phi(r) = r^3)
ARD_POINTS = 150  # archive designs (best non-domination ranks first) the weights are fitted on
ARD_REFIT = 1.1  # beyond ARD_POINTS designs, weights are refitted each time the archive grows 10%
ARD_LOG_BOUND = 4.0  # weights within exp(+-4) of 1
ARD_ITERATIONS = 30  # L-BFGS-B iterations per weight fit, at most
EXTRAPOLATION = 1.0  # predictions clipped to the training range +- this multiple of it
_SINGULAR = 1e30  # the leave-one-out error the weight search sees for a singular system


@dataclass
class SurrogateSearch:
    """Proposes the next designs to evaluate from everything in the archive."""

    upper: np.ndarray  # largest index per parameter
    categorical: np.ndarray  # bool per parameter
    rng: np.random.Generator
    # the options of ``algorithm: {name: surrogate}`` (docs/search_quality.md)
    pop_size: int = 40  # initial uniform random designs
    batch: int = 5  # designs per step, at least
    batch_fraction: float = 0.03  # ... or this fraction of the archive, whichever is more
    candidates: int = 20_000  # pool scored by the surrogate each step
    max_train: int = 2_000  # archive designs the surrogate is fitted to (best ranks first)
    mutation_prob_var: float | None = None
    mutation_step_p: float = 0.5
    mutation_reset: float = 0.1
    ard: bool = True  # per-part parameter weights by leave-one-out error (else all 1)
    composite: bool = True  # model the composition's parts (else the objectives themselves)
    composition: Composite | None = None  # set by the problem (make_surrogate); not an option
    _weights: tuple[int, np.ndarray] | None = field(default=None, init=False, repr=False)

    @property
    def space_size(self) -> int:
        return math.prod(int(u) + 1 for u in self.upper)

    def ask(
        self, archive: Archive, max_new: int | None = None, termination: Any = None
    ) -> np.ndarray:
        """The next designs (index rows, none evaluated before; empty when the space is), at
        most ``max_new`` of them (:class:`~evodse.search.algorithms.Search`)."""
        left = self.space_size - len(archive)
        if max_new is not None:
            left = min(left, max_new)
        if left <= 0:
            return np.zeros((0, len(self.upper)), dtype=np.int64)
        if len(archive) < max(self.pop_size, len(self.upper) + 2):
            want = min(max(self.pop_size, len(self.upper) + 2) - len(archive), left)
            return self._unseen(self._uniform(4 * want + 16), archive)[:want]
        want = min(max(self.batch, int(self.batch_fraction * len(archive))), left)
        pool = self._unseen(self._pool(archive), archive)
        if len(pool) == 0:
            return pool
        return pool[self._select(archive, pool, want)]

    def tell(self, archive: Archive, X: np.ndarray) -> None:
        """Nothing to do: each :meth:`ask` fits the surrogate to the whole archive."""

    # ------------------------------------------------------------------ candidates

    def _uniform(self, n: int) -> np.ndarray:
        return self.rng.integers(0, self.upper + 1, (n, len(self.upper)))

    def _unseen(self, X: np.ndarray, archive: Archive) -> np.ndarray:
        """Rows of ``X`` not in the archive, duplicates dropped, first occurrences in order."""
        if self.space_size >= 2**62:  # flat design numbers would overflow int64
            X = X[~archive.contains_rows(X)]
            _, first = np.unique(X, axis=0, return_index=True)
            return X[np.sort(first)]
        strides = np.cumprod(np.concatenate([[1], self.upper[::-1] + 1]))[-2::-1]
        codes = X @ strides  # each design's number in the space: 1-D, so unique is fast
        _, first = np.unique(codes, return_index=True)
        first = np.sort(first)
        return X[first][~np.isin(codes[first], archive.column("X") @ strides)]

    def _pool(self, archive: Archive) -> np.ndarray:
        if self.space_size <= self.candidates:
            return index_rows(np.arange(self.space_size), self.upper + 1)
        X = archive.column("X")
        front = archive.front if len(archive.front) else np.arange(len(X))
        n_mut, n_cross = self.candidates // 2, self.candidates // 4
        parents = X[self.rng.choice(front, n_mut)]
        mutants = neighbour_step(
            parents,
            upper=self.upper,
            categorical=self.categorical,
            rng=self.rng,
            prob_var=self.mutation_prob_var,
            step_p=self.mutation_step_p,
            reset=self.mutation_reset,
        )
        a, b = X[self.rng.choice(front, n_cross)], X[self.rng.choice(front, n_cross)]
        crosses = np.where(self.rng.random(a.shape) < 0.5, a, b)
        return np.concatenate([mutants, crosses, self._uniform(self.candidates - n_mut - n_cross)])

    # ------------------------------------------------------------------ surrogate

    def _encode(self, X: np.ndarray) -> np.ndarray:
        """Ordered parameters as index / largest index; categories dummy-coded (first dropped)."""
        cols = []
        for j, (u, cat) in enumerate(zip(self.upper, self.categorical, strict=True)):
            if cat:
                cols.append(np.eye(int(u) + 1)[X[:, j]][:, 1:])
            else:
                cols.append(X[:, j : j + 1] / max(int(u), 1))
        return np.concatenate(cols, axis=1)

    def _columns(self) -> np.ndarray:
        """The parameter of each column of :meth:`_encode`."""
        return np.repeat(
            np.arange(len(self.upper)), np.where(self.categorical, self.upper, 1).astype(np.int64)
        )

    def _composed(self, archive: Archive) -> bool:
        return (
            self.composite
            and self.composition is not None
            and self.composition.available(archive.metric_names())
        )

    def _targets(self, archive: Archive) -> np.ndarray:
        """What the interpolants model, one column each: log10 of every part of the
        composition, or the objectives ``F`` themselves."""
        if not self._composed(archive):
            return archive.column("F")
        metrics = {p: archive.column(p) for p in self.composition.parts if isinstance(p, str)}
        return np.log10(self.composition.values(archive.column("objectives"), metrics))

    def _objectives(self, archive: Archive, targets: np.ndarray) -> np.ndarray:
        """Objectives ``F`` from (predicted) :meth:`_targets` values."""
        if not self._composed(archive):
            return targets
        return self.composition.compose(10.0**targets)

    def _weights_for(self, archive: Archive) -> np.ndarray:
        """(n_targets, n_params) input weights: fitted on the archive's first ``n`` designs,
        ``n`` the last refit size reached (so a resumed run refits the same weights)."""
        T = self._targets(archive)
        if not self.ard:
            return np.ones((T.shape[1], len(self.upper)))
        n = refit_size(len(archive))
        if self._weights is None or self._weights[0] != n:
            X = archive.column("X")[:n]
            rows = self._training_rows(archive.column("F")[:n], ARD_POINTS)
            Y, E, columns = _normalized(T[rows], T[rows]), self._encode(X[rows]), self._columns()
            # warm start from the previous fit (restored with a checkpoint, so a resumed run
            # fits the same weights)
            previous = self._weights[1] if self._weights is not None else None
            if previous is not None and previous.shape != (T.shape[1], len(self.upper)):
                previous = None
            fitted = [
                fit_weights(E, Y[:, j], columns, start=None if previous is None else previous[j])
                for j in range(T.shape[1])
            ]
            self._weights = (n, np.stack(fitted))
        return self._weights[1]

    def _predict(self, archive: Archive, pool: np.ndarray, train: np.ndarray) -> np.ndarray:
        """Predicted objectives (min-max normalized by the training set's) and constraint values
        of ``pool``, one column each."""
        X, F, G = archive.column("X"), archive.column("F"), archive.column("G")
        T = self._targets(archive)
        E, E_pool = self._encode(X[train]), self._encode(pool)
        targets = np.concatenate([_normalized(T[train], T[train]), G[train]], axis=1)
        # input weights per output column (constraints unweighted); columns sharing one
        # weighting (all of them without ``ard``) are fitted as one multi-output interpolant
        weights = [*self._weights_for(archive), *np.ones((G.shape[1], len(self.upper)))]
        shared: dict[bytes, list[int]] = {}
        for k, w in enumerate(weights):
            shared.setdefault(w.tobytes(), []).append(k)
        columns = self._columns()
        keep = independent_columns(E)  # the linear tail needs full column rank
        out = np.empty((len(pool), targets.shape[1]))
        for outputs in shared.values():
            w = weights[outputs[0]][columns]
            model = RBFInterpolator((E * w)[:, keep], targets[:, outputs], kernel=KERNEL, degree=1)
            out[:, outputs] = model((E_pool * w)[:, keep])
        # extrapolation is trusted up to EXTRAPOLATION training ranges beyond the training set
        out[:, : T.shape[1]] = np.clip(out[:, : T.shape[1]], -EXTRAPOLATION, 1 + EXTRAPOLATION)
        lo, span = _scale(T[train])
        predicted = self._objectives(archive, lo + out[:, : T.shape[1]] * span)
        return np.concatenate([_normalized(predicted, F[train]), out[:, T.shape[1] :]], axis=1)

    def predict(self, archive: Archive, X: np.ndarray) -> np.ndarray:
        """The surrogate's prediction of the optimizer's objectives (``archive.column("F")``
        units: +-log10 of the true values) for designs ``X`` (index rows), fitted to
        ``archive`` as :meth:`ask` fits it; exact at the training designs."""
        F = archive.column("F")
        train = self._training_rows(F, self.max_train)
        lo, span = _scale(F[train])
        return lo + self._predict(archive, np.asarray(X), train)[:, : F.shape[1]] * span

    def _select(self, archive: Archive, pool: np.ndarray, want: int) -> np.ndarray:
        """Indices into ``pool`` of the ``want`` candidates to evaluate."""
        F = archive.column("F")
        train = self._training_rows(F, self.max_train)
        try:
            predicted = self._predict(archive, pool, train)
        except np.linalg.LinAlgError:  # degenerate training set: fall back to the pool's order
            return np.arange(min(want, len(pool)))
        P, G_pool = predicted[:, : F.shape[1]], predicted[:, F.shape[1] :]
        violation = np.maximum(G_pool, 0.0).sum(axis=1)
        feasible_front = archive.front
        if len(feasible_front) == 0 or not (violation == 0).any():
            return np.argsort(violation, kind="stable")[:want]
        gain = epsilon_gain(P, _normalized(F[feasible_front], F[train]))
        gain[violation > 0] = -np.inf
        picked: list[int] = []
        for _ in range(min(want, int(np.isfinite(gain).sum()))):
            i = int(np.argmax(gain))
            picked.append(i)
            # the prediction joins the front: a point it dominates never set the minimum
            gain = np.minimum(gain, epsilon_gain(P, P[i : i + 1]))
            gain[picked] = -np.inf
        return np.asarray(picked, dtype=np.int64)

    @staticmethod
    def _training_rows(F: np.ndarray, limit: int) -> np.ndarray:
        """All archive rows, or the ``limit`` of the best non-domination ranks."""
        if len(F) <= limit:
            return np.arange(len(F))
        fronts = NonDominatedSorting().do(F, n_stop_if_ranked=limit)
        return np.sort(np.concatenate(fronts)[:limit]).astype(np.int64)


#: Options of ``algorithm: {name: surrogate}`` with their defaults.
SURROGATE_OPTIONS = {
    f.name: f.default
    for f in fields(SurrogateSearch)
    if f.init and f.name not in ("upper", "categorical", "rng", "composition")
}


def _scale(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``reference``: its minimum and its range (1 where it is constant)."""
    lo, hi = reference.min(axis=0), reference.max(axis=0)
    return lo, np.where(hi - lo > 1e-12, hi - lo, 1.0)


def _normalized(F: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``F`` min-max scaled by the range of ``reference`` per column."""
    lo, span = _scale(reference)
    return (F - lo) / span


def refit_size(n: int) -> int:
    """The archive prefix the weights are fitted on: all ``n`` designs up to ``ARD_POINTS``
    (a refit every step while refits are cheap), then the largest of ``ARD_POINTS`` times a
    power of ``ARD_REFIT`` (rounded up at each step) at most ``n``."""
    size = ARD_POINTS
    if n <= size:
        return n
    while (following := math.ceil(size * ARD_REFIT)) <= n:
        size = following
    return size


def independent_columns(E: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Mask of the columns of ``E`` that, in order, are not linear combinations of a constant
    and the columns kept before them: the interpolant's linear tail ``[1, E]`` must have full
    column rank. A constant column is dropped, and so is the last dummy column of a category
    when the training designs lack one of its levels (the rest then sum to 1)."""
    basis = [np.full(len(E), 1 / math.sqrt(max(len(E), 1)))]  # orthonormal, Gram-Schmidt
    keep = np.zeros(E.shape[1], dtype=bool)
    for k, column in enumerate(E.T):
        residual = column.astype(float)
        for _ in range(2):  # re-orthogonalized once, for rounding
            residual = residual - np.stack(basis, axis=1) @ (np.stack(basis) @ residual)
        norm = np.linalg.norm(residual)
        if len(basis) < len(E) and norm > rtol * max(np.linalg.norm(column), 1.0):
            keep[k] = True
            basis.append(residual / norm)
    return keep


def loo_error(E: np.ndarray, y: np.ndarray) -> float:
    """Mean squared leave-one-out error of the cubic RBF interpolant with linear tail of
    ``y`` on ``E``, in closed form (Rippa, Adv. Comput. Math. 11, 1999): the error at point
    ``i`` is ``c_i / (A^-1)_ii``, ``c`` the interpolation coefficients, ``A`` the augmented
    system matrix. Infinite when the system is singular."""
    n = len(E)
    tail = np.hstack([np.ones((n, 1)), E])
    A = np.block([[cdist(E, E) ** 3, tail], [tail.T, np.zeros((tail.shape[1],) * 2)]])
    try:
        inverse = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return math.inf
    with np.errstate(all="ignore"):  # a zero diagonal: numerically singular
        error = float(np.mean(((inverse[:n, :n] @ y) / np.diag(inverse)[:n]) ** 2))
    return error if math.isfinite(error) else math.inf


def _loo_and_gradient(
    squared: np.ndarray,
    E: np.ndarray,
    columns: np.ndarray,
    y: np.ndarray,
    log_w: np.ndarray,
    *,
    gradient: bool = True,
) -> tuple[float, np.ndarray | None]:
    """``log`` of :func:`loo_error` of ``E * exp(log_w)[columns]`` and its gradient in
    ``log_w``; ``squared[p]`` holds the squared differences between the designs summed over
    parameter ``p``'s columns. One inverse of the augmented system ``A`` (``B = A^-1``) gives
    both: with ``c = B y``, ``d = diag(B)``, ``e = c / d`` and ``u = e / d``,
    ``d sum(e^2) = 2 sum((B diag(u e) B - (B u) c^T) o dA)`` (``dA`` from the kernel
    ``r^3``, ``d r^3 / d log w_p = 3 r w_p^2 squared[p]``, and from the linear tail). Without
    ``gradient``, the error only (None for the gradient)."""
    n = len(E)
    w = np.exp(log_w)
    w2 = w**2
    r = np.sqrt(np.tensordot(w2, squared, axes=1))
    Ew = E * w[columns]
    m = E.shape[1] + 1
    A = np.zeros((n + m, n + m))
    A[:n, :n] = r**3
    A[:n, n] = A[n, :n] = 1.0
    A[:n, n + 1 :] = Ew
    A[n + 1 :, :n] = Ew.T
    try:
        B = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return math.log(_SINGULAR), np.zeros(len(log_w))
    c = B[:, :n] @ y
    d = np.diag(B)[:n]
    with np.errstate(all="ignore"):
        e = c[:n] / d
        loss = float(np.mean(e**2))
    if not (math.isfinite(loss) and loss > 0):
        return math.log(_SINGULAR), np.zeros(len(log_w))
    if not gradient:
        return math.log(loss), None
    u = np.zeros(n + m)
    u[:n] = e / d
    G = (B * (u * np.concatenate([e, np.zeros(m)]))) @ B - np.outer(B @ u, c)
    G = G + G.T  # dA is symmetric
    kernel = w2 * np.tensordot(squared, G[:n, :n] * (3.0 * r), axes=([1, 2], [0, 1]))
    tail = np.bincount(columns, weights=(G[:n, n + 1 :] * Ew).sum(axis=0), minlength=len(w))
    gradient = (kernel + 2.0 * tail) / n  # d loss; the pairs (i, j) and (j, i) of G both count
    return math.log(loss), gradient / loss


def fit_weights(
    E: np.ndarray, y: np.ndarray, columns: np.ndarray, start: np.ndarray | None = None
) -> np.ndarray:
    """Per-parameter input weights (``columns[k]`` is column ``k``'s parameter) minimizing
    :func:`loo_error`: L-BFGS-B on the log of the error over log weights in
    +-``ARD_LOG_BOUND``, with its analytic gradient (:func:`_loo_and_gradient`), from
    ``start`` (the previous fit's weights; all 1 when None) after a greedy pass that switches
    parameters off."""
    n_params = int(columns.max()) + 1
    keep = independent_columns(E)
    if not keep.any():
        return np.ones(n_params)
    E, columns = E[:, keep], columns[keep]
    squared = np.zeros((n_params, len(E), len(E)))
    for k in range(E.shape[1]):
        squared[columns[k]] += np.square(E[:, k, None] - E[None, :, k])
    x0 = np.zeros(n_params)
    if start is not None:
        x0 = np.clip(np.log(start), -ARD_LOG_BOUND, ARD_LOG_BOUND)
    best = _loo_and_gradient(squared, E, columns, y, x0, gradient=False)[0]
    if best >= math.log(_SINGULAR):
        return np.ones(n_params)
    # the error has local minima that a descent from x0 cannot leave (one weighs down a
    # parameter that matters instead of one that does not): first switch off, one at a time,
    # each parameter whose smallest weight lowers the error
    for p in range(n_params):
        trial = x0.copy()
        trial[p] = -ARD_LOG_BOUND
        error = _loo_and_gradient(squared, E, columns, y, trial, gradient=False)[0]
        if error < best:
            x0, best = trial, error
    result = minimize(
        lambda log_w: _loo_and_gradient(squared, E, columns, y, log_w),
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-ARD_LOG_BOUND, ARD_LOG_BOUND)] * n_params,
        options={"maxiter": ARD_ITERATIONS, "ftol": 1e-4, "gtol": 1e-3},
    )
    return np.exp(result.x)


def epsilon_gain(candidates: np.ndarray, front: np.ndarray, chunk: int = 250_000) -> np.ndarray:
    """``min_p max_j (front[p, j] - candidates[c, j])`` for every candidate (minimized
    objectives): > 0 when no front point dominates the candidate."""
    out = np.empty(len(candidates))
    step = max(1, chunk // max(len(front), 1))  # (step, len(front)) blocks stay in cache
    for lo in range(0, len(candidates), step):
        c = candidates[lo : lo + step]
        gain = front[None, :, 0] - c[:, None, 0]
        for j in range(1, front.shape[1]):
            np.maximum(gain, front[None, :, j] - c[:, None, j], out=gain)
        out[lo : lo + step] = gain.min(axis=1)
    return out
