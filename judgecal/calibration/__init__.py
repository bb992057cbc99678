"""Calibrators: judge score (and stage) -> P(a human would agree).

One base owns stage routing, fitted state and the fitted check; isotonic,
logistic, feature-adjusted and Bayesian calibrators build on it. ``bayes/``
holds the Bayesian calibrator, its numpy fast path and the only module that
imports PyMC. Importing this package imports none of them.
"""
