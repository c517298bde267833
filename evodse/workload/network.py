"""A network: an ordered list of operations and a batch size."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from evodse.errors import InputError
from evodse.workload.ops import Op


@dataclass(frozen=True)
class Network:
    """An ordered, named list of operations executed layer by layer for ``batch`` samples."""

    name: str
    ops: tuple[Op, ...]
    batch: int = 1

    def __post_init__(self) -> None:
        if not self.ops:
            raise InputError("a network needs at least one operation", key=self.name)
        if not isinstance(self.batch, int) or isinstance(self.batch, bool) or self.batch < 1:
            raise InputError(f"batch must be a positive integer, got {self.batch!r}", key="batch")
        bad = [op.name for op in self.ops if not isinstance(op.name, str) or not op.name]
        if bad:
            raise InputError(f"layer names must be non-empty strings, got {bad[0]!r}", key="layers")
        repeated = [n for n, c in Counter(op.name for op in self.ops).items() if c > 1]
        if repeated:
            raise InputError(f"layer names must be unique; repeated: {repeated[:5]}", key="layers")

    @property
    def macs(self) -> int:
        """Multiply-accumulates for the whole batch."""
        return self.batch * sum(op.macs for op in self.ops)

    @property
    def params(self) -> int:
        """Trainable parameters."""
        return sum(op.params for op in self.ops)

    @property
    def active_params(self) -> int:
        """Parameters one token uses (a mixture of experts counts its chosen experts only)."""
        return sum(op.active_params for op in self.ops)

    def with_batch(self, batch: int) -> Network:
        """The same network at another batch size."""
        return dataclasses.replace(self, batch=batch)

    def unique_shapes(self) -> tuple[list[Op], list[int]]:
        """One representative layer per distinct shape and, for each layer, its shape's index."""
        keys: dict[tuple, int] = {}
        shapes: list[Op] = []
        index = []
        for op in self.ops:
            i = keys.setdefault(op.shape_key(), len(keys))
            if i == len(shapes):
                shapes.append(op)
            index.append(i)
        return shapes, index
