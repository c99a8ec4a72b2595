"""The cleaning operators, one module each (registered by name in ``graph.cleaning.registry``)."""
