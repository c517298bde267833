"""Front-quality indicators in log-normalized objective space (pymoo's HV and IGD+).

Accelerator objectives span decades, so fronts are compared on ``log10`` of the true values
(maximized objectives negated), min-max normalized by the *reference* front's ideal and nadir,
with the hypervolume reference point at 1.1 in every objective.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.indicators.igd_plus import IGDPlus

from evodse.search.archive import non_dominated

REF_POINT = 1.1


@dataclass(frozen=True)
class Normalization:
    """Maps true objective values to the [0, 1] log space of a reference front."""

    maximize: tuple[bool, ...]
    ideal: np.ndarray
    nadir: np.ndarray

    @classmethod
    def of(cls, reference: np.ndarray, maximize: Sequence[bool]) -> Normalization:
        L = _log(reference, maximize)
        ideal, nadir = L.min(axis=0), L.max(axis=0)
        nadir = np.where(nadir - ideal > 1e-12, nadir, ideal + 1.0)
        return cls(maximize=tuple(maximize), ideal=ideal, nadir=nadir)

    def __call__(self, objectives: np.ndarray) -> np.ndarray:
        return (_log(objectives, self.maximize) - self.ideal) / (self.nadir - self.ideal)


def _log(objectives: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    sign = np.where(np.asarray(maximize), -1.0, 1.0)
    return sign * np.log10(np.asarray(objectives, dtype=float).reshape(-1, len(sign)))


def hypervolume(objectives: np.ndarray, norm: Normalization) -> float:
    """Hypervolume of the non-dominated part of ``objectives`` (true values)."""
    Z = norm(objectives)
    Z = Z[(Z < REF_POINT).all(axis=1)]
    if len(Z) == 0:
        return 0.0
    Z = Z[non_dominated(Z)]
    return float(HV(ref_point=np.full(Z.shape[1], REF_POINT))(Z))


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
