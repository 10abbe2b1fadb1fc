"""Gazebo assets generated from the circuit files.

Worlds and car models for Gazebo classic and gz-sim, and the gz bridge configuration.
"""
