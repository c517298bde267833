"""The metric registry: every result column the cost model gives, declared once.

Objectives, constraints, CSV headers, plot labels and reports all read this table: a metric's
name carries its unit (``latency_s``, ``energy_pj``), ``quantity`` is how a figure names it,
``si_factor`` converts one unit of the column to SI (``energy_pj``: 1e-12 J), ``display`` lists
the units a figure may show it in (SI value of one display unit, its name; largest first),
``maximize`` its better direction and ``scope`` whether it exists per workload, per design or
per layer.
"""

from __future__ import annotations

from dataclasses import dataclass

_SECONDS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_JOULES = ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"), (1e-12, "pJ"))
_WATTS = ((1.0, "W"), (1e-3, "mW"), (1e-6, "µW"))
_IPS = ((1e6, "M inferences/s"), (1e3, "k inferences/s"), (1.0, "inferences/s"))


@dataclass(frozen=True)
class Metric:
    """One result column (see the module docstring)."""

    name: str
    quantity: str
    si_factor: float
    display: tuple[tuple[float, str], ...]
    maximize: bool = False
    scope: str = "workload"  # "workload", "design" or "layer"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("latency_s", "latency", 1.0, _SECONDS),
        Metric("energy_pj", "energy", 1e-12, _JOULES),
        Metric("power_w", "power", 1.0, _WATTS),
        Metric("chip_power_w", "chip power", 1.0, _WATTS),
        Metric("edp_js", "EDP", 1.0, tuple((s, f"{u}·s") for s, u in _JOULES)),
        Metric("throughput_ips", "throughput", 1.0, _IPS, maximize=True),
        Metric(
            "perf_per_area_ips_mm2",
            "throughput per area",
            1.0,
            ((1e3, "k inferences/s/mm²"), (1.0, "inferences/s/mm²")),
            maximize=True,
        ),
        Metric("fps", "frame rate", 1.0, ((1.0, "frames/s"),), maximize=True),
        Metric("utilization", "array utilization", 100.0, ((1.0, "%"),), maximize=True),
        Metric(
            "dram_bytes", "DRAM traffic", 1.0, ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B"))
        ),
        Metric("dram_energy_pj", "DRAM energy", 1e-12, _JOULES),
        Metric("onchip_energy_pj", "on-chip energy", 1e-12, _JOULES),
        Metric("area_mm2", "area", 1.0, ((1.0, "mm²"),), scope="design"),
        Metric(
            "cycles",
            "cycles",
            1.0,
            ((1e9, "G cycles"), (1e6, "M cycles"), (1e3, "k cycles")),
            scope="layer",
        ),
    )
}
#: Metrics every workload has (arrays over designs), in registry order.
WORKLOAD_METRICS = tuple(name for name, m in METRICS.items() if m.scope == "workload")
