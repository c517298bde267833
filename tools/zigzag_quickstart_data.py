#!/usr/bin/env python3
"""Store a run's ZigZag validation: docs/data/validation_zigzag_quickstart.json.

How the stored file was made (from the repository root, ``pip install -e '.[zigzag]'``)::

    evodse run experiments/quickstart.yaml --out /tmp/qz/q
    evodse validate /tmp/qz/q --backend zigzag --top 6 --jobs 2
    evodse validate /tmp/qz/q --backend zigzag --top 6 --jobs 2 > /tmp/qz/validate.out
    python tools/zigzag_quickstart_data.py /tmp/qz/q COMMIT /tmp/qz/validate.out

``COMMIT`` is evodse's commit that validated; the last argument is the printed output of the
first (uncached) call, whose ``ZigZag runs: ... in N s`` line gives its wall time (a later call
served from the cache rewrites the summary's counts). ZigZag's time per run is read from the
cache entries.
It copies the run's ``validation_zigzag_summary.json`` and ``validation_zigzag.csv`` (the
per-design rows) with the commands; tests/test_validate_zigzag.py builds the docs table from it.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "data" / "validation_zigzag_quickstart.json"
COMMANDS = [
    "evodse run experiments/quickstart.yaml --out /tmp/qz/q",
    "evodse validate /tmp/qz/q --backend zigzag --top 6 --jobs 2",
]


def first_call(run: Path, printed: str) -> dict[str, float]:
    """Cost of the uncached call: its wall time and ZigZag's time per run (cache entries)."""
    match = re.search(r"ZigZag runs: (\d+) run, (\d+) cached, (\d+) failed in (\d+) s", printed)
    if match is None:
        raise SystemExit("no 'ZigZag runs: ...' line in the printed output")
    seconds = []
    for path in sorted((run / "validation_cache").rglob("*.json")):
        entry = json.loads(path.read_text())
        if entry.get("backend") == "zigzag":
            seconds.append(entry["result"]["sim_seconds"])
    return {
        "runs": int(match.group(1)),
        "cached": int(match.group(2)),
        "failed": int(match.group(3)),
        "wall_seconds": int(match.group(4)),
        "zigzag_seconds": round(sum(seconds), 1),
        "median_run_seconds": round(statistics.median(seconds), 1),
        "max_run_seconds": round(max(seconds), 1),
    }


def main(run_dir: str, commit: str, printed: str) -> int:
    run = Path(run_dir)
    summary = json.loads((run / "validation_zigzag_summary.json").read_text())
    with (run / "validation_zigzag.csv").open(newline="") as fh:
        designs = list(csv.DictReader(fh))
    summary.pop("run_dir", None)
    summary["settings"].pop("cache_dir", None)
    data = {"generated_by": "tools/zigzag_quickstart_data.py", "evodse_commit": commit}
    data["commands"] = COMMANDS
    data["first_call"] = first_call(run, Path(printed).read_text())
    data.update(summary=summary, designs=designs)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
