"""Where work runs besides this process: a Ray cluster (the session and the sample workers)."""
