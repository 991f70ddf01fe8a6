"""Sampling rare populations: sample sizes, allocation, selection, adaptive and network estimators,
a synthetic population and a design simulator (the trainer's toolkit)."""
