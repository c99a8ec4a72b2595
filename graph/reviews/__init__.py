"""Human review of a data set version: assignment, durable decisions, agreement, and applying them.

``store.ReviewStore`` keeps rounds, item snapshots, queues and decisions in SQLite
(``data_dir/reviews.db``); ``assign`` draws a stratified sample into per-reviewer queues;
``agreement`` measures reviewers against each other; ``status`` checks seed 001's targets;
``apply`` turns decisions into a new version through the data-set store's writer. The web page
(service/http/routers/review.py) and the CLI (service/cli/review.py) sit on top; the eval harness
(evals/reviews.py) reads the decisions as labels.
"""
