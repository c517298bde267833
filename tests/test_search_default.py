"""Exact evaluation budgets for every algorithm, and the default algorithm's choice by cost."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import evodse
from evodse.errors import InputError
from evodse.experiment import checkpoint
from evodse.experiment.config import load_experiment
from evodse.search.algorithms import ALGORITHMS, COMMON_OPTIONS
from evodse.search.choice import (
    AUTO,
    EXPENSIVE_S,
    PROBE_DESIGNS,
    RECORD_S,
    SMALL_BUDGET,
    SMALL_BUDGET_FRACTION,
    TIME_BUDGET_POP_SIZE,
    choose,
    evolutionary,
)
from evodse.search.driver import SearchState, Termination, new_state, run_search, step
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


# ----------------------------------------------------------------------------- the default


class CheapProblem(AcceleratorProblem):
    """Declares its cost, so the default's choice does not depend on this machine's speed."""

    seconds_per_evaluation = 1e-5


class SlowProblem(AcceleratorProblem):
    seconds_per_evaluation = 0.5  # a simulator, say


class SleepingProblem(AcceleratorProblem):
    """Really slow: every design takes at least 25 ms (the measured cost can only be more)."""

    def evaluate_designs(self, X):
        time.sleep(0.025 * len(X))
        return super().evaluate_designs(X)


BIG_SPACE = {  # 16 * 16 * 4 * 8 * 8 * 4 * 6 = 1,572,864 designs
    "pe_rows": {"range": [8, 128], "step": 8},
    "pe_cols": {"range": [8, 128], "step": 8},
    "dataflow": ["ws", "os", "is", "auto"],
    "ifmap_sram_kib": {"pow2": [32, 4096]},
    "weight_sram_kib": {"pow2": [32, 4096]},
    "ofmap_sram_kib": {"pow2": [16, 128]},
    "dram_bandwidth_gbps": [6.4, 12.8, 25.6, 51.2, 102.4, 204.8],
}


def front_designs(state) -> set[bytes]:
    X = state.archive.column("X")[state.archive.front]
    return {x.astype(np.int64).tobytes() for x in X}


def auto(problem, termination: Termination, seed: int = 0, **options):
    return run_search(new_state(problem, "auto", options, seed), termination)


def test_a_small_space_is_evaluated_whole_and_its_front_is_exact():
    state = auto(tiny_problem(CheapProblem), Termination(generations=100))
    choice = state.choice
    assert state.algorithm_name == choice.chosen == "exhaustive"
    assert choice.cost_source == "declared" and choice.seconds_per_evaluation == 1e-5
    assert choice.first_generation == PROBE_DESIGNS and choice.space_size == 768
    assert choice.exhaustive_estimate_s == pytest.approx(768 * (1e-5 + RECORD_S))
    assert "768 designs" in choice.reason and "exhaustive_budget_s 60" in choice.reason
    assert len(state.archive) == 768 and state.stopped_by == "space_exhausted"
    exact = run_search(new_state(tiny_problem(), "exhaustive", {}, 0), Termination())
    assert front_designs(state) == front_designs(exact)


def test_an_exhaustive_choice_ignores_the_search_step_limits():
    """generations and hv_stagnation count a search's steps: the chosen enumeration finishes."""
    limits = Termination(generations=1, hv_window=1, hv_tol=1.0)
    state = auto(tiny_problem(CheapProblem), limits)
    assert state.algorithm_name == "exhaustive" and len(state.archive) == 768


def test_a_time_limit_below_the_estimate_rules_out_exhaustive():
    state = auto(tiny_problem(CheapProblem), Termination(generations=2, time_s=1e-3))
    assert state.algorithm_name == "smsemoa"
    assert "termination.time_s 0.001" in state.choice.reason


def test_the_measured_cost_decides_when_none_is_declared():
    state = auto(tiny_problem(), Termination(generations=3))
    choice = state.choice
    assert choice.cost_source == "measured" and choice.seconds_per_evaluation > 0
    assert choice.first_generation == PROBE_DESIGNS
    assert state.algorithm_name == choice.chosen in ALGORITHMS


@pytest.mark.parametrize("cls", [SlowProblem, SleepingProblem], ids=["declared", "measured"])
def test_slow_evaluations_get_the_surrogate(cls):
    # 768 designs of 25 ms fit in a minute: a budget of 1 s rules the enumeration out
    state = auto(tiny_problem(cls), Termination(generations=2), exhaustive_budget_s=1)
    assert state.algorithm_name == state.choice.chosen == "surrogate"
    assert state.choice.seconds_per_evaluation >= EXPENSIVE_S
    assert "evaluations are expensive" in state.choice.reason
    # the first generation is the surrogate's training set: its next step is a model step
    assert len(state.archive) == PROBE_DESIGNS + 5


def test_a_big_space_gets_the_evolutionary_algorithm_seeded_with_the_first_generation():
    problem = tiny_problem(CheapProblem, space=BIG_SPACE)
    state = auto(problem, Termination(generations=1))
    assert state.choice.chosen == state.algorithm_name == evolutionary(3) == "smsemoa"
    assert "more than exhaustive_budget_s 60" in state.choice.reason
    first = state.archive.column("X")
    population = state.algorithm.population
    assert {x.tobytes() for x in population} == {x.tobytes() for x in first}
    run_search(state, Termination(generations=4))
    assert len(state.archive) == 4 * PROBE_DESIGNS  # three generations of new offspring
    again = auto(problem, Termination(generations=4))
    assert (again.archive.column("X") == state.archive.column("X")).all()


@pytest.mark.parametrize(
    ("objectives", "expected"),
    [
        (["edp"], "nsga2"),
        (["latency", "area"], "nsga2"),
        (["latency", "energy", "area"], "smsemoa"),
        (["latency", "energy", "area", "power"], "nsga3"),
    ],
)
def test_the_evolutionary_algorithm_suits_the_objective_count(objectives, expected):
    problem = tiny_problem(CheapProblem, objectives=objectives)
    state = auto(problem, Termination(generations=2), exhaustive_budget_s=0)
    assert state.algorithm_name == expected == evolutionary(len(objectives))
    assert len(state.archive) == 2 * PROBE_DESIGNS


def test_a_small_evaluation_budget_is_exactly_a_surrogate_run():
    problem = tiny_problem(CheapProblem, space=BIG_SPACE)
    state = auto(problem, Termination(evaluations=45), seed=4)
    assert state.algorithm_name == "surrogate" and "small evaluation budget" in state.choice.reason
    named = run_search(new_state(problem, "surrogate", {}, 4), Termination(evaluations=45))
    assert (state.archive.column("X") == named.archive.column("X")).all()
    assert state.choice.first_generation == 40  # the surrogate's initial sample, timed


def test_a_larger_evaluation_budget_on_a_cheap_model_gets_the_evolutionary_algorithm():
    problem = tiny_problem(CheapProblem, space=BIG_SPACE)
    budget = 1600  # above 1,000 and above 0.1% of the 1,572,864 designs
    assert budget > SMALL_BUDGET and budget > SMALL_BUDGET_FRACTION * problem.space_size
    state = auto(problem, Termination(evaluations=budget))
    assert state.algorithm_name == "smsemoa" and len(state.archive) == budget


def test_choose_rules():
    def chosen(space, cost, evaluations=None, time_s=None, budget=60.0, n_obj=3):
        return choose(
            space_size=space,
            n_obj=n_obj,
            seconds_per_evaluation=cost,
            cost_source="declared",
            first_generation=50,
            evaluations=evaluations,
            time_s=time_s,
            exhaustive_budget_s=budget,
        ).chosen

    fits = int(60 / (1e-5 + RECORD_S))  # the largest space exhaustive within 60 s
    assert chosen(fits, 1e-5) == "exhaustive"
    assert chosen(fits + 1, 1e-5) == "smsemoa"
    assert chosen(fits, 1e-5, budget=30) == "smsemoa"
    assert chosen(fits, 1e-5, evaluations=fits) == "exhaustive"
    assert chosen(fits, 1e-5, evaluations=fits - 1) == "smsemoa"  # fewer asked for
    assert chosen(10**6, 1e-5, evaluations=SMALL_BUDGET) == "surrogate"
    assert chosen(10**7, 1e-5, evaluations=10**4) == "surrogate"  # 0.1% of the space
    assert chosen(10**7, 1e-5, evaluations=10**4 + 1) == "smsemoa"
    assert chosen(10**6, EXPENSIVE_S) == "surrogate"
    assert chosen(10**6, EXPENSIVE_S / 2) == "smsemoa"
    assert chosen(100, 1.0) == "surrogate"  # 100 designs of 1 s: more than a minute
    assert chosen(100, 1.0, budget=200) == "exhaustive"
    assert chosen(10**7, 1e-5, n_obj=1) == "nsga2"
    assert chosen(10**7, 1e-5, n_obj=5) == "nsga3"


def load_auto(
    header: bytes, arrays: bytes, problem, resolved: dict, replay: bool = True
) -> SearchState:
    """The ``auto`` run of a checkpoint's JSON ``header`` and ``arrays`` (its seed resolved)."""
    files = {checkpoint.JSON_FILE: header, checkpoint.ARRAYS_FILE: arrays}
    return checkpoint.load(
        files.__getitem__,
        where="run",
        problem=problem,
        algorithm=AUTO,
        options={},
        seed=resolved["seeds"][0],
        resolved=resolved,
        replay=replay,
    )


def test_the_choice_survives_a_checkpoint():
    """A data-only checkpoint of an ``auto`` run records the choice; the resumed run replays
    the chosen evolutionary algorithm from it and ends as the uninterrupted run."""
    problem = tiny_problem(CheapProblem, space=BIG_SPACE)
    whole = auto(problem, Termination(generations=5), seed=2)
    state = auto(problem, Termination(generations=2), seed=2)
    resolved = {"seeds": [2], "algorithm": {"name": AUTO}}
    saved = checkpoint.encode(state, resolved)
    restored = load_auto(saved.json, saved.arrays, problem, resolved)
    assert restored.choice == whole.choice and restored.algorithm_name == whole.choice.chosen
    run_search(restored, Termination(generations=5))
    assert (restored.archive.column("X") == whole.archive.column("X")).all()
    assert (restored.archive.column("F") == whole.archive.column("F")).all()


def test_a_run_bounded_by_time_alone_hands_over_to_a_larger_population():
    """``auto`` under ``time_s`` alone gives SMS-EMOA its time-budget population (recorded in
    the choice); a checkpoint replays it, and one of an earlier version (no options) loads."""
    problem = tiny_problem(CheapProblem, space=BIG_SPACE)
    forever = Termination(time_s=1e9)

    def run(generations: int) -> SearchState:
        state = new_state(problem, "auto", {}, 3)
        for _ in range(generations):
            step(state, termination=forever)
        return state

    whole, state = run(4), run(2)
    size = TIME_BUDGET_POP_SIZE["smsemoa"]
    assert whole.choice.options == {"pop_size": size} == whole.options
    assert len(whole.archive) == PROBE_DESIGNS + 3 * size
    resolved = {"seeds": [3], "algorithm": {"name": AUTO}}
    saved = checkpoint.encode(state, resolved)

    def load(header: dict, *, replay: bool = True) -> SearchState:
        return load_auto(json.dumps(header).encode(), saved.arrays, problem, resolved, replay)

    header = json.loads(saved.json)
    restored = load(header)
    for _ in range(2):
        step(restored, termination=forever)
    assert (restored.archive.column("X") == whole.archive.column("X")).all()
    del header["choice"]["options"]  # an earlier version's (which ran with the defaults)
    assert load(header, replay=False).choice.options == {}
    header["choice"]["options"] = {"pop_size": 7}
    with pytest.raises(InputError, match="malformed checkpoint"):
        load(header)


# ----------------------------------------------------------------------------- experiments


def problem_file(tmp_path: Path, seconds: float) -> str:
    path = tmp_path / "cheap.py"
    path.write_text(
        "from evodse import AcceleratorProblem\n\n\n"
        "class Cheap(AcceleratorProblem):\n"
        f"    seconds_per_evaluation = {seconds!r}\n"
    )
    return f"{path}:Cheap"


def experiment(tmp_path: Path, **changes) -> dict:
    config = {
        "name": "default",
        "problem": problem_file(tmp_path, 1e-5),
        "workloads": ["squeezenet1_1"],
        "base": "edge",
        "space": SPACE,
        "objectives": ["latency", "energy", "area"],
        **changes,
    }
    return {k: v for k, v in config.items() if v is not None}


def test_an_experiment_naming_no_algorithm_records_the_choice(tmp_path, capsys):
    result = evodse.run(experiment(tmp_path), out=tmp_path / "run", progress=True)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary == result.summary
    assert summary["algorithm"] == "exhaustive" and summary["evaluations"] == 768
    choice = summary["algorithm_choice"]
    assert choice["chosen"] == "exhaustive" and choice["space_size"] == 768
    assert choice["seconds_per_evaluation"] == 1e-5 and choice["cost_source"] == "declared"
    assert choice["exhaustive_budget_s"] == 60 and choice["evaluation_budget"] is None
    assert "whole space (768 designs)" in choice["reason"]
    err = capsys.readouterr().err
    assert f"default[seed 0] auto chose exhaustive: {choice['reason']}" in err.splitlines()
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["algorithm"] == {"name": "auto", "exhaustive_budget_s": 60.0}
    assert config["termination"] == {"generations": 100}


def test_a_named_algorithm_is_run_as_named(tmp_path):
    config = experiment(tmp_path, algorithm={"name": "nsga2", "pop_size": 20})
    result = evodse.run({**config, "termination": {"generations": 2}}, out=tmp_path / "run")
    assert result.summary["algorithm"] == "nsga2" and result.summary["evaluations"] == 40
    assert result.summary["algorithm_choice"] is None


def test_the_exhaustive_budget_option(tmp_path):
    config = experiment(tmp_path, algorithm={"exhaustive_budget_s": 0}, termination=None)
    result = evodse.run({**config, "termination": {"generations": 3}}, out=tmp_path / "r")
    assert result.summary["algorithm"] == "smsemoa"  # 768 designs, but never exhaustive
    assert result.summary["algorithm_choice"]["exhaustive_budget_s"] == 0
    assert result.summary["evaluations"] == 3 * PROBE_DESIGNS


@pytest.mark.parametrize(
    ("algorithm", "termination", "pop_size"),
    [
        ("nsga2", {"time_s": 5}, TIME_BUDGET_POP_SIZE["nsga2"]),
        ("smsemoa", {"time_s": 5, "hv_stagnation": {"window": 3}}, TIME_BUDGET_POP_SIZE["smsemoa"]),
        ({"name": "nsga2", "pop_size": 30}, {"time_s": 5}, 30),
        ("nsga2", {"time_s": 5, "generations": 10}, COMMON_OPTIONS["pop_size"]),
        ("nsga2", {"time_s": 5, "evaluations": 1000}, COMMON_OPTIONS["pop_size"]),
        ("nsga3", {"time_s": 5}, COMMON_OPTIONS["pop_size"]),
    ],
)
def test_a_time_budget_alone_sets_the_default_population(
    tmp_path, algorithm, termination, pop_size
):
    """config.yaml records the population the run uses, and the run uses it."""
    spec = experiment(tmp_path, algorithm=algorithm, termination=termination, space=BIG_SPACE)
    loaded = load_experiment(spec)
    problem = loaded.build_problem()
    assert loaded.resolved(problem, 0)["algorithm"]["pop_size"] == pop_size
    state = new_state(problem, loaded.algorithm, loaded.options, 0)
    step(state)
    assert len(state.archive) == pop_size


@pytest.mark.parametrize(
    ("algorithm", "message"),
    [
        ({"exhaustive_budget_s": -1}, "algorithm.exhaustive_budget_s"),
        ({"exhaustive_budget_s": "60"}, "finite number of seconds"),
        ({"name": "auto", "pop_size": 30}, "name one to set its options"),
        ({"pop_size": 30}, "unknown option 'pop_size' for auto"),
    ],
)
def test_auto_options_are_validated(tmp_path, raises_naming, algorithm, message):
    with raises_naming("config", message):
        load_experiment(experiment(tmp_path, algorithm=algorithm))
