"""The analytical cost model: systolic compute, tiling and DRAM traffic, energy and area."""

from evodse.model.designs import DATAFLOW_CODE, Designs
from evodse.model.evaluate import AREA_COMPONENTS, ENERGY_COMPONENTS, NetworkCost, evaluate

__all__ = [
    "AREA_COMPONENTS",
    "DATAFLOW_CODE",
    "ENERGY_COMPONENTS",
    "Designs",
    "NetworkCost",
    "evaluate",
]
