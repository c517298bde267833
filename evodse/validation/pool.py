"""Run one simulator function over many argument tuples: in this process (``jobs`` 1) or a
process pool, reporting each call as it finishes (both validation backends use it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

#: ``done(index, result, error)``: one of result and error is None.
Done = Callable[[int, Any, BaseException | None], None]


def run_pool(fn: Callable[..., Any], calls: Sequence[tuple], *, jobs: int, done: Done) -> None:
    """Call ``fn(*calls[i])`` for every ``i``, in order with ``jobs`` 1 (or one call), else in
    ``min(jobs, len(calls))`` processes; an exception is reported to ``done``, not raised. An
    interrupt cancels the calls not started."""
    if jobs <= 1 or len(calls) <= 1:
        for index, args in enumerate(calls):
            try:
                result = fn(*args)
            except Exception as exc:
                done(index, None, exc)
            else:
                done(index, result, None)
        return
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(calls)))
    try:
        pending = {pool.submit(fn, *args): index for index, args in enumerate(calls)}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                index = pending.pop(fut)
                exc = fut.exception()
                done(index, None if exc else fut.result(), exc)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
