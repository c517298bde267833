"""One contract suite over every problem class (problems/ and the package's base class)."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from evodse.search.driver import Termination, new_state, run_search
from evodse.search.problem import AcceleratorProblem

ROOT = Path(__file__).resolve().parents[1]


def _problem_classes() -> list[type[AcceleratorProblem]]:
    classes = []
    for path in sorted((ROOT / "problems").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"contract_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            mine = obj.__module__ == module.__name__
            if mine and issubclass(obj, AcceleratorProblem) and obj is not AcceleratorProblem:
                classes.append(obj)
    return classes


class BaseProblem(AcceleratorProblem):
    """The package's base class configured directly, as an experiment YAML does."""

    workloads = ("resnet18", "bert_base")
    space: ClassVar[dict] = {
        "pe_rows": {"pow2": [8, 64]},
        "dataflow": ["ws", "os", "is", "auto"],
        "weight_sram_kib": {"range": [32, 256], "step": 32},
    }
    objectives = ("throughput", {"name": "energy", "per_workload": True}, "area")
    constraints = ("area_mm2 <= 3", "latency_s[bert_base] <= 0.5")


PROBLEMS = [*_problem_classes(), BaseProblem]


def test_problems_folder_has_the_two_examples():
    names = {cls.__name__ for cls in _problem_classes()}
    assert {"EdgeVision", "DatacenterTransformer"} <= names


@pytest.fixture(params=PROBLEMS, ids=lambda c: c.__name__)
def problem(request):
    return request.param()


def _random_X(problem, n, seed=0):
    return np.random.default_rng(seed).integers(0, problem.xu + 1, (n, problem.n_var))


def test_shapes_finiteness_and_bounds(problem):
    X = _random_X(problem, 64)
    out = problem.evaluate(X, return_as_dictionary=True)
    assert out["F"].shape == (64, problem.n_obj)
    assert np.isfinite(out["F"]).all()
    if problem.n_ieq_constr:
        assert out["G"].shape == (64, problem.n_ieq_constr)
        assert np.isfinite(out["G"]).all()
    ev = problem.evaluate_designs(X)
    assert (ev.objectives > 0).all()
    assert ev.objectives.shape == (64, problem.n_obj)
    sign = np.array([-1.0 if o.maximize else 1.0 for o in problem.objective_list])
    np.testing.assert_allclose(ev.F, sign * np.log10(ev.objectives))
    designs = problem.design_space.decode(X)
    for j, p in enumerate(problem.design_space.parameters):
        assert set(np.unique(getattr(designs, p.name))) <= set(p.codes())
        assert (X[:, j] <= problem.xu[j]).all()
    for name, values in ev.metrics.items():
        assert values.shape == (64,) and np.isfinite(values).all(), name


def test_vectorized_equals_one_by_one(problem):
    X = _random_X(problem, 12, seed=1)
    batch = problem.evaluate_designs(X)
    for i, x in enumerate(X):
        single = problem.evaluate_designs(x[None, :])
        np.testing.assert_allclose(single.objectives[0], batch.objectives[i], rtol=1e-12)
        np.testing.assert_allclose(single.G[0], batch.G[i], rtol=1e-12, atol=1e-15)


def test_decoded_designs_are_valid_accelerators(problem):
    for x in _random_X(problem, 5, seed=2):
        hw = problem.design_space.accelerator(x)
        for p, i in zip(problem.design_space.parameters, x, strict=True):
            assert getattr(hw, p.name) == p.values[i]


def test_seed_determinism(problem):
    def front(seed):
        state = new_state(problem, "nsga2", {"pop_size": 12}, seed)
        run_search(state, Termination(generations=3))
        return state.archive.column("X")

    np.testing.assert_array_equal(front(7), front(7))


def _recomposed(problem, ev):
    """The optimizer's objectives rebuilt from the parts the problem's composition names."""
    composition = problem.composition
    assert composition.available(list(ev.metrics))
    return composition.compose(composition.values(ev.objectives, ev.metrics))


def test_composition_rebuilds_the_objectives_from_positive_parts(problem):
    ev = problem.evaluate_designs(_random_X(problem, 32, seed=3))
    parts = problem.composition.values(ev.objectives, ev.metrics)
    assert (parts > 0).all()
    np.testing.assert_allclose(_recomposed(problem, ev), ev.F, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("aggregate", ["geomean", "mean", "max", "sum"])
def test_energy_splits_into_dram_and_on_chip_parts_under_every_aggregate(aggregate):
    problem = AcceleratorProblem(
        workloads=["resnet18", "mobilenet_v2"],
        base="edge",
        space={"pe_rows": {"pow2": [8, 64]}, "ifmap_sram_kib": {"pow2": [16, 256]}},
        objectives=["latency", {"name": "energy", "aggregate": aggregate}, "throughput"],
    )
    ev = problem.evaluate_designs(_random_X(problem, 16, seed=4))
    for w in problem.workload_names:
        dram, on_chip = ev.metrics[f"{w}.dram_energy_pj"], ev.metrics[f"{w}.onchip_energy_pj"]
        assert (dram > 0).all() and (on_chip > 0).all()
        np.testing.assert_allclose(dram + on_chip, ev.metrics[f"{w}.energy_pj"], rtol=1e-12)
    composition = problem.composition
    assert composition.parts == (
        0,
        "resnet18.dram_energy_pj",
        "resnet18.onchip_energy_pj",
        "mobilenet_v2.dram_energy_pj",
        "mobilenet_v2.onchip_energy_pj",
        2,
    )
    np.testing.assert_allclose(_recomposed(problem, ev), ev.F, rtol=1e-12, atol=1e-12)
