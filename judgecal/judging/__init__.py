"""Calling judges: parsers, the calibrated judge, runners over one engine, and the cache.

Never imports the PyMC backend: a fitted calibrator predicts from stored arrays.
"""
