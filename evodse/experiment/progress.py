"""Progress of a running search on stderr: generation, evaluations, front size, hypervolume,
wall time and, under a ``time_s`` budget, the time left; and, once, which algorithm the
default (``auto``) chose and why."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from evodse.search.driver import SearchState, Termination


class Progress:
    """A one-line bar redrawn in place on a terminal; a line every ``every_s`` seconds otherwise."""

    def __init__(
        self,
        label: str,
        termination: Termination,
        *,
        stream: TextIO | None = None,
        every_s: float = 5.0,
    ):
        self.label = label
        self.termination = termination
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s
        self._last = 0.0
        self._announced = False

    def _fraction(self, state: SearchState) -> float | None:
        t = self.termination
        parts = []
        if t.generations:
            parts.append(state.generation / t.generations)
        if t.evaluations:
            parts.append(len(state.archive) / t.evaluations)
        if t.time_s:
            parts.append(state.elapsed_s / t.time_s)
        choice = getattr(state, "choice", None)
        if not parts or (choice is not None and choice.chosen == "exhaustive"):
            parts = [len(state.archive) / state.problem.space_size]  # the space is the budget
        return min(1.0, max(parts))

    def __call__(self, state: SearchState, *, force: bool = False) -> None:
        choice = getattr(state, "choice", None)
        if choice is not None and not self._announced:
            self._announced = True
            start = "\r" if self.tty else ""  # a line of its own, above the bar
            self.stream.write(f"{start}{self.label} auto chose {choice.chosen}: {choice.reason}\n")
        now = time.monotonic()
        if not (self.tty or force) and now - self._last < self.every_s:
            return
        self._last = now
        h = state.history[-1]
        frac = self._fraction(state)
        bar = ""
        if frac is not None:
            filled = int(frac * 20)
            bar = f"[{'#' * filled}{'.' * (20 - filled)}] {frac:4.0%} "
        text = (
            f"{self.label} {bar}gen {h['generation']} | evals {h['evaluations']} | "
            f"front {h['front_size']} | hv {h['hypervolume']:.4f} | {h['wall_time_s']:.1f}s"
        )
        if self.termination.time_s is not None:  # the budget holds the run's last writes
            text += f" | {max(0.0, self.termination.time_s - state.elapsed_s):.1f}s left"
        if self.tty:
            self.stream.write("\r" + text.ljust(100)[:160])
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
