"""Every experiment config in experiments/ runs end to end with a tiny budget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from evodse.cli.main import main
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


def test_readme_python_snippet_runs_after_the_cli_blocks(tmp_path, monkeypatch, capsys):
    """The README's Python snippet, as written, after every ``evodse run`` of the quickstart in
    the shell blocks before it (in a copy of experiments/ with the quickstart cut to two
    generations), twice: its printed objective columns are those its comment shows."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    before, after = readme.split("```python\n", 1)
    snippet = after.split("```", 1)[0]
    commands = [
        part.split("#")[0].split()
        for block in re.findall(r"```bash\n(.*?)```", before, flags=re.S)
        for line in block.splitlines()
        for part in line.split("&&")
        if part.split("#")[0].split()[:3] == ["evodse", "run", "experiments/quickstart.yaml"]
    ]
    assert len(commands) >= 2  # the Quickstart's and the CLI block's
    data = load_yaml(Path(__file__).resolve().parents[1] / "experiments" / "quickstart.yaml")
    data["termination"] = {"generations": 2}
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "quickstart.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        assert main([*argv[1:], "--quiet"]) == 0, argv
    capsys.readouterr()
    comment = re.search(r"print\(result\.objective_columns\)\s*#\s*(\[.*\])", snippet).group(1)
    for _ in range(2):
        exec(compile(snippet, "README.md", "exec"), {})
        assert capsys.readouterr().out.splitlines()[0] == comment
