"""Regenerate every study and its page: ``python -m evodse.studies.regen [--quick] [--out DIR]
[--docs DIR] [--only NAME ...]``.

Runs each study's experiment (``experiments/study_<name>.yaml``) and analysis into
``runs/studies/<name>/``, then writes ``docs/studies/<name>.md``, ``docs/studies/index.md``, the
results they were rendered from (``docs/studies/data/<name>.json``) and the figures in
``docs/studies/figures/`` from the results: the numbers in the pages are never typed by hand.
``--quick`` uses a smoke budget (pages say so).

Pages, data and figures depend only on the configs and the code (seeded searches, ties broken
by design, no timings), so running this twice writes identical files. ``tests/test_studies.py``
checks it: the quick form must reproduce ``tests/golden/studies_quick/*.md`` exactly, and the
committed pages must be what the code renders from the committed data.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from evodse.studies import STUDIES, run_study
from evodse.studies.report import write_pages


def regenerate(
    names: Sequence[str] | None = None,
    *,
    out: str | Path = "runs/studies",
    docs: str | Path | None = "docs/studies",
    quick: bool = False,
    log=print,
) -> dict:
    """Run the studies ``names`` (default: all) and write their pages; returns the results."""
    names = list(names or STUDIES)
    results, outs = {}, {}
    for name in names:
        start = time.perf_counter()
        outs[name] = Path(out) / name
        results[name] = run_study(name, out=outs[name], quick=quick, log=log)
        log(f"{name}: done in {time.perf_counter() - start:.0f} s -> {outs[name]}")
    if docs is not None:
        for path in write_pages(results, outs, Path(docs)):
            log(f"wrote {path}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evodse.studies.regen", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke budgets")
    parser.add_argument("--out", default="runs/studies", help="study outputs (runs, CSV, figures)")
    parser.add_argument("--docs", default="docs/studies", help="where the pages go")
    parser.add_argument("--only", nargs="+", choices=list(STUDIES), help="only these studies")
    args = parser.parse_args(argv)
    regenerate(args.only, out=args.out, docs=args.docs, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
