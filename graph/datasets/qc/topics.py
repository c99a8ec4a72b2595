"""The topic map: embed sampled user turns, cluster them, project them to 2-D, label the clusters.

One fit over the rows of every compared version, so ``--against`` shows both versions in the same
coordinates with the same cluster colours. Clusters are k-means (scikit-learn) on the embeddings;
the 2-D projection is t-SNE (scikit-learn, PCA-initialised, seeded), which keeps neighbours
together where a plain PCA piles a few hundred short dialogues into one blob. A cluster's label is
its most distinctive words (how much more often they occur in the cluster than in the whole
sample), and its example is the row nearest to the cluster's centre. Near-duplicate groups are the
connected components of pairs at or above a cosine similarity.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from agents.embeddings import Embedder
from graph.datasets.qc.terms import words

MAX_CLUSTERS = 12
EMBED_CHARS = 200
_LABEL_WORDS = 3


@dataclass(frozen=True)
class TopicMap:
    """Coordinates, clusters and labels of the embedded rows (in the order they were given)."""

    xy: np.ndarray
    clusters: np.ndarray
    labels: list[str]
    examples: list[str]
    vectors: np.ndarray


def cluster_count(rows: int) -> int:
    """Return how many clusters to fit: about sqrt(rows / 2), between 2 and ``MAX_CLUSTERS``."""
    return max(2, min(MAX_CLUSTERS, round(math.sqrt(rows / 2)))) if rows >= 4 else 1


def embed_texts(embedder: Embedder, texts: Sequence[str], batch: int = 256) -> np.ndarray:
    """Embed texts (each cut to ``EMBED_CHARS`` characters) in batches."""
    if not texts:
        return np.empty((0, embedder.dim), dtype=np.float32)
    parts = [
        embedder.embed([t[:EMBED_CHARS] or " " for t in texts[i : i + batch]]) for i in range(0, len(texts), batch)
    ]
    return np.vstack(parts).astype(np.float32)


def project(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """Return 2-D coordinates of the vectors (t-SNE; PCA for fewer than 10 rows)."""
    count = len(vectors)
    if count == 0:
        return np.empty((0, 2))
    if count < 3:
        return np.column_stack([np.arange(count, dtype=float), np.zeros(count)])
    from sklearn.decomposition import PCA

    if count < 10:
        return np.asarray(PCA(n_components=2, random_state=seed).fit_transform(vectors))
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (count - 1) / 4)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=350)
    return np.asarray(tsne.fit_transform(vectors))


def _label(members: list[list[str]], overall: Counter[str], total: int) -> str:
    counts: Counter[str] = Counter()
    for tokens in members:
        counts.update(set(tokens))
    size = max(1, len(members))
    scored = [
        (count / size * math.log(1 + total / max(1, overall[word])), word)
        for word, count in counts.items()
        if count >= 2 or size < 4
    ]
    best = [word for _, word in sorted(scored, key=lambda item: (-item[0], item[1]))[:_LABEL_WORDS]]
    return " · ".join(best) if best else "(no common words)"


def topic_map(vectors: np.ndarray, texts: Sequence[str], chinese: bool, seed: int = 0) -> TopicMap:
    """Cluster, project and label embedded rows."""
    count = len(vectors)
    distinct = len(np.unique(vectors.round(5), axis=0)) if count else 0
    k = min(cluster_count(count), max(1, distinct))  # no more clusters than distinct points: none stays empty
    if count == 0:
        return TopicMap(np.empty((0, 2)), np.empty(0, int), [], [], vectors)
    if k == 1:
        clusters = np.zeros(count, dtype=int)
        centres = vectors.mean(axis=0, keepdims=True)
    else:
        from sklearn.cluster import KMeans

        fitted = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(vectors)
        clusters, centres = fitted.labels_.astype(int), fitted.cluster_centers_
    tokens = [words(text, chinese) for text in texts]
    overall: Counter[str] = Counter()
    for row in tokens:
        overall.update(set(row))
    labels, examples = [], []
    for index in range(len(centres)):
        members = np.flatnonzero(clusters == index)
        labels.append(_label([tokens[i] for i in members], overall, count))
        if members.size:
            nearest = members[int(np.argmax(vectors[members] @ centres[index]))]
            examples.append(texts[nearest])
        else:
            examples.append("")
    return TopicMap(project(vectors, seed), clusters, labels, examples, vectors)


def near_duplicate_groups(vectors: np.ndarray, bound: float) -> list[np.ndarray]:
    """Return groups (row indices) of two or more rows linked by cosine similarity >= ``bound``, largest first."""
    if len(vectors) < 2:
        return []
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0.0)
    rows, cols = np.nonzero(np.triu(similarity >= bound))
    if rows.size == 0:
        return []
    graph = csr_matrix((np.ones(rows.size), (rows, cols)), shape=similarity.shape)
    _, labels = connected_components(graph, directed=False)
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    return sorted((g for g in groups if g.size > 1), key=lambda g: (-g.size, int(g[0])))
