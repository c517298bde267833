"""Studies: many DNNs one configuration, simultaneous DNNs on a partition, network improvement."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from evodse.errors import InputError
from evodse.experiment.config import load_experiment
from evodse.model.evaluate import evaluate
from evodse.search.archive import best_row
from evodse.search.driver import Termination, new_state, run_search
from evodse.search.problem import AcceleratorProblem
from evodse.studies import STUDIES, multi_dnn, report
from evodse.studies.network import (
    NetworkProblem,
    build,
    join_errors,
    stage_choices,
    topology,
)
from evodse.studies.partition import SRAM_KEYS, PartitionedProblem, allocate
from evodse.workload.zoo import DEFAULT_WIDTHS, STAGE_NAMES

# -- many DNNs, one configuration ----------------------------------------------------------------

TINY_DNNS = ["squeezenet1_1", "mobilenet_v2", "resnet18"]
TINY_SPACE = {"pe_rows": {"pow2": [8, 64]}, "pe_cols": {"pow2": [8, 64]}, "dataflow": ["ws", "os"]}


def _write(tmp_path, name, data):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def multi_results(tmp_path_factory):
    """The whole study on a 32-design space searched exhaustively (so every per-DNN
    configuration is that DNN's true best)."""
    tmp = tmp_path_factory.mktemp("multi")
    config = _write(
        tmp,
        "study_multi_dnn",
        {
            "name": "tiny_multi",
            "workloads": TINY_DNNS,
            "base": "edge",
            "space": TINY_SPACE,
            "objectives": [{"name": "throughput", "aggregate": "geomean"}, "area"],
            "constraints": ["area_mm2 <= 4"],
            "algorithm": {"name": "exhaustive", "pop_size": 32},
            "seeds": [0],
        },
    )
    return multi_dnn.run_study(config, tmp / "out"), config, tmp / "out"


def _brute_force(config):
    problem = load_experiment(config).build_problem()
    X = next(problem.design_space.enumerate())
    ev = problem.evaluate_designs(X)
    T = np.stack([ev.metrics[f"{d}.throughput_ips"] for d in TINY_DNNS], axis=1)
    return T[ev.feasible]


def test_cross_evaluation_has_ones_on_the_diagonal_for_each_dnns_own_best(multi_results):
    results, config, _ = multi_results
    cfgs = results["configurations"]
    M = np.array([[c["normalized"][d] for d in TINY_DNNS] for c in cfgs])
    np.testing.assert_allclose(np.diag(M[: len(TINY_DNNS)]), 1.0, rtol=1e-12)
    assert (M <= 1.0 + 1e-12).all()
    # each per-DNN configuration is that DNN's best over the whole (feasible) space
    T = _brute_force(config)
    for j, d in enumerate(TINY_DNNS):
        assert cfgs[j]["throughput_ips"][d] == pytest.approx(T[:, j].max(), rel=1e-12)


def test_geomean_configuration_is_at_least_every_single_dnn_configuration(multi_results):
    results, config, _ = multi_results
    cfgs = results["configurations"]
    gm = cfgs[-1]["geomean_ips"]
    for c in cfgs[:-1]:
        assert gm >= c["geomean_ips"] * (1 - 1e-12)
    T = _brute_force(config)
    assert gm == pytest.approx(np.exp(np.log(T).mean(axis=1)).max(), rel=1e-12)
    assert results["improvement_min"] >= -1e-12
    assert results["improvement_max"] == pytest.approx(max(results["improvement"].values()))
    assert results["many_objective"]["gm_dominated_by"] == 0
    assert results["exhaustive"]["found_over_true"]["geomean"] == pytest.approx(1.0)


def test_multi_study_writes_its_files(multi_results):
    _, _, out = multi_results
    for name in ("results.json", "cross_evaluation.csv", "improvement.csv"):
        assert (out / name).exists()
    for name in ("cross_evaluation", "improvement", "many_objective", "budgets"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert (out / "runs" / "geomean" / "pareto.csv").exists()


def test_selection_prefers_another_dnns_configuration_when_it_is_better():
    """A per-DNN search that missed its optimum is corrected by the cross-evaluation."""
    problem = AcceleratorProblem(
        workloads=TINY_DNNS[:2],
        base="edge",
        space=TINY_SPACE,
        objectives=[{"name": "throughput", "aggregate": "geomean"}],
        constraints=["area_mm2 <= 4"],
    )
    X = next(problem.design_space.enumerate())
    ev = problem.evaluate_designs(X)
    T = np.stack([ev.metrics[f"{d}.throughput_ips"] for d in TINY_DNNS[:2]], axis=1)
    ok = ev.feasible
    best0 = int(np.flatnonzero(ok)[np.argmax(T[ok, 0])])
    worst0 = int(np.flatnonzero(ok)[np.argmin(T[ok, 0])])
    nan = np.full(1, np.nan)
    pools = [  # DNN 0's "search" only saw a poor design; DNN 1's saw DNN 0's optimum
        multi_dnn.Pool(
            "a",
            X[[worst0]],
            np.c_[T[[worst0], 0], nan],
            ev.metrics["area_mm2"][[worst0]],
            np.ones(1, bool),
            False,
        ),
        multi_dnn.Pool(
            "b",
            X[[best0]],
            np.c_[nan, T[[best0], 1]],
            ev.metrics["area_mm2"][[best0]],
            np.ones(1, bool),
            False,
        ),
    ]
    sel = multi_dnn.select_configurations(problem, pools)
    assert sel.throughput[0, 0] == pytest.approx(T[best0, 0])
    assert (sel.normalized <= 1 + 1e-12).all()
    assert sel.found_by[0] == "b"


# -- simultaneous DNNs on a partitioned accelerator ----------------------------------------------

APPS = ["mobilenet_v2", "resnet18", "squeezenet1_1"]


@pytest.fixture(scope="module")
def partitioned():
    return PartitionedProblem(
        workloads=APPS,
        base="edge",
        space={
            "pe_rows": {"pow2": [8, 64]},
            "pe_cols": {"pow2": [32, 256]},
            "ifmap_sram_kib": {"pow2": [32, 512]},
            "dram_bandwidth_gbps": [6.4, 25.6],
            "vector_lanes": {"pow2": [16, 64]},
            "partition": {"array_granularity": 8, "sram_units": 16, "bandwidth_units": 10},
        },
        objectives=[{"name": "latency", "per_workload": True}, "area"],
        constraints=["latency_s[mobilenet_v2] <= 0.02", "area_mm2 <= 5.5"],
    )


@settings(max_examples=60, deadline=None)
@given(
    w=st.lists(st.integers(1, 50), min_size=1, max_size=6),
    extra=st.integers(0, 200),
)
def test_allocation_hands_out_exactly_what_exists(w, extra):
    total = len(w) + extra
    units = allocate(np.array([w]), np.array([total]))[0]
    assert units.sum() == total and (units >= 1).all()
    ideal = 1 + np.array(w) * extra / sum(w)
    assert (np.abs(units - ideal) < 1 + 1e-9).all()


def test_partition_never_claims_more_array_sram_or_bandwidth_than_exists(partitioned):
    p = partitioned
    X = np.random.default_rng(0).integers(0, p.xu + 1, (300, p.n_var))
    whole, parts = p.sub_designs(X)
    cols = sum(q.pe_cols for q in parts)
    np.testing.assert_array_equal(cols, whole.pe_cols)
    assert all((q.pe_cols >= 8).all() and (q.pe_cols % 8 == 0).all() for q in parts)
    assert all((q.pe_rows == whole.pe_rows).all() for q in parts)
    np.testing.assert_array_equal(sum(q.vector_lanes for q in parts), whole.vector_lanes)
    for key in (*SRAM_KEYS, "dram_bandwidth_gbps"):
        used = sum(getattr(q, key) for q in parts)
        assert (used <= getattr(whole, key) * (1 + 1e-12)).all(), key
        np.testing.assert_allclose(used, getattr(whole, key), rtol=1e-12)
    ev = p.evaluate_designs(X)
    parts = p.composition.values(ev.objectives, ev.metrics)
    np.testing.assert_allclose(p.composition.compose(parts), ev.F, rtol=1e-12)
    area_whole = evaluate(whole, p.networks[0]).area_mm2
    np.testing.assert_allclose(ev.metrics["area_mm2"], area_whole, rtol=1e-12)
    assert np.isfinite(ev.F).all() and ev.G.shape == (300, 2)
    np.testing.assert_allclose(
        ev.metrics["makespan_s"], np.max([ev.metrics[f"{a}.latency_s"] for a in APPS], axis=0)
    )


def test_partition_tables_and_descriptions(partitioned):
    p = partitioned
    x = np.random.default_rng(1).integers(0, p.xu + 1, p.n_var)
    d = p.describe(x)
    assert set(d["partition"]) == set(APPS)
    assert sum(q["pe_cols"] for q in d["partition"].values()) == d["hardware"]["pe_cols"]
    table = p.decision_table(x[None, :])
    assert table["mobilenet_v2.pe_cols"] == [d["partition"]["mobilenet_v2"]["pe_cols"]]
    assert "share.array.resnet18" in table
    assert p.decision_table(np.zeros((0, p.n_var), dtype=int))["resnet18.sram_kib"] == []


def test_partition_rejects_a_split_that_cannot_exist():
    with pytest.raises(InputError, match="groups"):
        PartitionedProblem(workloads=APPS, base="edge", space={"pe_cols": [16, 32]})
    with pytest.raises(InputError, match="two workloads"):
        PartitionedProblem(workloads=["resnet18"], base="edge", space={"pe_rows": [8, 16]})
    with pytest.raises(InputError, match="unknown setting"):
        PartitionedProblem(workloads=APPS, base="edge", space={"partition": {"cols": 2}})


def test_partitioned_search_runs_through_the_driver(partitioned):
    state = new_state(partitioned, "nsga2", {"pop_size": 8}, 0)
    run_search(state, Termination(generations=2))
    assert len(state.archive) > 0


# -- network improvement -------------------------------------------------------------------------

CNNS = ["resnet18", "resnet50", "googlenet", "mobilenet_v2", "efficientnet_b0", "squeezenet1_1"]


@pytest.mark.parametrize("name", CNNS)
def test_mutated_network_keeps_topology_joins_and_mac_bounds(name):
    bound = 0.25
    p = NetworkProblem(workloads=[name], base="edge", space={"widths": {"bound": bound}})
    ref = p.reference
    X = np.random.default_rng(2).integers(0, p.xu + 1, (12, p.n_var))
    X[0] = p.xu  # every stage at its widest
    X[1] = 0  # and at its narrowest
    for widths in p.widths(X):
        net = p.network(widths)
        assert topology(net) == topology(ref)
        assert join_errors(net) == []
        for w, w0 in zip(widths, DEFAULT_WIDTHS[name], strict=True):
            assert math.ceil((1 - bound) * w0 - 1e-9) <= w <= math.floor((1 + bound) * w0 + 1e-9)
        assert (1 - bound) ** 2 <= net.macs / ref.macs <= (1 + bound) ** 2
    ev = p.evaluate_designs(X)
    np.testing.assert_allclose(
        ev.metrics["macs_ratio"], [p.network(w).macs / ref.macs for w in p.widths(X)]
    )


def test_join_check_catches_a_broken_network():
    import dataclasses

    net = build("resnet50", 224, DEFAULT_WIDTHS["resnet50"])
    ops = [
        dataclasses.replace(op, out_channels=op.out_channels + 8)
        if op.name == "layer2.1.conv3"
        else op
        for op in net.ops
    ]
    assert any("layer2.1.add" in e for e in join_errors(dataclasses.replace(net, ops=ops)))
    g = build("googlenet", 224, DEFAULT_WIDTHS["googlenet"])
    ops = [
        dataclasses.replace(op, out_channels=op.out_channels + 8)
        if op.name == "inception3a.branch1"
        else op
        for op in g.ops
    ]
    assert any("inception3a" in e for e in join_errors(dataclasses.replace(g, ops=ops)))


def test_resnet18_ties_stem_and_layer1_to_keep_the_topology():
    p = NetworkProblem(workloads=["resnet18"], base="edge", space={})
    assert p.groups[0] == [0, 1]
    assert len(p.design_space.extra) == len(STAGE_NAMES["resnet18"]) - 1


def test_stage_choices_stay_in_bounds_and_keep_the_published_width():
    assert stage_choices(16, 0.25, 8) == (16,)
    assert stage_choices(40, 0.25, 8) == (32, 40, 48)
    assert stage_choices(64, 0.25, 32) == (64,)
    assert 24 in stage_choices(24, 0.25, 16)


def _params_only(network):
    return network.params / 1e6


def test_network_problem_joint_hardware_and_custom_proxy():
    class Custom(NetworkProblem):
        accuracy_proxy = staticmethod(_params_only)

    p = Custom(
        workloads=["mobilenet_v2"],
        base="edge",
        space={"pe_cols": {"pow2": [16, 64]}, "widths": {"multiple": 16}},
        objectives=["energy", "accuracy_proxy"],
        constraints=["macs_ratio <= 1.1", "area_mm2 <= 4"],
    )
    assert p.design_space.n_hardware == 1
    X = np.random.default_rng(3).integers(0, p.xu + 1, (10, p.n_var))
    ev = p.evaluate_designs(X)
    np.testing.assert_allclose(ev.metrics["accuracy_proxy"], ev.metrics["params"] / 1e6)
    parts = p.composition.values(ev.objectives, ev.metrics)  # energy as DRAM + on-chip
    np.testing.assert_allclose(p.composition.compose(parts), ev.F, rtol=1e-12)
    assert ev.G.shape == (10, 2)
    np.testing.assert_allclose(ev.G[:, 0], ev.metrics["macs_ratio"] / 1.1 - 1)
    d = p.describe(X[0])
    assert d["hardware"]["pe_cols"] in (16, 32, 64)
    assert set(d["network"]["widths"]) == set(STAGE_NAMES["mobilenet_v2"])
    with pytest.raises(InputError, match="zoo CNN"):
        NetworkProblem(workloads=["bert_base"], base="edge", space={})
    with pytest.raises(InputError, match="exactly one"):
        NetworkProblem(workloads=["resnet18", "alexnet"], base="edge", space={})


# -- end to end ----------------------------------------------------------------------------------


ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "studies_quick"
DOCS = ROOT / "docs" / "studies"


def _figures_shown(page: str) -> list[str]:
    return re.findall(r"\(figures/([^)]+\.png)\)", page)


@pytest.mark.slow
def test_every_study_regenerates_its_golden_quick_page(tmp_path, monkeypatch):
    """CI's regeneration check: every study in its quick form, through the CLI, must write
    exactly the pages in tests/golden/studies_quick/. After a deliberate change, update them
    with ``python -m evodse.studies.regen --quick --out /tmp/q --docs /tmp/q/docs`` and copy
    ``/tmp/q/docs/*.md`` there (and regenerate docs/studies in full)."""
    from evodse.cli.main import main

    monkeypatch.chdir(ROOT)
    out, docs = tmp_path / "out", tmp_path / "docs"
    args = ["study", "all", "--quick", "--quiet", "--out", str(out), "--docs", str(docs)]
    assert main(args) == 0
    pages = sorted(p.name for p in docs.glob("*.md"))
    assert pages == sorted(p.name for p in GOLDEN.glob("*.md"))
    for name in pages:
        text = (docs / name).read_text()
        assert text == (GOLDEN / name).read_text(), f"{name} differs from its golden page"
        for png in _figures_shown(text):
            assert (docs / "figures" / png).stat().st_size > 0


def test_committed_study_pages_are_rendered_from_their_committed_results(monkeypatch):
    """docs/studies/*.md equal what the current code renders from docs/studies/data/*.json
    (the full studies' results, written with the pages by python -m evodse.studies.regen)."""
    monkeypatch.chdir(ROOT)  # pages give the sha256 of experiments/study_*.yaml
    results = {n: json.loads((DOCS / "data" / f"{n}.json").read_text()) for n in STUDIES}
    for name, r in results.items():
        assert not r["quick"]
        text = (DOCS / f"{name}.md").read_text()
        assert report.page(name, r) == text, f"docs/studies/{name}.md is stale"
        for png in _figures_shown(text):
            assert (DOCS / "figures" / png).exists()
    assert report.index_page(results) == (DOCS / "index.md").read_text()


# -- deterministic picks ----------------------------------------------------------------------


def test_best_row_breaks_ties_by_the_design_not_the_row_order():
    X = np.array([[2, 0], [0, 5], [1, 1], [0, 3]])
    values = np.array([5.0, 5.0, 4.0, 5.0 * (1 + 1e-12)])
    area = np.array([1.0, 2.0, 1.0, 2.0])
    for perm in itertools.permutations(range(4)):
        p = list(perm)
        # the three values within 1e-9 tie: smallest area first, then design [2, 0] alone
        row = best_row(values[p], X[p], maximize=True, rtol=1e-9, then=(area[p],))
        assert X[p][row].tolist() == [2, 0]
        # without the area key: the lexicographically smallest design of the tie
        row = best_row(values[p], X[p], maximize=True, rtol=1e-9)
        assert X[p][row].tolist() == [0, 3]
        # exact comparison (rtol 0): the larger value wins
        assert X[p][best_row(values[p], X[p], maximize=True)].tolist() == [0, 3]
    assert best_row(np.array([np.nan]), X[:1]) is None


def test_pareto_rows_do_not_depend_on_evaluation_order():
    from types import SimpleNamespace

    from evodse.experiment.rundir import pareto_rows

    X = np.array([[3, 1], [1, 2], [0, 9], [2, 2]])
    objectives = np.array([[1.0, 2.0], [1.0, 2.0], [0.5, 3.0], [1.0, 2.0]])
    picked = set()
    for perm in itertools.permutations(range(4)):
        p = list(perm)
        columns = {"X": X[p], "objectives": objectives[p]}
        archive = SimpleNamespace(front=np.arange(4), column=columns.__getitem__)
        rows = pareto_rows(SimpleNamespace(archive=archive))
        picked.add(tuple(map(tuple, X[p][rows].tolist())))
    assert picked == {((0, 9), (1, 2), (2, 2), (3, 1))}


# -- the studies' figures -----------------------------------------------------------------------


def test_study_figures_name_every_series_and_use_readable_ticks(tmp_path):
    from evodse.studies import netimprove

    multi = json.loads((DOCS / "data" / "multi_dnn.json").read_text())
    ax = multi_dnn._parallel(multi, tmp_path / "p.png").axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    front = f"NSGA-III front ({multi['many_objective']['front_size']} designs)"
    assert legend == [front, *(f"best for {d}" for d in multi["dnns"]), "geomean configuration"]
    styles = {(ln.get_color(), ln.get_marker()) for ln in ax.get_lines()[-len(multi["dnns"]) - 1 :]}
    assert len(styles) == len(multi["dnns"]) + 1  # every configuration its own colour and marker

    ax = multi_dnn._budgets(multi, tmp_path / "b.png").axes[0]
    budgets = [b["area_mm2"] for b in multi["exhaustive"]["budgets"]]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{b:g}" for b in budgets]
    assert ax.get_xlabel() == "area budget (mm$^2$)"  # mathtext: mm with a superscript 2
    assert "study budget" in [t.get_text() for t in ax.get_legend().get_texts()]

    network = json.loads((DOCS / "data" / "network.json").read_text())
    ax = netimprove._front(network, tmp_path / "f.png").axes[0]
    assert "original's capacity" in [t.get_text() for t in ax.get_legend().get_texts()]
    bound = network["original"]["accuracy_proxy"]
    assert any(np.allclose(ln.get_ydata(), bound) for ln in ax.get_lines())

    layers = [
        [f"l{i}", "conv", 8, 8, 1, 1, 0.5, 0.6, 1e-3, 1e-3 + d] for i, d in enumerate((-1e-5, 2e-5))
    ]
    fig = netimprove._utilization(network, layers, tmp_path / "u.png")
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == [
        "faster after",
        "slower after",
    ]
