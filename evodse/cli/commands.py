"""Sub-command registry: each entry adds one sub-parser with its ``handler``."""

from __future__ import annotations

from evodse.cli import (
    basic,
    export_cmd,
    plot_cmd,
    run_cmd,
    study_cmd,
    sweep_cmd,
    validate_cmd,
)

REGISTRY = [
    basic.register_evaluate,
    basic.register_workload,
    basic.register_list,
    run_cmd.register_run,
    sweep_cmd.register_sweep,
    validate_cmd.register_validate,
    export_cmd.register_export,
    plot_cmd.register_plot,
    plot_cmd.register_report,
    study_cmd.register_study,
]
