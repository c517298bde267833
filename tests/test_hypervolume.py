"""One normalized hypervolume: hand-computed values, the CLI, the report and the convergence
figure agree on one run, and tables of several runs (seeds.csv, sweep.csv) use one recorded
normalization that the convergence figure of the same runs shares."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import yaml

import evodse.plots as P
from evodse.cli.main import main
from evodse.experiment.compare import HYPERVOLUME_JSON, compare
from evodse.plots.report import write_report
from evodse.plots.rundata import expand_run_dirs
from evodse.search import indicators
from evodse.search.archive import non_dominated
from evodse.search.indicators import (
    Hypervolume,
    Normalization,
    common_normalization,
    compare_fronts,
    log_objectives,
    normalized_hypervolume,
)

matplotlib.use("Agg")

TINY = {
    "name": "tiny_hv",
    "workloads": ["squeezenet1_1"],
    "base": "edge",
    "space": {
        "pe_rows": {"pow2": [8, 64]},
        "pe_cols": {"pow2": [8, 64]},
        "dataflow": ["ws", "os"],
        "ifmap_sram_kib": {"pow2": [16, 256]},
        "weight_sram_kib": {"pow2": [16, 256]},
    },
    "objectives": ["latency", "energy", "area"],
    "constraints": ["area_mm2 <= 3.5"],
    "algorithm": {"name": "nsga2", "pop_size": 16},
    "termination": {"generations": 4},
    "seeds": [0],
}


def _yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# -- the indicator itself ------------------------------------------------------------------------


def test_common_normalization_and_hypervolume_by_hand():
    # two minimized objectives; logs: A (0, 2), B (1, 1), C (1, 2) is dominated by both
    A, B, C = [[1.0, 100.0]], [[10.0, 10.0]], [[10.0, 100.0]]
    norm, hv = compare_fronts([np.array(A), np.array(B + C)], [False, False])
    np.testing.assert_allclose(norm.ideal, [0.0, 1.0])
    np.testing.assert_allclose(norm.nadir, [1.0, 2.0])
    # A normalizes to (0, 1), B to (1, 0): each dominates a 1.1 x 0.1 box below (1.1, 1.1)
    assert hv == pytest.approx([0.11, 0.11], rel=1e-12)
    assert norm.basis == "the feasible non-dominated designs of 2 runs together"
    # a maximized objective is negated: throughput 100 beats 10
    max_norm = Normalization.of(np.array([[10.0], [100.0]]), [True])
    np.testing.assert_allclose(max_norm(np.array([[100.0], [10.0]])).ravel(), [0.0, 1.0])


def test_a_run_without_usable_values_scores_zero():
    norm, hv = compare_fronts([np.zeros((0, 2)), np.array([[0.0, 1.0]])], [False, False])
    assert norm is None and hv == [0.0, 0.0]


def test_incremental_monte_carlo_equals_the_direct_estimate():
    rng = np.random.default_rng(3)
    F = log_objectives(rng.uniform(1, 100, (60, 5)), [False] * 5)
    tracker = Hypervolume()
    first = F[:20][non_dominated(F[:20])]
    tracker(first)  # fixes the normalization on the first front
    norm = tracker.normalization
    front = F[non_dominated(F)]
    assert tracker(front) == normalized_hypervolume(norm.scale(front))
    assert tracker.reference()["method"] == "Monte-Carlo, 20000 fixed samples"


def test_the_run_normalization_round_trips_through_its_reference():
    tracker = Hypervolume()
    F = np.array([[0.0, 2.0], [1.0, 1.0]])
    value = tracker(F)
    ref = tracker.reference()
    assert ref["basis"] == indicators.RUN_BASIS
    norm = Normalization.from_reference(json.loads(json.dumps(ref)), [False, False])
    assert normalized_hypervolume(norm.scale(F)) == value
    assert Normalization.from_reference(Hypervolume().reference(), [False]) is None


# -- one run: CLI, summary, report and figure agree -------------------------------------------


def test_cli_report_and_convergence_figure_agree_on_one_run(tmp_path, capsys):
    config = _yaml(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    printed = float(re.search(r"hypervolume (\d+\.\d+)", capsys.readouterr().out).group(1))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hypervolume_reference"]["basis"] == indicators.RUN_BASIS
    history = _rows(out / "history.csv")
    assert float(history[-1]["hypervolume"]) == summary["hypervolume"]

    report = write_report(out, tmp_path / "report.md", fmt="md", kinds=["pareto"])
    reported = float(re.search(r"hypervolume\W+(\d+\.\d+)", report.read_text()).group(1))

    fig = P.convergence(out)
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    y = np.asarray(line.get_ydata(), dtype=float)
    drawn = y[np.isfinite(y)][-1]
    assert ax.get_ylabel() == "hypervolume\n(the run's own normalization)"
    assert drawn == pytest.approx(summary["hypervolume"], rel=1e-12)
    assert printed == reported == round(summary["hypervolume"], 4)


# -- several runs: one recorded normalization -------------------------------------------------


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """2 algorithms x 2 seeds of the tiny experiment."""
    root = tmp_path_factory.mktemp("hv_sweep")
    grid = {
        **TINY,
        "grid": {"algorithm": ["nsga2", "random"], "seeds": [0, 1]},
        "out": str(root / "out"),
    }
    assert main(["sweep", str(_yaml(root / "grid.yaml", grid)), "--quiet"]) == 0
    return root / "out"


def _front(run_dir: Path) -> np.ndarray:
    rows = _rows(run_dir / "pareto.csv")
    return np.array([[float(r[c]) for c in ("latency_s", "energy_pj", "area_mm2")] for r in rows])


def test_sweep_values_share_one_recorded_normalization(sweep):
    rows = _rows(sweep / "sweep.csv")
    record = json.loads((sweep / HYPERVOLUME_JSON).read_text())
    (group,) = record["groups"]
    assert group["runs"] == [r["run_dir"] for r in rows]
    assert group["objectives"] == ["latency_s", "energy_pj", "area_mm2"]
    norm = group["normalization"]
    assert norm["basis"] == "the feasible non-dominated designs of 4 runs together"
    # the recorded ideal and nadir: the extremes of the union front, in log space
    fronts = [_front(sweep / r["run_dir"]) for r in rows]
    L = np.log10(np.concatenate(fronts))
    union = L[non_dominated(L)]
    np.testing.assert_allclose(norm["ideal"], union.min(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(norm["nadir"], union.max(axis=0), rtol=0, atol=1e-12)
    # each value: that run's front under this normalization, not its own summary value
    for r, front in zip(rows, fronts, strict=True):
        Z = (np.log10(front) - norm["ideal"]) / (np.asarray(norm["nadir"]) - norm["ideal"])
        assert float(r["hypervolume"]) == pytest.approx(normalized_hypervolume(Z), rel=1e-12)
    own = [json.loads((sweep / r["run_dir"] / "summary.json").read_text()) for r in rows]
    assert [float(r["hypervolume"]) for r in rows] != [s["hypervolume"] for s in own]
    # the convergence figure of the same runs ends at the same values
    curves, fig_norm = P.hypervolume_curves(expand_run_dirs([sweep]))
    np.testing.assert_allclose(fig_norm.ideal, norm["ideal"], rtol=0, atol=1e-12)
    for r, c in zip(rows, curves, strict=True):
        last = c.hypervolume[np.isfinite(c.hypervolume)][-1]
        assert last == pytest.approx(float(r["hypervolume"]), rel=1e-9)
    fig = P.convergence(expand_run_dirs([sweep]))
    assert fig.axes[0].get_ylabel() == "hypervolume\n(normalized over all 4 runs)"


def test_seeds_table_uses_the_seeds_common_normalization(tmp_path, capsys):
    config = _yaml(tmp_path / "tiny.yaml", {**TINY, "seeds": [0, 1]})
    out = tmp_path / "seeds"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    printed = [float(v) for v in re.findall(r"hypervolume (\d+\.\d+)", capsys.readouterr().out)]
    rows = _rows(out / "seeds.csv")
    fronts = [_front(out / r["run_dir"]) for r in rows]
    norm, hv = compare_fronts(fronts, [False, False, False])
    assert [float(r["hypervolume"]) for r in rows] == hv
    assert printed == [round(v, 4) for v in hv]
    record = json.loads((out / HYPERVOLUME_JSON).read_text())
    assert record["groups"][0]["normalization"]["ideal"] == norm.ideal.tolist()


def test_runs_of_other_objectives_are_normalized_apart():
    summary = {"workloads": ["w"], "objectives": [{"column": "a", "sense": "min"}]}
    other = {"workloads": ["v"], "objectives": [{"column": "a", "sense": "min"}]}
    compared = compare(
        [
            ("r1", summary, np.array([[1.0]])),
            ("r2", other, np.array([[100.0]])),
            ("r3", summary, np.array([[10.0]])),
        ]
    )
    assert [g["runs"] for g in compared.record["groups"]] == [["r1", "r3"], ["r2"]]
    # r2 alone spans its own box; r1 is the ideal of its group, r3 the nadir
    assert compared.hypervolume == pytest.approx([1.1, 1.1, 0.1], rel=1e-12)
    assert common_normalization([np.array([[1.0]])], [False]).basis == (
        "the feasible non-dominated designs of the run"
    )
