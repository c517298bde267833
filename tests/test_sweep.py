"""Experiment grids: expansion, validation, run directories, sweep.csv, restart semantics, and
runs on a process pool and on a Dask LocalCluster equal to local runs (also after a worker is
killed mid-grid, and with a population evaluated in chunks on the workers)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from evodse.cli.main import main
from evodse.errors import InputError
from evodse.experiment import checkpoint as ckpt
from evodse.experiment import rundir
from evodse.experiment.executors import Executor, ExecutorSpec, make_executor
from evodse.experiment.runner import SweepError, run_seeds, run_task
from evodse.experiment.sweep import SWEEP_CSV, grid_from_dict, load_grid, run_sweep
from evodse.search.driver import Termination, new_state, run_search

ROOT = Path(__file__).resolve().parents[1]
SPACE = {
    "pe_rows": {"pow2": [8, 128]},
    "pe_cols": {"pow2": [8, 128]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 1024]},
    "weight_sram_kib": {"pow2": [16, 1024]},
    "dram_bandwidth_gbps": [6.4, 12.8, 25.6],
}
BASE = {
    "name": "tiny",
    "workloads": ["resnet18"],
    "base": "edge",
    "space": SPACE,
    "objectives": ["latency", "energy", "area"],
    "constraints": ["area_mm2 <= 8"],
    "algorithm": {"name": "nsga2", "pop_size": 24},
    "termination": {"generations": 6},
    "seeds": [0],
}
RESULT_FILES = (rundir.PARETO, rundir.EVALUATIONS, rundir.CONFIG)


def _write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def base_file(tmp_path) -> Path:
    return _write(tmp_path / "base.yaml", BASE)


def _grid_file(tmp_path: Path, grid: dict, **extra) -> Path:
    _write(tmp_path / "base.yaml", BASE)
    return _write(tmp_path / "grid.yaml", {"experiment": "base.yaml", "grid": grid, **extra})


def _files(out: Path, labels) -> dict[str, bytes]:
    return {
        f"{lab}/{name}": (out / lab / name).read_bytes() for lab in labels for name in RESULT_FILES
    }


# --- expansion and validation --------------------------------------------------------------------


def test_grid_expands_in_a_fixed_order_with_seed_last(tmp_path):
    path = _grid_file(
        tmp_path,
        {
            "seeds": [3, 1],
            "termination": [{"generations": 2}, {"evaluations": 100}],
            "algorithm": ["nsga2", {"name": "moead", "n_neighbors": 5}],
        },
    )
    grid = load_grid(path, out=tmp_path / "out")
    assert grid.columns == ("algorithm", "termination", "seed")
    labels = [p.label for p in grid.points]
    assert labels[:3] == [
        "algorithm=nsga2/termination=generations-2/seed=3",
        "algorithm=nsga2/termination=generations-2/seed=1",
        "algorithm=nsga2/termination=evaluations-100/seed=3",
    ]
    assert labels[-1] == "algorithm=moead_n_neighbors-5/termination=evaluations-100/seed=1"
    assert len(set(labels)) == 8
    point = grid.points[-1]
    assert point.out_dir == tmp_path / "out" / point.label
    # another algorithm keeps the base's common options (pop_size), a termination replaces
    assert point.data["algorithm"] == {"name": "moead", "pop_size": 24, "n_neighbors": 5}
    assert point.data["termination"] == {"evaluations": 100}
    assert point.data["seeds"] == [1] and point.seed == 1
    assert point.experiment.options == {"pop_size": 24, "n_neighbors": 5}
    assert grid.out == tmp_path / "out"
    assert load_grid(path).out == Path("runs") / "grid"


def test_grid_section_in_an_experiment_and_merged_space(tmp_path):
    data = {
        **BASE,
        "seeds": [0, 1],
        "grid": {
            "space": [{"pe_rows": [16, 32]}, {"pe_rows": [64]}],
            "workloads": [["resnet18"], ["mobilenet_v2", {"workload": "resnet18", "batch": 2}]],
        },
        "out": str(tmp_path / "o"),
    }
    grid = load_grid(_write(tmp_path / "exp.yaml", data))
    assert grid.out == tmp_path / "o"
    assert grid.columns == ("workloads", "space", "seed")
    assert [p.label for p in grid.points][:2] == [
        "workloads=resnet18/space=pe_rows-16+32/seed=0",
        "workloads=resnet18/space=pe_rows-16+32/seed=1",
    ]
    assert (
        grid.points[-1].label == "workloads=mobilenet_v2+resnet18_batch-2/space=pe_rows-64/seed=1"
    )
    space = grid.points[0].data["space"]
    assert space["pe_rows"] == [16, 32] and space["pe_cols"] == SPACE["pe_cols"]
    assert "grid" not in grid.points[0].data and "out" not in grid.points[0].data


def test_colliding_labels_get_positions():
    grid = grid_from_dict(
        {"experiment": BASE, "grid": {"constraints": [["area_mm2 <= 8"], ["area_mm2 >= 8"]]}}
    )
    assert [p.axes["constraints"] for p in grid.points] == ["area_mm2-8-1", "area_mm2-8-2"]


@pytest.mark.parametrize(
    ("grid", "source_part", "key"),
    [
        ({"algorithm": "nsga2"}, "grid.yaml", "grid.algorithm"),
        ({"algorithm": []}, "grid.yaml", "grid.algorithm"),
        ({"colour": [1]}, "grid.yaml", "grid.colour"),
        ({"algorithm": [{"pop_size": 3}]}, "grid.yaml", "grid.algorithm[0]"),
        ({"seeds": [1, 1]}, "grid.yaml", "grid.seeds"),
        ({"algorithm": ["nsga2", "bogus"]}, "run algorithm=bogus/seed=0", "algorithm.name"),
        ({"termination": [{"generations": 0}]}, "grid.yaml (run", "termination.generations"),
    ],
)
def test_every_run_is_validated_up_front(tmp_path, grid, source_part, key):
    path = _grid_file(tmp_path, grid)
    with pytest.raises(InputError) as err:
        load_grid(path)
    assert source_part in str(err.value.source)
    assert str(path) in str(err.value.source)
    assert err.value.key == key


def test_grid_file_errors(tmp_path):
    with pytest.raises(InputError) as err:
        load_grid(_write(tmp_path / "g.yaml", {"experiment": "base.yaml"}))
    assert err.value.key == "top level"
    with pytest.raises(InputError) as err:
        load_grid(_write(tmp_path / "g.yaml", {"experiment": "missing.yaml", "grid": {}}))
    assert "missing.yaml" in str(err.value)
    with pytest.raises(InputError) as err:
        grid_from_dict({"experiment": BASE, "grid": {}, "executor": "gpu"})
    assert err.value.key == "executor.name"


# --- running locally ----------------------------------------------------------------------------


def test_run_task_writes_nothing_and_equals_a_local_run(tmp_path, monkeypatch):
    grid = grid_from_dict({"experiment": BASE, "grid": {"seeds": [2]}}, out=tmp_path / "o")
    point = grid.points[0]
    work = tmp_path / "worker"
    work.mkdir()
    monkeypatch.chdir(work)
    payload = {
        "data": point.data,
        "source": point.source,
        "base_dir": str(point.base_dir),
        "seed": 2,
        "checkpoint": None,
    }
    result = run_task(payload)
    state = ckpt.load_run(
        {ckpt.JSON_FILE: result["json"], ckpt.ARRAYS_FILE: result["arrays"]}.__getitem__,
        where="task",
        experiment=point.experiment,
        seed=2,
    )
    assert list(work.iterdir()) == []
    local = run_seeds(BASE, out=tmp_path / "local", seeds=[2])[0]
    rundir.write_results(tmp_path / "task", state, point.resolved(state))
    for name in (rundir.PARETO, rundir.EVALUATIONS):
        assert (tmp_path / "task" / name).read_bytes() == (local.out_dir / name).read_bytes()


def test_local_sweep_restart_skips_done_runs_and_resumes_interrupted_ones(tmp_path):
    path = _grid_file(tmp_path, {"algorithm": ["nsga2", "random"], "seeds": [0, 1]})
    out = tmp_path / "out"
    grid = load_grid(path, out=out)
    labels = [p.label for p in grid.points]
    result = run_sweep(grid)
    assert (result.ran, result.skipped) == (4, 0)
    table = (out / SWEEP_CSV).read_text().splitlines()
    assert table[0] == ("algorithm,seed,evaluations,front_size,hypervolume,wall_time_s,run_dir")
    assert [row.split(",")[-1] for row in table[1:]] == labels
    assert all(row.split(",")[2] == "144" for row in table[1:])
    first = _files(out, labels)

    # interrupt one run: keep a partial checkpoint, drop its results
    point = grid.points[1]
    for name in (rundir.SUMMARY, rundir.PARETO, rundir.EVALUATIONS):
        (point.out_dir / name).unlink()
    state = new_state(point.experiment.build_problem(), "nsga2", point.experiment.options, 1)
    run_search(state, Termination(generations=2))
    rundir.save_checkpoint(point.out_dir, state, point.resolved(state))
    stamp = (out / labels[0] / rundir.SUMMARY).stat().st_mtime_ns

    result = run_sweep(load_grid(path, out=out))
    assert (result.ran, result.skipped) == (1, 3)
    assert (out / labels[0] / rundir.SUMMARY).stat().st_mtime_ns == stamp
    assert _files(out, labels) == first  # resumed run ends where the uninterrupted one did
    assert (out / SWEEP_CSV).read_text().splitlines()[1:] != []

    # a changed base experiment: the run directories hold another configuration
    _write(tmp_path / "base.yaml", {**BASE, "termination": {"generations": 7}})
    with pytest.raises(InputError) as err:
        run_sweep(load_grid(path, out=out))
    assert err.value.key == rundir.CONFIG and "--overwrite" in str(err.value)
    result = run_sweep(load_grid(path, out=out), overwrite=True)
    assert (result.ran, result.skipped) == (4, 0)


class _FailingSecondRun(Executor):
    """A 'parallel' executor running tasks here; the second task fails."""

    @property
    def parallel(self) -> bool:
        return True

    def run_tasks(self, function, payloads):
        for i, payload in enumerate(payloads):
            if i == 1:
                yield i, None, MemoryError("worker out of memory")
            else:
                yield i, function(payload), None


def test_a_failed_run_does_not_stop_the_others(tmp_path):
    path = _grid_file(tmp_path, {"seeds": [0, 1, 2]})
    grid = load_grid(path, out=tmp_path / "out")
    with pytest.raises(SweepError, match=r"1 of 3 runs failed.*seed=1.*out of memory"):
        run_sweep(grid, executor=_FailingSecondRun(ExecutorSpec()))
    done = [p.out_dir.joinpath(rundir.SUMMARY).exists() for p in grid.points]
    assert done == [True, False, True]
    assert len((tmp_path / "out" / SWEEP_CSV).read_text().splitlines()) == 3
    result = run_sweep(grid)  # a restart runs only the failed one
    assert (result.ran, result.skipped) == (1, 2)


def test_sweep_cli(tmp_path, capsys):
    path = _grid_file(tmp_path, {"algorithm": ["nsga2", "random"]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--dry-run"]) == 0
    assert "to run" in capsys.readouterr().out and not out.exists()
    assert main(["sweep", str(path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "[2/2]" in captured.err and "2 runs computed, 0 already done" in captured.out
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 0
    assert "0 runs computed, 2 already done" in capsys.readouterr().out
    assert main(["sweep", str(path), "--out", str(out), "--dry-run"]) == 0
    assert "done" in capsys.readouterr().out
    assert main(["sweep", str(tmp_path / "nope.yaml")]) == 2


def test_run_on_a_process_pool_equals_run_seeds(tmp_path, base_file):
    spec = ExecutorSpec(name="processes", workers=2)
    results = run_seeds(base_file, executor=spec, out=tmp_path / "p", seeds=[0, 1])
    local = run_seeds(base_file, out=tmp_path / "l", seeds=[0, 1])
    assert [r.out_dir.name for r in results] == ["seed_0", "seed_1"]
    for r, ref in zip(results, local, strict=True):
        assert r.summary["front_size"] == ref.summary["front_size"]
        assert (r.F == ref.F).all() and r.designs == ref.designs
        for name in RESULT_FILES:
            assert (r.out_dir / name).read_bytes() == (ref.out_dir / name).read_bytes()
    head = (tmp_path / "p" / "seeds.csv").read_text().splitlines()[0]
    assert head == (tmp_path / "l" / "seeds.csv").read_text().splitlines()[0]
    with pytest.raises(InputError) as err:  # like run_seeds: an existing run needs a flag
        run_seeds(base_file, executor=spec, out=tmp_path / "p", seeds=[0, 1])
    assert err.value.key == "--out"
    again = run_seeds(base_file, executor=spec, out=tmp_path / "p", seeds=[0, 1], resume=True)
    assert [r.summary["front_size"] for r in again] == [r.summary["front_size"] for r in local]


# --- Dask ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster, client


DASK_GRID = {"algorithm": ["nsga2", {"name": "nsga2", "pop_size": 30}], "seeds": [0, 1]}


@pytest.fixture(scope="module")
def local_grid(tmp_path_factory):
    """The Dask tests' grid, run locally: the reference results."""
    tmp = tmp_path_factory.mktemp("local_grid")
    _write(tmp / "base.yaml", {**BASE, "termination": {"generations": 30}})
    path = _write(tmp / "grid.yaml", {"experiment": "base.yaml", "grid": DASK_GRID})
    grid = load_grid(path, out=tmp / "out")
    run_sweep(grid)
    return path, grid, _files(tmp / "out", [p.label for p in grid.points])


def test_dask_grid_equals_local(cluster, local_grid, tmp_path):
    _, client = cluster
    path, grid, reference = local_grid
    out = tmp_path / "dask"
    with make_executor(client=client) as executor:
        result = run_sweep(load_grid(path, out=out), executor=executor)
    assert (result.ran, result.skipped) == (4, 0)
    assert _files(out, [p.label for p in grid.points]) == reference
    csv = (out / SWEEP_CSV).read_text().splitlines()
    assert len(csv) == 5 and csv[0].startswith("algorithm,seed,evaluations")


EDGE = {
    "name": "edge",
    "problem": str(ROOT / "problems" / "edge_vision.py") + ":EdgeVision",  # a user problem file
    "algorithm": {"name": "nsga2", "pop_size": 64},
    "termination": {"generations": 3},
    "seeds": [4],
}


def _archive(state) -> dict[str, np.ndarray]:
    names = ["X", "objectives", "F", "G", "generation", *state.archive.metric_names()]
    return {name: state.archive.column(name) for name in names}


def test_dask_chunked_population_equals_an_unchunked_local_run(cluster, tmp_path):
    cl, _ = cluster
    path = _write(tmp_path / "edge.yaml", EDGE)
    spec = ExecutorSpec(name="dask", scheduler=cl.scheduler_address, chunk_size=10)
    calls = []
    with make_executor(spec) as executor:
        runner = executor.chunk_runner()

        def counting(function, chunks):
            calls.append(len(chunks))
            return runner(function, chunks)

        executor.chunk_runner = lambda: counting
        (result,) = run_seeds(path, executor=executor, out=tmp_path / "dask")
    assert calls and max(calls) >= 6  # populations of 64 went out in chunks of <= 10
    assert result.state.evaluator.runner is None  # detached after the run

    local = run_seeds(path, out=tmp_path / "local")[0]
    for name in RESULT_FILES:  # the cost model is chunk-invariant (row-wise totals)
        assert (result.out_dir / name).read_bytes() == (local.out_dir / name).read_bytes()
    ours, theirs = _archive(result.state), _archive(local.state)
    assert list(ours) == list(theirs)
    for name in ours:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_run_cli_with_scheduler(cluster, tmp_path, base_file, capsys):
    cl, _ = cluster
    out = tmp_path / "r"
    argv = ["run", str(base_file), "--out", str(out), "--scheduler", cl.scheduler_address]
    assert main([*argv, "--quiet"]) == 0
    local = run_seeds(base_file, out=tmp_path / "l")[0]
    for name in RESULT_FILES:
        assert (out / name).read_bytes() == (local.out_dir / name).read_bytes()
    assert "front of" in capsys.readouterr().out


@pytest.mark.slow
def test_a_worker_killed_mid_grid_loses_no_run(cluster, local_grid, tmp_path):
    _, client = cluster
    path, grid, reference = local_grid
    pids = client.run(os.getpid)
    killed: list[int] = []
    stop = threading.Event()

    def kill_a_busy_worker_after_a_run_finished() -> None:
        seen: set[str] = set()
        while not stop.is_set() and not killed:
            processing = {a: set(k) for a, k in client.processing().items() if a in pids}
            now = set().union(*processing.values())
            busy = [a for a, keys in processing.items() if keys]
            if seen - now and busy:  # a run finished and another one is running: kill it
                killed.append(pids[busy[0]])
                os.kill(pids[busy[0]], signal.SIGKILL)
            seen |= now
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_busy_worker_after_a_run_finished, daemon=True)
    out = tmp_path / "killed"
    with make_executor(client=client) as executor:
        killer.start()
        try:
            result = run_sweep(load_grid(path, out=out), executor=executor)
        finally:
            stop.set()
            killer.join()
    assert killed, "no worker was busy after the first run finished"
    assert (result.ran, result.skipped) == (4, 0)
    assert _files(out, [p.label for p in grid.points]) == reference
    assert len((out / SWEEP_CSV).read_text().splitlines()) == 5
