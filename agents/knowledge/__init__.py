"""Knowledge sources for grounded samples: reading the user's documents and cutting them into passages.

``readers`` turns files (Markdown, text, HTML, PDF, JSON/JSONL/CSV of questions and answers) into
documents; ``chunking`` cuts them into passages at sentence boundaries (Chinese and English);
``passage`` is the shape the generator, the checks and the judge receive. The persistent index
(Chroma) and retrieval live in ``graph/knowledge.py``.
"""
