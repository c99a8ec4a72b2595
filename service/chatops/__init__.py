"""Platform-neutral chat operations: command grammar, message texts, job calls and bounds."""
