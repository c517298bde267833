"""The metric registry (search/metrics.py) is the one table objectives, CSVs and plots read."""

from __future__ import annotations

import pytest

from evodse.hardware import load_hardware
from evodse.model import evaluate
from evodse.plots import units
from evodse.search.metrics import METRICS, WORKLOAD_METRICS
from evodse.search.objectives import OBJECTIVES, workload_metrics
from evodse.workload import load_workload


def test_the_cost_model_gives_exactly_the_registered_workload_metrics():
    cost = evaluate(load_hardware("edge"), load_workload("squeezenet1_1"))
    assert tuple(workload_metrics(cost)) == WORKLOAD_METRICS


def test_objectives_take_their_direction_from_the_registry():
    for metric, maximize in OBJECTIVES.values():
        assert METRICS[metric].maximize == maximize
    assert OBJECTIVES["throughput"] == ("throughput_ips", True)
    assert OBJECTIVES["energy"] == ("energy_pj", False)


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("form", ["{m}", "resnet50.{m}", "{m}@resnet50", "{m}_geomean"])
def test_every_metric_is_labelled_with_its_quantity_and_a_unit(metric, form):
    m = METRICS[metric]
    label = units.label(form.format(m=metric), [1.0 / m.si_factor])
    assert label.startswith(m.quantity)
    assert label.endswith(")") and "(" in label  # a unit in parentheses
    assert "_" not in label  # never the raw column name
