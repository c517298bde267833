"""Design spaces: which hardware parameters vary, over which values; the rest from a base design.

Every varying parameter is encoded as an integer index into its sorted list of allowed values
(categorical keys such as ``dataflow`` keep their listed order), so a population is an integer
matrix ``X`` of shape (N, n_var) and decodes to :class:`~evodse.model.Designs` in one gather per
column.

YAML forms for one parameter (under ``space:``)::

    pe_rows: [16, 32, 64]                          # explicit values
    pe_cols: {pow2: [8, 256]}                      # powers of two from 8 to 256
    ifmap_sram_kib: {range: [32, 512], step: 32}   # arithmetic range, both ends included
    dataflow: [ws, os, is, auto]                   # categories
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.hardware.protocol import (
    Accelerator,
    Template,
    accelerator_from_dict,
    get_template,
)
from evodse.model.designs import Designs


@dataclass(frozen=True)
class Parameter:
    """One varying hardware parameter and its allowed values (sorted unless categorical).
    ``choices``: every name a categorical parameter can take, in its template's order (its
    codes index them); None for numbers."""

    name: str
    values: tuple
    choices: tuple | None = None

    @property
    def categorical(self) -> bool:
        return self.choices is not None

    @property
    def size(self) -> int:
        return len(self.values)

    def codes(self) -> np.ndarray:
        """Values as the float codes stored in :class:`Designs`."""
        if self.choices is not None:
            return np.asarray([self.choices.index(v) for v in self.values], dtype=np.float64)
        return np.asarray(self.values, dtype=np.float64)


class ParameterGrid:
    """What every space derives from its ``parameters`` (shared with joint spaces)."""

    parameters: tuple[Parameter, ...]
    base: Accelerator

    @property
    def template(self) -> Template:
        """The template of the base design (every design of the space has it)."""
        return get_template(self.base.template)

    @property
    def n_var(self) -> int:
        return len(self.parameters)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def upper(self) -> np.ndarray:
        """Largest index of each variable (lower bounds are 0)."""
        return np.asarray([p.size - 1 for p in self.parameters], dtype=np.int64)

    @property
    def size(self) -> int:
        """Number of distinct designs."""
        return math.prod(p.size for p in self.parameters)

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.asarray([p.categorical for p in self.parameters], dtype=bool)


@dataclass(frozen=True)
class DesignSpace(ParameterGrid):
    """Varying parameters plus a base design that fixes all the others."""

    base: Accelerator
    parameters: tuple[Parameter, ...]

    def __post_init__(self) -> None:
        if not self.parameters:
            raise InputError("the design space has no varying parameter", key="space")
        for p in self.parameters:  # every value must make a valid accelerator
            for value in p.values:
                accelerator_from_dict({**self.base.to_dict(), p.name: value}, source="space")
        self._check_bounds()

    def _check_bounds(self) -> None:
        """Every combination respects each parameter's ``at_least`` (e.g. partial sums no
        narrower than activations): the smallest value against the largest bound."""
        template = get_template(self.base.template)
        varying = {p.name: p.values for p in self.parameters}

        def values(key: str) -> list:
            if key in varying:
                return [v for v in varying[key] if v is not None] or values_unset(key)
            return (
                values_unset(key) if getattr(self.base, key) is None else [getattr(self.base, key)]
            )

        def values_unset(key: str) -> list:
            follows = template.parameter(key).follows
            return [] if follows is None else values(follows)

        for q in template.parameters:
            if q.at_least is None or (q.name not in varying and q.at_least not in varying):
                continue
            low, bound = values(q.name), values(q.at_least)
            if low and bound and min(low) < max(bound):
                raise InputError(
                    f"{min(low)} is below the largest {q.at_least} of the space ({max(bound)})",
                    key=f"space.{q.name}",
                )

    def decode(self, X: np.ndarray) -> Designs:
        """Integer index matrix (N, n_var) -> :class:`Designs`."""
        X = np.asarray(X, dtype=np.int64)
        n = len(X)
        base, codes = self._decoding
        columns = {name: np.repeat(value, n) for name, value in base.columns.items()}
        for j, p in enumerate(self.parameters):
            columns[p.name] = codes[j][X[:, j]]
        return Designs(template=base.template, **columns)

    @cached_property
    def _decoding(self) -> tuple[Designs, tuple[np.ndarray, ...]]:
        """The base design as :class:`Designs` and every parameter's codes (the space is
        frozen: computed on the first :meth:`decode`)."""
        return Designs.from_accelerators(self.base), tuple(p.codes() for p in self.parameters)

    def accelerator(self, x: Sequence[int], name: str = "custom") -> Accelerator:
        """One index vector as a validated :class:`Accelerator`."""
        changes = {p.name: p.values[int(i)] for p, i in zip(self.parameters, x, strict=True)}
        return accelerator_from_dict({**self.base.to_dict(), **changes, "name": name})

    def values_table(self, X: np.ndarray) -> dict[str, list]:
        """Decoded values per hardware key for each row of ``X`` (fixed keys repeated)."""
        X = np.asarray(X, dtype=np.int64)
        out = {}
        base = self.base.to_dict()
        by_name = {p.name: j for j, p in enumerate(self.parameters)}
        for key in self.template.keys:
            if key in by_name:
                p = self.parameters[by_name[key]]
                out[key] = [p.values[i] for i in X[:, by_name[key]]]
            else:
                out[key] = [base[key]] * len(X)
        return resolve_unset(self.template, out)

    def enumerate(self, chunk: int = 65536) -> Iterator[np.ndarray]:
        """Every design's index vector, in chunks of at most ``chunk`` rows."""
        ranges = [range(p.size) for p in self.parameters]
        it = itertools.product(*ranges)
        while rows := list(itertools.islice(it, chunk)):
            yield np.asarray(rows, dtype=np.int64)


def index_rows(flat: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Index rows of the designs with flat (C-order) numbers ``flat`` in a grid of ``sizes``."""
    shape = tuple(int(n) for n in sizes)
    return np.stack(np.unravel_index(flat, shape), axis=1).astype(np.int64)


def resolve_unset(template: Template, table: dict[str, list]) -> dict[str, list]:
    """``table`` (values per key) with every unset value (None) of a parameter that follows
    another replaced by that one's value in the row (an operand width left to
    ``precision_bits`` is that row's precision)."""
    for p in template.parameters:
        if p.follows is not None:
            pairs = zip(table[p.name], table[p.follows], strict=True)
            table[p.name] = [f if v is None else v for v, f in pairs]
    return table


def parameter_from_spec(
    name: str, spec: Any, *, source: str | None, template: Template | None = None
) -> Parameter:
    """Parse one ``space:`` entry (see module docstring) of a parameter of ``template``
    (default: the default template)."""
    template = template or get_template()
    where = f"space.{name}"
    if name not in template.keys:
        raise InputError(
            f"not a hardware parameter; expected one of {list(template.keys)}",
            source=source,
            key=where,
        )
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, Mapping) and set(spec) == {"pow2"}:
        values = _pow2(spec["pow2"], source, where)
    elif isinstance(spec, Mapping) and set(spec) <= {"range", "step"} and "range" in spec:
        values = _range(spec["range"], spec.get("step", 1), source, where)
    else:
        raise InputError(
            "expected a list of values, {pow2: [lo, hi]} or {range: [lo, hi], step: s}",
            source=source,
            key=where,
        )
    if not values:
        raise InputError("no allowed values", source=source, key=where)
    if len(set(values)) != len(values):
        raise InputError(f"repeated values in {values}", source=source, key=where)
    if name in template.categorical:
        choices = template.categorical_choices()[name]
        bad = [v for v in values if v not in choices]
        if bad:
            raise InputError(
                f"expected values from {list(choices)}, got {bad[0]!r}",
                source=source,
                key=where,
            )
        return Parameter(name=name, values=tuple(values), choices=tuple(choices))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise InputError("expected numbers", source=source, key=where)
    return Parameter(name=name, values=tuple(sorted(values)))


def _pow2(bounds: Any, source: str | None, where: str) -> list[int]:
    ok = isinstance(bounds, list) and len(bounds) == 2
    ok = ok and all(isinstance(b, int) and b >= 1 and b & (b - 1) == 0 for b in bounds)
    if not ok or bounds[0] > bounds[1]:
        raise InputError(
            f"pow2 expects [lo, hi], powers of two with lo <= hi, got {bounds!r}",
            source=source,
            key=where,
        )
    lo, hi = (int(math.log2(b)) for b in bounds)
    return [2**e for e in range(lo, hi + 1)]


def _range(bounds: Any, step: Any, source: str | None, where: str) -> list[float | int]:
    nums = isinstance(bounds, list) and len(bounds) == 2
    nums = nums and all(isinstance(v, (int, float)) for v in [*bounds, step])
    if not nums or step <= 0 or bounds[0] > bounds[1]:
        raise InputError(
            f"range expects [lo, hi] with lo <= hi and a positive step, got {bounds!r} "
            f"step {step!r}",
            source=source,
            key=where,
        )
    count = math.floor((bounds[1] - bounds[0]) / step + 1e-9) + 1
    values = [bounds[0] + i * step for i in range(count)]
    is_int = all(isinstance(v, int) for v in [*bounds, step])
    return [int(v) if is_int else round(float(v), 12) for v in values]


def space_from_spec(base: Accelerator, spec: Any, *, source: str | None = None) -> DesignSpace:
    """A :class:`DesignSpace` from a ``space:`` mapping."""
    if not isinstance(spec, Mapping) or not spec:
        raise InputError("expected a mapping of hardware parameters", source=source, key="space")
    template = get_template(base.template)
    params = tuple(
        parameter_from_spec(str(k), v, source=source, template=template) for k, v in spec.items()
    )
    try:
        return DesignSpace(base=base, parameters=params)
    except InputError as exc:
        raise InputError(exc.detail, source=source, key=exc.key) from None
