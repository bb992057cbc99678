"""Records: judgments, human ratings, scales, and the loaders that build them.

Owns the boundary: every file or frame a user brings is validated here, and
everything past it works on arrays. Never imports calibration, judging or
estimates.
"""
