"""One run API (issues 23 and 25): ``evodse.run``/``run_seeds`` honour ``executor`` (the
argument, else the experiment's key) through the one engine the sweeps use; runs sent out as
tasks equal runs here, ``seeds.csv`` included; ``refine`` runs after every run on every executor
and in sweeps; ``evodse run`` refuses a grid file in one line naming ``evodse sweep``.

The refine tests re-simulate with SCALE-Sim through one shared disk cache (the first run fills
it, the others read it), on test_validate's tiny workload."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from test_validate import TINY_WORKLOAD, tiny_config

import evodse
from evodse.cli.main import main
from evodse.errors import InputError
from evodse.experiment import runner
from evodse.experiment.config import load_experiment
from evodse.experiment.executors import Executor, ExecutorSpec
from evodse.experiment.sweep import grid_from_dict, run_sweep

HAS_SCALESIM = importlib.util.find_spec("scalesim") is not None
needs_scalesim = pytest.mark.skipif(not HAS_SCALESIM, reason="scalesim not installed")

CONFIG = {
    "name": "tiny",
    "workloads": ["resnet18"],
    "base": "edge",
    "space": {
        "pe_rows": {"pow2": [8, 64]},
        "pe_cols": {"pow2": [8, 64]},
        "dataflow": ["ws", "os", "is"],
        "ifmap_sram_kib": {"pow2": [16, 256]},
    },
    "algorithm": {"name": "nsga2", "pop_size": 20},
    "termination": {"generations": 3},
    "seeds": [0, 1],
}
RESULT_FILES = ("config.yaml", "evaluations.csv", "pareto.csv")


class InlineParallel(Executor):
    """A parallel executor that runs its tasks and chunks here, one after the other: the task
    path of a cluster (plain data in, a checkpoint out) without starting processes."""

    def __init__(self, spec: ExecutorSpec | None = None):
        super().__init__(spec or ExecutorSpec(name="processes"))
        self.tasks = 0
        self.chunk_calls = 0

    @property
    def parallel(self) -> bool:
        return True

    def run_tasks(self, function, payloads):
        self.tasks += len(payloads)
        yield from super().run_tasks(function, payloads)

    def chunk_runner(self):
        def run_chunks(function, chunks):
            self.chunk_calls += 1
            return [function(chunk) for chunk in chunks]

        return run_chunks


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text("utf-8").splitlines()))


def _same_run_files(a: Path, b: Path) -> None:
    for name in RESULT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _same_seed_tables(a: Path, b: Path) -> None:
    """seeds.csv equal but for wall_time_s (measured), hypervolume.json equal."""
    ours, theirs = _rows(a / "seeds.csv"), _rows(b / "seeds.csv")
    assert ours[0] == ["seed", "evaluations", "front_size", "hypervolume", "wall_time_s", "run_dir"]
    wall = ours[0].index("wall_time_s")
    assert [r[:wall] + r[wall + 1 :] for r in ours] == [r[:wall] + r[wall + 1 :] for r in theirs]
    assert (a / "hypervolume.json").read_bytes() == (b / "hypervolume.json").read_bytes()


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    """The two seeds of CONFIG run here, one after the other: the reference."""
    out = tmp_path_factory.mktemp("serial") / "run"
    evodse.run_seeds(CONFIG, out=out)
    return out


# --- executor ------------------------------------------------------------------------------------


def test_seeds_as_tasks_equal_seeds_run_here(serial, tmp_path):
    executor = InlineParallel()
    results = evodse.run_seeds(CONFIG, out=tmp_path / "tasks", executor=executor)
    assert executor.tasks == 2  # both seeds went out as tasks
    assert [r.out_dir.name for r in results] == ["seed_0", "seed_1"]
    for seed in ("seed_0", "seed_1"):
        _same_run_files(tmp_path / "tasks" / seed, serial / seed)
    _same_seed_tables(tmp_path / "tasks", serial)


def test_an_experiment_object_runs_here_on_a_parallel_executor(serial, tmp_path):
    """No YAML mapping to send to workers: the runs stay here, populations in chunks."""
    executor = InlineParallel(ExecutorSpec(name="processes", chunk_size=7))
    evodse.run_seeds(load_experiment(CONFIG), out=tmp_path / "obj", executor=executor)
    assert executor.tasks == 0 and executor.chunk_calls > 0
    for seed in ("seed_0", "seed_1"):
        _same_run_files(tmp_path / "obj" / seed, serial / seed)
    _same_seed_tables(tmp_path / "obj", serial)


def test_run_honours_the_experiment_executor_key(serial, tmp_path, monkeypatch):
    made: list[InlineParallel] = []

    def make_executor(spec):
        made.append(InlineParallel(spec))
        return made[-1]

    monkeypatch.setattr(runner, "make_executor", make_executor)
    config = {**CONFIG, "executor": {"name": "processes", "workers": 2, "chunk_size": 5}}
    result = evodse.run(config, out=tmp_path / "one", seed=1)
    (executor,) = made
    assert executor.spec == ExecutorSpec(name="processes", workers=2, chunk_size=5)
    assert executor.chunk_calls > 0  # populations of 20 evaluated in chunks of 5
    assert result.out_dir == tmp_path / "one" and result.seed == 1
    _same_run_files(tmp_path / "one", serial / "seed_1")
    # an executor argument wins over the key
    evodse.run(config, out=tmp_path / "two", seed=1, executor=InlineParallel())
    assert len(made) == 1
    _same_run_files(tmp_path / "two", serial / "seed_1")


def test_cli_run_with_processes_writes_what_a_local_run_writes(serial, tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    argv = ["run", str(path), "--out", str(tmp_path / "p"), "--executor", "processes", "--quiet"]
    assert main(argv) == 0
    assert "hypervolume normalized over" in capsys.readouterr().out
    for seed in ("seed_0", "seed_1"):
        _same_run_files(tmp_path / "p" / seed, serial / seed)
    _same_seed_tables(tmp_path / "p", serial)


def test_cli_run_names_failed_tasks_in_one_line(tmp_path, monkeypatch, capsys):
    def failing(payload):
        raise RuntimeError(f"seed {payload['seed']} lost")

    monkeypatch.setattr(runner, "make_executor", InlineParallel)
    monkeypatch.setattr(runner, "run_task", failing)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    argv = ["run", str(path), "--out", str(tmp_path / "p"), "--executor", "processes", "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 of 2 runs failed" in err and "seed 0 lost" in err


# --- a grid file ---------------------------------------------------------------------------------


def test_run_refuses_a_grid_file_in_one_line_naming_sweep(tmp_path, capsys):
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "grid": {"seeds": [0, 1]}}, sort_keys=False))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"evodse sweep {path}" in err and "grid" in err
    assert not out.exists()
    with pytest.raises(InputError) as info:
        evodse.run({**CONFIG, "grid": {"seeds": [0, 1]}}, out=out)
    assert info.value.key == "grid" and "evodse.experiment.sweep" in str(info.value)
    assert not out.exists()


# --- refine on every executor and in sweeps ------------------------------------------------------


@pytest.fixture(scope="module")
def refined(tmp_path_factory):
    """Two seeds of the tiny workload refined with SCALE-Sim here (the reference; it fills the
    cache the other runs read)."""
    if not HAS_SCALESIM:
        pytest.skip("scalesim not installed")
    root = tmp_path_factory.mktemp("refine")
    workload = root / "tiny.yaml"
    workload.write_text(yaml.safe_dump(TINY_WORKLOAD, sort_keys=False))
    refine = {"backend": "scalesim", "top": 2, "jobs": 1, "cache_dir": str(root / "cache")}
    config = tiny_config(workload, refine=refine, seeds=[0, 1])
    evodse.run_seeds(config, out=root / "serial")
    return config, root / "serial"


def _same_validation(ours: Path, reference: Path) -> None:
    assert (ours / "validation.csv").read_bytes() == (reference / "validation.csv").read_bytes()
    a, b = (json.loads((d / "validation_summary.json").read_text()) for d in (ours, reference))
    assert a["run_dir"] == str(ours)
    for key in ("designs", "ranking", "kendall_tau", "front", "per_design", "refine"):
        assert a[key] == b[key], key


def _run_refined(kind: str, config: dict, out: Path) -> list[Path]:
    """The two seeds' run directories of ``config`` run on ``kind``."""
    if kind == "tasks":
        executor = InlineParallel()
        evodse.run_seeds(config, out=out, executor=executor)
        assert executor.tasks == 2
    elif kind == "processes":
        evodse.run_seeds(config, out=out, executor=ExecutorSpec(name="processes", workers=2))
    elif kind == "sweep":
        grid = grid_from_dict({"experiment": config, "grid": {"seeds": [0, 1]}}, out=out)
        with InlineParallel() as executor:
            result = run_sweep(grid, executor=executor)
        assert (result.ran, executor.tasks) == (2, 2)
        return [out / "seed=0", out / "seed=1"]  # a sweep names run directories by axis value
    else:  # dask: a LocalCluster of two worker processes
        pytest.importorskip("distributed")
        evodse.run_seeds(config, out=out, executor={"name": "dask", "workers": 2})
    return [out / "seed_0", out / "seed_1"]


@needs_scalesim
@pytest.mark.parametrize(
    "kind", ["tasks", "processes", "sweep", pytest.param("dask", marks=pytest.mark.slow)]
)
def test_refine_runs_on_every_executor_and_in_sweeps(refined, kind, tmp_path):
    config, reference = refined
    runs = _run_refined(kind, config, tmp_path / kind)
    for run_dir, seed in zip(runs, ("seed_0", "seed_1"), strict=True):
        _same_run_files(run_dir, reference / seed)
        _same_validation(run_dir, reference / seed)
