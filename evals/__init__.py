"""The judge eval harness: judge prompts measured against human labels."""
