"""The search-quality benchmark machinery on a tiny space (fast; no timing assertions)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from evodse.search.archive import non_dominated
from evodse.search.space import index_rows

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sq():
    spec = importlib.util.spec_from_file_location(
        "search_quality", ROOT / "benchmarks" / "search_quality.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["search_quality"] = module
    spec.loader.exec_module(module)
    tiny = module.Benchmark(
        "tiny-test",
        "squeezenet1_1",
        {
            "pe_rows": {"pow2": [8, 64]},
            "pe_cols": {"pow2": [8, 64]},
            "dataflow": ["ws", "os", "is"],
            "ifmap_sram_kib": {"pow2": [16, 128]},
            "weight_sram_kib": {"pow2": [16, 128]},
        },
    )
    module.BENCHMARKS[tiny.name] = tiny
    yield module
    del module.BENCHMARKS[tiny.name]
    del sys.modules["search_quality"]


def test_true_front_is_exhaustive_and_cached(sq, tmp_path):
    bench = sq.BENCHMARKS["tiny-test"]
    front = sq.true_front(bench, tmp_path, chunk=200, log=lambda _: None)
    assert not front.cached and front.space_size == 4 * 4 * 3 * 4 * 4
    problem = bench.problem()
    sizes = np.asarray(problem.xu) + 1
    every = problem.evaluate_designs(index_rows(np.arange(front.space_size), sizes))
    expected = every.X[non_dominated(every.F)]
    assert {x.tobytes() for x in front.X} == {x.tobytes() for x in expected}
    again = sq.true_front(bench, tmp_path, log=lambda _: None)
    assert again.cached
    np.testing.assert_array_equal(again.objectives, front.objectives)


def test_parse_method(sq):
    assert sq.parse_method("nsga2") == ("nsga2", {})
    assert sq.parse_method("nsga2[pop_size=20,crossover_prob=0.5]") == (
        "nsga2",
        {"pop_size": 20, "crossover_prob": 0.5},
    )


def test_qmc_designs_are_distinct_and_in_the_space(sq):
    problem = sq.BENCHMARKS["tiny-test"].problem()
    for kind in ("sobol", "lhs"):
        trace = sq.run_qmc(problem, kind, 100, seed=0)
        assert trace.objectives.shape == (100, 3)
        assert len(np.unique(trace.objectives, axis=0)) == 100


def test_tiny_benchmark_metrics_and_outputs(sq, tmp_path):
    out = sq.run_benchmark(
        ["tiny-test"],
        ["nsga2[pop_size=20]", "random", "sobol", "lhs"],
        [0.05, 0.2],
        seeds=2,
        cache=tmp_path / "cache",
        log=lambda _: None,
    )
    info = out["benchmarks"]["tiny-test"]
    assert info["budgets"] == [38, 154] and info["true_front_size"] > 0
    assert len(out["records"]) == 4 * 2 * 2
    for r in out["records"]:
        assert 0 < r["hv_ratio"] <= 1 + 1e-9
        assert r["igd_plus"] >= 0
        assert 0 <= r["recovered"] <= 1
        assert r["evaluations"] == r["budget"]
        ks = [k for k, _ in r["curve"]]
        assert ks == sorted(ks) and ks[-1] == r["budget"]
        assert r["curve"][-1][1] == pytest.approx(r["hv_ratio"])
        hv = [v for _, v in r["curve"]]
        assert all(b >= a - 1e-12 for a, b in itertools.pairwise(hv))  # fronts only improve
    rows = sq.summarize(out)
    assert {r["method"] for r in rows if r["igd_vs_random"] == 1.0} == {"random"}

    doc = tmp_path / "quality.md"
    doc.write_text(f"intro\n\n{sq.BEGIN}\nold\n{sq.END}\n\noutro\n")
    sq.write_markdown(doc, sq.markdown(out, "cmd"))
    text = doc.read_text()
    assert text.startswith("intro") and text.rstrip().endswith("outro") and "old" not in text
    assert "| nsga2[pop_size=20] |" in text and "**tiny-test, 38 evaluations" in text

    sq.figure(out, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    json.dumps(out)  # records are plain data
