"""The Bayesian calibrator: partial pooling across stages, credible intervals.

``calibrator`` is the estimator; ``_pymc_backend`` is the only module in
judgecal that imports pymc, pytensor or arviz, and it is imported only when
a fit uses NUTS or the posterior is asked for as ``InferenceData``.
"""
