"""The surrogate-assisted search: valid proposals, constraints, resume, and better than random."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import RBFInterpolator
from spaces import SMALL_SPACE

import evodse
from evodse.errors import InputError
from evodse.experiment import checkpoint, rundir
from evodse.experiment.config import load_experiment
from evodse.search import surrogate
from evodse.search.algorithms import check_algorithm
from evodse.search.archive import Archive
from evodse.search.driver import Termination, new_state, run_search, step
from evodse.search.indicators import Normalization, hypervolume
from evodse.search.problem import AcceleratorProblem
from evodse.search.surrogate import (
    ARD_POINTS,
    ARD_REFIT,
    KERNEL,
    epsilon_gain,
    fit_weights,
    independent_columns,
    loo_error,
    refit_size,
)


def problem(**changes) -> AcceleratorProblem:
    kwargs = {
        "workloads": ["squeezenet1_1"],
        "base": "edge",
        "space": SMALL_SPACE,
        "objectives": ["latency", "energy", "area"],
    }
    return AcceleratorProblem(**{**kwargs, **changes})


def search(prob: AcceleratorProblem, algorithm: str, evaluations: int, seed: int, **options):
    state = new_state(prob, algorithm, options, seed)
    run_search(state, Termination(evaluations=evaluations))
    return state


@settings(max_examples=40, deadline=None)
@given(
    candidates=st.integers(1, 40), front=st.integers(1, 12), m=st.integers(1, 4), seed=st.integers()
)
def test_epsilon_gain_matches_its_definition(candidates, front, m, seed):
    rng = np.random.default_rng(seed % 2**32)
    C, P = rng.random((candidates, m)), rng.random((front, m))
    expected = np.array([min(max(p - c) for p in P) for c in C])
    np.testing.assert_allclose(epsilon_gain(C, P, chunk=7), expected)
    dominated = (P[None, :, :] <= C[:, None, :]).all(axis=2).any(axis=1)
    assert (epsilon_gain(C, P)[dominated] <= 0).all()


@settings(max_examples=15, deadline=None)
@given(n=st.integers(6, 30), d=st.integers(1, 4), seed=st.integers())
def test_loo_error_equals_refitting_without_each_point(n, d, seed):
    rng = np.random.default_rng(seed % 2**32)
    # stratified per coordinate (points at least 0.5 / n apart in each): two nearly coincident
    # points would make both sides ill-conditioned, and then they differ by more than rounding
    E = (
        np.stack([rng.permutation(n) for _ in range(d)], axis=1) + 0.25 + 0.5 * rng.random((n, d))
    ) / n
    y = rng.normal(size=n)
    errors = []
    for i in range(n):
        rest = np.arange(n) != i
        model = RBFInterpolator(E[rest], y[rest], kernel=KERNEL, degree=1)
        errors.append(model(E[i : i + 1])[0] - y[i])
    np.testing.assert_allclose(loo_error(E, y), np.mean(np.square(errors)), rtol=1e-6)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(8, 40), seed=st.integers())
def test_loo_gradient_is_the_derivative_of_the_loo_error(n, seed):
    """The analytic gradient of log(leave-one-out error) in the log weights matches central
    differences, and the value is log of :func:`loo_error` of the weighted inputs."""
    rng = np.random.default_rng(seed % 2**32)
    E = np.concatenate(
        [
            (np.stack([rng.permutation(n) for _ in range(2)], axis=1) + rng.random((n, 2))) / n,
            np.eye(3)[np.arange(n) % 3][:, 1:],
        ],
        axis=1,
    )
    columns = np.array([0, 1, 2, 2])
    y = rng.normal(size=n)
    squared = np.zeros((3, n, n))
    for k in range(E.shape[1]):
        squared[columns[k]] += np.square(E[:, k, None] - E[None, :, k])
    log_w = rng.normal(size=3) * 0.5
    value, gradient = surrogate._loo_and_gradient(squared, E, columns, y, log_w)
    np.testing.assert_allclose(value, np.log(loo_error(E * np.exp(log_w)[columns], y)))
    h = 1e-5
    numeric = [
        (
            surrogate._loo_and_gradient(squared, E, columns, y, log_w + h * np.eye(3)[p])[0]
            - surrogate._loo_and_gradient(squared, E, columns, y, log_w - h * np.eye(3)[p])[0]
        )
        / (2 * h)
        for p in range(3)
    ]
    # central differences lose digits to the interpolation system's conditioning
    np.testing.assert_allclose(gradient, numeric, rtol=1e-3, atol=1e-5)


def test_fitted_weights_find_the_parameter_that_matters():
    """y depends on parameter 0 strongly, parameter 1 weakly, parameter 2 (two dummy columns)
    not at all: the weights order them so, and the leave-one-out error drops (measured: log
    weights 2.84, 2.49, -4; error 53 times smaller; a descent from all weights 1 without the
    switch-off pass stops at 2.95, -1.86, -1.10, an error only 1.3 times smaller)."""
    rng = np.random.default_rng(0)
    E = np.concatenate([rng.random((60, 2)), np.eye(3)[rng.integers(0, 3, 60)][:, 1:]], axis=1)
    y = np.sin(4 * E[:, 0]) + 0.3 * np.cos(3 * E[:, 1])
    columns = np.array([0, 1, 2, 2])
    w = fit_weights(E, y, columns)
    assert w[0] > w[1] > w[2]
    assert loo_error(E * w[columns], y) < 0.2 * loo_error(E, y)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), levels=st.integers(2, 4), seed=st.integers())
def test_independent_columns_give_the_linear_tail_full_rank(n, levels, seed):
    """Columns: one ordered, a constant, a copy of the first, dummy columns of a category whose
    first level the designs may lack (then the dummies sum to 1, a constant)."""
    rng = np.random.default_rng(seed % 2**32)
    x = rng.random((n, 1))
    dummies = np.eye(levels)[rng.integers(1, levels, n)][:, 1:]
    E = np.hstack([x, np.full((n, 1), 0.5), 2 * x, dummies])
    keep = independent_columns(E)
    tail = np.hstack([np.ones((n, 1)), E])
    kept = tail[:, np.concatenate([[True], keep])]
    assert np.linalg.matrix_rank(kept) == kept.shape[1] == np.linalg.matrix_rank(tail)
    assert not keep[1] and not keep[2]  # the constant and the copy go
    assert keep[0] == (np.ptp(x) > 0)


def test_weights_are_refitted_every_step_then_every_tenth_of_growth():
    n = np.arange(1, 5_000)
    sizes = np.array([refit_size(int(k)) for k in n])
    np.testing.assert_array_equal(sizes[:ARD_POINTS], n[:ARD_POINTS])
    assert (np.diff(sizes) >= 0).all()  # monotone: a resumed run refits on the same prefix
    assert (sizes <= n).all() and (n / sizes < ARD_REFIT + 0.01).all()


def test_predict_interpolates_the_archive_and_beats_the_mean_elsewhere():
    """``predict`` is exact on evaluated designs and, on 300 unseen ones, has an RMSE per
    objective under 0.4 of predicting the archive mean (measured after 80 evaluations, seeds
    0-2: 0.08-0.10 for latency and area, 0.23-0.28 for energy)."""
    prob = problem()
    state = search(prob, "surrogate", 80, seed=1)
    archive, F = state.archive, state.archive.column("F")
    np.testing.assert_allclose(state.algorithm.predict(archive, archive.column("X")), F, atol=1e-9)
    X = np.random.default_rng(0).integers(0, np.asarray(prob.xu) + 1, (300, prob.n_var))
    X = X[~archive.contains_rows(X)]
    truth = prob.evaluate_designs(X).F
    rmse = np.sqrt(((state.algorithm.predict(archive, X) - truth) ** 2).mean(axis=0))
    assert (rmse < 0.4 * np.sqrt(((F.mean(axis=0) - truth) ** 2).mean(axis=0))).all()


def test_energy_modelled_as_dram_plus_on_chip_parts_predicts_it_better():
    """On the same archive (80 evaluations), modelling energy as DRAM + on-chip energy beats
    modelling it directly on 600 unseen designs; latency and area are modelled alike either way
    (measured energy RMSE, seeds 0-2: 0.016 / 0.016 / 0.015 against 0.022 / 0.031 / 0.022).
    Both models are fitted afresh (the search's own weights are warm-started along its run)."""
    prob = problem()
    X = np.random.default_rng(0).integers(0, np.asarray(prob.xu) + 1, (600, prob.n_var))
    for seed in range(3):
        state = search(prob, "surrogate", 80, seed=seed)
        archive = state.archive
        assert state.algorithm._weights[1].shape == (4, prob.n_var)
        composite = dataclasses.replace(state.algorithm)
        direct = dataclasses.replace(state.algorithm, composite=False)
        unseen = X[~archive.contains_rows(X)]
        truth = prob.evaluate_designs(unseen).F
        split, whole = composite.predict(archive, unseen), direct.predict(archive, unseen)
        np.testing.assert_allclose(
            direct.predict(archive, archive.column("X")), archive.column("F"), atol=1e-9
        )
        assert composite._weights[1].shape == (4, prob.n_var)  # latency, DRAM, on-chip, area
        assert direct._weights[1].shape == (3, prob.n_var)
        np.testing.assert_allclose(split[:, [0, 2]], whole[:, [0, 2]], atol=1e-9)
        rmse = [np.sqrt(((P[:, 1] - truth[:, 1]) ** 2).mean()) for P in (split, whole)]
        assert rmse[0] < rmse[1]


@pytest.mark.parametrize("composite", [True, False])
def test_a_category_level_missing_from_the_archive_is_predicted_in_range(monkeypatch, composite):
    """Trained on designs without dataflow ws (their dummy columns then sum to 1, making the
    linear tail singular), the surrogate still predicts ws designs within the training range
    give or take its span, without the clip that bounds extrapolation (found on bert_base:
    predictions of 1e21 training ranges, overflowing the composed energy to infinity)."""
    prob = problem()
    rng = np.random.default_rng(0)
    X = np.unique(rng.integers(0, np.asarray(prob.xu) + 1, (400, prob.n_var)), axis=0)
    archive = Archive(prob.n_var, prob.n_obj, prob.n_ieq_constr)
    archive.add(prob.evaluate_designs(X[X[:, 2] != 0][:120]), generation=0)
    ws = X[X[:, 2] == 0]
    search_ = new_state(prob, "surrogate", {"composite": composite}, 0).algorithm
    monkeypatch.setattr(surrogate, "EXTRAPOLATION", np.inf)
    F = archive.column("F")
    lo, span = F.min(axis=0), np.ptp(F, axis=0)
    predicted = search_.predict(archive, ws)
    assert ((predicted > lo - span) & (predicted < lo + 2 * span)).all()


def test_objectives_are_modelled_directly_when_the_evaluation_lacks_a_part():
    prob = problem()
    state = search(prob, "surrogate", 45, seed=0)
    lacking = dataclasses.replace(
        prob.composition, parts=("squeezenet1_1.missing_pj", *prob.composition.parts[1:])
    )
    search_ = dataclasses.replace(state.algorithm, composition=lacking)
    np.testing.assert_allclose(search_._targets(state.archive), state.archive.column("F"))


def test_proposals_are_new_distinct_and_inside_the_space():
    prob = problem()
    state = new_state(prob, "surrogate", {"pop_size": 20, "batch": 7}, seed=3)
    upper = np.asarray(prob.xu)
    for _ in range(8):
        X = state.algorithm.ask(state.archive)
        assert len(X) > 0 and (X >= 0).all() and (upper >= X).all()
        assert not state.archive.contains_rows(X).any()
        assert len(np.unique(X, axis=0)) == len(X)
        state.evaluator.evaluate_rows(X)
    assert len(state.archive) == 20 + 7 * 7


def test_an_evaluation_budget_is_met_exactly():
    state = search(problem(), "surrogate", 73, seed=0, pop_size=20, batch=9)
    assert len(state.archive) == 73 and state.stopped_by == "evaluations"


def test_a_small_space_is_exhausted_without_repeats():
    prob = problem(space={"pe_rows": {"pow2": [8, 32]}, "dataflow": ["ws", "os"]})
    state = search(prob, "surrogate", 1000, seed=0, pop_size=4, batch=1)
    assert len(state.archive) == 6 and state.stopped_by == "space_exhausted"


def test_beats_random_sampling_at_a_small_budget():
    """At 60 evaluations (0.3% of the space), median over 5 seeds: the surrogate's front has a
    clearly larger hypervolume than random sampling's and > 0.93 of the exhaustive front's
    (measured: 0.969 against 0.843)."""
    prob = problem()
    every = prob.evaluate_designs(np.concatenate(list(prob.design_space.enumerate())))
    from evodse.search.archive import non_dominated

    truth = every.objectives[non_dominated(every.F)]
    norm = Normalization.of(truth, [False] * 3)
    full = hypervolume(truth, norm)

    def ratio(algorithm, seed):
        state = search(prob, algorithm, 60, seed, pop_size=20)
        return hypervolume(state.archive.column("objectives")[:60], norm) / full

    surrogate = np.median([ratio("surrogate", s) for s in range(5)])
    random = np.median([ratio("random", s) for s in range(5)])
    assert surrogate > random + 0.05
    assert surrogate > 0.93


def test_constraints_steer_the_search_to_feasible_designs():
    constraints = ["area_mm2 <= 2.9"]
    prob = problem(constraints=constraints)
    feasible = {}
    for algorithm in ("surrogate", "random"):
        state = search(prob, algorithm, 120, seed=1, pop_size=30)
        feasible[algorithm] = state.archive.column("feasible")[30:120].mean()
    assert feasible["surrogate"] > feasible["random"]
    assert feasible["surrogate"] > 0.8


def test_resume_continues_exactly(tmp_path):
    prob = problem()
    whole = search(prob, "surrogate", 90, seed=5, pop_size=20)
    state = new_state(prob, "surrogate", {"pop_size": 20}, seed=5)
    run_search(state, Termination(evaluations=50))
    resolved = {"seeds": [5], "algorithm": {"name": "surrogate"}}
    saved = checkpoint.encode(state, resolved)
    files = {checkpoint.JSON_FILE: saved.json, checkpoint.ARRAYS_FILE: saved.arrays}
    restored = checkpoint.load(
        files.__getitem__,
        where=tmp_path,
        problem=prob,
        algorithm="surrogate",
        options={"pop_size": 20},
        seed=5,
        resolved=resolved,
    )
    assert restored.algorithm._weights[0] == state.algorithm._weights[0]
    run_search(restored, Termination(evaluations=90))
    np.testing.assert_array_equal(restored.archive.column("X"), whole.archive.column("X"))


def test_runs_from_an_experiment_and_checkpoints(tmp_path):
    config = {
        "name": "tiny-surrogate",
        "workloads": ["squeezenet1_1"],
        "base": "edge",
        "space": SMALL_SPACE,
        "objectives": ["latency", "area"],
        "constraints": ["area_mm2 <= 4"],
        "algorithm": {"name": "surrogate", "pop_size": 16, "batch": 4},
        "termination": {"evaluations": 40},
        "seeds": [0],
    }
    result = evodse.run(config, out=tmp_path)
    assert result.summary["evaluations"] == 40
    state = rundir.load_checkpoint(tmp_path, load_experiment(config), 0)
    step(state)
    assert len(state.archive) > 40


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"crossover_prob": 0.5}, "algorithm.crossover_prob"),
        ({"batch": 0}, "algorithm.batch"),
        ({"candidates": 2.5}, "algorithm.candidates"),
        ({"batch_fraction": 2}, "algorithm.batch_fraction"),
        ({"ard": "yes"}, "algorithm.ard"),
        ({"composite": 1}, "algorithm.composite"),
    ],
)
def test_bad_options_are_rejected(options, key):
    with pytest.raises(InputError) as err:
        check_algorithm("surrogate", options, source="x.yaml")
    assert err.value.key == key
