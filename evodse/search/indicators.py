"""Normalized hypervolume (the one evodse computes everywhere) and IGD+ (pymoo's indicators).

Accelerator objectives span decades, so fronts are measured on ``log10`` of the true values
(maximized objectives negated: the optimizer's space), min-max normalized by an ideal and a
nadir, with the reference point at 1.1 in every objective: exact (pymoo's HV) up to four
objectives, beyond that a deterministic Monte-Carlo estimate over 20,000 fixed samples of the
box. A :class:`Normalization` also states its *basis*, what its ideal and nadir were taken from:

* one run (``history.csv``, ``summary.json``'s ``hypervolume``, the CLI line, the report and the
  run's own convergence figure): the run's first feasible front, fixed for the whole run so its
  generations compare (:class:`Hypervolume`, recorded as ``hypervolume_reference``);
* runs compared with each other (the seeds of an experiment, a sweep, a convergence figure of
  several runs): the feasible non-dominated designs of all of them together
  (:func:`common_normalization`, :func:`compare_fronts`), recorded beside the table;
* a benchmark against a known true front: that front (:meth:`Normalization.of`).

A value is only comparable with values of the same normalization; per-run values of
different runs are never put side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.indicators.igd_plus import IGDPlus

from evodse.search.archive import non_dominated

REF_POINT = 1.1
EXACT_MAX_OBJ = 4  # exact hypervolume up to this many objectives, Monte-Carlo beyond
MC_SAMPLES = 20_000  # fixed Monte-Carlo samples of the box [0, REF_POINT]^n
SPACE = "log10 of true objective values (maximized negated), min-max normalized"
RUN_BASIS = "the run's first feasible front"


def log_objectives(objectives: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """The optimizer's space: ``+-log10`` of true objective values (maximized negated)."""
    sign = np.where(np.asarray(maximize), -1.0, 1.0)
    return sign * np.log10(np.asarray(objectives, dtype=float).reshape(-1, len(sign)))


def method(n_obj: int) -> str:
    """How the hypervolume of ``n_obj`` objectives is computed."""
    if n_obj <= EXACT_MAX_OBJ:
        return "exact (pymoo HV)"
    return f"Monte-Carlo, {MC_SAMPLES} fixed samples"


@dataclass(frozen=True)
class Normalization:
    """Maps objective values to the normalized space: ``(log - ideal) / (nadir - ideal)``, with
    ``ideal`` and ``nadir`` in the optimizer's space; ``basis`` says where they come from."""

    maximize: tuple[bool, ...]
    ideal: np.ndarray
    nadir: np.ndarray
    basis: str = "a reference front"

    @classmethod
    def of(
        cls, reference: np.ndarray, maximize: Sequence[bool], *, basis: str = "a reference front"
    ) -> Normalization:
        """The ideal and nadir of ``reference`` (true values); a flat objective spans 1."""
        return cls.of_log(log_objectives(reference, maximize), maximize, basis=basis)

    @classmethod
    def of_log(
        cls, L: np.ndarray, maximize: Sequence[bool], *, basis: str = "a reference front"
    ) -> Normalization:
        """As :meth:`of`, from values already in the optimizer's space."""
        ideal, nadir = L.min(axis=0), L.max(axis=0)
        nadir = np.where(nadir - ideal > 1e-12, nadir, ideal + 1.0)
        return cls(maximize=tuple(bool(m) for m in maximize), ideal=ideal, nadir=nadir, basis=basis)

    @classmethod
    def from_reference(
        cls, reference: Mapping[str, Any], maximize: Sequence[bool]
    ) -> Normalization | None:
        """The inverse of :meth:`as_reference` (None when it holds no ideal)."""
        if reference.get("ideal") is None:
            return None
        return cls(
            maximize=tuple(bool(m) for m in maximize),
            ideal=np.asarray(reference["ideal"], dtype=float),
            nadir=np.asarray(reference["nadir"], dtype=float),
            basis=str(reference.get("basis", RUN_BASIS)),
        )

    def __call__(self, objectives: np.ndarray) -> np.ndarray:
        """True objective values to the normalized space."""
        return self.scale(log_objectives(objectives, self.maximize))

    def scale(self, L: np.ndarray) -> np.ndarray:
        """Optimizer-space values to the normalized space."""
        return (L - self.ideal) / (self.nadir - self.ideal)

    def as_reference(self) -> dict[str, Any]:
        """How values were normalized, as JSON data (``hypervolume_reference``)."""
        return {
            "space": SPACE,
            "basis": self.basis,
            "ideal": self.ideal.tolist(),
            "nadir": self.nadir.tolist(),
            "ref_point": REF_POINT,
            "method": method(len(self.ideal)),
        }


def _samples(n_obj: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0.0, REF_POINT, (MC_SAMPLES, n_obj))


def _box(n_obj: int) -> float:
    """The volume of the box [0, REF_POINT]^n_obj."""
    return float(np.prod(np.full(n_obj, REF_POINT)))


def _exact(Z: np.ndarray) -> float:
    """pymoo's exact hypervolume of points already below the reference point."""
    return float(HV(ref_point=np.full(Z.shape[1], REF_POINT))(Z))


def normalized_hypervolume(Z: np.ndarray) -> float:
    """Hypervolume of normalized points ``Z`` (any, dominated ones included) below the
    reference point: exact up to four objectives, the fixed-sample Monte-Carlo estimate
    beyond."""
    Z = np.asarray(Z, dtype=float)
    Z = Z[(Z < REF_POINT).all(axis=1)]
    if len(Z) == 0:
        return 0.0
    Z = Z[non_dominated(Z)]
    n_obj = Z.shape[1]
    if n_obj <= EXACT_MAX_OBJ:
        return _exact(Z)
    samples = _samples(n_obj)
    dominated = np.zeros(len(samples), dtype=bool)
    for z in Z:
        dominated |= (samples >= z).all(axis=1)
    return float(dominated.mean() * _box(n_obj))


def hypervolume(objectives: np.ndarray, norm: Normalization) -> float:
    """Hypervolume of ``objectives`` (true values) under ``norm``."""
    return normalized_hypervolume(norm(objectives))


def _usable(objectives: np.ndarray, n_obj: int) -> np.ndarray:
    """Rows with finite, positive values (the log space needs them)."""
    E = np.asarray(objectives, dtype=float).reshape(-1, n_obj)
    return E[np.all(np.isfinite(E) & (E > 0), axis=1)]


def common_normalization(
    fronts: Sequence[np.ndarray], maximize: Sequence[bool], *, basis: str | None = None
) -> Normalization | None:
    """The ideal and nadir of the non-dominated designs of ``fronts`` together (true values of
    feasible designs; any feasible designs, the union's front is taken here); None when they
    hold no usable value."""
    parts = [_usable(f, len(maximize)) for f in fronts]
    union = np.concatenate(parts) if parts else np.zeros((0, len(maximize)))
    if not len(union):
        return None
    L = log_objectives(union, maximize)
    if basis is None:
        runs = "the run" if len(fronts) == 1 else f"{len(fronts)} runs together"
        basis = f"the feasible non-dominated designs of {runs}"
    return Normalization.of_log(L[non_dominated(L)], maximize, basis=basis)


def compare_fronts(
    fronts: Sequence[np.ndarray], maximize: Sequence[bool], *, basis: str | None = None
) -> tuple[Normalization | None, list[float]]:
    """One normalization for runs compared with each other (:func:`common_normalization`)
    and each front's hypervolume under it (0.0 for every front when none has a usable
    value)."""
    norm = common_normalization(fronts, maximize, basis=basis)
    if norm is None:
        return None, [0.0] * len(fronts)
    usable = [_usable(f, len(maximize)) for f in fronts]
    return norm, [hypervolume(f, norm) if len(f) else 0.0 for f in usable]


class Hypervolume:
    """A run's hypervolume (see the module docstring): the normalization is fixed at the first
    feasible front seen (optimizer-space values), so a run's values compare across its
    generations. Beyond four objectives the Monte-Carlo estimate is kept incrementally: the
    archive front only improves, so a sample once dominated stays dominated and each front
    point is tested once (the same value as :func:`normalized_hypervolume`)."""

    def __init__(self, normalization: Normalization | None = None) -> None:
        """``normalization``: a fixed one instead of the first front's (then ``__call__``
        still takes optimizer-space values)."""
        self.ideal: np.ndarray | None = None if normalization is None else normalization.ideal
        self.nadir: np.ndarray | None = None if normalization is None else normalization.nadir
        self._basis = RUN_BASIS if normalization is None else normalization.basis
        self._samples: np.ndarray | None = None

    @property
    def normalization(self) -> Normalization | None:
        """The run's normalization (maximize flags unset: it works on optimizer values)."""
        if self.ideal is None:
            return None
        flags = (False,) * len(self.ideal)
        return Normalization(flags, self.ideal, self.nadir, basis=self._basis)

    def _init_samples(self, n_obj: int) -> None:
        self._samples = _samples(n_obj)
        self._dominated = np.zeros(MC_SAMPLES, dtype=bool)
        self._tested: set[bytes] = set()

    def __call__(self, F: np.ndarray) -> float:
        """The hypervolume of the front ``F`` (optimizer-space values)."""
        if len(F) == 0:
            return 0.0
        if self.ideal is None:
            norm = Normalization.of_log(F, (False,) * F.shape[1], basis=RUN_BASIS)
            self.ideal, self.nadir = norm.ideal, norm.nadir
        Z = self.normalization.scale(F)
        Z = Z[(Z < REF_POINT).all(axis=1)]
        if len(Z) == 0:
            return 0.0
        if Z.shape[1] <= EXACT_MAX_OBJ:
            return _exact(Z)
        return self._monte_carlo(Z)

    def _monte_carlo(self, Z: np.ndarray) -> float:
        n_obj = len(self.ideal)
        if self._samples is None:
            self._init_samples(n_obj)
        new = [z for z in Z if z.tobytes() not in self._tested]
        self._tested.update(z.tobytes() for z in new)
        open_ = np.flatnonzero(~self._dominated)
        for z in new:
            hit = (self._samples[open_] >= z).all(axis=1)
            self._dominated[open_[hit]] = True
            open_ = open_[~hit]
        return float(self._dominated.mean() * _box(n_obj))

    def arrays(self) -> dict[str, np.ndarray]:
        """The state as arrays (for checkpoints): ``ideal`` and ``nadir`` once set, and the
        Monte-Carlo estimate's ``dominated`` samples and ``tested`` points once used."""
        if self.ideal is None:
            return {}
        out = {"ideal": self.ideal, "nadir": self.nadir}
        if self._samples is not None:
            tested = [np.frombuffer(key, dtype=np.float64) for key in sorted(self._tested)]
            out["dominated"] = self._dominated
            out["tested"] = np.asarray(tested, dtype=np.float64).reshape(-1, len(self.ideal))
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Hypervolume:
        """The inverse of :meth:`arrays`."""
        hv = cls()
        if "ideal" in arrays:
            hv.ideal, hv.nadir = arrays["ideal"], arrays["nadir"]
        if "dominated" in arrays:
            hv._init_samples(len(hv.ideal))
            hv._dominated = arrays["dominated"].copy()
            hv._tested = {row.tobytes() for row in np.ascontiguousarray(arrays["tested"])}
        return hv

    def reference(self) -> dict[str, Any]:
        """How the run's hypervolume was normalized (``summary.json``'s
        ``hypervolume_reference``; ideal and nadir None before any feasible design)."""
        if self.ideal is None:
            return {
                "space": SPACE,
                "basis": RUN_BASIS,
                "ideal": None,
                "nadir": None,
                "ref_point": REF_POINT,
                "method": method(0),
            }
        return self.normalization.as_reference()


def igd_plus(objectives: np.ndarray, reference: np.ndarray, norm: Normalization) -> float:
    """IGD+ of ``objectives`` to the reference front (both true values)."""
    if len(objectives) == 0:
        return float("inf")
    return float(IGDPlus(norm(reference))(norm(objectives)))


def recovered(objectives: np.ndarray, reference: np.ndarray, *, rtol: float = 1e-9) -> float:
    """Fraction of reference-front points found (equal objective vectors)."""
    if len(reference) == 0:
        return 1.0
    found = 0
    for point in np.asarray(reference):
        close = np.isclose(objectives, point, rtol=rtol, atol=0).all(axis=1)
        found += bool(close.any())
    return found / len(reference)
