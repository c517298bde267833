"""Strict YAML reading: duplicate keys are errors, every error names the file and the key."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from evodse.errors import InputError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, *, source: str) -> Any:
    """Parse YAML text strictly; ``source`` names it in errors."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = (getattr(exc, "problem", None) or str(exc)).strip().splitlines()[0]
        tag = re.search(r"constructor for the tag '([^']+)'", problem)
        if tag:  # !!python/object/... and other unknown tags: never constructed
            name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
            problem = f"tag {name!r} is not allowed (plain YAML data only: a tag can run code)"
        raise InputError(f"invalid YAML: {problem}", source=source, key=where) from None


def load_yaml(path: str | Path) -> Any:
    """Read and strictly parse a YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file ({exc.__class__.__name__})", source=str(path)) from None
    return parse_yaml(text, source=str(path))


def check_keys(
    mapping: Any,
    *,
    allowed: Iterable[str],
    required: Iterable[str] = (),
    source: str | None,
    where: str = "",
) -> Mapping[str, Any]:
    """Require a mapping with only ``allowed`` keys and all ``required`` ones."""
    label = where or "top level"
    if not isinstance(mapping, Mapping):
        raise InputError(
            f"expected a mapping, got {type(mapping).__name__}", source=source, key=label
        )
    allowed = list(allowed)
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise InputError(
            f"unknown key {unknown[0]!r}; expected one of {sorted(allowed)}",
            source=source,
            key=f"{where}.{unknown[0]}" if where else str(unknown[0]),
        )
    missing = [k for k in required if k not in mapping]
    if missing:
        raise InputError(f"missing required key {missing[0]!r}", source=source, key=label)
    return mapping
