"""Sub-command registry: each entry adds one sub-parser with its ``handler``."""

from __future__ import annotations

from evodse.cli import basic, run_cmd

REGISTRY = [
    basic.register_evaluate,
    basic.register_workload,
    basic.register_list,
    run_cmd.register_run,
]
