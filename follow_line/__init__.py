"""follow_line: a Formula-1 car follows the red line, driven by neural networks."""

import os

# TensorFlow is imported lazily, for networks only; keep its C++ start-up chatter quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
