#!/usr/bin/env python3
"""Regenerate ``tests/golden/search_fronts.json``: for each case of
``tests/test_search_protocol.py`` (an algorithm, its options, a termination, seed 0, on the
checkpoint tests' 1,200-design space), the designs it evaluated (their SHA-256, in order), its
front and hypervolume.

How to run (recorded with the code before the ask/tell protocol, commit 8ee4d32; re-recorded
with the current code, the protocol unchanged, when the os tiling of evodse/model/memory.py
changed the model's numbers)::

    PYTHONPATH=/path/to/that/tree python tests/golden/regen_search_fronts.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1]


def main() -> int:
    sys.path.insert(0, str(TESTS))
    import test_search_protocol as cases

    np.seterr(all="ignore")
    golden = {name: cases.record(cases.run_case(name)) for name in cases.CASES}
    cases.GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
