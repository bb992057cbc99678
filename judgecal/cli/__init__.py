"""The ``judgecal`` command line: one module per command, the data options defined once.

Nothing in the library imports this package.
"""

from judgecal.cli.app import main

__all__ = ["main"]
