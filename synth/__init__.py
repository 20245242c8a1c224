"""synth: a synthetic data engine for human pose and shape research."""

__version__ = "0.1.0"
