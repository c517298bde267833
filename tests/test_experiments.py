"""Every experiment config in experiments/ runs end to end with a tiny budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from evodse.experiment.config import experiment_from_dict
from evodse.experiment.runner import run
from evodse.yamlio import load_yaml

EXPERIMENTS = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml"))
EXPERIMENTS = [p for p in EXPERIMENTS if "grid" not in load_yaml(p)]  # sweep grids: test_sweep


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_runs_with_a_tiny_budget(path, tmp_path):
    data = load_yaml(path)
    options = {k: v for k, v in data.get("algorithm", {}).items() if k != "pop_size"}
    data["algorithm"] = {**options, "pop_size": 8} if options else {"name": "nsga2", "pop_size": 8}
    data["termination"] = {"generations": 2}
    data["seeds"] = [0]
    experiment = experiment_from_dict(data, source=str(path), base_dir=path.parent)
    result = run(experiment, out=tmp_path)
    assert result.summary["evaluations"] > 0
    assert (tmp_path / "pareto.csv").exists()


def test_quickstart_is_the_readme_experiment():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "evodse run experiments/quickstart.yaml" in first_block
