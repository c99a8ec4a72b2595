"""Character shingles, MinHash signatures, LSH band hashes and n-gram counts for a whole batch of texts at once.

Shingle hashes are computed with NumPy over the batch's code points (a rolling FNV-style
combination of ``n`` consecutive characters, then a 64-bit finalizer), never one Python string
per shingle; ``rensa`` turns the flat hash buffer into MinHash signatures in Rust.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import rensa

_PRIME = np.uint64(0x100000001B3)
_MIX1, _MIX2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_SPACES = re.compile(r"\s+")
_TEXT_BITS = np.uint64(40)
_BAND_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15 ^ (index * 0xBF58476D1CE4E5B9 % (1 << 64)) | 1 for index in range(32)], dtype=np.uint64
)


def _finalize(values: np.ndarray) -> np.ndarray:
    """Mix 64-bit values (MurmurHash3's finalizer) so that nearby inputs give unrelated hashes."""
    values = values ^ (values >> np.uint64(33))
    values = values * _MIX1
    values = values ^ (values >> np.uint64(33))
    values = values * _MIX2
    return values ^ (values >> np.uint64(33))


def _rolling(codes: np.ndarray, n: int) -> np.ndarray:
    """Return at every position a hash of the ``n`` code points starting there (past the end: padded)."""
    padded = np.concatenate([codes, np.zeros(n, dtype=np.uint64)])
    rolling = np.zeros(len(codes), dtype=np.uint64)
    for k in range(n):
        rolling = (rolling * _PRIME) ^ (padded[k : k + len(codes)] + np.uint64(1))
    return rolling


def _positions(lengths: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return the start positions of ``counts[i]`` n-grams of each text, in the texts' concatenation."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + within


def _code_points(texts: Sequence[str]) -> np.ndarray:
    return np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def top_ngram_shares(texts: Sequence[str], n: int = 4) -> np.ndarray:
    """Return per text the share of its non-space characters covered by its most frequent character n-gram.

    (``count x n / characters``, at most 1; 0 for texts shorter than ``2 n`` or with no repeated
    n-gram.) All texts are counted at once: the n-grams of every text are hashed (40 bits, with
    the text's number in the high bits), sorted, and the longest run of one key per text is its
    most frequent n-gram.
    """
    compact = [_SPACES.sub("", text) for text in texts]
    lengths = np.fromiter((len(text) for text in compact), dtype=np.int64, count=len(compact))
    shares = np.zeros(len(compact), dtype=np.float64)
    counts = np.where(lengths >= 2 * n, lengths - n + 1, 0)
    if not counts.any():
        return shares
    positions = _positions(lengths, counts)
    owners = np.repeat(np.arange(len(compact), dtype=np.uint64), counts)
    keys = (owners << _TEXT_BITS) | (_finalize(_rolling(_code_points(compact), n)[positions]) >> np.uint64(24))
    keys.sort()
    run_starts = np.concatenate([[0], np.flatnonzero(keys[1:] != keys[:-1]) + 1])
    run_lengths = np.diff(np.concatenate([run_starts, [len(keys)]]))
    run_owners = (keys[run_starts] >> _TEXT_BITS).astype(np.int64)
    first_runs = np.concatenate([[0], np.flatnonzero(run_owners[1:] != run_owners[:-1]) + 1])
    best = np.maximum.reduceat(run_lengths, first_runs)
    owners_with_runs = run_owners[first_runs]
    shares[owners_with_runs] = np.where(best > 1, np.minimum(1.0, best * n / lengths[owners_with_runs]), 0.0)
    return shares


def shingle_hashes(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the 64-bit hashes of every text's character n-grams, flat, and each text's offsets into them.

    A text shorter than ``n`` counts as one shingle (itself); an empty text as one empty shingle.
    """
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    codes = _code_points(texts)
    rolling = _rolling(codes, n)
    counts = np.maximum(lengths - n + 1, 1)
    positions = _positions(lengths, counts)
    hashes = (
        rolling[np.minimum(positions, max(len(codes) - 1, 0))] if len(codes) else np.zeros(len(positions), np.uint64)
    )
    short = np.repeat(lengths < n, counts)
    if short.any():  # a short text's only "shingle" is the whole text: hash its code points
        whole = np.array([hash_text(text) for text in texts], dtype=np.uint64)
        hashes = np.where(short, np.repeat(whole, counts), hashes)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    return _finalize(hashes), offsets


def hash_text(text: str) -> int:
    """Return a stable 64-bit hash of a whole (short) text."""
    value = 0xCBF29CE484222325
    for char in text:
        value = ((value ^ ord(char)) * 0x100000001B3) % (1 << 64)
    return value


def minhash_signatures(texts: Sequence[str], n: int, num_perm: int, seed: int) -> np.ndarray:
    """Return the MinHash signature of every text's n-gram set, shape ``(len(texts), num_perm)``, uint32."""
    if not texts:
        return np.zeros((0, num_perm), dtype=np.uint32)
    hashes, offsets = shingle_hashes(texts, n)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, num_perm, seed)
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(texts), num_perm)


def band_hashes(signatures: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """Return one 32-bit hash per LSH band per row, shape ``(rows, bands)``."""
    out = np.empty((len(signatures), bands), dtype=np.uint32)
    values = signatures.astype(np.uint64)
    for band in range(bands):
        block = values[:, band * rows_per_band : (band + 1) * rows_per_band]
        combined = (block * _BAND_MULTIPLIERS[:rows_per_band]).sum(axis=1, dtype=np.uint64) + np.uint64(band)
        out[:, band] = (_finalize(combined) >> np.uint64(32)).astype(np.uint32)
    return out


def bbit_sketch(signatures: np.ndarray) -> np.ndarray:
    """Return the lowest 8 bits of every MinHash value (b-bit MinHash, 1 byte a permutation)."""
    return (signatures & 0xFF).astype(np.uint8)
