"""Spatial mappings (dataflows) of the systolic array, as a registry of named entries.

A GEMM ``out[M, N] = A[M, K] @ B[K, N]`` maps onto an ``R x C`` array as in SCALE-Sim
(Samajdar et al., ISPASS 2020, Sec. III; docs/scalesim_conventions.md): one GEMM dimension
along the rows, one along the columns, the third streamed in time; one operand is held in the
PEs (stationary) while the others move between neighbouring PEs.

====  ===========  ===========  =========  ==========  ===========================================
name  rows (Sr)    cols (Sc)    streamed   stationary  moving
====  ===========  ===========  =========  ==========  ===========================================
ws    K            N            M          weights     inputs along rows, partial sums down cols
os    M            N            K          outputs     inputs along rows, weights down cols
is    K            M            N          inputs      weights along rows, partial sums down cols
====  ===========  ===========  =========  ==========  ===========================================

``preload`` is true where the stationary operand is loaded into the array before streaming
(``R`` cycles per fold). ``reduces_in_array`` is true where partial sums flow through the array
and leave it once per row fold (ws, is); os keeps them in the PEs until the output is final.
"""

from __future__ import annotations

from dataclasses import dataclass

from evodse.hardware.template import DATAFLOWS


@dataclass(frozen=True)
class SpatialMapping:
    """Which GEMM dimension sits on the array's rows, its columns and in time."""

    name: str
    rows: str  # one of "m", "n", "k"
    cols: str
    stream: str
    stationary: str  # operand held in the PEs: "input", "weight" or "output"
    preload: bool
    reduces_in_array: bool


MAPPINGS: dict[str, SpatialMapping] = {
    "ws": SpatialMapping("ws", "k", "n", "m", "weight", preload=True, reduces_in_array=True),
    "os": SpatialMapping("os", "m", "n", "k", "output", preload=False, reduces_in_array=False),
    "is": SpatialMapping("is", "k", "m", "n", "input", preload=True, reduces_in_array=True),
}
assert tuple(MAPPINGS) == DATAFLOWS, "every dataflow of the template needs a mapping"
