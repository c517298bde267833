"""The cost of networks on designs of any template: each template's own cost function.

:func:`network_costs` asks the designs' template (:mod:`evodse.hardware.protocol`) for its
cost function; :func:`systolic_costs` is the systolic template's (the model of
:mod:`evodse.model.evaluate`, every network in one pass: the designs' prices and the model's
fixed cost per call paid once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evodse.hardware.protocol import Accelerator, get_template
from evodse.model.designs import Designs
from evodse.model.evaluate import NetworkCost, as_designs, evaluate_networks
from evodse.workload.network import Network


def systolic_costs(designs: Designs, networks: Sequence[Network]) -> list[NetworkCost]:
    """The systolic template's cost of every network on ``designs``."""
    return evaluate_networks(designs, networks)  # one pass: the designs' prices once


def network_costs(
    hardware: Designs | Accelerator | Sequence[Accelerator], networks: Sequence[Network]
) -> list[Any]:
    """One cost per network on ``hardware`` (designs of one template), by its template."""
    designs = as_designs(hardware)
    return get_template(designs.template).costs(designs, networks)


def network_cost(hardware: Designs | Accelerator | Sequence[Accelerator], network: Network) -> Any:
    """The cost of one network on ``hardware``, by its template."""
    return network_costs(hardware, [network])[0]
