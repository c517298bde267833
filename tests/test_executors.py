"""Executors: the ``executor`` key, CLI overrides, the missing-dask error, the process pool
(retries after a dead worker) and chunked population evaluation equal to in-process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from evodse.cli.main import main
from evodse.errors import InputError
from evodse.experiment.config import load_experiment
from evodse.experiment.executors import (
    DASK_EXTRA,
    DaskChunkRunner,
    ExecutorSpec,
    ProcessExecutor,
    executor_from_cli,
    make_executor,
    parse_executor,
)
from evodse.search.problem import AcceleratorProblem

SPACE = {
    "pe_rows": {"pow2": [8, 64]},
    "pe_cols": {"pow2": [8, 64]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 256]},
}


def _experiment(**extra):
    return {
        "name": "tiny",
        "workloads": ["resnet18"],
        "base": "edge",
        "space": SPACE,
        "algorithm": {"name": "nsga2", "pop_size": 20},
        "termination": {"generations": 3},
        **extra,
    }


# --- the executor key ----------------------------------------------------------------------------


def test_parse_executor_forms():
    assert parse_executor(None, source="x") is None
    assert parse_executor("local", source="x") == ExecutorSpec()
    spec = parse_executor({"name": "processes", "workers": 3}, source="x")
    assert (spec.name, spec.workers, spec.chunk_size, spec.retries) == ("processes", 3, 4096, 3)
    spec = parse_executor(
        {"name": "dask", "scheduler": "tcp://10.0.0.5:8786", "chunk_size": 512}, source="x"
    )
    assert (spec.scheduler, spec.chunk_size) == ("tcp://10.0.0.5:8786", 512)


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ("spark", "executor.name"),
        ({"name": "local", "scheduler": "tcp://h:1"}, "executor.scheduler"),
        ({"name": "dask", "scheduler": "10.0.0.5"}, "executor.scheduler"),
        ({"name": "local", "workers": 2}, "executor.workers"),
        ({"name": "dask", "scheduler": "tcp://h:1", "workers": 2}, "executor.workers"),
        ({"name": "processes", "workers": 0}, "executor.workers"),
        ({"name": "dask", "chunk_size": True}, "executor.chunk_size"),
        ({"name": "dask", "retries": -1}, "executor.retries"),
        ({"name": "dask", "nodes": 4}, "executor.nodes"),
    ],
)
def test_parse_executor_errors_name_the_key(spec, key):
    with pytest.raises(InputError) as err:
        parse_executor(spec, source="exp.yaml")
    assert err.value.key == key
    assert err.value.source == "exp.yaml"


def test_experiment_executor_key_is_validated_and_not_recorded(tmp_path):
    exp = load_experiment(_experiment(executor={"name": "processes", "workers": 2}))
    assert exp.executor == ExecutorSpec(name="processes", workers=2)
    resolved = exp.resolved(exp.build_problem(), 0)
    assert "executor" not in resolved  # where a run executes never changes its results
    assert load_experiment(_experiment()).executor is None
    path = tmp_path / "e.yaml"
    path.write_text("name: e\nworkloads: [resnet18]\nspace: {pe_rows: [8, 16]}\nexecutor: gpu\n")
    with pytest.raises(InputError) as err:
        load_experiment(path)
    assert (err.value.source, err.value.key) == (str(path), "executor.name")


def test_cli_flags_override_the_spec():
    base = ExecutorSpec(name="processes", workers=4, chunk_size=128)
    assert executor_from_cli(base) == base
    assert executor_from_cli(None) == ExecutorSpec()
    spec = executor_from_cli(base, scheduler="tcp://127.0.0.1:8786")
    assert (spec.name, spec.scheduler, spec.workers, spec.chunk_size) == (
        "dask",
        "tcp://127.0.0.1:8786",
        None,
        128,
    )
    assert executor_from_cli(base, "local").name == "local"
    assert executor_from_cli(base, workers=2).workers == 2
    with pytest.raises(InputError) as err:
        executor_from_cli(base, "processes", "tcp://h:1")
    assert err.value.key == "--scheduler"
    with pytest.raises(InputError):
        executor_from_cli(None, scheduler="localhost")


def test_missing_dask_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(InputError) as err:
        make_executor("dask")
    assert err.value.key == "executor"
    assert "pip install 'evodse[dask]'" in str(err.value)
    assert str(err.value).endswith(DASK_EXTRA)
    import yaml

    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(_experiment()))
    argv = ["run", str(path), "--out", str(tmp_path / "r"), "--scheduler", "tcp://127.0.0.1:1"]
    assert main([*argv, "--quiet"]) == 2
    assert not (tmp_path / "r").exists()


# --- local and process pools ---------------------------------------------------------------------


def _square(x):
    return x * x


def _fail_on_three(x):
    if x == 3:
        raise ValueError("three")
    return x


def _die_once(marker: str) -> int:
    """Kills its worker process the first time (per marker file), then returns the pid."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(1)
    return os.getpid()


def test_local_executor_reports_failures_and_keeps_going():
    with make_executor() as ex:
        assert not ex.parallel and ex.chunk_runner() is None
        outcomes = sorted(ex.run_tasks(_fail_on_three, [1, 3, 5]), key=lambda o: o[0])
    assert [(i, r) for i, r, e in outcomes if e is None] == [(0, 1), (2, 5)]
    assert isinstance(outcomes[1][2], ValueError)


def test_process_pool_retries_after_a_dead_worker(tmp_path):
    markers = [str(tmp_path / f"m{i}") for i in range(2)]
    with ProcessExecutor(ExecutorSpec(name="processes", workers=1)) as ex:
        outcomes = list(ex.run_tasks(_die_once, [markers[0]]))
        assert [(i, e) for i, _, e in outcomes] == [(0, None)]  # died, pool rebuilt, retried
        outcomes = sorted(ex.run_tasks(_square, [1, 2, 3]), key=lambda o: o[0])
        assert [r for _, r, _ in outcomes] == [1, 4, 9]
    no_retry = ExecutorSpec(name="processes", workers=1, retries=0)
    with ProcessExecutor(no_retry) as ex:
        (outcome,) = list(ex.run_tasks(_die_once, [markers[1]]))
        assert isinstance(outcome[2], RuntimeError)


def test_process_workers_run_one_blas_thread_until_the_pool_closes(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's own setting is kept
    names = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"]
    with ProcessExecutor(ExecutorSpec(name="processes", workers=2)) as ex:
        outcomes = sorted(ex.run_tasks(os.getenv, names), key=lambda o: o[0])
        assert [r for _, r, _ in outcomes] == ["1", "2"]
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["OMP_NUM_THREADS"] == "2"


def _problem() -> AcceleratorProblem:
    return AcceleratorProblem(workloads=["resnet18"], base="edge", space=SPACE)


def _random_designs(problem: AcceleratorProblem, n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, problem.xu + 1, (n, problem.n_var))


def _assert_same_evaluation(a, b):
    for name in ("X", "objectives", "F", "G"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert list(a.metrics) == list(b.metrics)
    for k in a.metrics:
        np.testing.assert_array_equal(a.metrics[k], b.metrics[k])


def test_process_chunks_equal_one_call():
    from evodse.search.problem import Evaluation

    problem = _problem()
    X = _random_designs(problem, 200)
    with make_executor({"name": "processes", "workers": 2}) as ex:
        parts = ex.chunk_runner()(problem.evaluate_designs, np.array_split(X, 7))
    _assert_same_evaluation(Evaluation.concat(parts), problem.evaluate_designs(X))


def test_chunk_runners_drop_their_client_when_pickled():
    import pickle

    runner = DaskChunkRunner(client=object(), retries=2)
    clone = pickle.loads(pickle.dumps(runner))
    assert clone.client is None and clone.retries == 2
