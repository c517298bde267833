"""Access counts: the bytes every layer moves at each memory level, per operand and direction.

Counting is kept apart from pricing (as ZigZag's ``MemoryAccesses`` and Timeloop's per-level
reads/fills/updates are apart from their energy tables): :class:`AccessCounts` holds what moves,
:mod:`evodse.model.prices` what each byte costs, and energy is their product.

Levels: ``register`` (PE-local: stationary values, pipeline registers, partial sums), ``sram``
(the operand's own buffer: ifmap SRAM for inputs, weight SRAM for weights, ofmap SRAM for outputs
and partial sums) and ``dram``. Operands: ``input``, ``weight``, ``kv`` (the KV cache of a
decoder: keys and values read by attention and written by the key and value projections; it
goes through the weight SRAM), ``output`` (partial sums at the accumulator width, finished
outputs at the activation width). Directions: ``read`` (data leaves
the level) and ``write`` (data enters it). Units: bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

LEVELS = ("register", "sram", "dram")
OPERANDS = ("input", "weight", "kv", "output")
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
        keys = [(level, op, d) for op in ops for d in DIRECTIONS]
        present = [self.bytes[k] for k in keys if k in self.bytes]  # the rest are zeros
        return sum(present) if present else np.zeros_like(self.macs)


def picker(choice: np.ndarray, codes: Iterable[int]) -> Callable[[Callable], np.ndarray]:
    """``pick(get)``: per (design, entry), ``get(code)``'s value for the option ``choice``
    names there (a dataflow code among ``codes``). The masks are computed once."""
    masks = {code: choice == code for code in codes}

    def pick(get: Callable[[int], np.ndarray]) -> np.ndarray:
        out = np.zeros(choice.shape)
        for code, mask in masks.items():
            np.copyto(out, np.broadcast_to(get(code), choice.shape), where=mask)
        return out

    return pick


def select(choice: np.ndarray, options: Mapping[int, AccessCounts]) -> AccessCounts:
    """Per (design, entry), the counts of option ``choice[i, j]`` (a dataflow code)."""
    keys = sorted({k for counts in options.values() for k in counts.bytes})
    pick = picker(choice, options)
    return AccessCounts(
        bytes={k: pick(lambda code, k=k: options[code][k]) for k in keys},
        macs=pick(lambda code: options[code].macs),
        vector_ops=pick(lambda code: options[code].vector_ops),
    )
