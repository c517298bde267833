"""Figures and reports from tiny real runs: every figure's axes labels (read from the Figure
objects), valid image files from the CLI, common-normalization convergence, bad input."""

from __future__ import annotations

import itertools
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import evodse
import evodse.plots as P
from evodse.cli.main import main
from evodse.errors import InputError
from evodse.plots import units
from evodse.plots.layers import named_every
from evodse.plots.roofline import layer_points
from evodse.search.archive import non_dominated
from evodse.search.indicators import hypervolume
from evodse.workload import zoo

matplotlib.use("Agg")

SPACE = {
    "pe_rows": {"pow2": [8, 64]},
    "pe_cols": {"pow2": [8, 64]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 256]},
    "weight_sram_kib": {"pow2": [16, 256]},
    "dram_bandwidth_gbps": [6.4, 12.8, 25.6],
}


def config(name: str, **changes) -> dict:
    base = {
        "name": name,
        "workloads": ["squeezenet1_1"],
        "base": "edge",
        "space": SPACE,
        "objectives": ["latency", "energy", "area"],
        "constraints": ["area_mm2 <= 3.5"],
        "algorithm": {"name": "nsga2", "pop_size": 20},
        "termination": {"generations": 5},
        "seeds": [0],
    }
    base.update(changes)
    return base


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny real runs: 3 objectives; multi-workload; 2 objectives x 2 seeds; random x 2."""
    root = tmp_path_factory.mktemp("plot_runs")
    evodse.run(config("three"), out=root / "three")
    evodse.run(
        config(
            "multi",
            workloads=["squeezenet1_1", "mobilenet_v2"],
            objectives=[{"name": "latency", "per_workload": True}, "area"],
            constraints=[],
        ),
        out=root / "multi",
    )
    two = config("two", objectives=["throughput", "energy"], constraints=[], seeds=[0, 1])
    evodse.run_seeds(two, out=root / "two")
    rnd = {**two, "name": "two_random", "algorithm": {"name": "random", "pop_size": 20}}
    evodse.run_seeds(rnd, out=root / "two_random")
    return {
        "three": root / "three",
        "multi": root / "multi",
        "two": root / "two",
        "two_seed": root / "two" / "seed_0",
        "two_random": root / "two_random",
    }


@pytest.fixture(scope="session")
def figures(runs) -> dict[str, Figure]:
    """Every figure kind, built once."""
    return {
        "pareto": P.pareto_front(runs["two_seed"]),
        "pairs": P.pareto_pairs(runs["three"]),
        "pairs_multi": P.pareto_pairs(runs["multi"]),
        "3d": P.pareto_3d(runs["three"]),
        "parallel": P.parallel_coordinates(runs["three"]),
        "convergence": P.convergence([runs["two"], runs["two_random"]]),
        "layers": P.layer_breakdown(runs["three"]),
        "breakdown": P.component_breakdown(runs["three"]),
        "breakdown_multi": P.component_breakdown(runs["multi"]),
        "roofline": P.roofline(runs["multi"]),
        "crosseval": P.cross_evaluation(runs["multi"]),
    }


def labels(fig: Figure) -> tuple[list[str], list[str]]:
    xs = [ax.get_xlabel() for ax in fig.axes if ax.get_visible() and ax.get_xlabel()]
    ys = [ax.get_ylabel() for ax in fig.axes if ax.get_visible() and ax.get_ylabel()]
    return xs, ys


# -- every figure: a Figure with the expected axes labels -------------------------------------


def test_every_figure_is_a_figure(figures):
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        assert fig.axes, name


def test_pareto_front_2d(figures, runs):
    fig = figures["pareto"]
    (ax,) = fig.axes
    assert ax.get_xlabel().startswith("throughput (") and "inferences/s" in ax.get_xlabel()
    assert ax.get_ylabel() in ("energy (mJ)", "energy (µJ)", "energy (J)")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("Pareto front (") for t in texts)
    assert any(t.startswith("knee (design ") for t in texts)
    assert "dominated" in texts
    proj = P.pareto_front(P.load_run(runs["three"]), x="energy_pj", y="area_mm2").axes[0]
    assert proj.get_xlabel().startswith("energy (") and proj.get_ylabel() == "area (mm²)"


def test_pareto_pairs_and_3d(figures):
    xs, ys = labels(figures["pairs"])
    assert [x.split(" (")[0] for x in xs] == ["latency", "energy"]
    assert [y.split(" (")[0] for y in ys] == ["energy", "area"]
    xs, _ = labels(figures["pairs_multi"])
    assert [x.split(" (")[0] for x in xs] == [
        "latency, squeezenet1_1",
        "latency, mobilenet_v2",
    ]
    ax = figures["3d"].axes[0]
    assert ax.name == "3d"
    assert ax.get_xlabel().startswith("latency (")
    assert ax.get_ylabel().startswith("energy (")
    assert ax.get_zlabel() == "area (mm²)"


def test_parallel_coordinates(figures, runs):
    ax = figures["parallel"].axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "PE rows" and ticks[2] == "dataflow"
    assert any(t.startswith("DRAM") and "(GB/s)" in t for t in ticks)
    assert ticks[-3:][0].startswith("latency") and ticks[-1] == "area\n(mm²)"
    run = P.load_run(runs["three"])
    assert len(ticks) == len(run.parameters) + len(run.objective_columns)
    colorbar = figures["parallel"].axes[1]
    assert colorbar.get_ylabel().startswith("latency (")


def test_convergence_labels_and_groups(figures, runs):
    ax = figures["convergence"].axes[0]
    assert ax.get_xlabel() == "evaluations"
    assert ax.get_ylabel() == "hypervolume\n(normalized over all 4 runs)"
    (legend,) = figures["convergence"].legends
    assert [t.get_text() for t in legend.get_texts()] == ["nsga2", "random"]
    assert legend.get_title().get_text() == "median and range of 2 seeds"
    # one colour, line style and marker per group
    lines = ax.get_lines()
    assert len({(ln.get_color(), str(ln.get_linestyle()), ln.get_marker()) for ln in lines}) == 2
    one_fig = P.convergence(runs["three"])
    assert [t.get_text() for t in one_fig.legends[0].get_texts()] == ["nsga2, seed 0"]
    assert one_fig.axes[0].get_legend() is None
    assert one_fig.legends[0].get_title().get_text() == ""


def test_design_figures(figures):
    lat, en = figures["layers"].axes[:2]
    assert lat.get_ylabel().startswith("latency (") and en.get_ylabel().startswith("energy (")
    assert en.get_xlabel().startswith("layer (execution order")
    legend = [t.get_text() for t in lat.get_legend().get_texts()]
    assert "array, compute-bound" in legend or "array, memory-bound" in legend
    e, a = figures["breakdown"].axes[:2]
    assert e.get_xlabel().startswith("energy (") and a.get_xlabel() == "area (mm²)"
    assert a.get_yticklabels()[0].get_text() == "PE array"
    em, _ = figures["breakdown_multi"].axes[:2]
    assert em.get_xlabel() == "share of energy (%)"
    assert [t.get_text() for t in em.get_yticklabels()] == ["squeezenet1_1", "mobilenet_v2"]
    roof = figures["roofline"].axes[0]
    assert roof.get_xlabel().startswith("operational intensity (MAC/byte")
    assert roof.get_ylabel().startswith("attained (") and "MAC/s" in roof.get_ylabel()
    assert roof.get_xscale() == roof.get_yscale() == "log"
    legend = [t.get_text() for t in figures["roofline"].legends[0].get_texts()]
    assert {"squeezenet1_1", "mobilenet_v2", "array layer", "vector layer"} <= set(legend)


def test_cross_evaluation(figures, runs):
    ax = figures["crosseval"].axes[0]
    assert ax.get_xlabel() == "evaluated on"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["squeezenet1_1", "mobilenet_v2"]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0].startswith("squeezenet1_1-specialized") and rows[-1].startswith("overall knee")
    (data,) = P.cross_evaluation_data(runs["multi"])
    assert data.metric == "latency_s"
    assert np.allclose(np.diag(data.relative[:2]), 1.0)
    with pytest.raises(InputError, match="several workloads"):
        P.cross_evaluation(runs["three"])


def test_no_overlapping_tick_labels(figures):
    for name, fig in figures.items():
        if name in ("3d", "pairs"):  # 3-D: no tick-label layout; pairs: as pairs_multi
            continue
        fig.draw_without_rendering()  # lay out; text extents come from the figure's renderer
        for ax in fig.axes:
            if ax.name == "3d" or not ax.get_visible():
                continue
            for tick_labels in (ax.get_xticklabels(), ax.get_yticklabels()):
                boxes = [
                    t.get_window_extent() for t in tick_labels if t.get_visible() and t.get_text()
                ]
                for a, b in itertools.combinations(boxes, 2):
                    overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
                    overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
                    assert overlap_x <= 0.5 or overlap_y <= 0.5, (name, ax.get_xlabel())


def test_restyle_from_python(runs):
    fig = P.pareto_front(runs["two_seed"], size="double", rc={"axes.labelsize": 11})
    assert fig.get_figwidth() == pytest.approx(7.16)
    assert fig.axes[0].xaxis.label.get_fontsize() == 11
    fig.axes[0].set_xlabel("custom")  # an ordinary Figure: restyle it as usual
    assert fig.axes[0].get_xlabel() == "custom"
    assert P.pareto_front(runs["two_seed"]).get_figwidth() == pytest.approx(3.5)


# -- data behind the figures -------------------------------------------------------------------


def test_units_and_scales():
    assert units.label("latency_s", [0.002, 0.09]) == "latency (ms)"
    assert units.label("energy_pj", [2e10]) == "energy (mJ)"
    assert units.label("energy_pj", [3e6]) == "energy (µJ)"
    assert units.label("area_mm2", [0.5]) == "area (mm²)"
    assert units.label("latency_s@resnet50", [0.003]) == "latency, resnet50 (ms)"
    assert units.label("resnet50.latency_s", [3e-5]) == "latency, resnet50 (µs)"
    assert units.label("energy_pj_geomean", [1e9]) == "energy (geomean) (mJ)"
    assert units.label("throughput_ips", [200.0]) == "throughput (inferences/s)"
    assert units.spans_decades([1, 31]) and not units.spans_decades([1, 29])
    assert units.format_number(1000.0) == "1000" and units.format_number(0.5) == "0.5"


def test_design_reevaluation_matches_evaluations(runs):
    run = P.load_run(runs["multi"])
    dc = P.design_cost(run)
    assert dc.design_id == run.knee_id
    i = run.row_index(dc.design_id)
    for w in run.workloads:
        expected = run.evaluations[f"{w}.latency_s"][i]
        assert float(dc.costs[w].latency_s[0]) == pytest.approx(expected, rel=1e-9)
        assert float(dc.costs[w].energy_pj[0]) == pytest.approx(
            run.evaluations[f"{w}.energy_pj"][i], rel=1e-9
        )
    other = int(run.evaluations["id"][0])
    assert P.design_cost(run, other).design_id == other


def test_roofline_points_under_the_roofs(runs):
    dc = P.design_cost(runs["three"])
    a = dc.accelerator
    peak = a.pe_rows * a.pe_cols * a.frequency_mhz * 1e6
    vec_peak = a.vector_lanes * a.frequency_mhz * 1e6
    bw = a.dram_bandwidth_gbps * 1e9
    for cost in dc.costs.values():
        p = layer_points(cost)
        roof = np.minimum(np.where(p["vector"], vec_peak, peak), p["intensity"] * bw)
        assert p["vector"].any() and (~p["vector"]).any()
        assert np.all(p["attained"] <= roof * (1 + 1e-9))


def test_convergence_common_normalization(runs):
    paths = [runs["two"] / "seed_0", runs["two"] / "seed_1", runs["two_random"] / "seed_0"]
    curves, norm = P.hypervolume_curves(paths)
    # the ideal and nadir of the runs' fronts together (log space, throughput negated)
    fronts = [P.load_run(p).pareto.matrix(["throughput_ips", "energy_pj"]) for p in paths]
    L = np.log10(np.concatenate(fronts)) * [-1.0, 1.0]
    L = L[non_dominated(L)]
    assert np.allclose(norm.ideal, L.min(axis=0)) and np.allclose(norm.nadir, L.max(axis=0))
    for c in curves:
        h = c.hypervolume[np.isfinite(c.hypervolume)]
        assert np.all(np.diff(h) >= -1e-12)  # cumulative front: never decreases
        run = c.run
        E = run.objective_values()[run.feasible]
        assert h[-1] == pytest.approx(hypervolume(E, norm), rel=1e-9)
    assert max(c.hypervolume[-1] for c in curves) <= 1.1**2 + 1e-9


def test_convergence_groups_runs_differing_only_in_seed(runs):
    from evodse.plots.convergence import Curve, group_curves

    grid = np.arange(3.0)
    loaded = [P.load_run(runs["two"] / f"seed_{s}") for s in (0, 1)]
    loaded += [P.load_run(runs["three"]), P.load_run(runs["multi"])]
    groups = group_curves([Curve(r, grid, grid) for r in loaded])
    assert [g.label for g in groups] == ["two (nsga2)", "three (nsga2)", "multi (nsga2)"]
    assert [len(g.curves) for g in groups] == [2, 1, 1]
    nested = P.expand_run_dirs([runs["two"]])
    assert [p.name for p in nested] == ["seed_0", "seed_1"]


def test_run_figures_selects_kinds(runs):
    skipped: dict[str, str] = {}
    three = P.run_figures(runs["multi"], kinds=["pareto", "crosseval", "layers"], skipped=skipped)
    assert set(three) == {"crosseval", "layers_squeezenet1_1", "layers_mobilenet_v2"}
    assert "pareto" in skipped
    from evodse.cli.plot_cmd import _KIND_NAMES

    assert list(_KIND_NAMES) == list(P.KINDS)  # the CLI's list (no matplotlib import) agrees


# -- CLI: valid, non-empty files ---------------------------------------------------------------


def _check_file(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000, path
    if path.suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    elif path.suffix == ".pdf":
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert b"/FontFile2" in data  # TrueType fonts embedded (pdf.fonttype 42)
        assert b"/Type3" not in data and b"/Subtype /Type3" not in data
    elif path.suffix == ".svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")


def test_cli_plot_png_every_figure(runs, tmp_path, capsys):
    out = tmp_path / "png"
    assert main(["plot", str(runs["two_seed"]), "--format", "png", "--out", str(out)]) == 0
    names = sorted(p.stem for p in out.glob("*.png"))
    assert names == ["breakdown", "convergence", "layers", "parallel", "pareto", "roofline"]
    for p in out.glob("*.png"):
        _check_file(p)
    printed = capsys.readouterr().out
    assert "6 figure(s) from 1 run(s)" in printed


def test_cli_plot_pdf_embeds_truetype(runs, tmp_path):
    out = tmp_path / "pdf"
    args = ["plot", str(runs["two_seed"]), "--format", "pdf", "--out", str(out)]
    assert main([*args, "--only", "roofline"]) == 0
    assert [p.name for p in out.iterdir()] == ["roofline.pdf"]
    _check_file(out / "roofline.pdf")


def test_cli_plot_seed_parent_svg(runs, tmp_path):
    copy = tmp_path / "two"
    shutil.copytree(runs["two"], copy)
    assert main(["plot", str(copy), "--format", "svg", "--only", "convergence,pareto"]) == 0
    _check_file(copy / "figures" / "convergence.svg")  # the seeds on one figure
    _check_file(copy / "figures" / "seed_0" / "pareto.svg")  # and each run's own
    _check_file(copy / "figures" / "seed_1" / "pareto.svg")
    assert not (copy / "figures" / "seed_0" / "convergence.svg").exists()


def test_cli_design_option(runs, tmp_path):
    run = P.load_run(runs["three"])
    design = int(run.evaluations["id"][3])
    out = tmp_path / "d"
    args = ["plot", str(runs["three"]), "--design", str(design), "--only", "roofline"]
    assert main([*args, "--format", "png", "--out", str(out)]) == 0
    _check_file(out / "roofline.png")
    fig = P.roofline(run, design=design)
    assert f"design {design}" in fig.axes[0].get_title(loc="left")


# -- bad input: one line, exit status 2 ---------------------------------------------------------


def test_bad_input(runs, tmp_path, capsys):
    with pytest.raises(InputError) as err:
        P.load_run(tmp_path)
    assert err.value.source == str(tmp_path) and "summary.json" in str(err.value)
    broken = tmp_path / "broken"
    shutil.copytree(runs["three"], broken)
    (broken / "evaluations.csv").unlink()
    assert main(["plot", str(broken)]) == 2
    err_text = capsys.readouterr().err
    assert err_text.count("\n") == 1 and "evaluations.csv" in err_text
    assert main(["plot", str(runs["three"]), "--design", "999999", "--out", str(tmp_path)]) == 2
    err_text = capsys.readouterr().err
    assert "--design" in err_text and "evaluations.csv" in err_text
    assert err_text.count("\n") == 1
    with pytest.raises(InputError) as err:
        P.layer_breakdown(runs["three"], design=999999)
    assert err.value.key == "--design"
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert main(["plot", str(runs["three"]), "--only", "nope"]) == 2
    assert main(["report", str(tmp_path / "missing")]) == 2


# -- report ------------------------------------------------------------------------------------


def test_report_html_and_markdown(runs, tmp_path):
    out = tmp_path / "r.html"
    args = ["report", str(runs["two_seed"]), "--out", str(out), "--only", "convergence"]
    assert main(args) == 0
    text = out.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and "</html>" in text
    assert "Top designs" in text and text.count("<tr>") > 10
    assert text.count('src="data:image/png;base64,') == 1
    assert "http://" not in text and "https://" not in text  # self-contained
    summary = json.loads((runs["two_seed"] / "summary.json").read_text())
    assert f"design {summary['knee']['id']}" in text
    md = tmp_path / "r.md"
    args = ["report", str(runs["multi"]), "--format", "md", "--out", str(md)]
    assert main([*args, "--only", "crosseval"]) == 0
    body = md.read_text("utf-8")
    assert body.startswith("# multi") and "| design | role |" in body
    linked = [line for line in body.splitlines() if line.startswith("![")]
    assert len(linked) == 1
    for line in linked:
        target = md.parent / line.split("(")[1].rstrip(")")
        _check_file(target)


def test_every_hardware_key_and_energy_part_has_a_label_with_its_unit():
    from evodse.hardware import HARDWARE_KEYS

    assert set(HARDWARE_KEYS) - {"name"} == set(units.hardware_labels())
    assert units.hardware_labels()["ifmap_sram_kib"] == ("ifmap SRAM", "KiB")
    assert units.label("resnet50.dram_energy_pj", [1e9, 2e9]) == "DRAM energy, resnet50 (mJ)"
    assert units.label("onchip_energy_pj", [5e6]) == "on-chip energy (µJ)"


# -- figures a reviewer accepts: legends, tick labels, scales, bounds ---------------------------


def _renderer(fig: Figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_convergence_legend_sits_below_the_axes_and_their_labels(figures):
    fig = figures["convergence"]
    renderer = _renderer(fig)
    ax = fig.axes[0]
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    axes_box = ax.get_tightbbox(renderer)  # axes, tick labels and axis labels
    assert box.y1 <= axes_box.y0 + 1.0
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # not clipped


def test_parallel_tick_labels_sit_above_every_line(figures):
    ax = figures["parallel"].axes[0]
    top = max(a.get_zorder() for a in [*ax.collections, *ax.get_lines()])
    labels = [t for t in ax.texts if t.get_text()]
    assert labels
    for t in labels:
        assert t.get_zorder() > top
        patch = t.get_bbox_patch()
        assert patch is not None and patch.get_alpha() in (None, 1.0)


def test_layer_figure_names_the_layers(runs):
    fig = P.layer_breakdown(runs["three"])
    ax = fig.axes[-1]
    names = [t.get_text() for t in ax.get_xticklabels()]
    ops = [op.name for op in zoo.squeezenet1_1().ops]
    assert names == ops[:: named_every(len(ops), 7.16)]
    assert len(names) == len(ops)  # squeezenet's names all fit a two-column figure
    assert ax.get_xlabel() == f"layer (execution order, {len(ops)} layers)"


def test_constraint_bound_is_drawn_on_the_front(runs):
    fig = P.pareto_pairs(runs["three"])  # constraint area_mm2 <= 3.5
    bounds = [
        ln
        for ax in fig.axes
        if ax.get_visible()
        for ln in ax.get_lines()
        if np.allclose(np.asarray(ln.get_ydata(), dtype=float), 3.5)
    ]
    assert len(bounds) == 2  # the two panels with area on the y axis
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "constraint: area ≤ 3.5 mm²" in legend


def test_an_empty_front_keeps_log_axes_and_says_so(tmp_path):
    wide = {**SPACE, "pe_rows": {"pow2": [4, 128]}, "pe_cols": {"pow2": [4, 128]}}
    space = {**wide, "dram_bandwidth_gbps": [0.8, 6.4, 25.6]}  # latency spans ~90x
    run = tmp_path / "none"
    evodse.run(config("none", space=space, constraints=["area_mm2 <= 0.01"]), out=run)
    fig = P.pareto_pairs(run)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "no feasible design" in [t.get_text() for t in ax.texts]
    assert "Pareto front (0)" in [t.get_text() for t in fig.legends[0].get_texts()]
