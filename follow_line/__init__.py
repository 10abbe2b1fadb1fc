"""follow_line: a Formula-1 car follows the red line, driven by neural networks."""

__version__ = "0.1.0"
