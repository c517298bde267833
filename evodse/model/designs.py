"""A population of accelerator designs as parallel numpy arrays (one entry per design)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from evodse.hardware.template import DATAFLOW_CHOICES, Accelerator, accelerator_from_dict

#: Integer codes of ``Accelerator.dataflow`` in :class:`Designs` (``auto`` = best per layer).
DATAFLOW_CODE = {name: code for code, name in enumerate(DATAFLOW_CHOICES)}
AUTO = DATAFLOW_CODE["auto"]


@dataclass(frozen=True)
class Designs:
    """N designs, each field an array of shape (N,) with the hardware template's units."""

    pe_rows: np.ndarray
    pe_cols: np.ndarray
    dataflow: np.ndarray  # int codes, see DATAFLOW_CODE
    ifmap_sram_kib: np.ndarray
    weight_sram_kib: np.ndarray
    ofmap_sram_kib: np.ndarray
    dram_bandwidth_gbps: np.ndarray
    frequency_mhz: np.ndarray
    precision_bits: np.ndarray
    vector_lanes: np.ndarray
    technology_nm: np.ndarray

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
            if f.name == "dataflow":
                values = [DATAFLOW_CODE[v] for v in values]
            columns[f.name] = np.asarray(values, dtype=np.float64)
        return cls(**columns)

    def take(self, index: np.ndarray | Sequence[int]) -> Designs:
        """A sub-population."""
        return Designs(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def accelerator(self, i: int, name: str = "custom") -> Accelerator:
        """Design ``i`` as a validated :class:`Accelerator`."""
        data = {f.name: getattr(self, f.name)[i].item() for f in fields(self)}
        data["dataflow"] = DATAFLOW_CHOICES[int(data["dataflow"])]
        for key in ("pe_rows", "pe_cols", "precision_bits", "vector_lanes", "technology_nm"):
            data[key] = int(data[key])
        return accelerator_from_dict({**data, "name": name})
