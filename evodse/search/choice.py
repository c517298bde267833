"""The default algorithm, ``auto``: which search to run, chosen by what an evaluation costs.

An experiment that names no algorithm runs ``auto``. Its first generation evaluates
``PROBE_DESIGNS`` uniform random designs and times them (a problem class may declare its cost
instead: :attr:`AcceleratorProblem.seconds_per_evaluation`); those designs stay in the archive
(the evolutionary algorithm starts from them, the others skip them). It then runs, by the
first rule that applies:

1. ``exhaustive`` when the whole space fits in the time budget: no evaluation budget below
   the space size, and the space size times (seconds per evaluation + ``RECORD_S``, what the
   archive, checkpoints and ``evaluations.csv`` add per design) is at most
   ``exhaustive_budget_s`` (and at most ``termination.time_s`` when set);
2. ``surrogate`` when evaluations are scarce: an evaluation budget of at most
   ``SMALL_BUDGET`` evaluations or ``SMALL_BUDGET_FRACTION`` of the space (decided before any
   evaluation: the run is then exactly a ``surrogate`` run), or an evaluation that costs at
   least ``EXPENSIVE_S``;
3. otherwise the evolutionary algorithm best per second of CPU time for the objective count
   (:func:`evolutionary`).

The measurements behind the thresholds are in ``docs/search.md`` ("The default: auto"). The
choice, its reason and the numbers behind it are recorded (``summary.json`` key
``algorithm_choice``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

AUTO = "auto"
#: Options of ``algorithm: {name: auto}`` with their defaults.
AUTO_OPTIONS: dict[str, Any] = {"exhaustive_budget_s": 60.0}
#: Designs of the first, timed generation (the evolutionary algorithm's first population).
PROBE_DESIGNS = 50
#: Wall time per design an exhaustive run spends outside the cost model (archive, checkpoints,
#: evaluations.csv): 26 us on mobile-1e5 (141,120 designs), 52 us on cnn-1e6 (1.6 million).
#: With the first generation's cost per design (58-99 us measured on 50 designs, against 15 us
#: per design in large chunks), estimates were 1.6-2.4x the actual run time.
RECORD_S = 50e-6
#: Evaluation budgets where the surrogate leads: no evolutionary algorithm reached HV ratio
#: 0.99 within 1,000 evaluations on any benchmark space (the earliest: about 1,100 on
#: mobile-1e5), and at 0.1% of every space the surrogate met the goal where they did not.
SMALL_BUDGET = 1000
SMALL_BUDGET_FRACTION = 0.001
#: Seconds per evaluation from which the surrogate's own cost (o = 12-17 ms of CPU per
#: evaluated design, benchmarks/surrogate_diagnostics.py --overhead) is repaid by the r =
#: 3.5-12x fewer evaluations it needs for the same front: break-even at (o - r a) / (r - 1),
#: a = 0.15 ms the evolutionary algorithm's own cost per evaluation, 1.4-6.6 ms. Measured on
#: codesign-1e11 (about 3 ms per evaluation, near break-even; benchmarks/anytime.py): in two
#: runs each, the surrogate led SMS-EMOA over the first 8 CPU seconds and tied from 16 s on.
EXPENSIVE_S = 0.002
#: The evolutionary algorithm best per second of CPU time on the benchmark spaces, by objective
#: count (benchmarks/wall_clock.py): SMS-EMOA with three objectives (cnn-1e6 after 1 s: HV
#: ratio 0.9972 against NSGA-II's 0.9903, NSGA-III's 0.9925); NSGA-II with two (ties with
#: SMS-EMOA per second, ahead per evaluation) and one (SMS-EMOA needs two); NSGA-III from four
#: (ties with NSGA-II at four, made for many; SMS-EMOA 0.9676 against 0.9908 after 0.25 s).
EVOLUTIONARY = {1: "nsga2", 2: "nsga2", 3: "smsemoa"}
EVOLUTIONARY_MANY = "nsga3"  # four or more objectives


#: ``pop_size`` where a run is bounded by time alone (``termination: {time_s: T}``, with no
#: ``generations`` or ``evaluations``) and the experiment sets none. Per second, larger
#: populations find better fronts: NSGA-II's evaluations per second grow with its population
#: (its cost per generation is mostly fixed). On every benchmark space, from 0.25 s to 16 s of
#: CPU time, NSGA-II at 400 had a hypervolume ratio at least that at 50 (cnn-1e6 after 1 s:
#: 0.9995 against 0.9922); SMS-EMOA at 200 led 50 on the larger three-objective spaces (0.9996
#: against 0.9982), and gains less from size (it removes one design at a time by its
#: hypervolume contribution). On the space of issue 24 in 20 s, NSGA-II's hypervolume grew with
#: the population up to 1,600. Measured in docs/search_quality.md ("Populations for time
#: budgets"). An evaluation budget keeps ``pop_size`` 50, better per evaluation at small
#: budgets.
TIME_BUDGET_POP_SIZE = {"nsga2": 400, "smsemoa": 200}


def time_budget_options(name: str) -> dict[str, Any]:
    """The options ``name`` takes by default in a run bounded by time alone (beyond
    :func:`evodse.search.algorithms.default_options`)."""
    size = TIME_BUDGET_POP_SIZE.get(name)
    return {} if size is None else {"pop_size": size}


def evolutionary(n_obj: int) -> str:
    """The evolutionary algorithm ``auto`` runs for ``n_obj`` objectives."""
    return EVOLUTIONARY.get(n_obj, EVOLUTIONARY_MANY)


@dataclass(frozen=True)
class Choice:
    """What ``auto`` chose and why (``summary.json`` key ``algorithm_choice``)."""

    chosen: str
    reason: str
    seconds_per_evaluation: float  # measured on the first generation, or declared
    cost_source: str  # "measured" (first generation) or "declared" (the problem class)
    first_generation: int  # designs evaluated before the choice
    space_size: int
    exhaustive_estimate_s: float  # space size x (seconds per evaluation + RECORD_S)
    exhaustive_budget_s: float
    evaluation_budget: int | None
    #: the chosen algorithm's options: its defaults, with ``time_budget_options`` in a run
    #: bounded by time alone (``{}`` in checkpoints of earlier versions)
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def small_budget(space_size: int, evaluations: int | None) -> bool:
    """Whether an evaluation budget is where the surrogate leads (and below the space)."""
    return (
        evaluations is not None
        and evaluations < space_size
        and evaluations <= max(SMALL_BUDGET, math.ceil(SMALL_BUDGET_FRACTION * space_size))
    )


def choose(
    *,
    space_size: int,
    n_obj: int,
    seconds_per_evaluation: float,
    cost_source: str,
    first_generation: int,
    evaluations: int | None,
    time_s: float | None,
    exhaustive_budget_s: float,
    time_only: bool = False,
) -> Choice:
    """The algorithm by the rules of the module docstring, with its reason; ``time_only``: the
    run is bounded by time alone (the chosen algorithm takes its ``time_budget_options``)."""
    estimate = space_size * (seconds_per_evaluation + RECORD_S)
    budget = exhaustive_budget_s if time_s is None else min(exhaustive_budget_s, time_s)
    limit = "exhaustive_budget_s" if budget == exhaustive_budget_s else "termination.time_s"
    cost = f"{_seconds(seconds_per_evaluation)} per evaluation"
    whole = f"the whole space ({space_size:,} designs) takes about {_seconds(estimate)}"
    if (evaluations is None or evaluations >= space_size) and estimate <= budget:
        chosen, reason = "exhaustive", f"{whole} at {cost}, within {limit} {budget:g}"
    elif small_budget(space_size, evaluations):
        chosen = "surrogate"
        reason = (
            f"a small evaluation budget ({evaluations:,}, {100 * evaluations / space_size:.2g}% "
            f"of the space; the surrogate leads up to {SMALL_BUDGET:,} evaluations or "
            f"{100 * SMALL_BUDGET_FRACTION:g}% of the space)"
        )
    else:
        if evaluations is not None and evaluations < space_size:
            why = f"an evaluation budget of {evaluations:,}, below the space's {space_size:,}"
        else:
            why = f"{whole}, more than {limit} {budget:g}"
        if seconds_per_evaluation >= EXPENSIVE_S:
            chosen = "surrogate"
            reason = f"{why}; evaluations are expensive ({cost}, >= {EXPENSIVE_S:g} s)"
        else:
            chosen = evolutionary(n_obj)
            reason = f"{why}; evaluations are cheap ({cost}, < {EXPENSIVE_S:g} s)"
    return Choice(
        chosen=chosen,
        reason=reason,
        seconds_per_evaluation=seconds_per_evaluation,
        cost_source=cost_source,
        first_generation=first_generation,
        space_size=space_size,
        exhaustive_estimate_s=estimate,
        exhaustive_budget_s=exhaustive_budget_s,
        evaluation_budget=evaluations,
        options=time_budget_options(chosen) if time_only else {},
    )


def _seconds(s: float) -> str:
    if s >= 1:
        return f"{s:,.1f} s" if s < 100 else f"{s:,.0f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"
