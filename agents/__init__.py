"""LLM-facing roles of dialogforge: schemas, prompts, models, embeddings, generator, judge, rewriter."""
