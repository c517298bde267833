"""The ask/tell protocol every algorithm runs through (:class:`evodse.search.algorithms.Search`)
proposes the designs the algorithms proposed before it: each case's designs, in evaluation
order, its front and hypervolume are those recorded in ``tests/golden/search_fronts.json``
(``tests/golden/regen_search_fronts.py``, run on the code before the protocol)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_checkpoint import CONFIG

from evodse.experiment.config import load_experiment
from evodse.search.driver import Termination, new_state, run_search

GOLDEN = Path(__file__).parent / "golden" / "search_fronts.json"

#: name -> (algorithm, options, termination): every kind of search, ``auto`` handing over to
#: the exhaustive enumeration, to the surrogate (a small budget) and to an evolutionary
#: algorithm seeded with its first generation, a pymoo budget cut mid-generation.
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "nsga2": ("nsga2", {"pop_size": 12}, {"generations": 6}),
    "nsga2_budget_cut": ("nsga2", {"pop_size": 12}, {"evaluations": 50}),
    "smsemoa": ("smsemoa", {"pop_size": 10}, {"generations": 4}),
    "surrogate": ("surrogate", {"pop_size": 20}, {"evaluations": 45}),
    "random": ("random", {"pop_size": 40}, {"generations": 3}),
    "exhaustive": ("exhaustive", {"pop_size": 300}, {"evaluations": 700}),
    "auto_exhaustive": ("auto", {}, {"generations": 3}),
    "auto_surrogate": ("auto", {}, {"evaluations": 40}),
    "auto_evolutionary": ("auto", {"exhaustive_budget_s": 0}, {"generations": 3}),
}


def run_case(name: str):
    algorithm, options, termination = CASES[name]
    problem = load_experiment({**CONFIG, "algorithm": {"name": "random"}}).build_problem()
    state = new_state(problem, algorithm, options, 0)
    return run_search(state, Termination(**termination))


def record(state) -> dict[str, Any]:
    """What a case must reproduce: the algorithm run, the designs in evaluation order (their
    SHA-256), the front's designs and the last hypervolume."""
    archive = state.archive
    X = np.ascontiguousarray(archive.column("X"), dtype=np.int64)
    return {
        "algorithm": state.algorithm_name,
        "evaluations": len(archive),
        "generations": state.generation,
        "designs_sha256": hashlib.sha256(X.tobytes()).hexdigest(),
        "front": X[archive.front].tolist(),
        "hypervolume": state.history[-1]["hypervolume"],
    }


@pytest.mark.parametrize("name", list(CASES))
def test_the_protocol_reproduces_the_recorded_runs(name):
    golden = json.loads(GOLDEN.read_text())[name]
    got = record(run_case(name))
    assert got["hypervolume"] == pytest.approx(golden.pop("hypervolume"), rel=1e-12)
    del got["hypervolume"]
    assert got == golden


def test_every_algorithm_is_a_search():
    """Each registered algorithm, built for a run, answers the protocol."""
    from evodse.search.algorithms import SEARCHES, Search

    problem = load_experiment({**CONFIG, "algorithm": {"name": "random"}}).build_problem()
    for name in SEARCHES:
        if name in ("moead", "rnsga2"):  # constraints unsupported / reference points needed
            continue
        state = new_state(problem, name, {}, 0)
        assert isinstance(state.algorithm, Search), name
        assert callable(state.algorithm.ask) and callable(state.algorithm.tell)
