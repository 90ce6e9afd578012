"""The lessons room: one module per notebook (its experiment code) and one for its dashboard.

Lessons import `hyperviz.viz` and the core, never another lesson.
"""
