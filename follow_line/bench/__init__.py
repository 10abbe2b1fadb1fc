"""Benchmarks of drivers on circuits.

The run matrix, perturbations, tables, plots, inference performance and the README's
generated sections. Imports world and driving.
"""
