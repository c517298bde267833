"""Run one single-layer SCALE-Sim 3.0.0 simulation through its Python API, in a temp dir.

Config, topology and layout files (written by :mod:`evodse.export.scalesim`, the same writer
as ``evodse export --to scalesim``) and SCALE-Sim's own reports go to a temporary directory that
is deleted afterwards. Memory is simulated in USER bandwidth mode (double-buffered SRAMs fed at
the design's DRAM bandwidth, so stalls count); the result holds SCALE-Sim's ``Total Cycles``
(with stalls), ``Stall Cycles``, their difference (stall-free compute cycles) and ``Total
Cycles (incl. prefetch)``, all read from its COMPUTE_REPORT.csv.

Compatibility shims (no value changes, nothing in site-packages is edited), installed once per
process by :func:`install_shims`:

* NumPy >= 2.4: scalesim 3.0.0 calls ``int(max(list_of_1_element_arrays))`` in
  ``memory/double_buffered_scratchpad_mem.py`` and ``memory/read_buffer.py`` (upstream issue
  scalesim-project/SCALE-Sim#160); the name ``max`` in those two modules is rebound to a wrapper
  returning a scalar for 1-element arrays (same approach as tests/golden/regen_scalesim.py).
* Speed: the memory model wraps every per-cycle loop in ``tqdm(..., disable=True)``; creating
  those disabled progress bars is about a third of the run time. ``tqdm`` in the three memory
  modules is rebound to a pass-through for disabled bars (enabled bars are untouched).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import os
import tempfile
import time
from typing import Any

from evodse.export.scalesim import LAYOUT_TEXT, RUN_NAME, config_text, topology_text
from evodse.export.scalesim_mapping import SimHardware, SimLayer

_SHIMMED = False


def scalesim_version() -> str:
    try:
        from importlib.metadata import version

        return version("scalesim")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def install_shims() -> None:
    """Install the compatibility shims (module docstring); idempotent."""
    global _SHIMMED
    if _SHIMMED:
        return
    import numpy as np

    def _max(*args, **kwargs):
        r = builtins.max(*args, **kwargs)
        if isinstance(r, np.ndarray) and r.size == 1:
            return r.reshape(-1)[0]
        return r

    for name in ("scalesim.memory.double_buffered_scratchpad_mem", "scalesim.memory.read_buffer"):
        importlib.import_module(name).max = _max
    for name in (
        "scalesim.memory.double_buffered_scratchpad_mem",
        "scalesim.memory.read_buffer",
        "scalesim.memory.write_buffer",
    ):
        module = importlib.import_module(name)
        original = module.tqdm

        def _tqdm(iterable=None, *args, _original=original, **kwargs):
            if kwargs.get("disable") and iterable is not None and not args:
                return iterable
            return _original(iterable, *args, **kwargs)

        module.tqdm = _tqdm
    _SHIMMED = True


def simulate(hw: SimHardware, layer: SimLayer) -> dict[str, Any]:
    """Simulate one layer run with SCALE-Sim; returns its cycle counts (see module docstring)."""
    install_shims()
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory(prefix="evodse_scalesim_") as td:
        cfg = os.path.join(td, "arch.cfg")
        topo = os.path.join(td, "topo.csv")
        layout = os.path.join(td, "layout.csv")
        with open(cfg, "w") as f:
            f.write(config_text(hw))
        with open(topo, "w") as f:
            f.write(topology_text([("L0", layer)]))
        with open(layout, "w") as f:  # required by the API; unused with custom layouts off
            f.write(LAYOUT_TEXT)
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(
                save_disk_space=True,
                verbose=False,
                config=cfg,
                topology=topo,
                layout=layout,
                input_type_gemm=layer.mode == "gemm",
            )
            sim.run_scale(top_path=os.path.join(td, "out"))
        seconds = time.perf_counter() - t0
        n_layers = len(sim.runner.single_layer_sim_object_list)
        if n_layers != 1:  # pragma: no cover - SCALE-Sim split the layer
            raise RuntimeError(f"SCALE-Sim simulated {n_layers} layers instead of 1")
        with open(os.path.join(td, "out", RUN_NAME, "COMPUTE_REPORT.csv")) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    header = [x.strip() for x in lines[0].split(",")]
    row = [x.strip() for x in lines[1].split(",")]
    report = dict(zip(header, row, strict=False))
    total = int(report["Total Cycles"])
    stalls = int(report["Stall Cycles"])
    return {
        "total_cycles": total,
        "stall_cycles": stalls,
        "compute_cycles": total - stalls,
        "total_cycles_incl_prefetch": int(report["Total Cycles (incl. prefetch)"]),
        "overall_util_percent": float(report["Overall Util %"]),
        "sim_seconds": round(seconds, 3),
        "scalesim_version": scalesim_version(),
    }
