"""The world the car drives in: circuits, built-in simulator and lap monitor.

The simulator is planar-move kinematics, a camera model, a parametric appearance and a
renderer. Imports nothing of follow_line but errors and files.
"""
