"""Peer runs of the cleaning benchmark: each script runs in the peer's own virtual environment."""
