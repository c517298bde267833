"""Hardware template (accelerator parameters) and technology tables."""

from evodse.hardware.technology import Technology, technology
from evodse.hardware.template import (
    DATAFLOW_CHOICES,
    DATAFLOWS,
    HARDWARE_KEYS,
    OPTIONAL_DEFAULTS,
    PLAUSIBLE_RANGES,
    Accelerator,
    accelerator_from_dict,
    load_hardware,
    shipped_designs,
)

__all__ = [
    "DATAFLOWS",
    "DATAFLOW_CHOICES",
    "HARDWARE_KEYS",
    "OPTIONAL_DEFAULTS",
    "PLAUSIBLE_RANGES",
    "Accelerator",
    "Technology",
    "accelerator_from_dict",
    "load_hardware",
    "shipped_designs",
    "technology",
]
