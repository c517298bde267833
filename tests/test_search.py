"""Search: exhaustive versus NSGA-II versus random, reproducibility, resume, archive front."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from spaces import SMALL_SPACE

import evodse
from evodse.experiment import rundir
from evodse.experiment.config import load_experiment
from evodse.search import driver
from evodse.search.archive import non_dominated
from evodse.search.driver import Termination, new_state, run_search
from evodse.search.indicators import Normalization, hypervolume, igd_plus
from evodse.search.operators import NeighbourMutation
from evodse.search.problem import AcceleratorProblem


def tiny_config(**changes) -> dict:
    config = {
        "name": "tiny",
        "workloads": ["squeezenet1_1"],
        "base": "edge",
        "space": {
            "pe_rows": {"pow2": [8, 64]},
            "pe_cols": {"pow2": [8, 64]},
            "dataflow": ["ws", "os", "is"],
            "ifmap_sram_kib": {"pow2": [16, 256]},
            "weight_sram_kib": {"pow2": [16, 256]},
        },
        "objectives": ["latency", "energy", "area"],
        "constraints": ["area_mm2 <= 4"],
        "algorithm": {"name": "nsga2", "pop_size": 20},
        "termination": {"generations": 8},
        "seeds": [0],
    }
    config.update(changes)
    return config


def assert_same_results(a: Path, b: Path) -> None:
    """Equal result files, wall times and versions aside."""
    for name in ("pareto.csv", "evaluations.csv", "config.yaml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    history = [
        [r[:-1] for r in csv.reader((d / "history.csv").read_text().splitlines())] for d in (a, b)
    ]
    assert history[0] == history[1]
    summaries = [json.loads((d / "summary.json").read_text()) for d in (a, b)]
    for s in summaries:
        del s["wall_time_s"], s["versions"]
    assert summaries[0] == summaries[1]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_nsga2_reaches_exhaustive_front_with_5_percent_of_evaluations():
    problem = AcceleratorProblem(
        workloads=["mobilenet_v2"],
        base="edge",
        space=SMALL_SPACE,
        objectives=["latency", "energy", "area"],
    )
    size = problem.design_space.size
    assert size <= 50_000
    exhaustive = run_search(new_state(problem, "exhaustive", {"pop_size": size}, 0), Termination())
    assert len(exhaustive.archive) == size
    truth = exhaustive.archive.column("objectives")[exhaustive.archive.front]
    norm = Normalization.of(truth, [False, False, False])
    hv_true = hypervolume(truth, norm)
    budget = int(0.05 * size)

    def quality(algorithm: str, seed: int) -> tuple[float, float]:
        state = new_state(problem, algorithm, {"pop_size": 50}, seed)
        run_search(state, Termination(evaluations=budget))
        assert len(state.archive) == budget
        front = state.archive.column("objectives")[state.archive.front]
        return hypervolume(front, norm) / hv_true, igd_plus(front, truth, norm)

    nsga2 = np.array([quality("nsga2", s) for s in range(5)])
    random = np.array([quality("random", s) for s in range(5)])
    assert np.median(nsga2[:, 0]) >= 0.99
    assert np.median(nsga2[:, 0]) > np.median(random[:, 0])
    assert np.median(nsga2[:, 1]) < np.median(random[:, 1])


def test_same_seed_same_front(tmp_path):
    a = evodse.run(tiny_config(), out=tmp_path / "a")
    b = evodse.run(tiny_config(), out=tmp_path / "b")
    assert (tmp_path / "a" / "pareto.csv").read_bytes() == (
        tmp_path / "b" / "pareto.csv"
    ).read_bytes()
    assert (tmp_path / "a" / "evaluations.csv").read_bytes() == (
        tmp_path / "b" / "evaluations.csv"
    ).read_bytes()
    np.testing.assert_array_equal(a.F, b.F)
    c = evodse.run(tiny_config(), out=tmp_path / "c", seed=1)
    assert not np.array_equal(a.X, c.X) or not np.array_equal(a.F, c.F)


def test_run_directory_contract(tmp_path):
    result = evodse.run(tiny_config(), out=tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "config.yaml",
        "pareto.csv",
        "evaluations.csv",
        "history.csv",
        "summary.json",
        "checkpoint.json",
        "checkpoint.npz",
    } <= names
    assert not [n for n in names if n.endswith(".tmp")]
    history = read_csv(tmp_path / "history.csv")
    assert list(history[0]) == [
        "generation",
        "evaluations",
        "hypervolume",
        "front_size",
        "wall_time_s",
    ]
    assert [int(h["generation"]) for h in history] == list(range(1, 9))
    hv = [float(h["hypervolume"]) for h in history]
    assert hv == sorted(hv)  # the archive front never loses hypervolume
    summary = result.summary
    for key in (
        "best",
        "knee",
        "hypervolume",
        "hypervolume_reference",
        "wall_time_s",
        "versions",
        "seed",
    ):
        assert key in summary
    assert set(summary["best"]) == {"latency_s", "energy_pj", "area_mm2"}
    pareto = read_csv(tmp_path / "pareto.csv")
    assert len(pareto) == len(result.designs) == summary["front_size"] > 0
    for key in (
        "pe_rows",
        "dataflow",
        "latency_s",
        "energy_pj",
        "area_mm2",
        "squeezenet1_1.latency_s",
    ):
        assert key in pareto[0]
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["seeds"] == [0] and config["algorithm"]["name"] == "nsga2"
    assert all(float(row["area_mm2"]) <= 4 for row in pareto)


def test_pareto_is_the_non_dominated_feasible_set_of_all_evaluations(tmp_path):
    evodse.run(tiny_config(), out=tmp_path)
    assert_front_of_archive(tmp_path)
    rows = read_csv(tmp_path / "evaluations.csv")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    designs = [tuple(r[k] for k in SMALL_SPACE if k in r) for r in rows]
    assert len(designs) == len(set(designs))  # nothing evaluated twice


def test_resume_after_interrupt_gives_the_uninterrupted_result(tmp_path, monkeypatch):
    config = tiny_config(termination={"generations": 10})
    evodse.run(config, out=tmp_path / "full")
    real_step = driver.step

    def interrupted_step(state, **kwargs):
        if state.generation == 4:
            raise KeyboardInterrupt
        return real_step(state, **kwargs)

    monkeypatch.setattr(driver, "step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        evodse.run(config, out=tmp_path / "resumed")
    experiment = load_experiment(config)
    assert rundir.load_checkpoint(tmp_path / "resumed", experiment, 0).generation == 4
    monkeypatch.setattr(driver, "step", real_step)
    evodse.run(config, out=tmp_path / "resumed", resume=True)
    assert_same_results(tmp_path / "full", tmp_path / "resumed")


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_uninterrupted_result(tmp_path):
    generations = 1500
    config = tiny_config(
        workloads=["resnet50"],
        algorithm={"name": "nsga2", "pop_size": 100},
        # long enough (about 8 s) that the first periodic checkpoint, after 2 s, comes well
        # before the end: since NSGA-II runs on arrays, 400 generations finish within 2 s,
        # leaving only the final checkpoint to kill after; the clock's steps keep 150,000
        # designs far from exhausting the space
        termination={"generations": generations},
        space={
            **SMALL_SPACE,
            "ofmap_sram_kib": {"pow2": [16, 1024]},
            "frequency_mhz": {"range": [200, 1000], "step": 10},
        },
        constraints=[],
    )
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    evodse.run(path, out=tmp_path / "full")
    cmd = [
        sys.executable,
        "-m",
        "evodse.cli.main",
        "run",
        str(path),
        "--out",
        str(tmp_path / "killed"),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / "checkpoint.json"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = rundir.load_checkpoint(tmp_path / "killed", load_experiment(path), 0)
    assert 0 < state.generation < generations
    evodse.run(path, out=tmp_path / "killed", resume=True)
    assert_same_results(tmp_path / "full", tmp_path / "killed")


def test_existing_run_directory_is_not_overwritten(tmp_path):
    evodse.run(tiny_config(), out=tmp_path)
    before = (tmp_path / "pareto.csv").read_bytes()
    with pytest.raises(evodse.InputError, match="--resume"):
        evodse.run(tiny_config(), out=tmp_path)
    assert (tmp_path / "pareto.csv").read_bytes() == before
    with pytest.raises(evodse.InputError, match="different configuration"):
        evodse.run(tiny_config(termination={"generations": 3}), out=tmp_path, resume=True)
    assert (tmp_path / "pareto.csv").read_bytes() == before


@pytest.mark.parametrize(
    "algorithm",
    ["nsga3", "unsga3", "agemoea", "agemoea2", "smsemoa", "ctaea", "surrogate", "random"],
)
def test_every_algorithm_runs_and_checkpoints(tmp_path, algorithm):
    config = tiny_config(
        algorithm={"name": algorithm, "pop_size": 16}, termination={"generations": 4}
    )
    result = evodse.run(config, out=tmp_path)
    assert len(result.designs) > 0
    assert result.summary["evaluations"] <= 4 * 16 + 16
    state = rundir.load_checkpoint(tmp_path, load_experiment(config), 0)
    assert state.generation == 4 and len(state.archive) == result.summary["evaluations"]
    driver.step(state)  # the restored state continues (a pymoo algorithm replayed first)
    assert state.generation == 5 and state.replay is None
    # ... as the uninterrupted run does
    whole = new_state(result.state.problem, algorithm, {"pop_size": 16}, 0)
    run_search(whole, Termination(generations=5))
    np.testing.assert_array_equal(state.archive.column("X"), whole.archive.column("X"))


def assert_front_of_archive(run_dir: Path) -> None:
    """pareto.csv is the non-dominated feasible set of evaluations.csv."""
    feasible = [r for r in read_csv(run_dir / "evaluations.csv") if r["feasible"] == "1"]
    F = np.array([[float(r[c]) for c in ("latency_s", "energy_pj", "area_mm2")] for r in feasible])
    expected = {feasible[i]["id"] for i in non_dominated(F)}
    assert {r["id"] for r in read_csv(run_dir / "pareto.csv")} == expected


def test_moead_unconstrained_and_rnsga2_with_reference_points(tmp_path):
    moead = evodse.run(
        tiny_config(
            algorithm={"name": "moead", "pop_size": 16},
            constraints=[],
            termination={"generations": 3},
        ),
        out=tmp_path / "m",
    )
    # 3 objectives: pymoo's reference directions give MOEA/D 15 subproblems; the search went on
    # past its initial population, within the budget, and its front is the archive's
    assert moead.state.algorithm.pymoo.ref_dirs.shape == (15, 3)
    assert 15 < moead.summary["evaluations"] <= 3 * 15
    assert moead.summary["algorithm"] == "moead"
    assert_front_of_archive(tmp_path / "m")
    rnsga2 = evodse.run(
        tiny_config(
            algorithm={"name": "rnsga2", "pop_size": 16, "ref_points": [[0.01, 1e9, 0.5]]},
            termination={"generations": 3},
        ),
        out=tmp_path / "r",
    )
    # the reference point reaches R-NSGA-II in the optimizer's space: log10 of each objective
    np.testing.assert_allclose(
        rnsga2.state.algorithm.pymoo.survival.ref_points, [[-2.0, 9.0, np.log10(0.5)]], rtol=1e-12
    )
    assert rnsga2.summary["evaluations"] == 3 * 16
    assert_front_of_archive(tmp_path / "r")
    with pytest.raises(evodse.InputError, match="constraints"):
        evodse.run(tiny_config(algorithm={"name": "moead"}), out=tmp_path / "x")


def test_exhaustive_enumerates_every_design(tmp_path):
    config = tiny_config(
        algorithm={"name": "exhaustive", "pop_size": 1000}, termination=None, constraints=[]
    )
    del config["termination"]
    result = evodse.run(config, out=tmp_path)
    assert result.summary["evaluations"] == 4 * 4 * 3 * 5 * 5
    assert result.summary["stopped_by"] == "space_exhausted"


def test_evaluation_budget_and_hv_stagnation(tmp_path):
    a = evodse.run(tiny_config(termination={"evaluations": 50}), out=tmp_path / "a")
    assert a.summary["evaluations"] == 50 and a.summary["stopped_by"] == "evaluations"
    b = evodse.run(
        tiny_config(termination={"generations": 200, "hv_stagnation": {"window": 3}}),
        out=tmp_path / "b",
    )
    assert b.summary["stopped_by"] in ("hv_stagnation", "no_new_designs", "space_exhausted")
    assert b.summary["generations"] < 200


@settings(max_examples=60, deadline=None)
@given(
    upper=st.lists(st.integers(0, 12), min_size=1, max_size=8),
    seed=st.integers(0, 2**31),
    data=st.data(),
)
def test_neighbour_mutation_stays_in_the_space(upper, seed, data):
    upper = np.asarray(upper)
    categorical = np.asarray(
        data.draw(st.lists(st.booleans(), min_size=len(upper), max_size=len(upper)))
    )
    rng = np.random.default_rng(seed)
    X = rng.integers(0, upper + 1, (30, len(upper))).astype(float)

    class _Problem:
        xu = upper
        n_var = len(upper)

    out = NeighbourMutation(categorical=categorical, prob_var=0.5)._do(
        _Problem, X, random_state=rng
    )
    assert out.shape == X.shape
    assert (out >= 0).all() and (out <= upper).all()
    assert np.array_equal(out, np.rint(out))
    assert ((out != X) <= (upper > 0)[None, :]).all()  # single-valued genes never move
    if (upper > 0).any():
        assert (out != X).any(axis=1).all()


def test_default_algorithm_is_auto():
    from evodse.experiment.config import load_experiment

    for objectives in (["edp"], ["latency", "area"], ["latency", "energy", "area", "power"]):
        config = tiny_config(objectives=objectives)
        del config["algorithm"]
        experiment = load_experiment(config)
        assert experiment.algorithm == "auto" and experiment.options == {}
    config = tiny_config(algorithm={"pop_size": 30, "crossover_prob": 0.5})
    with pytest.raises(evodse.InputError, match=r"pop_size.*name one to set its options"):
        load_experiment(config)
