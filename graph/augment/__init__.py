"""Augmentation runs: each parent of a version through an operator and the judge loop."""
