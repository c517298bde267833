"""The ``evodse`` command line."""
