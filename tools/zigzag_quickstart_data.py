#!/usr/bin/env python3
"""Store a run's ZigZag validation: docs/data/validation_zigzag_quickstart.json.

How the stored file was made (from the repository root, ``pip install -e '.[zigzag]'``)::

    evodse run experiments/quickstart.yaml --out /tmp/qz/q
    evodse validate /tmp/qz/q --backend zigzag --top 6 --jobs 2
    python tools/zigzag_quickstart_data.py /tmp/qz/q COMMIT   # evodse's commit that validated

It copies the run's ``validation_zigzag_summary.json`` and ``validation_zigzag.csv`` (the
per-design rows) with the commands; tests/test_validate_zigzag.py builds the docs table from it.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "data" / "validation_zigzag_quickstart.json"
COMMANDS = [
    "evodse run experiments/quickstart.yaml --out /tmp/qz/q",
    "evodse validate /tmp/qz/q --backend zigzag --top 6 --jobs 2",
]


def main(run_dir: str, commit: str) -> int:
    run = Path(run_dir)
    summary = json.loads((run / "validation_zigzag_summary.json").read_text())
    with (run / "validation_zigzag.csv").open(newline="") as fh:
        designs = list(csv.DictReader(fh))
    summary.pop("run_dir", None)
    summary["settings"].pop("cache_dir", None)
    data = {"generated_by": "tools/zigzag_quickstart_data.py", "evodse_commit": commit}
    data["commands"] = COMMANDS
    data.update(summary=summary, designs=designs)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
