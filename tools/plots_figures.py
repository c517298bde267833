"""Regenerate the six figures of docs/plots.md from committed experiment configs.

``python tools/plots_figures.py`` runs each experiment of the plan with the public CLI
(``evodse run``, ``evodse sweep``; every run seeded) into a temporary folder, draws the figures
with ``evodse plot RUN --only KIND --format png`` and copies them to docs/figures/.
``--list`` prints the plan (figure, config, run command) and runs nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evodse.cli.main import main as evodse

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"


@dataclass(frozen=True)
class Source:
    """A committed config and the CLI command that runs it into ``OUT``."""

    name: str
    config: Path
    command: tuple[str, ...]  # evodse arguments; "CONFIG" and "OUT" stand for the paths

    def argv(self, out: Path, *, config: Path | None = None) -> list[str]:
        """The command, ``out`` for OUT and ``config`` (default: the absolute path) for CONFIG."""
        paths = {"CONFIG": str(config or self.config), "OUT": str(out)}
        return [paths.get(a, a) for a in self.command]


@dataclass(frozen=True)
class Figure:
    """A figure of docs/plots.md: ``kind`` of ``evodse plot`` drawn from ``source``'s run."""

    file: str  # under docs/figures/
    source: Source
    kind: str


def _source(name: str, config: Path, verb: str, *extra: str) -> Source:
    return Source(name, config, (verb, "CONFIG", "--out", "OUT", "--quiet", *extra))


QUICKSTART = _source("quickstart", ROOT / "experiments" / "quickstart.yaml", "run")
EDGE_VISION = _source(
    "edge_vision", ROOT / "experiments" / "edge_vision.yaml", "run", "--seed", "0"
)
CONVERGENCE = _source(
    "convergence", ROOT / "docs" / "data" / "figures" / "convergence.yaml", "sweep"
)

PLAN = (
    Figure("pareto_pairs.png", QUICKSTART, "pareto_pairs"),
    Figure("parallel.png", QUICKSTART, "parallel"),
    Figure("convergence.png", CONVERGENCE, "convergence"),
    Figure("layers.png", QUICKSTART, "layers"),
    Figure("roofline.png", EDGE_VISION, "roofline"),
    Figure("crosseval.png", EDGE_VISION, "crosseval"),
)


def _call(argv: list[str]) -> None:
    status = evodse(argv)
    if status != 0:
        raise SystemExit(f"evodse {' '.join(argv)}: exit status {status}")


def regenerate(out: Path = FIGURES) -> None:
    """Run every source of the plan once and write its figures to ``out``."""
    sources = list(dict.fromkeys(f.source for f in PLAN))
    with tempfile.TemporaryDirectory(prefix="evodse_figures_") as tmp:
        work = Path(tmp)
        for source in sources:
            run_dir = work / source.name
            print(f"evodse {' '.join(source.argv(run_dir))}", flush=True)
            _call(source.argv(run_dir))
            kinds = [f.kind for f in PLAN if f.source == source]
            drawn = work / f"{source.name}_figures"
            only = ",".join(kinds)
            _call(["plot", str(run_dir), "--only", only, "--format", "png", "--out", str(drawn)])
            for figure in PLAN:
                if figure.source == source:
                    out.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(drawn / f"{figure.kind}.png", out / figure.file)
                    print(f"  -> {(out / figure.file).relative_to(ROOT)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the plan, run nothing")
    args = parser.parse_args(argv)
    if args.list:
        for f in PLAN:
            command = " ".join(f.source.argv(Path("OUT"), config=f.source.config.relative_to(ROOT)))
            print(f"docs/figures/{f.file}: {f.kind} of evodse {command}")
        return 0
    regenerate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
