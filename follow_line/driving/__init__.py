"""What drives the car: frames in, (v, w) out.

Preprocessing (vision), the frame buffer, model cards, inference backends, the pilot, the
explicit driver, the network builders (nets/), the shipped models (zoo) and the closed loop
of one run. Imports the world, never learning or bench.
"""
