"""Resolve a workload spec (zoo name, workload YAML, or ONNX file) into a :class:`Network`.

A zoo name takes builder options after a colon, integers or names:
``bert_base:seq_len=256``, ``gpt2_decode:kv_len=2048``, ``resnet50:resolution=160``,
``llama3_1_8b:phase=decode,kv_len=4096,batch=8``.

Workload YAML::

    name: tiny_cnn          # optional, defaults to the file stem
    batch: 1                # optional
    layers:
      - {name: conv1, op: conv2d, in_channels: 3, out_channels: 16, in_h: 32, in_w: 32,
         kernel: 3, stride: 1, padding: 1}
      - {name: fc, op: linear, in_features: 4096, out_features: 10}

Each layer has ``name``, ``op`` (one of ``conv2d linear matmul pool elementwise norm softmax``)
and that operation's fields (see :mod:`evodse.workload.ops`). Convolutions and pools also accept
the shorthands ``kernel``, ``stride``, ``dilation`` (an int or ``[h, w]``) and ``padding`` (an int,
``[h, w]`` or ``[top, bottom, left, right]``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evodse.errors import InputError
from evodse.workload.network import Network
from evodse.workload.ops import OP_TYPES, Op
from evodse.yamlio import check_keys, load_yaml

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PAIRS = {"kernel": ("kernel_h", "kernel_w"), "stride": ("stride_h", "stride_w")}
_PAIRS_CONV = {**_PAIRS, "dilation": ("dilation_h", "dilation_w")}
_PADS = ("pad_top", "pad_bottom", "pad_left", "pad_right")


def load_workload(
    spec: str | Path | Network,
    *,
    batch: int | None = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    strict: bool = False,
) -> Network:
    """A network from a zoo name, a workload ``.yaml`` path, or an ``.onnx`` path.

    ``batch`` overrides the network's batch size; ``input_shapes`` and ``strict`` apply to ONNX.
    """
    if isinstance(spec, Network):
        net = spec
    else:
        text = str(spec)
        if text.lower().endswith(".onnx"):
            from evodse.workload.onnx_import import from_onnx

            net = from_onnx(text, input_shapes=input_shapes, batch=batch, strict=strict)
        elif text.lower().endswith((".yaml", ".yml")):
            net = network_from_yaml(text)
        else:
            net = _zoo(text)
    if batch is not None and batch != net.batch:
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InputError(f"batch must be a positive integer, got {batch!r}", key="batch")
        net = net.with_batch(batch)
    return net


def _zoo(text: str) -> Network:
    """``name`` or ``name:key=value,key=value`` (builder options: an integer, or a name such
    as ``phase=decode``; e.g. ``bert_base:seq_len=256`` or ``resnet50:resolution=160``)."""
    from evodse.workload.zoo import zoo_network

    name, _, args = text.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, args.split(",")):
        key, eq, value = item.partition("=")
        value = value.strip()
        try:
            kwargs[key.strip()] = int(value)
        except ValueError:
            if not _NAME.fullmatch(value):
                eq = ""
            kwargs[key.strip()] = value
        if not eq:
            raise InputError(
                f"expected name:key=VALUE[,key=VALUE...] (VALUE an integer or a name), "
                f"got {item!r}",
                source=text,
                key="workload",
            )
    try:
        return zoo_network(name, **kwargs)
    except TypeError as exc:
        raise InputError(f"bad option for {name}: {exc}", source=text, key="workload") from None


def network_from_yaml(path: str | Path) -> Network:
    """Read a workload YAML file (format in this module's docstring)."""
    source = str(path)
    data = check_keys(
        load_yaml(path), allowed=("name", "batch", "layers"), required=("layers",), source=source
    )
    layers = data["layers"]
    if not isinstance(layers, list) or not layers:
        raise InputError("expected a non-empty list of layers", source=source, key="layers")
    ops = tuple(_layer(entry, i, source) for i, entry in enumerate(layers))
    batch = data.get("batch", 1)
    try:
        return Network(name=str(data.get("name", Path(path).stem)), ops=ops, batch=batch)
    except InputError as exc:
        raise InputError(exc.detail, source=source, key=exc.key) from None


def network_to_yaml_dict(net: Network) -> dict[str, Any]:
    """The workload-YAML form of a network (inverse of :func:`network_from_yaml`)."""
    layers = [{"name": op.name, "op": op.kind, **op.dims()} for op in net.ops]
    return {"name": net.name, "batch": net.batch, "layers": layers}


def _layer(entry: Any, index: int, source: str) -> Op:
    where = f"layers[{index}]"
    if not isinstance(entry, Mapping):
        raise InputError("expected a mapping with 'name' and 'op'", source=source, key=where)
    op_name = entry.get("op")
    if op_name not in OP_TYPES:
        raise InputError(
            f"'op' must be one of {sorted(OP_TYPES)}, got {op_name!r}", source=source, key=where
        )
    cls = OP_TYPES[op_name]
    fields = {f.name for f in dataclasses.fields(cls)}
    shorthands = _PAIRS_CONV if op_name == "conv2d" else _PAIRS if op_name == "pool" else {}
    allowed = {"op", *fields, *shorthands, *(("padding",) if shorthands else ())}
    check_keys(entry, allowed=sorted(allowed), required=("name",), source=source, where=where)
    kwargs = {k: v for k, v in entry.items() if k != "op"}
    for short, (kh, kw) in shorthands.items():
        if short in kwargs:
            kwargs.update(_expand(kwargs.pop(short), (kh, kw), short, kwargs, source, where))
    if "padding" in kwargs:
        pads = kwargs.pop("padding")
        if isinstance(pads, int):
            pads = [pads] * 4
        elif isinstance(pads, list) and len(pads) == 2:
            pads = [pads[0], pads[0], pads[1], pads[1]]
        if not (isinstance(pads, list) and len(pads) == 4):
            raise InputError(
                "padding must be an int, [h, w] or [top, bottom, left, right]",
                source=source,
                key=f"{where}.padding",
            )
        kwargs.update(_expand(pads, _PADS, "padding", kwargs, source, where))
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.init and f.name not in kwargs
    ]
    if missing:
        short = next((s for s, pair in shorthands.items() if missing[0] in pair), None)
        also = f" (or {short!r})" if short else ""
        raise InputError(
            f"missing required key {missing[0]!r}{also} for op {op_name!r}",
            source=source,
            key=where,
        )
    try:
        return cls(**kwargs)
    except InputError as exc:
        raise InputError(exc.detail, source=source, key=f"{where} ({entry['name']})") from None
    except TypeError as exc:  # a value of a type the operation cannot compute with
        raise InputError(f"invalid value ({exc})", source=source, key=where) from None


def _expand(
    value: Any, names: Sequence[str], short: str, kwargs: Mapping, source: str, where: str
) -> dict[str, Any]:
    values = [value] * len(names) if isinstance(value, int) else value
    if not isinstance(values, list) or len(values) != len(names):
        raise InputError(
            f"{short} must be an int or a list of {len(names)} ints",
            source=source,
            key=f"{where}.{short}",
        )
    clash = [n for n in names if n in kwargs]
    if clash:
        raise InputError(
            f"give either {short!r} or {clash[0]!r}, not both", source=source, key=where
        )
    return dict(zip(names, values, strict=True))
