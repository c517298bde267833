"""The architecture protocol: what an accelerator template declares, and the registry of them.

A template (:class:`Template`) declares its parameters (:class:`HardwareParameter`: name, kind,
unit, label, plausible range or choices, default), its memory levels, its energy and area
components, its spatial mappings, a one-line design summary and its cost function. Everything
generic (validation, the design space, objectives, run directories, plots, the CLI) reads these
declarations; nothing outside a template's own module names its parameters.

A hardware YAML picks its template with the optional ``template:`` key (default
:data:`DEFAULT_TEMPLATE`, the systolic array of :mod:`evodse.hardware.template`). A new template
is one :func:`register_template` call (see docs/architecture.md).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evodse.errors import InputError
from evodse.yamlio import check_keys

DEFAULT_TEMPLATE = "systolic"
KINDS = ("int", "float", "categorical")


@dataclass(frozen=True, kw_only=True)
class HardwareParameter:
    """One parameter of a template (a hardware YAML key).

    ``kind``: ``int``, ``float`` or ``categorical``. ``unit``: the unit of its values ("" for
    counts and names). ``label``: a short name for axes and tables. ``plausible``: the inclusive
    physical range of a number (a unit slip or typo lands outside). ``choices``: the names a
    categorical takes, or the numbers an int may take (e.g. from technology.yaml, with
    ``choices_note`` naming where they come from); a callable is read when validating.
    ``minimum``: the smallest integer accepted (``None``: the choices alone decide).
    ``required``: the YAML must give it; otherwise ``default`` (``None``: left unset, stored as 0
    in :class:`~evodse.model.designs.Designs`). ``follows``: the parameter whose value an unset
    one takes (e.g. an operand width left to the precision). ``at_least``: a parameter whose
    value (resolved through its ``follows``) this one, when set, may not be below (e.g. the
    partial-sum width and the activation width).
    """

    name: str
    kind: str
    label: str
    unit: str = ""
    plausible: tuple[float, float] | None = None
    choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] | None = None
    choices_note: str = ""
    minimum: int | None = 1
    required: bool = True
    default: Any = None
    follows: str | None = None
    at_least: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "categorical" and self.choices is None:
            raise ValueError(f"categorical parameter {self.name} needs its choices")

    def allowed(self) -> tuple[Any, ...] | None:
        """The choices (read now when declared as a callable)."""
        return self.choices() if callable(self.choices) else self.choices

    def plausible_text(self) -> str:
        """``from LOW to HIGH`` of :attr:`plausible`, for messages."""
        assert self.plausible is not None
        return " to ".join(
            f"{v:.0f}" if float(v).is_integer() else f"{v:g}" for v in self.plausible
        )


@dataclass(frozen=True, kw_only=True)
class Template:
    """An accelerator template: its declarations and its cost function.

    ``cost(designs, networks)`` returns one cost per network with the shape of
    :class:`~evodse.model.evaluate.NetworkCost` as far as generic code reads it (``latency_s``,
    ``energy_pj``, ``energy_breakdown_pj`` with a ``dram`` entry, ``area_mm2``,
    ``area_breakdown_mm2``, ``power_w``, ``chip_power_w``, ``utilization``, ``dram_bytes``,
    ``network``, ``designs``); a ``"module:function"`` string names it without importing it (a
    low layer naming a higher one). ``design_summary(hardware)`` is the one-line form of a
    design's :meth:`Accelerator.to_dict`. ``memory_levels``: the levels its cost counts
    accesses at. ``mapping_key`` is the categorical parameter that selects one of ``mappings``
    (the spatial mappings, by name). ``features`` names what beyond the generic flow the
    template supports (e.g. ``scalesim``).
    """

    name: str
    summary: str
    parameters: tuple[HardwareParameter, ...]
    memory_levels: tuple[str, ...]
    energy_components: tuple[str, ...]
    area_components: tuple[str, ...]
    mappings: tuple[str, ...]
    mapping_key: str | None
    design_summary: Callable[[Mapping[str, Any]], str]
    cost: str | Callable[..., list[Any]]
    features: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names) or {"name", "template"} & set(names):
            raise ValueError(f"template {self.name}: parameter names repeat or are reserved")
        if "dram" not in self.energy_components:
            raise ValueError(f"template {self.name}: needs a 'dram' energy component")
        for p in self.parameters:
            if p.follows is not None and p.follows not in names:
                raise ValueError(f"template {self.name}: {p.name} follows an unknown parameter")
            if p.at_least is not None and p.at_least not in names:
                raise ValueError(f"template {self.name}: {p.name} is bounded by an unknown one")
        if self.mapping_key is not None:
            key = self.by_name.get(self.mapping_key)
            if (
                key is None
                or key.kind != "categorical"
                or not set(self.mappings) <= set(key.allowed())
            ):
                raise ValueError(
                    f"template {self.name}: mapping_key must be a categorical parameter whose "
                    "choices include every mapping"
                )

    # -- views of the declarations ----------------------------------------------------------

    @property
    def keys(self) -> tuple[str, ...]:
        """Parameter names in declaration order (the hardware YAML keys but ``name``)."""
        return tuple(p.name for p in self.parameters)

    def parameter(self, key: str) -> HardwareParameter:
        return self.by_name[key]

    @property
    def by_name(self) -> dict[str, HardwareParameter]:
        return {p.name: p for p in self.parameters}

    def of_kind(self, kind: str) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters if p.kind == kind)

    @property
    def categorical(self) -> tuple[str, ...]:
        return self.of_kind("categorical")

    @property
    def numeric(self) -> tuple[str, ...]:
        """Numeric parameters (every one is also a per-design metric)."""
        return tuple(p.name for p in self.parameters if p.kind != "categorical")

    @property
    def unset_optional(self) -> tuple[str, ...]:
        """Optional parameters whose default is ``None`` (unset unless given)."""
        return tuple(p.name for p in self.parameters if not p.required and p.default is None)

    def categorical_choices(self) -> dict[str, tuple[str, ...]]:
        return {p.name: p.allowed() for p in self.parameters if p.kind == "categorical"}

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters if not p.required}

    def labels(self) -> dict[str, tuple[str, str]]:
        """Parameter -> (short label, unit or "")."""
        return {p.name: (p.label, p.unit) for p in self.parameters}

    def cost_function(self) -> Callable[..., list[Any]]:
        """The cost function (imported now when declared as ``"module:function"``)."""
        if callable(self.cost):
            return self.cost
        module, _, attr = self.cost.partition(":")
        return getattr(importlib.import_module(module), attr)

    def costs(self, designs: Any, networks: Sequence[Any]) -> list[Any]:
        """One cost per network on ``designs`` (see the class docstring)."""
        return self.cost_function()(designs, networks)

    def require(self, feature: str, *, what: str, source: str | None = None) -> None:
        """InputError when this template does not support ``feature`` (``what`` says for what)."""
        if feature not in self.features:
            raise InputError(
                f"{what} supports only templates with {feature!r} "
                f"({', '.join(t for t, v in TEMPLATES.items() if feature in v.features)}); "
                f"this design's template is {self.name!r}",
                source=source,
                key="template",
            )

    # -- validation ---------------------------------------------------------------------------

    def validate(self, data: Mapping[str, Any], *, source: str | None) -> dict[str, Any]:
        """The parameter values of a mapping with this template's keys (``template`` and
        ``name`` excluded), checked; InputError naming the key otherwise."""
        values: dict[str, Any] = {}
        for p in self.parameters:  # integers, then numbers, then names, then listed values
            if p.kind == "int":
                values[p.name] = _int_value(p, data[p.name], source)
        for p in self.parameters:
            if p.kind == "float":
                values[p.name] = _float_value(p, data[p.name], source)
        for p in self.parameters:
            if p.kind == "categorical":
                choices = p.allowed()
                if data[p.name] not in choices:
                    raise InputError(
                        f"expected one of {list(choices)}, got {data[p.name]!r}",
                        source=source,
                        key=p.name,
                    )
                values[p.name] = data[p.name]
        for p in self.parameters:
            value = values[p.name]
            if p.kind == "int" and p.choices is not None and value is not None:
                choices = p.allowed()
                if isinstance(value, bool) or value not in choices:
                    note = f" ({p.choices_note})" if p.choices_note else ""
                    raise InputError(
                        f"expected one of {choices}{note}, got {value!r}", source=source, key=p.name
                    )
        for p in self.parameters:
            value = values[p.name]
            if p.at_least is not None and value is not None:
                bound = self.resolve(values, p.at_least)
                if value < bound:
                    raise InputError(
                        f"expected at least {p.at_least} ({bound}), got {value!r}",
                        source=source,
                        key=p.name,
                    )
        return {k: values[k] for k in self.keys}

    def resolve(self, values: Mapping[str, Any], key: str) -> Any:
        """``values[key]``, or when unset (None) the value of the parameter it follows."""
        follows = self.parameter(key).follows
        value = values[key]
        return values[follows] if value is None and follows is not None else value


def _int_value(p: HardwareParameter, value: Any, source: str | None) -> Any:
    if value is None and not p.required and p.default is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if p.minimum is None:
        return value
    if not isinstance(value, int) or isinstance(value, bool) or value < p.minimum:
        wanted = "a positive integer" if p.minimum == 1 else f"an integer >= {p.minimum}"
        raise InputError(f"expected {wanted}, got {value!r}", source=source, key=p.name)
    check_plausible(p, value, source=source)
    return value


def _float_value(p: HardwareParameter, value: Any, source: str | None) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise InputError(f"expected a positive number, got {value!r}", source=source, key=p.name)
    check_plausible(p, value, source=source)
    return float(value)


def check_plausible(p: HardwareParameter, value: float, *, source: str | None) -> None:
    """InputError naming the parameter and its plausible range when ``value`` lies outside."""
    if p.plausible is None:
        return
    low, high = p.plausible
    if not low <= value <= high:
        raise InputError(
            f"expected a value from {p.plausible_text()} (physically plausible), got {value!r}",
            source=source,
            key=p.name,
        )


#: Every registered template by name (the systolic array registers itself on import of
#: :mod:`evodse.hardware.template`).
TEMPLATES: dict[str, Template] = {}


def register_template(template: Template) -> Template:
    """Add ``template`` to the registry (its name must be new)."""
    if template.name in TEMPLATES:
        raise ValueError(f"template {template.name!r} is already registered")
    TEMPLATES[template.name] = template
    return template


def unregister_template(name: str) -> None:
    """Remove a template added by :func:`register_template` (the default one stays)."""
    if name == DEFAULT_TEMPLATE:
        raise ValueError(f"the default template {name!r} cannot be removed")
    del TEMPLATES[name]


def get_template(name: Any = None, *, source: str | None = None) -> Template:
    """The registered template ``name`` (None: the default); InputError when unknown."""
    if name is None:
        name = DEFAULT_TEMPLATE
    if not isinstance(name, str) or name not in TEMPLATES:
        raise InputError(
            f"unknown template {name!r}; expected one of {sorted(TEMPLATES)}",
            source=source,
            key="template",
        )
    return TEMPLATES[name]


class Accelerator:
    """One accelerator design: a template's parameter values and a name. Construct through
    :func:`accelerator_from_dict` to validate; parameters read as attributes (``acc.pe_rows``).
    Immutable and hashable; equal when template, name and values are."""

    __slots__ = ("_name", "_template", "_values")

    def __init__(self, *, template: str = DEFAULT_TEMPLATE, name: str = "custom", **values: Any):
        tpl = get_template(template)
        keys = tpl.keys
        unknown = [k for k in values if k not in keys]
        missing = [p.name for p in tpl.parameters if p.required and p.name not in values]
        if unknown or missing:
            raise TypeError(
                f"Accelerator of template {tpl.name!r}: unknown {unknown}, missing {missing}"
            )
        full = {**tpl.defaults(), **values}
        object.__setattr__(self, "_template", tpl.name)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", {k: full[k] for k in keys})

    @property
    def template(self) -> str:
        return self._template

    @property
    def name(self) -> str:
        return self._name

    def __getattr__(self, key: str) -> Any:
        if not key.startswith("_") and key in self._values:
            return self._values[key]
        raise AttributeError(f"a design of this template has no parameter {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace()")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Accelerator):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"Accelerator({items})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._template, self._name, tuple(self._values.items())))

    def _key(self) -> tuple[Any, ...]:
        return (self._template, self._name, tuple(self._values.items()))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the YAML keys: the parameters in declaration order, then ``name``;
        ``template`` first unless it is the default one (so its records read as before)."""
        head = {} if self._template == DEFAULT_TEMPLATE else {"template": self._template}
        return {**head, **self._values, "name": self._name}

    def resolved(self, key: str) -> Any:
        """Parameter ``key``, or when unset the value of the parameter it follows."""
        value = getattr(self, key)
        follows = get_template(self._template).parameter(key).follows
        return getattr(self, follows) if value is None and follows is not None else value

    def operand_bits(self, key: str) -> int:
        """The width (bits) of ``weight_bits``, ``activation_bits`` or ``kv_bits``, resolved."""
        return self.resolved(key)

    def replace(self, **changes: Any) -> Accelerator:
        """A validated copy with some parameters changed."""
        return accelerator_from_dict({**self.to_dict(), **changes})


def _rebuild(template: str, name: str, values: tuple[tuple[str, Any], ...]) -> Accelerator:
    return Accelerator(template=template, name=name, **dict(values))


def hardware_keys(template: Template) -> tuple[str, ...]:
    """The keys of a design's record: the template's parameters and ``name``."""
    return (*template.keys, "name")


def accelerator_from_dict(data: Mapping[str, Any], *, source: str | None = None) -> Accelerator:
    """Validate a mapping with a template's keys (``template:`` picks it; default systolic) and
    build an :class:`Accelerator`."""
    if isinstance(data, Mapping) and "template" in data:
        template = get_template(data["template"], source=source)
    else:
        template = get_template()
    keys = hardware_keys(template)
    required = [p.name for p in template.parameters if p.required]
    check_keys(data, allowed=(*keys, "template"), required=required, source=source)
    values = template.validate({**template.defaults(), **data}, source=source)
    return Accelerator(template=template.name, name=str(data.get("name", "custom")), **values)
