"""NSGA-II and SMS-EMOA on arrays (:mod:`evodse.search.ga_arrays`) propose exactly the designs
pymoo's ``NSGA2`` and ``SMSEMOA`` propose on their Population objects, generation by generation:
the same archive (designs in evaluation order, generation of each) and front, on constrained and
unconstrained problems, odd population sizes, crossover that sometimes does not happen, a space
small enough to run out of new designs, a budget cut mid-generation and ``auto``'s hand-over."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.moo.sms import SMSEMOA
from spaces import SMALL_SPACE

from evodse.experiment.config import load_experiment
from evodse.search import algorithms
from evodse.search.archive import Archive
from evodse.search.driver import Termination, new_state, run_search
from evodse.search.ga_arrays import ArrayNSGA2, ArraySMSEMOA, on_arrays

SPACE = SMALL_SPACE
TINY_SPACE = {"pe_rows": [8, 16, 32], "pe_cols": [8, 16], "dataflow": ["ws", "os"]}

#: name -> (space, constraints, algorithm, options, termination)
CASES: dict[str, tuple[dict, list[str], str, dict[str, Any], dict[str, Any]]] = {
    "unconstrained": (SPACE, [], "nsga2", {"pop_size": 16}, {"generations": 12}),
    "constrained_odd_population": (
        SPACE,
        ["area_mm2 <= 1.5"],
        "nsga2",
        {"pop_size": 13, "crossover_prob": 0.6},
        {"generations": 12},
    ),
    "mostly_infeasible": (
        SPACE,
        ["area_mm2 <= 0.6"],
        "nsga2",
        {"pop_size": 10},
        {"generations": 10},
    ),
    "space_runs_out": (TINY_SPACE, [], "nsga2", {"pop_size": 4}, {"generations": 10}),
    "budget_cut": (SPACE, ["area_mm2 <= 2"], "nsga2", {"pop_size": 12}, {"evaluations": 57}),
    # two objectives: auto's evolutionary algorithm is NSGA-II
    "auto_hands_over": (SPACE, [], "auto", {"exhaustive_budget_s": 0}, {"generations": 6}),
    "smsemoa": (SPACE, ["area_mm2 <= 1.5"], "smsemoa", {"pop_size": 11}, {"generations": 10}),
    "smsemoa_mostly_infeasible": (
        SPACE,
        ["area_mm2 <= 0.6"],
        "smsemoa",
        {"pop_size": 10, "crossover_prob": 0.7},
        {"generations": 8},
    ),
    "smsemoa_budget_cut": (SPACE, [], "smsemoa", {"pop_size": 12}, {"evaluations": 61}),
    # three objectives: auto's evolutionary algorithm is SMS-EMOA
    "auto_hands_over_3": (SPACE, [], "auto", {"exhaustive_budget_s": 0}, {"generations": 5}),
}
TWO_OBJECTIVES = ("auto_hands_over",)


def run(name: str, *, arrays: bool, monkeypatch: pytest.MonkeyPatch):
    space, constraints, algorithm, options, termination = CASES[name]
    config = {
        "name": "arrays",
        "workloads": ["squeezenet1_1"],
        "base": "edge",
        "space": space,
        "objectives": ["latency", "area"]
        if name in TWO_OBJECTIVES
        else ["latency", "energy", "area"],
        "constraints": constraints,
        "algorithm": {"name": "random"},
        "seeds": [0],
    }
    problem = load_experiment(config).build_problem()
    with monkeypatch.context() as patch:
        if not arrays:
            patch.setattr(algorithms, "on_arrays", lambda algorithm: None)
        state = new_state(problem, algorithm, options, 3)
        return run_search(state, Termination(**termination))


@pytest.mark.parametrize("name", list(CASES))
def test_arrays_propose_what_pymoo_proposes(name, monkeypatch):
    objects = run(name, arrays=False, monkeypatch=monkeypatch)
    fast = run(name, arrays=True, monkeypatch=monkeypatch)
    assert objects.algorithm.arrays is None
    expected = ArrayNSGA2 if fast.algorithm_name == "nsga2" else ArraySMSEMOA
    assert fast.algorithm_name in ("nsga2", "smsemoa")
    assert type(fast.algorithm.arrays) is expected  # the array path ran
    assert objects.generation == fast.generation > 2
    for column in ("X", "F", "generation"):
        assert np.array_equal(objects.archive.column(column), fast.archive.column(column)), column
    assert np.array_equal(objects.archive.front, fast.archive.front)
    assert objects.stopped_by == fast.stopped_by


def test_the_cases_reach_what_they_are_for(monkeypatch):
    """Infeasible designs in the population, crossover skipped, the space exhausted, the budget
    cut: each case exercises the path it names."""
    infeasible = run("mostly_infeasible", arrays=True, monkeypatch=monkeypatch)
    assert (infeasible.algorithm.arrays.pop.cv > 0).any()
    assert not infeasible.archive.column("feasible").all()
    runs_out = run("space_runs_out", arrays=True, monkeypatch=monkeypatch)
    assert runs_out.stopped_by == "space_exhausted"
    assert len(runs_out.archive) == runs_out.problem.space_size == 12
    cut = run("budget_cut", arrays=True, monkeypatch=monkeypatch)
    assert len(cut.archive) == 57


def test_only_the_algorithms_evodse_sets_up_run_on_arrays():
    problem = load_experiment(
        {
            "name": "x",
            "workloads": ["squeezenet1_1"],
            "base": "edge",
            "space": SPACE,
            "objectives": ["latency", "area"],
            "algorithm": {"name": "random"},
        }
    ).build_problem()
    archive = Archive(problem.n_var, problem.n_obj, problem.n_ieq_constr)
    assert on_arrays(algorithms.make_algorithm("nsga2", {}, problem, archive)) is ArrayNSGA2
    assert on_arrays(algorithms.make_algorithm("smsemoa", {}, problem, archive)) is ArraySMSEMOA
    # pymoo's own operators and duplicate rule
    assert on_arrays(NSGA2(pop_size=10)) is on_arrays(SMSEMOA(pop_size=10)) is None
    for name in ("nsga3", "agemoea", "rnsga2"):
        options = {"ref_points": [[1.0, 1.0]]} if name == "rnsga2" else {}
        assert on_arrays(algorithms.make_algorithm(name, options, problem, archive)) is None
