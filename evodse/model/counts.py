"""Access counts: the bytes every layer moves at each memory level, per operand and direction.

Counting is kept apart from pricing (as ZigZag's ``MemoryAccesses`` and Timeloop's per-level
reads/fills/updates are apart from their energy tables): :class:`AccessCounts` holds what moves,
:mod:`evodse.model.prices` what each byte costs, and energy is their product.

Levels: ``register`` (PE-local: stationary values, pipeline registers, partial sums), ``sram``
(the operand's own buffer: ifmap SRAM for inputs, weight SRAM for weights, ofmap SRAM for outputs
and partial sums) and ``dram``. Operands: ``input``, ``weight``, ``output`` (partial sums at the
accumulator width, finished outputs at the operand width). Directions: ``read`` (data leaves
the level) and ``write`` (data enters it). Units: bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

LEVELS = ("register", "sram", "dram")
OPERANDS = ("input", "weight", "output")
DIRECTIONS = ("read", "write")
KEYS = tuple((lv, op, d) for lv in LEVELS for op in OPERANDS for d in DIRECTIONS)

Key = tuple[str, str, str]


@dataclass(frozen=True, eq=False)
class AccessCounts:
    """Bytes per (level, operand, direction), each an array over (designs, layer entries).

    Entries not listed are zero. ``macs`` and ``vector_ops`` count the arithmetic.
    """

    bytes: Mapping[Key, np.ndarray]
    macs: np.ndarray
    vector_ops: np.ndarray

    def __getitem__(self, key: Key) -> np.ndarray:
        if key not in KEYS:
            raise KeyError(f"{key}: expected (level, operand, direction) from {KEYS}")
        value = self.bytes.get(key)
        return np.zeros_like(self.macs) if value is None else value

    def items(self) -> Iterator[tuple[Key, np.ndarray]]:
        """Every (key, bytes) pair, zeros included, in :data:`KEYS` order."""
        for key in KEYS:
            yield key, self[key]

    def level(self, level: str, operand: str | None = None) -> np.ndarray:
        """Bytes read plus written at ``level`` (for one operand, or all)."""
        ops = OPERANDS if operand is None else (operand,)
        return sum(self[(level, op, d)] for op in ops for d in DIRECTIONS)

    def stacked(self) -> np.ndarray:
        """All counts as one array shaped (designs, entries, level, operand, direction)."""
        shape = (*np.shape(self.macs), len(LEVELS), len(OPERANDS), len(DIRECTIONS))
        out = np.zeros(shape)
        for (lv, op, d), value in self.bytes.items():
            out[..., LEVELS.index(lv), OPERANDS.index(op), DIRECTIONS.index(d)] = value
        return out


def select(choice: np.ndarray, options: Mapping[int, AccessCounts]) -> AccessCounts:
    """Per (design, entry), the counts of option ``choice[i, j]`` (a dataflow code)."""
    keys = sorted({k for counts in options.values() for k in counts.bytes})
    masks = {code: choice == code for code in options}

    def pick(get) -> np.ndarray:
        value = np.zeros(choice.shape)
        for code, counts in options.items():
            np.copyto(value, np.broadcast_to(get(counts), choice.shape), where=masks[code])
        return value

    return AccessCounts(
        bytes={k: pick(lambda c, k=k: c[k]) for k in keys},
        macs=pick(lambda c: c.macs),
        vector_ops=pick(lambda c: c.vector_ops),
    )
