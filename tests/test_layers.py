"""The package layers (docs/layers.md): the import-linter contracts of pyproject.toml hold, every
package and top-level module of evodse has its place in them, and nothing imports the package
facade (``evodse/__init__.py``, which sits above every layer)."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import grimp
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter's own TOML reader
    import tomli as tomllib

import evodse

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text("utf-8"))["tool"]["importlinter"]["contracts"]


def test_import_contracts_hold():
    status = lint_imports(config_filenames=(str(PYPROJECT),), no_cache=True, no_logo=True)
    assert status == EXIT_STATUS_SUCCESS


def test_every_package_has_a_layer():
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    placed = [name.strip() for layer in layers for name in layer.split("|")]
    assert len(placed) == len(set(placed))
    children = {f"evodse.{m.name}" for m in pkgutil.iter_modules(evodse.__path__)}
    assert set(placed) == children


def test_nothing_imports_the_package_facade():
    graph = grimp.build_graph("evodse", cache_dir=None)
    importers = sorted(graph.find_modules_that_directly_import("evodse"))
    assert importers == []


def test_docs_table_is_the_contract():
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    rows = [
        line.split(" | ")[0].removeprefix("| ")
        for line in (ROOT / "docs" / "layers.md").read_text("utf-8").splitlines()
        if line.startswith("| `evodse.")
    ]
    documented = [" | ".join(n.strip(" `") for n in row.split("\\|")) for row in rows]
    assert documented == [" | ".join(n.strip() for n in layer.split("|")) for layer in layers]
