"""The analytical cost model: access counts per memory level, their prices, cycles and area."""

from evodse.model.counts import AccessCounts
from evodse.model.designs import DATAFLOW_CODE, Designs
from evodse.model.evaluate import AREA_COMPONENTS, ENERGY_COMPONENTS, NetworkCost, evaluate

__all__ = [
    "AREA_COMPONENTS",
    "DATAFLOW_CODE",
    "ENERGY_COMPONENTS",
    "AccessCounts",
    "Designs",
    "NetworkCost",
    "evaluate",
]
