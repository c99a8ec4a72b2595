"""Augmentation operators: a child sample from a parent, through the same judge loop as generation."""
