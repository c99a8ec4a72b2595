"""Data sets: versions, readers, exports and reports (the layer below the service)."""
