"""Big runs: ``time_s`` holds the run's writes, incremental checkpoints resume exactly,
evaluations.csv written a checkpoint at a time is the file written at once, and the archive's
look-ups agree for both kinds of key. Time is a fake clock here, never measured."""

from __future__ import annotations

import importlib.util
import json
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_checkpoint import CONFIG, assert_same_results, cli, snapshot, write_config

from evodse import columnar
from evodse.errors import InputError
from evodse.experiment import checkpoint as ckpt
from evodse.experiment import csvlines, rundir, runner
from evodse.experiment.config import load_experiment
from evodse.plots.rundata import Table, load_run
from evodse.search import driver
from evodse.search.archive import MAX_LOAD, Archive, KeyIndex
from evodse.search.problem import AcceleratorProblem, Evaluation


class FakeClock:
    """``perf_counter`` and ``monotonic`` that move only when told."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def spy(monkeypatch, owner: type, name: str, note) -> list:
    """Calls of method ``owner.name`` go through, each noted first as ``note(self, *args)``
    in the list returned."""
    notes, real = [], getattr(owner, name)

    def method(self, *args):
        notes.append(note(self, *args))
        return real(self, *args)

    monkeypatch.setattr(owner, name, method)
    return notes


STEP_S = 0.05  # fake seconds per cost-model call
WRITE_S = 0.2  # fake seconds per checkpoint write: an artificially slow writer


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    for module in (driver, runner, rundir):
        monkeypatch.setattr(module, "time", fake)
    real_evaluate = AcceleratorProblem.evaluate_designs
    real_write = rundir.write_checkpoint

    def evaluate(self, X):
        fake.advance(STEP_S)
        return real_evaluate(self, X)

    def write(out, data):
        fake.advance(WRITE_S)
        return real_write(out, data)

    monkeypatch.setattr(AcceleratorProblem, "evaluate_designs", evaluate)
    monkeypatch.setattr(rundir, "write_checkpoint", write)
    return fake


def test_time_s_includes_the_writes(tmp_path, capsys, monkeypatch, clock):
    """With checkpoints slower than the search, the run (building, search, checkpoints and
    its last writes) still ends within 10% of ``time_s``, and its elapsed time counts every
    checkpoint it wrote."""
    monkeypatch.setattr(runner, "CHECKPOINT_EVERY_S", 0.5)
    writes = spy(
        monkeypatch, rundir.RunWriter, "checkpoint", lambda self, state: len(state.archive)
    )
    time_s = 6.0
    config = {
        **CONFIG,
        "space": {**CONFIG["space"], "ofmap_sram_kib": {"pow2": [16, 256]}},  # 6,000 designs
        "algorithm": {"name": "random", "pop_size": 10},
        "termination": {"time_s": time_s},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    start = clock.now
    assert cli(capsys, "run", path, "--out", tmp_path / "run", "--quiet")[0] == 0
    total = clock.now - start
    summary = json.loads((tmp_path / "run" / rundir.SUMMARY).read_text())
    assert summary["stopped_by"] == "time_s"
    assert len(writes) >= 2
    assert summary["wall_time_s"] >= len(writes) * WRITE_S  # the checkpoints count
    assert total <= 1.1 * time_s
    # without the writes counted, the search alone would have run the whole budget
    assert summary["generations"] * STEP_S < time_s - len(writes) * WRITE_S + STEP_S


@pytest.fixture
def small_chunks(monkeypatch):
    """A checkpoint every generation, sealing a chunk every two generations."""
    monkeypatch.setattr(runner, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(runner, "CHECKPOINT_SHARE", float("inf"))
    monkeypatch.setattr(ckpt, "SEAL_ROWS", 10**9)
    monkeypatch.setattr(ckpt, "SEAL_GENERATIONS", 2)


@pytest.mark.parametrize("algorithm", ["nsga2", "random"])
def test_incremental_checkpoints_resume_exactly(
    tmp_path, capsys, monkeypatch, small_chunks, algorithm
):
    path = write_config(tmp_path / "exp.yaml", algorithm={"name": algorithm, "pop_size": 12})
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    assert cli(capsys, "run", path, "--out", full, "--quiet")[0] == 0
    real = driver.step

    def step(state, **kwargs):
        if state.generation == 5:
            raise KeyboardInterrupt
        return real(state, **kwargs)

    monkeypatch.setattr(driver, "step", step)
    assert cli(capsys, "run", path, "--out", resumed, "--quiet")[0] == 130
    header = json.loads((resumed / rundir.CHECKPOINT).read_text())
    assert header["generation"] == 5 and len(header["chunks"]) == 2
    chunk_files = sorted(p.name for p in (resumed / ckpt.CHUNKS_DIR).iterdir())
    assert chunk_files == ["000000.npz", "000001.npz"]
    first = (resumed / ckpt.CHUNKS_DIR / "000000.npz").read_bytes()
    monkeypatch.setattr(driver, "step", real)
    assert cli(capsys, "run", path, "--out", resumed, "--resume", "--quiet")[0] == 0
    assert (resumed / ckpt.CHUNKS_DIR / "000000.npz").read_bytes() == first  # appended to
    assert len(json.loads((resumed / rundir.CHECKPOINT).read_text())["chunks"]) == 3
    assert_same_results(full, resumed)
    assert not list(resumed.glob(".*partial"))


def test_a_modified_chunk_is_one_line(tmp_path, capsys, small_chunks):
    path = write_config(tmp_path / "exp.yaml")
    run_dir = tmp_path / "run"
    assert cli(capsys, "run", path, "--out", run_dir, "--quiet")[0] == 0
    (run_dir / rundir.SUMMARY).unlink()
    chunk = run_dir / ckpt.CHUNKS_DIR / "000001.npz"
    data = chunk.read_bytes()
    chunk.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    before = snapshot(run_dir)
    status, _, err = cli(capsys, "run", path, "--out", run_dir, "--resume", "--quiet")
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert str(chunk) in err and "SHA-256" in err and "--overwrite" in err
    assert snapshot(run_dir) == before


def test_overwrite_drops_the_chunks_of_the_old_run(tmp_path, capsys, small_chunks):
    path = write_config(tmp_path / "exp.yaml")
    run_dir = tmp_path / "run"
    assert cli(capsys, "run", path, "--out", run_dir, "--quiet")[0] == 0
    assert len(list((run_dir / ckpt.CHUNKS_DIR).iterdir())) == 3
    shorter = write_config(tmp_path / "short.yaml", termination={"generations": 3})
    assert cli(capsys, "run", shorter, "--out", run_dir, "--overwrite", "--quiet")[0] == 0
    header = json.loads((run_dir / rundir.CHECKPOINT).read_text())
    names = {p.name for p in (run_dir / ckpt.CHUNKS_DIR).iterdir()}
    assert names == {c["file"].split("/")[1] for c in header["chunks"]} == {"000000.npz"}


def reference_csv(state: driver.SearchState) -> str:
    """evaluations.csv as evodse always formatted it: a cell at a time through csv.writer."""
    archive, problem = state.archive, state.problem
    rows = np.arange(len(archive))
    hw = problem.decision_table(archive.column("X"))
    objectives = archive.column("objectives")
    names = [m for m in archive.metric_names() if m not in problem.objective_columns]
    cell = rundir._cell
    table = [
        [int(r), int(archive.column("generation")[r])]
        + [cell(archive.column("feasible")[r]), cell(archive.column("cv")[r])]
        + [cell(hw[k][r]) for k in hw]
        + [cell(v) for v in objectives[r]]
        + [cell(archive.column(m)[r]) for m in names]
        for r in rows
    ]
    return rundir.csv_text(rundir.design_columns(state), table)


@pytest.mark.parametrize("background", [False, True], ids=["here", "second-process"])
def test_the_csv_written_in_chunks_is_the_csv_written_at_once(
    tmp_path, capsys, monkeypatch, small_chunks, background
):
    """Appended every generation, formatted here or (every block) in the second process."""
    if background:
        monkeypatch.setattr(rundir, "BACKGROUND_ROWS", 1)
        submitted = spy(
            monkeypatch,
            csvlines.Formatter,
            "submit",
            lambda self, cells, target: (self, len(cells[0])),
        )
    path = write_config(tmp_path / "exp.yaml", constraints=["area_mm2 <= 1.6"])
    run_dir = tmp_path / "run"
    assert cli(capsys, "run", path, "--out", run_dir, "--quiet")[0] == 0
    by_run = list(submitted) if background else []
    experiment = load_experiment(path)
    state = rundir.load_checkpoint(run_dir, experiment, 0)
    assert not state.archive.column("feasible").all()  # both kinds of row
    at_once = tmp_path / "at_once"
    rundir.write_results(at_once, state, experiment.resolved(state.problem, 0))
    chunked = (run_dir / rundir.EVALUATIONS).read_bytes()
    assert chunked == (at_once / rundir.EVALUATIONS).read_bytes()
    assert chunked.decode() == reference_csv(state)
    assert (run_dir / rundir.PARETO).read_bytes() == (at_once / rundir.PARETO).read_bytes()
    if background:  # every generation's rows went through the second process, at once too
        assert len(by_run) == state.generation
        assert sum(rows for _, rows in by_run) == len(state.archive)
        assert [rows for _, rows in submitted[len(by_run) :]] == [len(state.archive)]
        assert not any(formatter.failed for formatter, _ in submitted)  # formatted there
        for run in (run_dir, at_once):  # the columnar file took the complete CSV's fingerprint
            assert columnar.read(run / rundir.EVALUATIONS, len(state.archive)) is not None


def assert_same_table(a: Table, b: Table) -> None:
    """The same columns, in order, of the same kind and values."""
    assert a.names == b.names
    for name in a.names:
        assert a[name].dtype.kind == b[name].dtype.kind, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def columnar_run(tmp_path: Path, capsys, name: str = "run", seed: int = 0) -> Path:
    path = write_config(tmp_path / f"{name}.yaml", seeds=[seed])
    run_dir = tmp_path / name
    status, _, err = cli(capsys, "run", path, "--out", run_dir, "--quiet")
    assert status == 0, err
    return run_dir


def test_the_columnar_file_is_the_csv(tmp_path, capsys):
    """evaluations.npz holds evaluations.csv's table as the CSV's reader parses it (numbers
    and text columns, operand widths left to the precision), and numpy's CSV loader parses
    the CSV as the csv module does."""
    run_dir = columnar_run(tmp_path, capsys)
    csv_path = run_dir / rundir.EVALUATIONS
    rows = json.loads((run_dir / rundir.SUMMARY).read_text())["evaluations"]
    columns = columnar.read(csv_path, rows)
    assert columns is not None
    reference = Table.read_rows(csv_path)
    assert len(reference) == rows
    assert reference["dataflow"].dtype.kind == "U" and reference["weight_bits"].dtype.kind == "f"
    assert_same_table(reference, Table.from_arrays(columns, str(csv_path)))
    assert_same_table(reference, Table.read(csv_path))
    assert_same_table(reference, load_run(run_dir).evaluations)


def test_a_run_is_read_from_its_columnar_file(tmp_path, capsys, monkeypatch):
    """With a matching evaluations.npz, loading the run never parses evaluations.csv."""
    run_dir = columnar_run(tmp_path, capsys)
    reference = Table.read_rows(run_dir / rundir.EVALUATIONS)
    parsed = []
    real_read = Table.read.__func__
    monkeypatch.setattr(
        Table,
        "read",
        classmethod(lambda cls, path: (parsed.append(path.name), real_read(cls, path))[1]),
    )
    assert_same_table(reference, load_run(run_dir).evaluations)
    assert rundir.EVALUATIONS not in parsed and rundir.PARETO in parsed


@pytest.mark.parametrize("damage", ["corrupt", "csv_edited", "other_run", "row_count"])
def test_a_stale_or_corrupt_columnar_file_is_ignored(tmp_path, capsys, damage):
    """A columnar file that is torn, from another run, or older than an edit of the CSV is
    not used: the run is read from the CSV."""
    run_dir = columnar_run(tmp_path, capsys)
    csv_path = run_dir / rundir.EVALUATIONS
    npz_path = run_dir / columnar.FILE
    rows = json.loads((run_dir / rundir.SUMMARY).read_text())["evaluations"]
    if damage == "corrupt":
        npz_path.write_bytes(npz_path.read_bytes()[: npz_path.stat().st_size // 2])
    elif damage == "csv_edited":  # the last cell's last digit, the file's size unchanged
        text = csv_path.read_text()
        digit = text[-2]
        csv_path.write_text(text[:-2] + ("1" if digit != "1" else "2") + "\n")
    elif damage == "other_run":
        other = columnar_run(tmp_path, capsys, name="other", seed=1)
        npz_path.write_bytes((other / columnar.FILE).read_bytes())
    else:
        rows += 1
    assert columnar.read(csv_path, rows) is None
    if damage != "row_count":
        assert_same_table(Table.read_rows(csv_path), load_run(run_dir).evaluations)


def test_a_damaged_column_is_one_clear_error(tmp_path, capsys):
    """A columnar file whose checks pass but whose column data cannot be used (codes beyond its
    values) is one line naming the file and the column, when that column is first read."""
    run_dir = columnar_run(tmp_path, capsys)
    csv_path = run_dir / rundir.EVALUATIONS
    header = columnar.csv_header(csv_path)
    rows = len(Table.read_rows(csv_path))
    columns = [Table.read_rows(csv_path)[name] for name in header]
    k = header.index("pe_rows")
    columns[k] = (np.full(rows, 7, dtype=np.uint8), np.asarray([8.0, 16.0]))
    columnar.write(csv_path, header, columns)
    read = columnar.read(csv_path, rows)
    assert read is not None and "pe_rows" in read
    with pytest.raises(InputError, match="damaged") as error:
        load_run(run_dir)
    assert error.value.key == "pe_rows" and error.value.source.endswith(columnar.FILE)
    status, _, err = cli(capsys, "report", run_dir)
    assert status == 2 and err.count("\n") == 1 and "pe_rows" in err, err


def test_numpys_loader_falls_back_to_the_csv_module(tmp_path):
    """Cells numpy's loader takes differently (a text cell below a number, a quoted comma, a
    short row) are read by the csv module, which names the short row."""
    path = tmp_path / "t.csv"
    path.write_text('a,b,c\n1,x,"2,5"\nfoo,y,3\n')
    table = Table.read(path)
    assert table["a"].tolist() == ["1", "foo"] and table["c"].tolist() == ["2,5", "3"]
    assert_same_table(Table.read_rows(path), table)
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(InputError, match="row 2 has 1 cells, the header 2"):
        Table.read(path)


def test_both_kinds_of_key_find_the_same_rows():
    """Keys as one int64 (the grid fits) and as row bytes (it does not) agree, also once the
    index's tail has been merged into its main run."""
    rng = np.random.default_rng(0)
    sizes = np.array([50, 70, 30, 11])
    X = rng.integers(0, sizes, (7000, len(sizes)))
    X = X[np.sort(np.unique(X, axis=0, return_index=True)[1])][:6000]
    objectives = rng.uniform(1.0, 2.0, (len(X), 2))
    G = rng.uniform(-1.0, 0.1, (len(X), 1))

    def part(rows: slice) -> Evaluation:
        return Evaluation(
            X=X[rows],
            objectives=objectives[rows],
            F=np.log10(objectives[rows]),
            G=G[rows],
            metrics={"area_mm2": objectives[rows, 0]},
        )

    archives = [Archive(4, 2, 1, sizes), Archive(4, 2, 1)]
    for archive in archives:
        for start in range(0, 5000, 250):
            archive.add(part(slice(start, start + 250)), generation=start)
    for archive in archives:
        np.testing.assert_array_equal(archive.rows(X[:5000]), np.arange(5000))
        assert not archive.contains_rows(X[5000:]).any()
        with pytest.raises(ValueError, match="already in the archive"):
            archive.add(part(slice(10, 11)), generation=99)
        with pytest.raises(KeyError):
            archive.rows(X[5000:5001])
    np.testing.assert_array_equal(archives[0].front, archives[1].front)


@settings(max_examples=60, deadline=None)
@given(
    numbered=st.booleans(),
    batches=st.lists(st.integers(0, 300), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_key_index_is_a_dict(numbered, batches, seed):
    """KeyIndex maps every key added to its row and every other key to -1, for both kinds of
    key, through the table's growth and full buckets (a two-bucket table here)."""
    rng = np.random.default_rng(seed)
    sizes = np.array([3, 7, 50, 2])
    index = KeyIndex(4, sizes if numbered else None)
    index._allocate(bits=1)  # two buckets: long runs of full buckets from the start
    X = np.unique(rng.integers(0, sizes, (sum(batches) + 50, 4)), axis=0)
    rng.shuffle(X)
    keys, expected, start = index.keys(X), {}, 0
    for size in batches:
        added = keys[start : start + size]
        rows = rng.permutation(10**6)[: len(added)]
        index.add(added, rows)
        expected.update(zip([k.tobytes() for k in added], rows.tolist(), strict=True))
        start += len(added)
        got = index.lookup(keys)
        want = [expected.get(k.tobytes(), -1) for k in keys]
        np.testing.assert_array_equal(got, want)
    assert index.lookup(keys[:0]).shape == (0,)
    assert int(index._fill.sum()) == len(expected)  # every key once, in a slot of its own
    assert len(expected) <= max(MAX_LOAD * index._keys.size, 8)


def test_distinct_rows_are_numpys_for_both_kinds_of_key():
    """The archive's distinct rows (sorted by the int64 key, or by numpy when keys are row
    bytes) are ``np.unique(X, axis=0)``: the order new designs enter the archive."""
    rng = np.random.default_rng(3)
    sizes = np.array([5, 300, 2, 17, 40])
    X = rng.integers(0, sizes, (400, len(sizes)))
    X = np.concatenate([X, X[::7]])  # repeats
    for archive in (Archive(5, 2, 0, sizes), Archive(5, 2, 0)):
        np.testing.assert_array_equal(archive.distinct_rows(X), np.unique(X, axis=0))
    assert Archive(5, 2, 0, sizes)._index.numbered and not Archive(5, 2, 0)._index.numbered


def test_scatters_thin_dominated_points_and_say_so(tmp_path, capsys, monkeypatch):
    from evodse.plots import pareto

    path = write_config(tmp_path / "exp.yaml", constraints=["area_mm2 <= 3"])
    run_dir = tmp_path / "run"
    assert cli(capsys, "run", path, "--out", run_dir, "--quiet")[0] == 0
    monkeypatch.setattr(pareto, "MAX_DRAWN", 3)
    fig = pareto.pareto_pairs(run_dir)
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    summary = json.loads((run_dir / rundir.SUMMARY).read_text())
    dominated = summary["feasible_evaluations"] - summary["front_size"]
    assert f"dominated (3 of {dominated:,} drawn)" in labels
    infeasible = summary["evaluations"] - summary["feasible_evaluations"]
    assert f"infeasible (3 of {infeasible:,} drawn)" in labels


def test_the_docs_block_is_the_committed_results():
    """docs/big_runs.md's generated block is exactly what docs/data/big_runs.json gives."""
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("big_runs", root / "benchmarks" / "big_runs.py")
    big_runs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(big_runs)
    results = json.loads(big_runs.RESULTS.read_text())
    assert set(results) == {"before", "previous", "after"}
    block = big_runs.DOC.read_text().split(big_runs.BEGIN, 1)[1].split(big_runs.END, 1)[0]
    assert block == "\n" + big_runs.markdown(results)


def test_the_progress_line_shows_the_time_left():
    import io

    from evodse.experiment.progress import Progress

    experiment = load_experiment({**CONFIG, "algorithm": {"name": "random", "pop_size": 10}})
    state = driver.new_state(experiment.build_problem(), "random", {"pop_size": 10}, 0)
    driver.step(state)
    state.elapsed_s = 2.5
    stream = io.StringIO()
    Progress("tiny", driver.Termination(time_s=10.0), stream=stream)(state, force=True)
    assert stream.getvalue().rstrip().endswith("| 7.5s left")
    stream = io.StringIO()
    Progress("tiny", driver.Termination(generations=5), stream=stream)(state, force=True)
    assert "left" not in stream.getvalue()


def test_a_worker_resumes_an_incremental_checkpoint(tmp_path, capsys, monkeypatch, small_chunks):
    """A sweep sends every chunk with the checkpoint; the task ends as the run would."""
    from evodse.experiment.runner import checkpoint_payload, run_task
    from evodse.experiment.sweep import grid_from_dict

    path = write_config(tmp_path / "exp.yaml")
    full = tmp_path / "full"
    assert cli(capsys, "run", path, "--out", full, "--quiet")[0] == 0
    grid = grid_from_dict({"experiment": str(path), "grid": {"seeds": [0]}}, out=tmp_path / "g")
    point = grid.points[0]
    real = driver.step

    def step(state, **kwargs):
        if state.generation == 5:
            raise KeyboardInterrupt
        return real(state, **kwargs)

    monkeypatch.setattr(driver, "step", step)
    assert cli(capsys, "run", path, "--out", point.out_dir, "--quiet")[0] == 130
    monkeypatch.setattr(driver, "step", real)
    payload = checkpoint_payload(point.out_dir)
    assert len(payload["chunks"]) == 2
    task = {
        "data": point.data,
        "source": point.source,
        "base_dir": str(point.base_dir),
        "seed": 0,
        "checkpoint": payload,
    }
    result = run_task(task)
    files = {ckpt.JSON_FILE: result["json"], ckpt.ARRAYS_FILE: result["arrays"]}
    done = ckpt.load_run(files.__getitem__, where="x", experiment=point.experiment, seed=0)
    rundir.write_results(tmp_path / "task", done, point.resolved(done))
    for name in (rundir.EVALUATIONS, rundir.PARETO):
        assert (tmp_path / "task" / name).read_bytes() == (full / name).read_bytes()


def test_the_reserve_counts_rows_formatted_at_the_same_time_once(tmp_path):
    """The rows the second process holds are formatted while the run's process formats the
    rest, and all of them while the checkpoint and the other files are written: the reserve
    counts the larger part, not both; once that process has failed, all in turn."""
    writer = rundir.RunWriter(tmp_path, {"seeds": [0]})
    state = types.SimpleNamespace(archive=range(1000))
    base = writer.reserve_s(types.SimpleNamespace(archive=range(0)))  # the fixed part
    rate, checkpoint_rate = writer.evaluations.seconds_per_row(), rundir.CHECKPOINT_ROW_S
    rest = 1000 * (checkpoint_rate + rundir.RESULTS_ROW_S)
    writer.evaluations._pending.append(types.SimpleNamespace(rows=600))
    for sent, csv_rows in ((1000, 600), (400, 600), (100, 900), (1000, 10)):
        writer.evaluations.rows = sent
        writer.evaluations._pending[0].rows = csv_rows if sent == 1000 else 600
        expected = base + max(csv_rows * rate, rest)
        assert writer.reserve_s(state) == pytest.approx(expected), sent
        writer.evaluations._formatter.failed = True
        assert writer.reserve_s(state) == pytest.approx(base + csv_rows * rate + rest), sent
        writer.evaluations._formatter.failed = False
