"""The search-quality benchmark machinery on a tiny space (fast; no timing assertions)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from evodse.search.algorithms import ALGORITHMS
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


@pytest.fixture(scope="module")
def diagnostics(sq):
    spec = importlib.util.spec_from_file_location(
        "surrogate_diagnostics", ROOT / "benchmarks" / "surrogate_diagnostics.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports search_quality from sys.modules (the sq fixture)
    return module


def test_explained_variance_separates_main_effects_from_interactions(diagnostics):
    X = index_rows(np.arange(4 * 4 * 5), np.array([4, 4, 5]))
    additive = X[:, 0] ** 2 - 3.0 * X[:, 1] + np.sin(X[:, 2])
    interaction = np.where((X[:, 0] + X[:, 1]) % 2 == 0, 1.0, -1.0)  # balanced: no main effect
    L = np.stack([additive, interaction], axis=1)
    main = diagnostics.explained_variance(X, L, pairs=False)
    pairs = diagnostics.explained_variance(X, L, pairs=True)
    np.testing.assert_allclose(main, [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(pairs, [1.0, 1.0], atol=1e-9)


def test_diagnostics_report_the_front_and_the_model_error(sq, diagnostics, capsys, tmp_path):
    diagnostics.main(["--space", "tiny-test", "--seeds", "1", "--evaluations", "60"])
    out = capsys.readouterr().out
    # the front size agrees with the benchmark's own exhaustive front (computed another way)
    front = sq.true_front(sq.BENCHMARKS["tiny-test"], tmp_path, log=lambda _: None)
    assert f"768 designs, true front {len(front.X)}," in out
    assert re.search(r"\| squeezenet1_1\.dram_energy_pj \| [\d.]+ \| [\d.]+ \|", out)
    rows = re.findall(r"\| ([\w :]+) \| \w+ \| ([\d.]+) \(([\d.]+)\) \| ([\d.]+)", out)
    variants = ["defaults", "composite: false", "ard: false"]
    assert [r[0] for r in rows] == [v for v in variants for _ in range(3)]  # 3 objectives each
    assert all(math.isfinite(float(e)) for row in rows for e in row[1:])


@pytest.fixture(scope="module")
def wall_clock(sq):
    spec = importlib.util.spec_from_file_location(
        "wall_clock", ROOT / "benchmarks" / "wall_clock.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports search_quality from sys.modules (the sq fixture)
    return module


def test_wall_clock_scores_fronts_by_cpu_time_and_merges_saved_results(wall_clock, tmp_path):
    out = wall_clock.per_second(
        ["tiny-test"], ["nsga2", "auto"], seeds=2, seconds=0.2, processes=1, cache=tmp_path
    )
    assert out["times"] == [0.2 / 2**k for k in range(6, -1, -1)]
    assert len(out["records"]) == 4
    for r in out["records"]:
        assert r["evaluations"] == sorted(r["evaluations"])  # fronts of growing prefixes
        assert all(0 <= hv <= 1 + 1e-9 for hv in r["hv_ratio"])
        assert r["chosen"] == "nsga2" if r["method"] == "nsga2" else r["chosen"] in ALGORITHMS
    table = wall_clock.per_second_table(out)
    assert "\n| auto (" in table and "**tiny-test** (768 designs" in table
    again = {"command": "b", "per_second": {**out, "records": out["records"][:1]}}
    merged = wall_clock.merge([again, {"command": "a", "per_second": out}])
    assert merged["command"] == "b; a" and len(merged["per_second"]["records"]) == 4
    assert merged["per_second"]["records"][0] is again["per_second"]["records"][0]


def test_worker_pool_runs_one_blas_thread_per_worker_and_restores_the_environment(sq, monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # a caller's own setting is kept
    with sq.worker_pool(1) as pool:
        seen = pool.map(os.getenv, ["OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"])
    assert seen == ["1", "3"]
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["MKL_NUM_THREADS"] == "3"


def test_saved_results_round_trip(sq, tmp_path):
    out = {
        "benchmarks": {"b": {"budgets": [10]}},
        "records": [
            {"benchmark": "b", "method": "random", "seed": s, "budget": 10} for s in (0, 1)
        ],
        "skipped": [],
        "total_s": 1.5,
        "command": "cmd",
    }
    path = tmp_path / "results.json"
    sq.write_results(path, out)
    assert json.loads(path.read_text()) == out
    assert len(path.read_text().splitlines()) < 20  # one line per record, not per field


def test_merge_replaces_a_re_run_group_whole_and_keeps_every_budget(sq):
    """A method re-run on fewer seeds and one budget replaces that (benchmark, method,
    budget) group, not only the records of its seeds; other groups and budgets stay."""

    def rec(method, seed, budget, hv):
        return {"benchmark": "b", "method": method, "seed": seed, "budget": budget, "hv": hv}

    old = {
        "benchmarks": {"b": {"budgets": [10, 100]}},
        "records": [
            rec(m, s, b, 0.0) for m in ("surrogate", "random") for s in (0, 1, 2) for b in (10, 100)
        ],
        "command": "old",
    }
    new = {
        "benchmarks": {"b": {"budgets": [10]}},
        "records": [rec("surrogate", 0, 10, 1.0)],
        "command": "new",
    }
    merged = sq.merge([new, old])
    assert merged["benchmarks"]["b"]["budgets"] == [10, 100]
    group = [r for r in merged["records"] if (r["method"], r["budget"]) == ("surrogate", 10)]
    assert group == [rec("surrogate", 0, 10, 1.0)]
    assert len(merged["records"]) == 1 + 3 + 6  # surrogate at 100, random at both budgets


DOCS = ROOT / "docs" / "search_quality.md"
# Benchmarks where the default misses the goal at 0.1% in the committed results (said in the
# docs): none since the gradient weight fit (mobile-1e5 missed with the Powell fit, HV ratio
# 0.9879 at 141 evaluations; 0.9900 now).
GOAL_MISSED: set[str] = set()
RESULTS = ROOT / "docs" / "data" / "search_quality.json"


def test_the_docs_tables_are_the_committed_results(sq):
    """docs/search_quality.md's generated block is exactly what its raw results give, and the
    algorithm the default (``auto``) runs with a budget of 0.1% of every benchmark space meets
    the issue's goal there."""
    from evodse.search.choice import choose

    out = json.loads(RESULTS.read_text())
    block = DOCS.read_text().split(sq.BEGIN, 1)[1].split(sq.END, 1)[0]
    assert block == "\n" + sq.markdown(out, out["command"])
    rows = sq.summarize(out)
    for name, facts in out["benchmarks"].items():
        smallest = min(facts["budgets"])
        method = choose(
            space_size=facts["space_size"],
            n_obj=sq.BENCHMARKS[name].problem().n_obj,
            seconds_per_evaluation=3e-5,  # evodse's model (the choice does not depend on it)
            cost_source="declared",
            first_generation=0,
            evaluations=smallest,
            time_s=None,
            exhaustive_budget_s=60.0,
        ).chosen
        assert method == "surrogate"
        default = [
            r
            for r in rows
            if (r["benchmark"], r["budget"], r["method"]) == (name, smallest, method)
        ]
        # the surrogate re-run after its weight fit changed: 5 seeds on the 10^6 spaces
        assert len(default) == 1 and default[0]["seeds"] >= 5
        if name in GOAL_MISSED:  # still the best method there, and its IGD+ part of the goal
            best = max(
                (r for r in rows if (r["benchmark"], r["budget"]) == (name, smallest)),
                key=lambda r: r["hv_ratio"]["median"],
            )
            assert best["method"] == method and default[0]["igd_vs_random"] <= 0.5, name
            assert not default[0]["goal"], f"{name} meets the goal now: drop it from GOAL_MISSED"
        else:
            assert default[0]["goal"], name


POPULATIONS = ROOT / "docs" / "data" / "wall_clock_populations.json"
POPULATION_BLOCK = (
    "<!-- time-budget populations: begin (generated) -->",
    "<!-- time-budget populations: end -->",
)


def test_the_time_budget_populations_are_the_committed_results(wall_clock):
    """docs/search_quality.md's time-budget tables are what their raw results give, and the
    defaults for a run bounded by time alone are what those results support: NSGA-II's
    population is nowhere behind 50 per CPU second, nor SMS-EMOA's on the larger
    three-objective spaces."""
    from evodse.search.choice import TIME_BUDGET_POP_SIZE

    out = json.loads(POPULATIONS.read_text())["per_second"]
    begin, end = POPULATION_BLOCK
    block = DOCS.read_text().split(begin, 1)[1].split(end, 1)[0]
    assert block == "\n" + wall_clock.per_second_table(out)

    def median_hv(bench: str, method: str) -> np.ndarray:
        rs = [r for r in out["records"] if (r["benchmark"], r["method"]) == (bench, method)]
        assert rs, (bench, method)
        return np.median([r["hv_ratio"] for r in rs], axis=0)

    for bench in out["benchmarks"]:
        for name, size in TIME_BUDGET_POP_SIZE.items():
            larger, default = (median_hv(bench, f"{name}[pop_size={p}]") for p in (size, 50))
            # SMS-EMOA: on the larger three-objective spaces (where auto runs it)
            if name == "nsga2" or bench in ("cnn-1e6", "transformer-1e7"):
                assert (larger >= default).all(), (name, bench)


@pytest.fixture(scope="module")
def anytime(sq):
    spec = importlib.util.spec_from_file_location("anytime", ROOT / "benchmarks" / "anytime.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports search_quality from sys.modules (the sq fixture)
    module.SPACES["tiny-test"] = sq.BENCHMARKS["tiny-test"]
    return module


def test_mark_fronts_are_the_fronts_of_growing_prefixes(anytime):
    L = np.random.default_rng(3).random((400, 3))
    counts = [0, 5, 60, 60, 400]
    rows, first, last = anytime.mark_fronts(L, counts)
    for k, n in enumerate(counts):
        on = rows[(first <= k) & (last >= k)]
        assert set(on.tolist()) == set(non_dominated(L[:n]).tolist())


def test_mark_times_double_every_two_steps_and_end_at_the_run_length(anytime):
    assert anytime.mark_times(1.0) == [0.25, 0.25 * 2**0.5, 0.5, 0.5 * 2**0.5, 1.0]
    times = anytime.mark_times(60.0)
    assert times[-1] == 60.0 and times[-2] < 60.0 and {0.25, 1.0, 4.0, 16.0} <= set(times)


def test_anytime_runs_score_against_a_union_reference_and_report(anytime, tmp_path):
    """Two short runs on a space treated as too big to enumerate: the reference is the
    non-dominated union of their last fronts, so no ratio exceeds 1; scored at every time."""
    seconds = {"tiny-test": 0.3}
    anytime.run_all(["tiny-test"], ["auto", "random"], 1, seconds, tmp_path, processes=1)
    out = anytime.score(tmp_path, ["tiny-test"], "cmd")
    facts = out["benchmarks"]["tiny-test"]
    assert facts["reference"] == "union" and facts["enumeration_cpu_s"] is None
    assert [r["method"] for r in out["records"]] == ["auto", "random"]  # METHODS order
    for r in out["records"]:
        assert len(r["hv_ratio"]) == len(r["times"]) == len(r["evaluations"])
        assert all(0 <= hv <= 1 + 1e-9 for hv in r["hv_ratio"])
        assert r["evaluations"] == sorted(r["evaluations"])
    assert max(r["hv_ratio"][-1] for r in out["records"]) > 0.9
    text = anytime.report(json.loads(json.dumps(out)))
    assert "**tiny-test**" in text and "| auto (" in text and "union of all runs" in text


def test_big_spaces_are_too_big_to_enumerate(sq):
    """Every space added for the anytime comparison has 10^9-10^15 designs and evaluates."""
    for bench in sq.BIG.values():
        problem = bench.problem()
        assert 1e9 <= problem.space_size <= 1e15, bench.name
        X = np.random.default_rng(0).integers(0, np.asarray(problem.xu) + 1, (3, problem.n_var))
        assert np.isfinite(problem.evaluate_designs(X).F).all(), bench.name


def test_the_docs_overhead_table_is_the_committed_results(diagnostics):
    """docs/search_quality.md's surrogate-overhead table is what its raw results give, and the
    latest measurement meets the issue's goal: at most 20 ms per evaluation at 150 evaluations
    on nine parameters."""
    out = json.loads((ROOT / "docs" / "data" / "surrogate_overhead.json").read_text())
    begin = "<!-- surrogate overhead: begin (generated) -->"
    end = "<!-- surrogate overhead: end -->"
    block = DOCS.read_text().split(begin, 1)[1].split(end, 1)[0]
    assert block == "\n" + diagnostics.overhead_table(out)
    after = [m for m in out["measurements"] if m["label"].startswith("after")]
    goal = [m for m in after if (m["parameters"], m["evaluations"]) == (9, 150)]
    assert len(goal) == 1
    assert np.median([r["overhead_ms_per_evaluation"] for r in goal[0]["runs"]]) <= 20


ANYTIME = ROOT / "docs" / "data" / "anytime.json"


def test_the_docs_anytime_tables_are_the_committed_results(anytime):
    """docs/search_quality.md's anytime block is what docs/data/anytime.json gives; every
    method ran on every space; the reference of a space too big to enumerate is the
    non-dominated union of the committed runs' last fronts."""
    out = json.loads(ANYTIME.read_text())
    block = DOCS.read_text().split(anytime.BEGIN, 1)[1].split(anytime.END, 1)[0]
    assert block == "\n" + anytime.report(out)
    assert set(out["benchmarks"]) == {*anytime.ENUMERABLE, *anytime.BIG}
    for name, facts in out["benchmarks"].items():
        assert {r["method"] for r in out["records"] if r["benchmark"] == name} == set(
            anytime.METHODS
        ), name
        if name in anytime.ENUMERABLE:
            assert facts["reference"] == "exact" and facts["enumeration_cpu_s"] > 0
            continue
        assert facts["reference"] == "union"
        runs = [r for r in anytime.load_raw(ANYTIME.parent / "anytime", name)]
        last = [r["objectives"][r["last"] == len(r["meta"]["times"]) - 1] for r in runs]
        union = np.concatenate(last)
        problem = anytime.SPACES[name].problem()
        front = union[non_dominated(anytime._log_objectives(union, problem))]
        reference = np.asarray(facts["reference_front"])
        assert sorted(map(tuple, front)) == sorted(map(tuple, reference))
