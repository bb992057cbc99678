"""Surface-feature bias: ablations of texts, experimental probes and observational comparisons."""
