"""tools/plots_figures.py: its plan draws the figures of docs/plots.md from configs that load."""

from __future__ import annotations

import collections
import importlib.util
import re
import sys
from pathlib import Path

from evodse.experiment.config import load_experiment
from evodse.experiment.sweep import load_grid

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("plots_figures", ROOT / "tools/plots_figures.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, tool)  # dataclasses look their module up
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_plan_draws_every_figure_the_page_shows():
    tool = _tool()
    page = (ROOT / "docs" / "plots.md").read_text()
    shown = re.findall(r"\]\(figures/([\w.-]+\.png)\)", page)
    assert len(shown) == 6
    assert sorted(shown) == sorted(f.file for f in tool.PLAN)
    assert "python tools/plots_figures.py" in page
    for figure in tool.PLAN:
        assert (tool.FIGURES / figure.file).is_file()


def test_plan_configs_exist_and_load():
    tool = _tool()
    for source in dict.fromkeys(f.source for f in tool.PLAN):
        assert source.config.is_file(), source.config
        if source.command[0] == "sweep":
            grid = load_grid(source.config)
            runs = collections.Counter(p.experiment.algorithm for p in grid.points)
            assert runs == {"nsga2": 5, "random": 5}  # the convergence caption
            assert all(p.experiment.seeds for p in grid.points)
        else:
            assert source.command[0] == "run"
            experiment = load_experiment(source.config)
            assert experiment.seeds  # seeded
            if "--seed" in source.command:
                seed = int(source.command[source.command.index("--seed") + 1])
                assert seed in experiment.seeds


def test_list_prints_the_plan_and_runs_nothing(capsys, tmp_path, monkeypatch):
    tool = _tool()
    monkeypatch.chdir(tmp_path)
    assert tool.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"docs/figures/{f.file}" for f in tool.PLAN]
    assert "convergence of evodse sweep docs/data/figures/convergence.yaml" in lines[2]
    assert list(tmp_path.iterdir()) == []
