"""The single source of judgecal's version."""

__version__ = "0.2.0"
