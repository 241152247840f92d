"""Benchmarks: `python -m bench.<name>`; each prints its figures and the goal it is held to."""
