"""Benchmarks of drivers on circuits.

The run matrix, perturbations, tables, plots, inference performance and the generated
sections of README.md and docs/. Imports world and driving.
"""
