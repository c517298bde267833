"""Accelerator templates (the protocol, the registry, the systolic array) and technology tables."""

from evodse.hardware.protocol import (
    DEFAULT_TEMPLATE,
    TEMPLATES,
    HardwareParameter,
    Template,
    get_template,
    register_template,
)
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
    "DEFAULT_TEMPLATE",
    "HARDWARE_KEYS",
    "OPTIONAL_DEFAULTS",
    "PLAUSIBLE_RANGES",
    "TEMPLATES",
    "Accelerator",
    "HardwareParameter",
    "Technology",
    "Template",
    "accelerator_from_dict",
    "get_template",
    "load_hardware",
    "register_template",
    "shipped_designs",
    "technology",
]
