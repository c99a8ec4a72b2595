"""The sample ids written so far in one version, kept small: 8 bytes an id in a sorted NumPy array.

A content-derived id (16 hex digits) is its own 64-bit key; any other id is keyed by a 64-bit
BLAKE2b of it (a false "already there" needs a 64-bit collision: about 1 in 10^7 for a billion ids).
"""

from __future__ import annotations

import binascii
import hashlib
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def id_key(sample_id: str) -> int:
    """Return the 64-bit key of one id."""
    if _HEX16.match(sample_id):
        return int(sample_id, 16)
    return int.from_bytes(hashlib.blake2b(sample_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def hex_keys(ids: pa.Array) -> np.ndarray:
    """Return the keys of content-derived ids (16 hex digits each), vectorised."""
    if not len(ids):
        return np.empty(0, dtype=np.uint64)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(ids)], pa.int32()), ids), "")[0].as_py()
    return np.frombuffer(binascii.unhexlify(joined), dtype=">u8").astype(np.uint64)


class IdIndex:
    """Which ids a version already has."""

    def __init__(self) -> None:
        """Start empty."""
        self._sorted = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._sorted)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Return, for each key, whether it is already in the index."""
        keys = np.asarray(keys, dtype=np.uint64)
        if not len(self._sorted):
            return np.zeros(len(keys), dtype=bool)
        where = np.searchsorted(self._sorted, keys).clip(max=len(self._sorted) - 1)
        return self._sorted[where] == keys

    def add(self, keys: np.ndarray) -> None:
        """Add keys (already checked to be new)."""
        merged = np.concatenate([self._sorted, np.asarray(keys, dtype=np.uint64)])
        self._sorted = np.sort(merged, kind="stable")  # two sorted runs: a linear merge

    def add_if_new(self, keys: np.ndarray) -> bool:
        """Add ``keys`` and return True if they are distinct and none is in the index yet; else add none.

        The common import case in one pass: the batch is sorted once, which finds its repeats,
        makes the look-ups cache-friendly and gives the insertion points of a linear merge.
        """
        ordered = np.sort(np.asarray(keys, dtype=np.uint64))
        if len(ordered) > 1 and bool((ordered[1:] == ordered[:-1]).any()):
            return False
        where = np.searchsorted(self._sorted, ordered)
        if len(self._sorted) and bool((self._sorted[where.clip(max=len(self._sorted) - 1)] == ordered).any()):
            return False
        self._sorted = np.insert(self._sorted, where, ordered)
        return True
