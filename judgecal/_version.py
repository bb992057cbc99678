"""The single source of judgecal's version."""

__version__ = "0.1.0"
