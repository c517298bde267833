"""Shared fixtures: a small valid hardware design, hand-built networks, YAML file writers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from evodse.errors import InputError
from evodse.hardware import Accelerator, accelerator_from_dict
from evodse.workload import (
    Conv2d,
    Elementwise,
    Linear,
    MatMul,
    Network,
    Norm,
    Pool2d,
    Softmax,
)

DATA_DIR = Path(__file__).parent / "data"

#: A small valid design with every hardware key (a fresh copy per test via ``hw_dict``).
SMALL_HW: dict[str, Any] = {
    "name": "small",
    "pe_rows": 4,
    "pe_cols": 4,
    "dataflow": "ws",
    "ifmap_sram_kib": 8,
    "weight_sram_kib": 8,
    "ofmap_sram_kib": 4,
    "dram_bandwidth_gbps": 4,
    "frequency_mhz": 500,
    "precision_bits": 8,
    "vector_lanes": 4,
    "technology_nm": 45,
}


@contextlib.contextmanager
def _raises_naming(*parts: str) -> Iterator[pytest.ExceptionInfo[InputError]]:
    with pytest.raises(InputError) as info:
        yield info
    message = str(info.value)
    assert "\n" not in message, f"multi-line message: {message!r}"
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.fixture
def raises_naming() -> Callable[..., contextlib.AbstractContextManager]:
    """``with raises_naming("file.yaml", "key"):`` expects a one-line InputError naming them."""
    return _raises_naming


@pytest.fixture
def data_dir() -> Path:
    """``tests/data``: small workload and hardware YAML fixtures."""
    return DATA_DIR


@pytest.fixture
def hw_dict() -> dict[str, Any]:
    """A fresh copy of a small valid hardware mapping."""
    return dict(SMALL_HW)


@pytest.fixture
def make_hw() -> Callable[..., Accelerator]:
    """``make_hw(**changes)``: the small design with some keys changed (validated)."""

    def make(**changes: Any) -> Accelerator:
        return accelerator_from_dict({**SMALL_HW, **changes})

    return make


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[Any, str], Path]:
    """``write_yaml(data_or_text, filename)``: a YAML file in ``tmp_path`` (text written as is)."""

    def write(data: Any, filename: str = "file.yaml") -> Path:
        path = tmp_path / filename
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def every_op_network() -> Network:
    """A hand-built network with one of every operation type (and asymmetric conv padding)."""
    ops = (
        Conv2d(
            name="conv",
            in_channels=3,
            out_channels=8,
            in_h=15,
            in_w=12,
            kernel_h=3,
            kernel_w=5,
            stride_h=2,
            stride_w=1,
            pad_top=1,
            pad_bottom=0,
            pad_left=2,
            pad_right=1,
            dilation_h=1,
            dilation_w=2,
            bias=True,
        ),
        Conv2d(
            name="dw",
            in_channels=8,
            out_channels=8,
            in_h=8,
            in_w=8,
            kernel_h=3,
            kernel_w=3,
            pad_top=1,
            pad_bottom=1,
            pad_left=1,
            pad_right=1,
            groups=8,
        ),
        Pool2d(
            name="pool",
            channels=8,
            in_h=8,
            in_w=8,
            kernel_h=3,
            kernel_w=3,
            stride_h=2,
            stride_w=2,
            ceil_mode=True,
        ),
        Norm(name="bn", elements=8 * 4 * 4, channels=8, mode="batch"),
        Elementwise(name="act", elements=8 * 4 * 4, inputs=1, ops_per_element=4, function="gelu"),
        Linear(name="proj", in_features=16, out_features=24, tokens=8),
        MatMul(name="qk", m=8, n=8, k=6, count=4),
        Softmax(name="softmax", rows=32, row_length=8),
        Pool2d(name="gap", channels=8, in_h=4, in_w=4, kernel_h=4, kernel_w=4, mode="avg"),
        Linear(name="head", in_features=8, out_features=10, bias=False),
    )
    return Network(name="every_op", ops=ops, batch=1)
