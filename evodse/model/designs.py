"""A population of accelerator designs as parallel numpy arrays (one entry per design)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evodse.errors import InputError
from evodse.hardware.protocol import (
    DEFAULT_TEMPLATE,
    Accelerator,
    accelerator_from_dict,
    get_template,
)
from evodse.hardware.template import DATAFLOW_CHOICES

#: Integer codes of ``Accelerator.dataflow`` in :class:`Designs` (``auto`` = best per layer).
DATAFLOW_CODE = {name: code for code, name in enumerate(DATAFLOW_CHOICES)}
AUTO = DATAFLOW_CODE["auto"]


def encode(key: str, value: str, template: str = DEFAULT_TEMPLATE) -> float:
    """The code :class:`Designs` stores for a categorical ``value`` (its index in the choices)."""
    return float(get_template(template).categorical_choices()[key].index(value))


def decode(key: str, code: float, template: str = DEFAULT_TEMPLATE) -> str:
    """The name of a categorical code."""
    return get_template(template).categorical_choices()[key][int(code)]


class Designs:
    """N designs of one template, each parameter an array of shape (N,) in its declared unit,
    read as an attribute (``designs.pe_rows``).

    Categorical parameters (``dataflow``, ``dram_type``, ``fusion``, ...) hold codes: see
    :func:`encode`. Optional parameters left unset (the operand widths ``weight_bits``,
    ``activation_bits``, ``kv_bits``, which follow ``precision_bits``) hold 0 (omitted: all 0);
    :meth:`bits` resolves them. Other optional parameters omitted take their default.
    """

    __slots__ = ("_columns", "_template")

    def __init__(self, *, template: str = DEFAULT_TEMPLATE, **columns: np.ndarray | None):
        tpl = get_template(template)
        keys, defaults, _ = _layout(tpl)
        unknown = [k for k in columns if k not in defaults]
        missing = [k for k in keys if columns.get(k) is None and defaults[k] is None]
        if unknown or missing:
            raise TypeError(
                f"Designs of template {tpl.name!r}: unknown {unknown}, missing {missing}"
            )
        n = len(next(v for v in columns.values() if v is not None))
        full = {k: np.full(n, defaults[k]) if columns.get(k) is None else columns[k] for k in keys}
        object.__setattr__(self, "_template", tpl.name)
        object.__setattr__(self, "_columns", full)

    @property
    def template(self) -> str:
        return self._template

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Every parameter's array, in declaration order (a new dict)."""
        return dict(self._columns)

    def __getattr__(self, key: str) -> Any:
        if not key.startswith("_") and key in self._columns:
            return self._columns[key]
        raise AttributeError(f"designs of template {self._template!r} have no {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Designs is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._template, self._columns))

    def __len__(self) -> int:
        return len(next(iter(self._columns.values())))

    def resolved(self, key: str) -> np.ndarray:
        """Parameter ``key``, its unset entries (0) replaced by the parameter it follows."""
        value = getattr(self, key)
        follows = _layout(get_template(self._template))[2][key]
        return value if follows is None else np.where(value > 0, value, getattr(self, follows))

    def bits(self, key: str) -> np.ndarray:
        """Resolved width (bits) of ``weight_bits``, ``activation_bits`` or ``kv_bits``."""
        return self.resolved(key)

    @classmethod
    def from_accelerators(cls, accelerators: Sequence[Accelerator] | Accelerator) -> Designs:
        """Stack validated accelerators (all of one template) into arrays."""
        if isinstance(accelerators, Accelerator):
            accelerators = [accelerators]
        names = sorted({a.template for a in accelerators})
        if len(names) != 1:
            raise InputError(f"expected designs of one template, got {names}", key="template")
        tpl = get_template(names[0])
        categorical = set(tpl.categorical)
        columns = {}
        for key in tpl.keys:
            values = [getattr(a, key) for a in accelerators]
            if key in categorical:
                values = [encode(key, v, tpl.name) for v in values]
            else:
                values = [0 if v is None else v for v in values]
            columns[key] = np.asarray(values, dtype=np.float64)
        return cls(template=tpl.name, **columns)

    def take(self, index: np.ndarray | Sequence[int]) -> Designs:
        """A sub-population."""
        return Designs(template=self._template, **{k: v[index] for k, v in self._columns.items()})

    def accelerator(self, i: int, name: str = "custom") -> Accelerator:
        """Design ``i`` as a validated :class:`Accelerator`."""
        tpl = get_template(self._template)
        data: dict[str, Any] = {k: v[i].item() for k, v in self._columns.items()}
        unset = set(tpl.unset_optional)
        for p in tpl.parameters:
            if p.kind == "categorical":
                data[p.name] = decode(p.name, data[p.name], tpl.name)
            elif p.kind == "int":
                data[p.name] = (int(data[p.name]) or None) if p.name in unset else int(data[p.name])
        head = {} if tpl.name == DEFAULT_TEMPLATE else {"template": tpl.name}
        return accelerator_from_dict({**head, **data, "name": name})


_Layout = tuple[tuple[str, ...], dict[str, float | None], dict[str, str | None]]
#: Per template (by identity, held): its :func:`_layout`.
_LAYOUTS: dict[int, tuple[Any, _Layout]] = {}


def _layout(tpl: Any) -> _Layout:
    """The template's keys in declaration order; per key, the value an omitted column takes
    (:func:`_default_code`; None for a required key) and the key it follows when unset.
    Templates are frozen, so this is computed once per template object."""
    held = _LAYOUTS.get(id(tpl))
    if held is None or held[0] is not tpl:
        defaults = {
            p.name: None if p.required else _default_code(tpl, p.name) for p in tpl.parameters
        }
        follows = {p.name: p.follows for p in tpl.parameters}
        held = _LAYOUTS[id(tpl)] = (tpl, (tuple(defaults), defaults, follows))
    return held[1]


def _default_code(tpl: Any, key: str) -> float:
    """The stored value of an omitted optional parameter: its default (a categorical's code),
    0 when unset."""
    p = tpl.parameter(key)
    if p.default is None:
        return 0.0
    return encode(key, p.default, tpl.name) if p.kind == "categorical" else float(p.default)


def _rebuild(template: str, columns: dict[str, np.ndarray]) -> Designs:
    return Designs(template=template, **columns)
