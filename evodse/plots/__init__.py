"""Figures and reports from run directories (no re-running), as matplotlib Figure objects.

Every function takes a run directory path (or a :class:`Run` from :func:`load_run`) and returns
a :class:`matplotlib.figure.Figure` in one consistent style (:mod:`evodse.plots.style`): restyle
it with the usual matplotlib calls, then ``fig.savefig(...)``. ``size="single"`` or
``"double"`` (one- or two-column paper width) or ``(width, height)`` in inches; ``rc={...}``
overrides rcParams while the figure is built.

=======================  ============================================================
:func:`pareto_front`     2-D front; dominated evaluations faded, knee starred
:func:`pareto_pairs`     every pair of objectives (three or more objectives)
:func:`pareto_3d`        3-D scatter of three objectives
:func:`parallel_coordinates`  Pareto designs over their hardware parameters
:func:`convergence`      hypervolume vs evaluations, one or many runs (median and band)
:func:`layer_breakdown`  per-layer latency and energy of one design (knee by default)
:func:`component_breakdown`  energy and area of one design by component
:func:`roofline`         roofline of one design, every layer on it
:func:`cross_evaluation` workload-specialized designs evaluated on every workload
:func:`run_figures`      all figures that apply to a run, by name
:func:`write_report`     HTML (self-contained) or Markdown report
=======================  ============================================================
"""

from evodse.plots.breakdown import component_breakdown
from evodse.plots.convergence import convergence, hypervolume_curves
from evodse.plots.crosseval import cross_evaluation, cross_evaluation_data
from evodse.plots.design import design_cost
from evodse.plots.figures import KINDS, run_figures, save_figure, save_figures
from evodse.plots.layers import layer_breakdown
from evodse.plots.parallel import parallel_coordinates
from evodse.plots.pareto import pareto_3d, pareto_front, pareto_pairs
from evodse.plots.report import write_report
from evodse.plots.roofline import roofline
from evodse.plots.rundata import Run, expand_run_dirs, load_run, load_runs
from evodse.plots.style import PALETTE, WIDTHS

__all__ = [
    "KINDS",
    "PALETTE",
    "WIDTHS",
    "Run",
    "component_breakdown",
    "convergence",
    "cross_evaluation",
    "cross_evaluation_data",
    "design_cost",
    "expand_run_dirs",
    "hypervolume_curves",
    "layer_breakdown",
    "load_run",
    "load_runs",
    "parallel_coordinates",
    "pareto_3d",
    "pareto_front",
    "pareto_pairs",
    "roofline",
    "run_figures",
    "save_figure",
    "save_figures",
    "write_report",
]
