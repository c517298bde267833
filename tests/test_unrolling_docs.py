"""docs/templates.md is what tools/templates_page.py renders from the registry, the shipped
designs and the committed results of experiments/templates_edge.yaml (docs/data/templates/),
and those results are the experiment's."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "templates_page", ROOT / "tools" / "templates_page.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_page_is_current():
    tool = _tool()
    assert tool.PAGE.read_text() == tool.page(), "run: python tools/templates_page.py"
    assert tool.FIGURE.exists()


def test_the_data_comes_from_the_experiment_as_it_is():
    tool = _tool()
    record = json.loads(tool.RECORD.read_text())
    assert record["experiment"] == tool.EXPERIMENT.read_text(), (
        "experiments/templates_edge.yaml changed: rerun it and "
        "python tools/templates_page.py extract RUN_DIR"
    )


@pytest.mark.slow
def test_rerunning_the_experiment_gives_the_committed_fronts(tmp_path):
    from evodse.experiment.config import load_experiment
    from evodse.experiment.runner import run

    tool = _tool()
    run(load_experiment(tool.EXPERIMENT), out=tmp_path / "run")
    tool.extract(tmp_path / "run", out=tmp_path / "data")
    assert (tmp_path / "data" / "fronts.csv").read_text() == tool.FRONTS.read_text()
