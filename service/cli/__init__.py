"""The ``dialogforge`` command line."""
