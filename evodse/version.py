"""The package version, read by the package, the CLI and the run records (``summary.json``)
from here, the lowest layer, so no module imports the package facade for it."""

__version__ = "0.1.0"
