"""Checkpoints are data, never code: crafted files do not execute, resumed runs equal
uninterrupted ones for every kind of algorithm, and bad checkpoints or flags are one-line
errors (exit status 2) that leave the run directory as it was."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from spaces import SMALL_SPACE

from evodse.cli.main import main
from evodse.experiment import checkpoint as ckpt
from evodse.experiment import rundir
from evodse.experiment.config import load_experiment
from evodse.search import driver

SPACE = {  # 1,200 designs
    "pe_rows": {"pow2": [8, 64]},
    "pe_cols": {"pow2": [8, 64]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 256]},
    "weight_sram_kib": {"pow2": [16, 256]},
}
CONFIG = {
    "name": "tiny",
    "workloads": ["squeezenet1_1"],
    "base": "edge",
    "space": SPACE,
    "objectives": ["latency", "energy", "area"],
    "constraints": ["area_mm2 <= 2"],
    "algorithm": {"name": "nsga2", "pop_size": 12},
    "termination": {"generations": 6},
    "seeds": [0],
}


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def write_config(path: Path, **changes) -> Path:
    path.write_text(yaml.safe_dump({**CONFIG, **changes}, sort_keys=False))
    return path


def cli(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status: int, err: str, *parts: str) -> None:
    assert status == 2, err
    assert err.startswith("evodse: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_same_results(a: Path, b: Path) -> None:
    """Byte-identical result files, wall times and versions aside."""
    for name in (rundir.EVALUATIONS, rundir.PARETO, rundir.CONFIG):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    history = [list(csv.reader((d / rundir.HISTORY).read_text().splitlines())) for d in (a, b)]
    assert history[0][0][-1] == "wall_time_s"
    assert [r[:-1] for r in history[0]] == [r[:-1] for r in history[1]]
    summaries = [json.loads((d / rundir.SUMMARY).read_text()) for d in (a, b)]
    for s in summaries:
        del s["wall_time_s"], s["versions"]
    assert summaries[0] == summaries[1]


def rewrite_arrays(run_dir: Path, npz: bytes) -> None:
    """Replace checkpoint.npz and make checkpoint.json name it (a consistent crafted pair)."""
    (run_dir / rundir.CHECKPOINT_ARRAYS).write_bytes(npz)
    header = json.loads((run_dir / rundir.CHECKPOINT).read_text())
    header["arrays"].update(sha256=hashlib.sha256(npz).hexdigest(), bytes=len(npz))
    (run_dir / rundir.CHECKPOINT).write_text(json.dumps(header))


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """(experiment file, run directory of its finished run): copy before changing."""
    tmp = tmp_path_factory.mktemp("finished")
    path = write_config(tmp / "exp.yaml")
    assert main(["run", str(path), "--out", str(tmp / "run"), "--quiet"]) == 0
    return path, tmp / "run"


def copy_run(src: Path, dst: Path, *, keep_summary: bool = True) -> Path:
    dst.mkdir(parents=True)
    for name, data in snapshot(src).items():
        if keep_summary or name != rundir.SUMMARY:
            (dst / name).write_bytes(data)
    return dst


# --- crafted files never execute -----------------------------------------------------------------


def test_the_payload_is_live(tmp_path):
    """The crafted pickle does run its command when unpickled (so the tests below would see
    a marker file if anything unpickled it)."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def _plant(run_dir: Path, kind: str, marker: Path) -> str:
    """Plant a malicious checkpoint file; returns the file name the error must name."""
    evil = pickle.dumps(Payload(marker))
    if kind == "pkl":
        (run_dir / rundir.CHECKPOINT).unlink()
        (run_dir / rundir.CHECKPOINT_ARRAYS).unlink()
        (run_dir / rundir.LEGACY_CHECKPOINT).write_bytes(evil)
        return rundir.LEGACY_CHECKPOINT
    if kind == "json":
        (run_dir / rundir.CHECKPOINT).write_bytes(evil)
        return rundir.CHECKPOINT
    # an npz holding an object array, named by a checkpoint.json of the right configuration
    objects = np.empty(1, dtype=object)
    objects[0] = Payload(marker)
    with np.load(run_dir / rundir.CHECKPOINT_ARRAYS) as npz:
        arrays = {name: npz[name] for name in npz.files}
    rewrite_arrays(run_dir, npz_bytes(**{**arrays, "X": objects}))
    return rundir.CHECKPOINT_ARRAYS


@pytest.mark.parametrize("kind", ["pkl", "json", "npz"])
def test_a_crafted_checkpoint_does_not_run_on_resume(tmp_path, capsys, finished, kind):
    path, src = finished
    run_dir = copy_run(src, tmp_path / "run")
    marker = tmp_path / "marker"
    name = _plant(run_dir, kind, marker)
    before = snapshot(run_dir)
    status, _, err = cli(capsys, "run", path, "--out", run_dir, "--resume", "--quiet")
    assert_one_line_error(status, err, str(run_dir / name))
    assert not marker.exists()
    assert snapshot(run_dir) == before
    if kind == "pkl":
        assert "not loaded, for safety" in err and "--overwrite" in err


@pytest.mark.parametrize("kind", ["pkl", "json", "npz"])
def test_a_crafted_checkpoint_does_not_run_in_a_sweep(tmp_path, capsys, kind):
    write_config(tmp_path / "exp.yaml")
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"experiment": "exp.yaml", "grid": {"seeds": [0]}}))
    out = tmp_path / "out"
    assert cli(capsys, "sweep", grid, "--out", out, "--quiet")[0] == 0
    run_dir = out / "seed=0"
    (run_dir / rundir.SUMMARY).unlink()  # an interrupted run: the sweep resumes it by itself
    marker = tmp_path / "marker"
    name = _plant(run_dir, kind, marker)
    before = snapshot(out)
    status, _, err = cli(capsys, "sweep", grid, "--out", out, "--quiet")
    assert_one_line_error(status, err, str(run_dir / name))
    assert not marker.exists()
    assert snapshot(out) == before


def test_a_legacy_pickle_is_replaced_by_overwrite(tmp_path, capsys, finished):
    path, src = finished
    run_dir = copy_run(src, tmp_path / "run")
    marker = tmp_path / "marker"
    _plant(run_dir, "pkl", marker)
    assert cli(capsys, "run", path, "--out", run_dir, "--overwrite", "--quiet")[0] == 0
    assert not marker.exists() and not (run_dir / rundir.LEGACY_CHECKPOINT).exists()
    assert_same_results(src, run_dir)


# --- resume equals an uninterrupted run -----------------------------------------------------------


def _interrupt_at(monkeypatch, generation: int) -> None:
    real = driver.step

    def step(state, **kwargs):
        if state.generation == generation:
            raise KeyboardInterrupt
        return real(state, **kwargs)

    monkeypatch.setattr(driver, "step", step)


RESUME_CASES = {
    "nsga2": {"algorithm": {"name": "nsga2", "pop_size": 12}},
    "nsga3": {"algorithm": {"name": "nsga3", "pop_size": 12}},
    "smsemoa": {"algorithm": {"name": "smsemoa", "pop_size": 10}},
    "surrogate": {
        "algorithm": {"name": "surrogate", "pop_size": 10, "batch": 3, "candidates": 500},
        "termination": {"evaluations": 28},
        "space": SMALL_SPACE,
    },
    "random": {"algorithm": {"name": "random", "pop_size": 40}},
    "exhaustive": {"algorithm": {"name": "exhaustive", "pop_size": 150}, "termination": {}},
    "random, 5 objectives (Monte-Carlo hypervolume)": {
        "algorithm": {"name": "random", "pop_size": 40},
        "objectives": ["latency", "energy", "area", "power", "edp"],
    },
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_gives_the_uninterrupted_result(tmp_path, capsys, monkeypatch, case):
    path = write_config(tmp_path / "exp.yaml", **RESUME_CASES[case])
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    assert cli(capsys, "run", path, "--out", full, "--quiet")[0] == 0
    generations = json.loads((full / rundir.SUMMARY).read_text())["generations"]
    assert generations >= 4
    _interrupt_at(monkeypatch, 3)
    assert cli(capsys, "run", path, "--out", resumed, "--quiet")[0] == 130
    header = json.loads((resumed / rundir.CHECKPOINT).read_text())
    assert header["generation"] == 3 and header["stopped_by"] is None
    monkeypatch.undo()
    assert cli(capsys, "run", path, "--out", resumed, "--resume", "--quiet")[0] == 0
    assert_same_results(full, resumed)
    # resuming the finished run changes nothing but wall times
    assert cli(capsys, "run", path, "--out", resumed, "--resume", "--quiet")[0] == 0
    assert_same_results(full, resumed)


def test_a_sweep_resumes_an_interrupted_run_on_a_worker(tmp_path, finished):
    """The task path: the state travels to the worker as checkpoint bytes and back."""
    from evodse.experiment.runner import run_task
    from evodse.experiment.sweep import grid_from_dict

    path, src = finished
    grid = grid_from_dict({"experiment": str(path), "grid": {"seeds": [0]}}, out=tmp_path)
    point = grid.points[0]
    experiment = point.experiment
    problem = experiment.build_problem()
    state = driver.new_state(problem, experiment.algorithm, experiment.options, 0)
    driver.run_search(state, driver.Termination(generations=2))
    state.stopped_by = None  # as a periodic checkpoint records it
    data = ckpt.encode(state, point.resolved(state))
    payload = {
        "data": point.data,
        "source": point.source,
        "base_dir": str(point.base_dir),
        "seed": 0,
        "checkpoint": {"json": data.json, "arrays": data.arrays, "where": str(point.out_dir)},
    }
    result = run_task(payload)
    files = {ckpt.JSON_FILE: result["json"], ckpt.ARRAYS_FILE: result["arrays"]}
    done = ckpt.load_run(files.__getitem__, where="x", experiment=experiment, seed=0)
    rundir.write_results(tmp_path / "task", done, point.resolved(done))
    for name in (rundir.EVALUATIONS, rundir.PARETO):
        assert (tmp_path / "task" / name).read_bytes() == (src / name).read_bytes()


def test_state_round_trip_keeps_everything(tmp_path):
    experiment = load_experiment(
        {**CONFIG, "algorithm": {"name": "surrogate", "pop_size": 10, "batch": 3}}
    )
    problem = experiment.build_problem()
    state = driver.new_state(problem, "surrogate", experiment.options, 0)
    driver.run_search(state, driver.Termination(evaluations=20))
    resolved = experiment.resolved(problem, 0)
    rundir.save_checkpoint(tmp_path, state, resolved)
    back = rundir.load_checkpoint(tmp_path, experiment, 0)
    names = ["X", "objectives", "F", "G", "generation", "cv", "feasible"]
    for name in names + state.archive.metric_names():
        a, b = state.archive.column(name), back.archive.column(name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    assert back.archive.metric_names() == state.archive.metric_names()
    np.testing.assert_array_equal(back.archive.front, state.archive.front)
    assert back.history == state.history and back.elapsed_s == state.elapsed_s
    assert back.algorithm.rng.bit_generator.state == state.algorithm.rng.bit_generator.state
    assert back.algorithm._weights[0] == state.algorithm._weights[0]
    np.testing.assert_array_equal(back.algorithm._weights[1], state.algorithm._weights[1])
    assert back.hypervolume.reference() == state.hypervolume.reference()


# --- bad checkpoints and flags: one line, exit 2, nothing changed ---------------------------------


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip(data: bytes) -> bytes:
    return data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:]


BAD_FILES = {
    "empty json": (rundir.CHECKPOINT, lambda d: b"", "empty file"),
    "truncated json": (rundir.CHECKPOINT, _truncate, "not valid JSON"),
    "binary json": (rundir.CHECKPOINT, lambda d: bytes(range(256)), "not valid JSON"),
    "json list": (rundir.CHECKPOINT, lambda d: b"[1, 2]", "not an evodse checkpoint"),
    "newer format": (
        rundir.CHECKPOINT,
        lambda d: d.replace(f'"version": {ckpt.VERSION}'.encode(), b'"version": 7'),
        "version 7",
    ),
    "bad generation": (
        rundir.CHECKPOINT,
        lambda d: d.replace(b'"generation": 6', b'"generation": "6"'),
        '"generation"',
    ),
    "empty npz": (rundir.CHECKPOINT_ARRAYS, lambda d: b"", "SHA-256"),
    "truncated npz": (rundir.CHECKPOINT_ARRAYS, _truncate, "SHA-256"),
    "modified npz": (rundir.CHECKPOINT_ARRAYS, _flip, "SHA-256"),
    "missing npz": (rundir.CHECKPOINT_ARRAYS, None, "missing"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_checkpoint_is_one_line(tmp_path, capsys, finished, case):
    path, src = finished
    run_dir = copy_run(src, tmp_path / "run", keep_summary=False)
    name, change, message = BAD_FILES[case]
    if change is None:
        (run_dir / name).unlink()
    else:
        (run_dir / name).write_bytes(change((run_dir / name).read_bytes()))
    before = snapshot(run_dir)
    status, _, err = cli(capsys, "run", path, "--out", run_dir, "--resume", "--quiet")
    assert_one_line_error(status, err, str(run_dir / name), message, "--overwrite")
    assert snapshot(run_dir) == before


def _compressed(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    return buf.getvalue()


INVALID_NPZ = {  # case -> (arrays -> npz bytes, what the error says)
    "short X": (lambda a: npz_bytes(**{**a, "X": a["X"][:-1]}), "array X has dtype int64 and"),
    "float32 F": (lambda a: npz_bytes(**{**a, "F": a["F"].astype(np.float32)}), "expected float64"),
    "big-endian F": (lambda a: npz_bytes(**{**a, "F": a["F"].astype(">f8")}), "array F"),
    "unknown array": (lambda a: npz_bytes(**a, extra=np.zeros(3)), "uncompressed zip"),
    "missing G": (lambda a: npz_bytes(**{k: v for k, v in a.items() if k != "G"}), "arrays X,"),
    "X outside the space": (lambda a: npz_bytes(**{**a, "X": a["X"] + 100}), "outside the design"),
    "a design twice": (
        lambda a: npz_bytes(**{**a, "X": np.tile(a["X"][:1], (len(a["X"]), 1))}),
        "a design appears twice",
    ),
    "compressed": (_compressed, "uncompressed zip"),
    "not a zip": (lambda a: b"PK not a zip file at all", "uncompressed zip"),
}


@pytest.mark.parametrize("case", list(INVALID_NPZ))
def test_a_consistent_but_invalid_npz_is_one_line(tmp_path, capsys, finished, case):
    path, src = finished
    run_dir = copy_run(src, tmp_path / "run", keep_summary=False)
    with np.load(run_dir / rundir.CHECKPOINT_ARRAYS) as npz:
        arrays = {name: npz[name] for name in npz.files}
    make, message = INVALID_NPZ[case]
    rewrite_arrays(run_dir, make(arrays))
    before = snapshot(run_dir)
    status, _, err = cli(capsys, "run", path, "--out", run_dir, "--resume", "--quiet")
    named = rundir.CHECKPOINT if case == "a design twice" else rundir.CHECKPOINT_ARRAYS
    assert_one_line_error(status, err, str(run_dir / named), message, "--overwrite")
    assert snapshot(run_dir) == before


def test_a_run_that_does_not_replay_is_one_line(tmp_path, capsys, finished):
    path, src = finished
    run_dir = copy_run(src, tmp_path / "run", keep_summary=False)
    header = json.loads((run_dir / rundir.CHECKPOINT).read_text())
    header["stopped_by"] = None  # an interrupted run: resuming it replays
    (run_dir / rundir.CHECKPOINT).write_text(json.dumps(header))
    with np.load(run_dir / rundir.CHECKPOINT_ARRAYS) as npz:
        arrays = {name: npz[name] for name in npz.files}
    X = arrays["X"].copy()
    X[[0, 1]] = X[[1, 0]]  # the first generation's designs in another order
    rewrite_arrays(run_dir, npz_bytes(**{**arrays, "X": X}))
    before = snapshot(run_dir)
    status, _, err = cli(capsys, "run", path, "--out", run_dir, "--resume", "--quiet")
    assert_one_line_error(status, err, str(run_dir / rundir.CHECKPOINT), "replay", "row 0")
    assert snapshot(run_dir) == before


def test_another_configuration_is_refused_before_the_arrays_are_read(tmp_path, capsys, finished):
    path, src = finished
    run_dir = copy_run(src, tmp_path / "run")
    (run_dir / rundir.CHECKPOINT_ARRAYS).write_bytes(b"not read")
    before = snapshot(run_dir)
    other = write_config(tmp_path / "other.yaml", termination={"generations": 9})
    status, _, err = cli(capsys, "run", other, "--out", run_dir, "--resume", "--quiet")
    assert_one_line_error(
        status, err, str(run_dir / rundir.CHECKPOINT), "different configuration", "config_sha256"
    )
    status, _, err = cli(capsys, "run", path, "--out", run_dir, "--resume", "--seed", 3)
    assert_one_line_error(status, err, str(run_dir / rundir.CHECKPOINT), "seed 0", "seed 3")
    assert snapshot(run_dir) == before


@pytest.mark.parametrize(
    ("argv", "parts"),
    [
        (["--resume", "--overwrite"], ["--resume", "--overwrite"]),
        (["--seed", "-1"], ["--seed", "expected an integer >= 0"]),
        (["--resume"], ["--resume", "no checkpoint to resume"]),
    ],
)
def test_bad_flags_are_one_line(tmp_path, capsys, finished, argv, parts):
    path, src = finished
    run_dir = copy_run(src, tmp_path / "run")
    if argv == ["--resume"]:
        for name in (rundir.CHECKPOINT, rundir.CHECKPOINT_ARRAYS):
            (run_dir / name).unlink()
    before = snapshot(tmp_path)
    status, _, err = cli(capsys, "run", path, "--out", run_dir, *argv, "--quiet")
    assert_one_line_error(status, err, *parts)
    assert snapshot(tmp_path) == before
    status, _, err = cli(capsys, "run", path, "--out", tmp_path / "none", "--resume")
    assert_one_line_error(status, err, str(tmp_path / "none"), "no checkpoint to resume")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_out_pointing_at_a_file_is_one_line(tmp_path, capsys, command):
    path = write_config(tmp_path / "exp.yaml")
    if command == "sweep":
        path = tmp_path / "grid.yaml"
        path.write_text(yaml.safe_dump({"experiment": "exp.yaml", "grid": {"seeds": [0, 1]}}))
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    for out in (target, target / "inside"):
        status, _, err = cli(capsys, command, path, "--out", out, "--quiet")
        assert_one_line_error(status, err, str(out), "--out", "file")
    assert target.read_text() == "keep me"


def test_a_restarted_sweep_continues_an_interrupted_run(tmp_path, capsys, monkeypatch):
    write_config(tmp_path / "exp.yaml")
    grid = tmp_path / "grid.yaml"
    axes = {"algorithm": ["nsga3", "random"], "seeds": [0]}
    grid.write_text(yaml.safe_dump({"experiment": "exp.yaml", "grid": axes}))
    full, restarted = tmp_path / "full", tmp_path / "restarted"
    assert cli(capsys, "sweep", grid, "--out", full, "--quiet")[0] == 0
    _interrupt_at(monkeypatch, 3)  # the first run stops at its third generation
    assert cli(capsys, "sweep", grid, "--out", restarted, "--quiet")[0] == 130
    first = restarted / "algorithm=nsga3" / "seed=0"
    assert json.loads((first / rundir.CHECKPOINT).read_text())["generation"] == 3
    monkeypatch.undo()
    status, out, _ = cli(capsys, "sweep", grid, "--out", restarted, "--quiet")
    assert status == 0 and "2 runs computed, 0 already done" in out
    for label in ("algorithm=nsga3/seed=0", "algorithm=random/seed=0"):
        assert_same_results(full / label, restarted / label)
