"""Checkpoints: a run's state as data, never code (``--resume``, sweep restarts, and the run
states a sweep sends to and receives from its workers).

Files written atomically into the run directory, the arrays first, the JSON last:

``checkpoint.json``
    ``format`` (``"evodse-checkpoint"``), ``version`` (2), ``config_sha256`` (SHA-256 of the
    run's resolved configuration, :func:`config_hash`), ``seed``, ``algorithm``,
    ``generation``, ``elapsed_s``, ``stopped_by``, ``cursor`` (exhaustive: the next design
    index), ``rng`` (the random baseline's or the surrogate search's ``numpy`` generator, as
    ``bit_generator.state``), ``surrogate_weights_n`` (the archive prefix the surrogate's input
    weights were fitted on), ``archive`` (``rows``; ``metrics``, the metric column names in
    order), ``chunks`` (the sealed parts, in order: ``file``, ``rows``, ``generations``,
    ``sha256``, ``bytes`` each), ``arrays`` (``file``, ``sha256`` and ``bytes`` of
    ``checkpoint.npz``) and ``versions`` (evodse, pymoo, numpy, python).
``checkpoint-chunks/NNNNNN.npz``
    Sealed parts, written once and never changed: the archive's columns (``X``,
    ``objectives``, ``F``, ``G``, ``generation`` and ``metric_<i>``, one row per evaluated
    design) and the history's columns (``history_<column>``, one row per generation) for the
    rows and generations after the previous part's.
``checkpoint.npz``
    Rewritten by every checkpoint: the same columns for the rows and generations after the
    last sealed part (the tail), ``front`` (the row ids of the feasible front), the
    hypervolume's normalization (``hv_ideal``, ``hv_nadir``; with more than four objectives
    ``hv_dominated``, ``hv_tested``) and the surrogate's input weights (``surrogate_weights``).

A run directory's checkpoints are incremental (:class:`Chunks`): each writes the new rows into
the tail, and seals the tail as the next chunk once it holds ``SEAL_ROWS`` rows or
``SEAL_GENERATIONS`` generations, so a checkpoint costs what is new since the last sealed part,
not the whole archive. A checkpoint encoded whole (a sweep's task result) has no chunks.

Reading checks the JSON first (format, version, seed, configuration hash, every field's type)
and opens an ``.npz`` only when it belongs to this run: its SHA-256 must be the one the JSON
names (a torn set is detected), it is loaded with ``allow_pickle=False`` and every array's
name, dtype and shape is checked. A pymoo algorithm's state is not stored: it is rebuilt by
deterministic replay (:func:`evodse.search.driver.restore_algorithm`). Every problem is an
:class:`~evodse.errors.InputError` naming the file. A ``checkpoint.pkl`` (the pickle format of
older evodse versions) is never loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import platform
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from evodse.errors import InputError
from evodse.search.archive import Archive, ReplayError
from evodse.search.choice import AUTO, Choice, time_budget_options
from evodse.search.driver import (
    HISTORY_COLUMNS,
    SearchState,
    Termination,
    finished,
    grid_sizes,
    restore_algorithm,
    restore_state,
)
from evodse.search.indicators import MC_SAMPLES, Hypervolume
from evodse.search.problem import AcceleratorProblem, Evaluation
from evodse.search.surrogate import SurrogateSearch

if TYPE_CHECKING:
    from evodse.experiment.config import Experiment

FORMAT = "evodse-checkpoint"
VERSION = 2
JSON_FILE = "checkpoint.json"
ARRAYS_FILE = "checkpoint.npz"
CHUNKS_DIR = "checkpoint-chunks"
#: The tail is sealed as a chunk once it holds this many archive rows or generations.
SEAL_ROWS = 65_536
SEAL_GENERATIONS = 16_384
LEGACY_FILE = "checkpoint.pkl"  # the pickle of earlier evodse versions: never loaded
_RERUN = "rerun with --overwrite"
_INT_HISTORY = ("generation", "evaluations", "front_size")


@dataclass(frozen=True)
class Chunk:
    """A sealed part of a checkpoint: the archive rows and history rows after the previous
    part's, in the file ``file`` (relative to the run directory)."""

    file: str
    rows: int
    generations: int
    sha256: str
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as bytes: what is written, and what sweep tasks exchange. ``chunks``: every
    sealed part the JSON names; ``new_chunks``: the files of those this checkpoint sealed (the
    others are already on disk), by file name."""

    json: bytes
    arrays: bytes
    chunks: tuple[Chunk, ...] = ()
    new_chunks: Mapping[str, bytes] = field(default_factory=dict)

    def files(self) -> dict[str, bytes]:
        """The files to write, by name relative to the run directory, the JSON last."""
        return {**self.new_chunks, ARRAYS_FILE: self.arrays, JSON_FILE: self.json}


def software_versions() -> dict[str, str]:
    import pymoo

    from evodse.version import __version__

    return {
        "evodse": __version__,
        "pymoo": pymoo.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def config_hash(resolved: Mapping[str, Any]) -> str:
    """SHA-256 of a resolved configuration as ``config.yaml`` records it (key order ignored)."""
    data = yaml.safe_load(yaml.safe_dump(dict(resolved), sort_keys=True))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


CHOICE_FIELDS = tuple(f.name for f in fields(Choice))


# --- writing ------------------------------------------------------------------------------------


def _npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # numeric arrays only: nothing is pickled
    return buf.getvalue()


def _part(state: SearchState, rows: slice, generations: slice) -> dict[str, np.ndarray]:
    """The archive's and the history's columns over ``rows`` and ``generations``."""
    archive = state.archive
    arrays = {
        "X": np.asarray(archive.column("X")[rows], dtype=np.int64),
        "objectives": np.asarray(archive.column("objectives")[rows], dtype=np.float64),
        "F": np.asarray(archive.column("F")[rows], dtype=np.float64),
        "G": np.asarray(archive.column("G")[rows], dtype=np.float64),
        "generation": np.asarray(archive.column("generation")[rows], dtype=np.int64),
    }
    for i, name in enumerate(archive.metric_names()):
        arrays[f"metric_{i}"] = archive.column(name)[rows]
    history = state.history[generations]
    for name in HISTORY_COLUMNS:
        dtype = np.int64 if name in _INT_HISTORY else np.float64
        arrays[f"history_{name}"] = np.asarray([h[name] for h in history], dtype=dtype)
    return arrays


def encode(
    state: SearchState,
    resolved: Mapping[str, Any],
    *,
    sealed: Sequence[Chunk] = (),
    incremental: bool = False,
    config_sha256: str | None = None,
) -> Checkpoint:
    """The checkpoint of ``state``, a run of the configuration ``resolved``
    (``config_sha256``: its :func:`config_hash`, if known), after the parts ``sealed``
    already written; ``incremental``: seal the tail as a new chunk once it is large."""
    archive = state.archive
    metrics = archive.metric_names()
    n, g = len(archive), state.generation
    rows0, gens0 = sum(c.rows for c in sealed), sum(c.generations for c in sealed)
    chunks, new_chunks = tuple(sealed), {}
    tail = _part(state, slice(rows0, n), slice(gens0, g))
    if incremental and (n - rows0 >= SEAL_ROWS or g - gens0 >= SEAL_GENERATIONS):
        data = _npz(tail)
        name = f"{CHUNKS_DIR}/{len(chunks):06d}.npz"
        sha = hashlib.sha256(data).hexdigest()
        chunks += (
            Chunk(file=name, rows=n - rows0, generations=g - gens0, sha256=sha, bytes=len(data)),
        )
        new_chunks[name] = data
        tail = _part(state, slice(n, n), slice(g, g))
    arrays = {**tail, "front": np.asarray(archive.front, dtype=np.int64)}
    arrays.update({f"hv_{k}": v for k, v in state.hypervolume.arrays().items()})
    rng, weights_n = None, None
    if state.rng is not None:
        rng = state.rng.bit_generator.state
    if isinstance(state.algorithm, SurrogateSearch):
        rng = state.algorithm.rng.bit_generator.state
        if state.algorithm._weights is not None:
            weights_n, arrays["surrogate_weights"] = state.algorithm._weights
            weights_n = int(weights_n)
    npz = _npz(arrays)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "config_sha256": config_sha256 or config_hash(resolved),
        "seed": state.seed,
        "algorithm": AUTO if state.choice is not None else state.algorithm_name,
        "choice": None if state.choice is None else state.choice.as_dict(),
        "generation": g,
        "elapsed_s": state.elapsed_s,
        "stopped_by": state.stopped_by,
        "cursor": int(state.cursor),
        "rng": rng,
        "surrogate_weights_n": weights_n,
        "archive": {"rows": n, "metrics": metrics},
        "chunks": [c.as_dict() for c in chunks],
        "arrays": {
            "file": ARRAYS_FILE,
            "sha256": hashlib.sha256(npz).hexdigest(),
            "bytes": len(npz),
        },
        "versions": software_versions(),
    }
    text = json.dumps(header, indent=1, allow_nan=False) + "\n"
    return Checkpoint(json=text.encode("utf-8"), arrays=npz, chunks=chunks, new_chunks=new_chunks)


# --- reading ------------------------------------------------------------------------------------


def load_run(
    read: Callable[[str], bytes],
    *,
    where: str | Path,
    experiment: Experiment,
    seed: int,
    problem: AcceleratorProblem | None = None,
    replay: bool = True,
) -> SearchState:
    """:func:`load` for run ``seed`` of ``experiment`` (``problem``: its problem, if built)."""
    problem = problem if problem is not None else experiment.build_problem()
    return load(
        read,
        where=where,
        problem=problem,
        algorithm=experiment.algorithm,
        options=experiment.options,
        seed=seed,
        resolved=experiment.resolved(problem, seed),
        termination=experiment.termination,
        replay=replay,
    )


def load(
    read: Callable[[str], bytes],
    *,
    where: str | Path,
    problem: AcceleratorProblem,
    algorithm: str,
    options: Mapping[str, Any],
    seed: int,
    resolved: Mapping[str, Any],
    termination: Termination | None = None,
    replay: bool = True,
) -> SearchState:
    """The state in the checkpoint of a run (``algorithm`` with ``options`` and ``seed`` on
    ``problem``, configured as ``resolved``); ``read(name)`` returns the bytes of file
    ``name`` (``JSON_FILE``, then the chunks and ``ARRAYS_FILE`` once the JSON is checked) of
    run directory ``where`` (named in errors). ``replay``: rebuild the algorithm now, unless
    the run is :func:`~evodse.search.driver.finished` under ``termination`` (errors name the
    checkpoint); otherwise :func:`~evodse.search.driver.step` does it when first called."""
    json_source = str(Path(where) / JSON_FILE)
    header = read_header(read(JSON_FILE), resolved, source=json_source)
    arrays = read_arrays(read, header, problem, where=where)
    try:
        state = _state(header, arrays, problem, algorithm, options, seed)
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(
            f"inconsistent checkpoint ({_first_line(exc)}); {_RERUN}", source=json_source
        ) from None
    if replay and not finished(state, termination):
        try:
            restore_algorithm(state)
        except ReplayError as exc:
            versions, now = header.get("versions"), software_versions()
            differ = (
                f" (written with {versions}, running {now})"
                if isinstance(versions, dict) and versions != now
                else ""
            )
            raise InputError(
                f"{exc}: the run does not replay to its checkpoint; it was modified or written "
                f"by other software versions{differ}; {_RERUN}",
                source=json_source,
            ) from None
    return state


def read_header(data: bytes, resolved: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """The checked ``checkpoint.json`` of the run configured by ``resolved``: format and
    version, then seed and configuration hash, then every field's type."""
    if not data.strip():
        raise InputError(
            f"empty file; expected an evodse checkpoint (JSON); {_RERUN}", source=source
        )
    try:
        header = json.loads(data)
    except ValueError:  # also UnicodeDecodeError
        raise InputError(
            f"not valid JSON (corrupt or truncated checkpoint); {_RERUN}", source=source
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InputError(
            f'not an evodse checkpoint (expected "format": "{FORMAT}"); {_RERUN}', source=source
        )
    if header.get("version") != VERSION:
        raise InputError(
            f"checkpoint format version {header.get('version')!r}; this evodse reads version "
            f"{VERSION}; {_RERUN}",
            source=source,
        )
    seed = resolved["seeds"][0]
    if not _is_int(header.get("seed")) or header["seed"] != seed:
        raise InputError(
            f"checkpoint of seed {header.get('seed')!r}, expected seed {seed}; run without "
            f"--resume into another --out, or {_RERUN}",
            source=source,
        )
    expected = config_hash(resolved)
    got = header.get("config_sha256")
    if got != expected:
        shown = f"{got[:12]}..." if isinstance(got, str) else repr(got)
        raise InputError(
            f"checkpoint of a different configuration (config_sha256 {shown}, expected "
            f"{expected[:12]}...); run without --resume into another --out, or {_RERUN}",
            source=source,
        )
    _check_fields(header, resolved["algorithm"]["name"], source=source)
    return header


def _check_fields(header: dict[str, Any], algorithm: str, *, source: str) -> None:
    def expect(ok: bool, what: str) -> None:
        if not ok:
            raise InputError(f"malformed checkpoint: expected {what}; {_RERUN}", source=source)

    expect(header.get("algorithm") == algorithm, f'"algorithm": "{algorithm}"')
    choice = header.get("choice")
    expect(
        choice is None
        or (
            isinstance(choice, dict)
            and set(choice) in (set(CHOICE_FIELDS), set(CHOICE_FIELDS) - {"options"})  # older
            and choice.get("options", {}) in ({}, time_budget_options(choice.get("chosen")))
            and algorithm == AUTO
        ),
        '"choice": null, or what "auto" chose',
    )
    generation = header.get("generation")
    expect(_is_int(generation) and generation >= 0, '"generation": an integer >= 0')
    expect(_is_number(header.get("elapsed_s")), '"elapsed_s": a finite number')
    expect(
        header.get("stopped_by") is None or isinstance(header["stopped_by"], str),
        '"stopped_by": null or a string',
    )
    expect(_is_int(header.get("cursor")) and header["cursor"] >= 0, '"cursor": an integer >= 0')
    expect(header.get("rng") is None or isinstance(header["rng"], dict), '"rng": null or an object')
    weights_n = header.get("surrogate_weights_n")
    expect(
        weights_n is None or (_is_int(weights_n) and weights_n >= 0),
        '"surrogate_weights_n": null or an integer >= 0',
    )
    archive = header.get("archive")
    expect(
        isinstance(archive, dict)
        and _is_int(archive.get("rows"))
        and archive["rows"] >= 0
        and isinstance(archive.get("metrics"), list)
        and all(isinstance(m, str) for m in archive["metrics"])
        and len(set(archive["metrics"])) == len(archive["metrics"]),
        '"archive": {"rows": an integer >= 0, "metrics": distinct names}',
    )
    arrays = header.get("arrays")
    expect(
        isinstance(arrays, dict)
        and arrays.get("file") == ARRAYS_FILE
        and isinstance(arrays.get("sha256"), str)
        and re.fullmatch(r"[0-9a-f]{64}", arrays["sha256"]) is not None
        and _is_int(arrays.get("bytes")),
        f'"arrays": {{"file": "{ARRAYS_FILE}", "sha256": 64 hex digits, "bytes": an integer}}',
    )
    chunks = header.get("chunks")
    expect(
        isinstance(chunks, list)
        and all(
            isinstance(c, dict)
            and set(c) == set(CHUNK_FIELDS)
            and c["file"] == f"{CHUNKS_DIR}/{i:06d}.npz"
            and all(_is_int(c[k]) and c[k] >= 0 for k in ("rows", "generations", "bytes"))
            and isinstance(c["sha256"], str)
            and re.fullmatch(r"[0-9a-f]{64}", c["sha256"]) is not None
            for i, c in enumerate(chunks)
        )
        and sum(c["rows"] for c in chunks) <= archive["rows"]
        and sum(c["generations"] for c in chunks) <= generation,
        f'"chunks": a list of {{"file": "{CHUNKS_DIR}/<6 digits>.npz" numbered from 0, '
        '"rows", "generations", "sha256", "bytes"}, within the archive and the generations',
    )


def read_arrays(
    read: Callable[[str], bytes],
    header: Mapping[str, Any],
    problem: AcceleratorProblem,
    *,
    where: str | Path,
) -> dict[str, np.ndarray]:
    """The checked arrays of a checkpoint (``header``, checked): its chunks' and its tail's
    columns concatenated, with the tail's state arrays."""
    parts = []
    for chunk in header["chunks"]:
        parts.append(
            _read_part(
                read(chunk["file"]),
                chunk,
                header,
                problem,
                rows=chunk["rows"],
                generations=chunk["generations"],
                tail=False,
                source=str(Path(where) / chunk["file"]),
            )
        )
    tail = _read_part(
        read(ARRAYS_FILE),
        header["arrays"],
        header,
        problem,
        rows=header["archive"]["rows"] - sum(c["rows"] for c in header["chunks"]),
        generations=header["generation"] - sum(c["generations"] for c in header["chunks"]),
        tail=True,
        source=str(Path(where) / ARRAYS_FILE),
    )
    if not parts:
        return tail
    columns = {n for n, (_, shape, _) in _array_shapes(header, problem, 0, 0, False).items()}
    arrays = dict(tail)
    for name in columns:
        arrays[name] = np.concatenate([p[name] for p in parts] + [tail[name]])
    return arrays


def _read_part(
    data: bytes,
    spec: Mapping[str, Any],
    header: Mapping[str, Any],
    problem: AcceleratorProblem,
    *,
    rows: int,
    generations: int,
    tail: bool,
    source: str,
) -> dict[str, np.ndarray]:
    """The checked arrays of one ``.npz`` (``data``), which ``spec`` (of the JSON) names."""
    if len(data) != spec["bytes"] or hashlib.sha256(data).hexdigest() != spec["sha256"]:
        raise InputError(
            f"does not match {JSON_FILE} (another SHA-256: a torn or modified set); {_RERUN}",
            source=source,
        )
    names = _array_shapes(header, problem, rows, generations, tail)
    shown = ", ".join(n for n in names if not n.startswith(("metric_", "history_")))
    bad = (
        f"not a valid checkpoint .npz (expected an uncompressed zip of the numeric arrays "
        f"{shown}, metric_<i>, history_<column>); {_RERUN}"
    )
    try:  # every array's header is checked before any data is read
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            found = set()
            for info in zf.infolist():
                name = info.filename.removesuffix(".npy")
                if info.compress_type != zipfile.ZIP_STORED or name not in names:
                    raise InputError(bad, source=source)
                with zf.open(info) as fh:
                    if np.lib.format.read_magic(fh) != (1, 0):
                        raise InputError(bad, source=source)
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                _check_array(name, dtype, shape, names[name], source=source)
                if math.prod(shape) * dtype.itemsize > info.file_size:
                    raise InputError(bad, source=source)
                found.add(name)
        if not {n for n, (_, _, optional) in names.items() if not optional} <= found:
            raise InputError(bad, source=source)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in sorted(found)}
    except InputError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError):
        raise InputError(bad, source=source) from None
    for name, a in arrays.items():
        _check_array(name, a.dtype, a.shape, names[name], source=source)
    consistent = not tail or (
        ("hv_ideal" in arrays) == ("hv_nadir" in arrays)
        and ("hv_dominated" in arrays) == ("hv_tested" in arrays)
        and ("hv_dominated" not in arrays or "hv_ideal" in arrays)
        and ("surrogate_weights" in arrays) == (header["surrogate_weights_n"] is not None)
    )
    if not consistent:
        raise InputError(bad, source=source)
    X = arrays["X"]
    if len(X) and ((X < 0).any() or (X.max(axis=0) > np.asarray(problem.xu)).any()):
        raise InputError(f"array X holds indices outside the design space; {_RERUN}", source=source)
    gen = arrays["generation"]
    if len(gen) and (gen.min() < 0 or gen.max() >= header["generation"]):
        raise InputError(
            f"array generation holds generations outside 0..{header['generation'] - 1}; {_RERUN}",
            source=source,
        )
    floats = [arrays[f"history_{k}"] for k in HISTORY_COLUMNS if k not in _INT_HISTORY]
    if not all(np.isfinite(a).all() for a in floats):
        raise InputError(f"the history holds numbers that are not finite; {_RERUN}", source=source)
    return arrays


def _check_array(
    name: str, dtype: np.dtype, shape: tuple, spec: tuple[str, tuple, bool], *, source: str
) -> None:
    kind, want, _ = spec
    ok = (
        (dtype.kind in "biuf" if kind == "numeric" else dtype == np.dtype(kind))
        and not dtype.hasobject
        and dtype.isnative
        and len(shape) == len(want)
        and all(w is None or s == w for s, w in zip(shape, want, strict=True))
    )
    if not ok:
        raise InputError(
            f"array {name} has dtype {dtype} and shape {shape}, expected {kind} of shape "
            f"{tuple('*' if w is None else w for w in want)}; {_RERUN}",
            source=source,
        )


def _array_shapes(
    header: Mapping[str, Any], problem: AcceleratorProblem, n: int, generations: int, tail: bool
) -> dict[str, tuple[str, tuple, bool]]:
    """name -> (dtype or "numeric", shape (None: any length), optional) in a part holding
    ``n`` archive rows and ``generations`` history rows (``tail``: also the state arrays)."""
    n_var, n_obj = problem.n_var, problem.n_obj
    shapes = {
        "X": ("int64", (n, n_var), False),
        "objectives": ("float64", (n, n_obj), False),
        "F": ("float64", (n, n_obj), False),
        "G": ("float64", (n, problem.n_ieq_constr), False),
        "generation": ("int64", (n,), False),
        "front": ("int64", (None,), False),
        "hv_ideal": ("float64", (n_obj,), True),
        "hv_nadir": ("float64", (n_obj,), True),
        "hv_dominated": ("bool", (MC_SAMPLES,), True),
        "hv_tested": ("float64", (None, n_obj), True),
        "surrogate_weights": ("float64", (None, n_var), True),
    }
    for i, _ in enumerate(header["archive"]["metrics"]):
        shapes[f"metric_{i}"] = ("numeric", (n,), False)
    for name in HISTORY_COLUMNS:
        dtype = "int64" if name in _INT_HISTORY else "float64"
        shapes[f"history_{name}"] = (dtype, (generations,), False)
    if not tail:
        shapes = {k: v for k, v in shapes.items() if not k.startswith(_STATE_ARRAYS)}
    return shapes


_STATE_ARRAYS = ("front", "hv_", "surrogate_weights")  # in the tail only
CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))


def _state(
    header: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    problem: AcceleratorProblem,
    algorithm: str,
    options: Mapping[str, Any],
    seed: int,
) -> SearchState:
    metrics = {name: arrays[f"metric_{i}"] for i, name in enumerate(header["archive"]["metrics"])}
    ev = Evaluation(
        X=arrays["X"],
        objectives=arrays["objectives"],
        F=arrays["F"],
        G=arrays["G"],
        metrics=metrics,
    )
    archive = Archive.restore(ev, arrays["generation"], arrays["front"], grid_sizes(problem))
    weights = header["surrogate_weights_n"]
    hv = {k[3:]: v for k, v in arrays.items() if k.startswith("hv_")}
    return restore_state(
        problem,
        algorithm,
        options,
        seed,
        archive=archive,
        generation=header["generation"],
        elapsed_s=float(header["elapsed_s"]),
        history=_history(arrays),
        stopped_by=header["stopped_by"],
        hypervolume=Hypervolume.from_arrays(hv),
        cursor=header["cursor"],
        rng_state=header["rng"],
        surrogate_weights=None if weights is None else (weights, arrays["surrogate_weights"]),
        choice=None if header.get("choice") is None else Choice(**header["choice"]),
    )


def _history(arrays: Mapping[str, np.ndarray]) -> list[dict[str, float]]:
    columns = [arrays[f"history_{name}"].tolist() for name in HISTORY_COLUMNS]
    return [dict(zip(HISTORY_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
