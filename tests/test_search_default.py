"""Exact evaluation budgets for every algorithm, and the default algorithm's choice by cost."""

from __future__ import annotations

import pytest

from evodse.search.algorithms import ALGORITHMS
from evodse.search.driver import Termination, new_state, run_search
from evodse.search.problem import AcceleratorProblem

SPACE = {  # 4 * 4 * 3 * 4 * 4 = 768 designs
    "pe_rows": {"pow2": [8, 64]},
    "pe_cols": {"pow2": [8, 64]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 128]},
    "weight_sram_kib": {"pow2": [16, 128]},
}


def tiny_problem(cls: type[AcceleratorProblem] = AcceleratorProblem, **changes):
    kwargs = {
        "workloads": ["squeezenet1_1"],
        "base": "edge",
        "space": SPACE,
        "objectives": ["latency", "energy", "area"],
        **changes,
    }
    return cls(**kwargs)


def options_for(name: str) -> dict:
    return {"ref_points": [[0.01, 1e9, 0.5]]} if name == "rnsga2" else {}


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("budget", [7, 37])
def test_every_algorithm_evaluates_exactly_its_budget(name, budget):
    """The last generation is cut to what is left of the budget (moead runs unconstrained)."""
    state = new_state(tiny_problem(), name, options_for(name), seed=1)
    run_search(state, Termination(evaluations=budget))
    assert len(state.archive) == budget
    assert state.stopped_by == "evaluations"
    assert state.history[-1]["evaluations"] == budget


@pytest.mark.parametrize("name", ["nsga2", "smsemoa", "moead", "random", "exhaustive"])
def test_a_cut_budget_evaluates_a_prefix_of_a_longer_run(name):
    """Cutting the last generation keeps the designs a longer run evaluates first, so a run
    to a large budget scores every smaller budget on its first evaluations."""
    problem = tiny_problem()
    short = run_search(new_state(problem, name, {}, seed=3), Termination(evaluations=73))
    long = run_search(new_state(problem, name, {}, seed=3), Termination(evaluations=150))
    assert (short.archive.column("X") == long.archive.column("X")[:73]).all()


def test_a_budget_beyond_the_space_evaluates_the_space():
    state = new_state(tiny_problem(), "random", {"pop_size": 100}, seed=0)
    run_search(state, Termination(evaluations=10_000))
    assert len(state.archive) == 768
    assert state.stopped_by == "space_exhausted"
