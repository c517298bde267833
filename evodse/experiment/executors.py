"""Executors: where the runs of an experiment grid, and the chunks of a large population, run.

``local`` (the default)
    In this process, one run after another; nothing to start.
``processes``
    A pool of ``workers`` local processes (:mod:`concurrent.futures`, spawned).
``dask``
    A Dask distributed cluster (the optional extra ``pip install 'evodse[dask]'``):
    ``scheduler: tcp://HOST:PORT`` connects to a running scheduler; without one, a
    ``LocalCluster`` of ``workers`` processes starts on this machine for the duration.

The experiment key (and a grid file's) is a name or a mapping::

    executor: local
    executor: {name: processes, workers: 8}
    executor: {name: dask, scheduler: tcp://10.0.0.5:8786, chunk_size: 4096, retries: 3}

Tasks receive plain data and return plain data (a run's checkpoint as bytes); they never write
files, only the client (the process that called :func:`make_executor`) writes run directories.
A task that fails is retried ``retries`` times; a task whose worker dies is rescheduled (Dask)
or resubmitted to a fresh pool (``processes``), so a lost worker loses no finished run.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from evodse.errors import InputError
from evodse.yamlio import check_keys

EXECUTORS = ("local", "processes", "dask")
EXECUTOR_KEYS = ("name", "scheduler", "workers", "chunk_size", "retries")
DEFAULT_CHUNK_SIZE = 4096
DEFAULT_RETRIES = 3
DASK_EXTRA = "the dask executor needs the optional extra: pip install 'evodse[dask]'"
_ADDRESS = re.compile(r"^[a-z][a-z0-9+]*://\S+$")

#: (task index, result, error): exactly one of result and error is set (result may be None).
Outcome = tuple[int, Any, BaseException | None]


@dataclass(frozen=True)
class ExecutorSpec:
    """A validated ``executor`` entry."""

    name: str = "local"
    scheduler: str | None = None  # dask: address of a running scheduler
    workers: int | None = None  # processes / dask LocalCluster: worker processes (None: CPUs)
    chunk_size: int = DEFAULT_CHUNK_SIZE  # populations larger than this are split in chunks
    retries: int = DEFAULT_RETRIES

    def describe(self) -> str:
        if self.name == "dask":
            where = self.scheduler or f"LocalCluster of {self.workers or _cpus()} workers"
            return f"dask ({where})"
        if self.name == "processes":
            return f"processes ({self.workers or _cpus()} workers)"
        return "local (in process)"


def parse_executor(spec: Any, *, source: str | None, key: str = "executor") -> ExecutorSpec | None:
    """Validate an ``executor`` value (a name or a mapping); None stays None."""
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"name": spec}
    check_keys(spec, allowed=EXECUTOR_KEYS, required=("name",), source=source, where=key)
    name = spec["name"]
    if name not in EXECUTORS:
        raise InputError(
            f"unknown executor {name!r}; expected one of {list(EXECUTORS)}",
            source=source,
            key=f"{key}.name",
        )
    scheduler = spec.get("scheduler")
    if scheduler is not None:
        if name != "dask":
            raise InputError(
                "a scheduler address needs name: dask", source=source, key=f"{key}.scheduler"
            )
        _check_address(scheduler, source=source, key=f"{key}.scheduler")
    workers = spec.get("workers")
    if workers is not None:
        _check_int(workers, 1, source=source, key=f"{key}.workers")
        if name == "local" or scheduler is not None:
            raise InputError(
                "workers sizes a processes pool or a dask LocalCluster (a scheduler's "
                "cluster has its own workers)",
                source=source,
                key=f"{key}.workers",
            )
    chunk_size = spec.get("chunk_size", DEFAULT_CHUNK_SIZE)
    _check_int(chunk_size, 1, source=source, key=f"{key}.chunk_size")
    retries = spec.get("retries", DEFAULT_RETRIES)
    _check_int(retries, 0, source=source, key=f"{key}.retries")
    return ExecutorSpec(
        name=name, scheduler=scheduler, workers=workers, chunk_size=chunk_size, retries=retries
    )


def executor_from_cli(
    spec: ExecutorSpec | None,
    name: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> ExecutorSpec:
    """The executor of a command: ``--executor``/``--scheduler``/``--workers`` override ``spec``
    (the experiment's or grid file's); ``--scheduler`` alone means dask."""
    spec = spec or ExecutorSpec()
    if scheduler is not None:
        if name not in (None, "dask"):
            raise InputError("--scheduler needs --executor dask", key="--scheduler")
        _check_address(scheduler, source=None, key="--scheduler")
        name = "dask"
    if name is not None and name not in EXECUTORS:
        raise InputError(
            f"unknown executor {name!r}; expected one of {list(EXECUTORS)}", key="--executor"
        )
    if name is None and scheduler is None and workers is None:
        return spec
    new_name = name or spec.name
    keep = new_name == spec.name
    new_scheduler = scheduler or (spec.scheduler if keep and workers is None else None)
    new_workers = workers if workers is not None else (spec.workers if keep else None)
    if new_workers is not None and (new_name == "local" or new_scheduler is not None):
        raise InputError("--workers sizes a processes pool or a dask LocalCluster", key="--workers")
    return ExecutorSpec(
        name=new_name,
        scheduler=new_scheduler if new_name == "dask" else None,
        workers=new_workers,
        chunk_size=spec.chunk_size,
        retries=spec.retries,
    )


def _check_address(text: Any, *, source: str | None, key: str) -> None:
    if not isinstance(text, str) or not _ADDRESS.match(text):
        raise InputError(
            f"expected a scheduler address like tcp://HOST:PORT, got {text!r}",
            source=source,
            key=key,
        )


def _check_int(value: Any, low: int, *, source: str | None, key: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        kind = "a positive" if low == 1 else "a non-negative"
        raise InputError(f"expected {kind} integer", source=source, key=key)


def _cpus() -> int:
    return os.cpu_count() or 1


#: Thread-count variables of the BLAS and OpenMP libraries under numpy and scipy.
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def one_blas_thread_per_process() -> Iterator[None]:
    """While open, processes started from this one run their BLAS on one thread: parallel
    workers that each start OpenBLAS's default threads oversubscribe the cores (two seeds of a
    141-evaluation surrogate search on two workers and two cores: 45.5 s, against 19.7 s with
    one thread each, same results). The libraries read these variables when they load, so this
    process keeps its own threads; a variable already set is left as it is."""
    unset = [name for name in BLAS_THREAD_VARIABLES if name not in os.environ]
    os.environ.update(dict.fromkeys(unset, "1"))
    try:
        yield
    finally:
        for name in unset:
            os.environ.pop(name, None)


def require_dask():
    """The ``distributed`` module, or an InputError naming the optional extra."""
    try:
        import distributed
    except ImportError:
        raise InputError(DASK_EXTRA, key="executor") from None
    return distributed


class Executor:
    """Runs tasks somewhere and hands their results back to this (the client) process."""

    name = "local"

    def __init__(self, spec: ExecutorSpec):
        self.spec = spec

    def run_tasks(
        self, function: Callable[[Any], Any], payloads: Sequence[Any]
    ) -> Iterator[Outcome]:
        """``function(payload)`` for every payload; outcomes in completion order."""
        for i, payload in enumerate(payloads):
            try:
                result = function(payload)
            except Exception as exc:  # reported to the caller, which keeps other runs going
                yield i, None, exc
            else:
                yield i, result, None

    def chunk_runner(self):
        """A :data:`~evodse.search.archive.ChunkRunner` (None: evaluate in process)."""
        return None

    @property
    def parallel(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessChunkRunner:
    """Evaluate chunks of a population in a process pool (results in chunk order)."""

    def __init__(self, executor: ProcessExecutor):
        self.executor = executor

    def __call__(self, function, chunks):
        return list(self.executor.pool().map(function, chunks))

    def __getstate__(self):
        return {"executor": None}  # a pool does not pickle; re-attach after loading


class ProcessExecutor(Executor):
    """A local pool of spawned worker processes; a dead worker breaks the pool, so the pool is
    rebuilt and the unfinished tasks are submitted again (up to ``retries`` times each)."""

    name = "processes"

    def __init__(self, spec: ExecutorSpec):
        super().__init__(spec)
        self.workers = spec.workers or _cpus()
        self._pool = None
        self._environment = contextlib.ExitStack()  # one BLAS thread per worker, until close

    @property
    def parallel(self) -> bool:
        return True

    def pool(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            if self.workers > 1:  # workers start as tasks are submitted, under this
                self._environment.enter_context(one_blas_thread_per_process())
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    def run_tasks(self, function, payloads):
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        pending = dict(enumerate(payloads))
        attempts = dict.fromkeys(pending, 0)
        while pending:
            pool = self.pool()
            futures = {pool.submit(function, p): i for i, p in pending.items()}
            broken = False
            try:
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    except Exception as exc:
                        del pending[i]
                        yield i, None, exc
                        continue
                    del pending[i]
                    yield i, result, None
            finally:
                if not broken and pending:  # the consumer stopped early
                    for future in futures:
                        future.cancel()
            if broken:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                for i in list(pending):
                    attempts[i] += 1
                    if attempts[i] > self.spec.retries:
                        del pending[i]
                        yield i, None, RuntimeError("a worker process died running this task")

    def chunk_runner(self):
        return ProcessChunkRunner(self)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._environment.close()


class DaskChunkRunner:
    """Evaluate chunks of a population as Dask tasks: ``client.map`` then ``client.gather``
    (results in chunk order, so the archive equals an in-process evaluation)."""

    def __init__(self, client, retries: int = DEFAULT_RETRIES):
        self.client = client
        self.retries = retries

    def __call__(self, function, chunks):
        futures = self.client.map(function, chunks, pure=False, retries=self.retries)
        return self.client.gather(futures)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["client"] = None  # a client does not pickle; re-attach after loading
        return state


class DaskExecutor(Executor):
    """Runs on a Dask cluster: the one at ``spec.scheduler``, a given ``client``'s, or a
    LocalCluster of ``spec.workers`` processes started here (and closed by :meth:`close`)."""

    name = "dask"

    def __init__(self, spec: ExecutorSpec, client=None):
        super().__init__(spec)
        distributed = require_dask()
        self._owned: list[Any] = []
        if client is not None:
            self.client = client
        elif spec.scheduler is not None:
            try:
                self.client = distributed.Client(spec.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"cannot connect to the Dask scheduler at {spec.scheduler} ({exc})",
                    key="scheduler",
                ) from None
            self._owned.append(self.client)
        else:
            cluster = distributed.LocalCluster(
                n_workers=spec.workers or _cpus(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            self._owned.append(cluster)
            self.client = distributed.Client(cluster)
            self._owned.append(self.client)

    @property
    def parallel(self) -> bool:
        return True

    def run_tasks(self, function, payloads):
        from distributed import as_completed

        tag = uuid.uuid4().hex[:8]
        futures = {}
        for i, payload in enumerate(payloads):
            future = self.client.submit(
                function,
                payload,
                key=f"evodse-run-{i}-{tag}",
                retries=self.spec.retries,
                pure=False,
            )
            futures[future.key] = (i, future)
        try:
            for future in as_completed([f for _, f in futures.values()]):
                i, _ = futures.pop(future.key)
                if future.status == "error":
                    error = future.exception()
                    future.release()
                    yield i, None, error
                    continue
                try:
                    result = future.result()
                except Exception as exc:  # e.g. KilledWorker after too many lost workers
                    yield i, None, exc
                    continue
                finally:
                    future.release()
                yield i, result, None
        finally:
            if futures:  # the consumer stopped early: do not leave work on the cluster
                self.client.cancel([f for _, f in futures.values()])

    def chunk_runner(self):
        return DaskChunkRunner(self.client, self.spec.retries)

    def close(self) -> None:
        for thing in reversed(self._owned):
            thing.close()
        self._owned = []


def make_executor(spec: ExecutorSpec | str | Mapping[str, Any] | None = None, *, client=None):
    """An :class:`Executor` for ``spec`` (``client``: use this Dask client)."""
    if not isinstance(spec, ExecutorSpec):
        spec = parse_executor(spec, source=None) or ExecutorSpec()
    if client is not None or spec.name == "dask":
        return DaskExecutor(replace(spec, name="dask", workers=None), client)
    if spec.name == "processes":
        return ProcessExecutor(spec)
    return Executor(spec)
