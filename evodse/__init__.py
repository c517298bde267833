"""evodse: evolutionary multi-objective design-space exploration of DNN accelerators.

Python API: :func:`run` / :func:`run_seeds` (experiments), :func:`evaluate` (cost model),
:func:`load_workload`, :func:`load_hardware`, :class:`AcceleratorProblem` (problems).
"""

from evodse.errors import InputError
from evodse.experiment.runner import RunResult, run, run_seeds
from evodse.hardware import Accelerator, load_hardware
from evodse.model import evaluate
from evodse.search.problem import AcceleratorProblem
from evodse.version import __version__
from evodse.workload import Network, load_workload

__all__ = [
    "Accelerator",
    "AcceleratorProblem",
    "InputError",
    "Network",
    "RunResult",
    "__version__",
    "evaluate",
    "load_hardware",
    "load_workload",
    "run",
    "run_seeds",
]
