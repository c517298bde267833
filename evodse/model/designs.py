"""A population of accelerator designs as parallel numpy arrays (one entry per design)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from evodse.hardware.template import (
    CATEGORICAL,
    DATAFLOW_CHOICES,
    INT_KEYS,
    Accelerator,
    accelerator_from_dict,
    categorical_choices,
)

#: Integer codes of ``Accelerator.dataflow`` in :class:`Designs` (``auto`` = best per layer).
DATAFLOW_CODE = {name: code for code, name in enumerate(DATAFLOW_CHOICES)}
AUTO = DATAFLOW_CODE["auto"]


def encode(key: str, value: str) -> float:
    """The code :class:`Designs` stores for a categorical ``value`` (its index in the choices)."""
    return float(categorical_choices()[key].index(value))


def decode(key: str, code: float) -> str:
    """The name of a categorical code."""
    return categorical_choices()[key][int(code)]


@dataclass(frozen=True)
class Designs:
    """N designs, each field an array of shape (N,) with the hardware template's units.

    Categorical fields (``dataflow``, ``dram_type``, ``fusion``) hold codes: see :func:`encode`.
    """

    pe_rows: np.ndarray
    pe_cols: np.ndarray
    dataflow: np.ndarray
    ifmap_sram_kib: np.ndarray
    weight_sram_kib: np.ndarray
    ofmap_sram_kib: np.ndarray
    dram_bandwidth_gbps: np.ndarray
    frequency_mhz: np.ndarray
    precision_bits: np.ndarray
    vector_lanes: np.ndarray
    technology_nm: np.ndarray
    pe_stationary_regs: np.ndarray
    dram_type: np.ndarray
    fusion: np.ndarray

    def __len__(self) -> int:
        return len(self.pe_rows)

    @classmethod
    def from_accelerators(cls, accelerators: Sequence[Accelerator] | Accelerator) -> Designs:
        """Stack validated accelerators into arrays."""
        if isinstance(accelerators, Accelerator):
            accelerators = [accelerators]
        columns = {}
        for f in fields(cls):
            values = [getattr(a, f.name) for a in accelerators]
            if f.name in CATEGORICAL:
                values = [encode(f.name, v) for v in values]
            columns[f.name] = np.asarray(values, dtype=np.float64)
        return cls(**columns)

    def take(self, index: np.ndarray | Sequence[int]) -> Designs:
        """A sub-population."""
        return Designs(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def accelerator(self, i: int, name: str = "custom") -> Accelerator:
        """Design ``i`` as a validated :class:`Accelerator`."""
        data = {f.name: getattr(self, f.name)[i].item() for f in fields(self)}
        for key in CATEGORICAL:
            data[key] = decode(key, data[key])
        for key in INT_KEYS:
            data[key] = int(data[key])
        return accelerator_from_dict({**data, "name": name})
