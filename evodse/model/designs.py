"""A population of accelerator designs as parallel numpy arrays (one entry per design)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from evodse.hardware.template import (
    CATEGORICAL,
    DATAFLOW_CHOICES,
    INT_KEYS,
    OPERAND_BITS,
    OPTIONAL_DEFAULTS,
    PE_REGS,
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
    The operand widths (``weight_bits``, ``activation_bits``, ``kv_bits``) hold 0 where the
    design leaves them to ``precision_bits`` (omitted: all 0); :meth:`bits` resolves them.
    The per-PE registers (``pe_input_regs`` and siblings) default to the template's default.
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
    weight_bits: np.ndarray | None = field(default=None)
    activation_bits: np.ndarray | None = field(default=None)
    kv_bits: np.ndarray | None = field(default=None)
    pe_input_regs: np.ndarray | None = field(default=None)
    pe_weight_regs: np.ndarray | None = field(default=None)
    pe_output_regs: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        for key in OPERAND_BITS:
            if getattr(self, key) is None:
                object.__setattr__(self, key, np.zeros(len(self.pe_rows)))
        for key in PE_REGS:
            if getattr(self, key) is None:
                object.__setattr__(self, key, np.full(len(self.pe_rows), OPTIONAL_DEFAULTS[key]))

    def __len__(self) -> int:
        return len(self.pe_rows)

    def bits(self, key: str) -> np.ndarray:
        """Resolved width (bits) of ``weight_bits``, ``activation_bits`` or ``kv_bits``."""
        value = getattr(self, key)
        return np.where(value > 0, value, self.precision_bits)

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
            elif f.name in OPERAND_BITS:
                values = [0 if v is None else v for v in values]
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
        for key in OPERAND_BITS:
            data[key] = int(data[key]) or None
        return accelerator_from_dict({**data, "name": name})
