"""Datasets and training.

Recording with the explicit driver, loading, labels, augmentation, training, offline
metrics and regeneration of the shipped zoo. Imports world and driving.
"""
