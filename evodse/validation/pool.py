"""Run one simulator function over many argument tuples: in this process (``jobs`` 1) or a
process pool, reporting each call as it finishes (:func:`run_pool`), and the cache misses of a
validation through it, each result cached as it arrives (:func:`run_and_cache`; both
validation backends use them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from evodse.validation.cache import SimCache

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


def run_and_cache(
    runs: Sequence[Any],
    fn: Callable[..., dict[str, Any]],
    *,
    args: Callable[[Any], tuple],
    request: Callable[[Any], dict[str, Any]],
    label: Callable[[Any], str],
    status: Callable[[dict[str, Any]], str],
    cache: SimCache,
    jobs: int,
    say: Callable[[str], None] | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Call ``fn(*args(run))`` for every run (each has a ``key``), in the order given; cache
    each result under its key with ``request(run)`` as it arrives, record failures (not
    raised), and ``say`` one progress line per run: ``[n/total] label: status, elapsed``.
    Returns (results by key, failure messages by key)."""
    results: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    start = time.perf_counter()

    def done(index: int, result: dict[str, Any] | None, error: BaseException | None) -> None:
        run = runs[index]
        if error is not None:
            failures[run.key] = f"{type(error).__name__}: {error}"
            text = f"FAILED ({failures[run.key]})"
        else:
            results[run.key] = result
            cache.put(run.key, request(run), result)
            text = status(result)
        if say is not None:
            say(
                f"[{len(results) + len(failures)}/{len(runs)}] {label(run)}: {text}, "
                f"elapsed {time.perf_counter() - start:.0f} s"
            )

    run_pool(fn, [args(run) for run in runs], jobs=jobs, done=done)
    return results, failures
