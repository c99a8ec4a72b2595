"""The per-sample LangGraph loop, the Chroma memory and the dataset job runner."""
