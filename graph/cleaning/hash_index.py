"""A compact index of hashes for deduplication: sorted NumPy runs, merged like a log-structured tree.

Deduplicating a million rows in a Python ``set`` or ``dict`` costs about 100 bytes an entry, and
MinHash LSH keeps one entry per band per row: 20 bands x 1M rows would be 2 GB. Here each band
is a list of sorted runs of ``(hash, row)`` pairs as ``uint32``/``uint64`` arrays (8-12 bytes an
entry); a new batch is a new run, and runs of similar size are merged (so there are at most
log2(n) runs and every entry is re-sorted O(log n) times). Lookups are one ``searchsorted`` per run.
"""

from __future__ import annotations

import bisect

import numpy as np


class HashRuns:
    """Hash -> the first row number stored with it, for one band."""

    def __init__(self) -> None:
        """Start empty."""
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(keys.nbytes + rows.nbytes for keys, rows in self._runs)

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """Return, for each hash, the row stored with it (the earliest when several were), or -1."""
        found = np.full(len(hashes), -1, dtype=np.int64)
        for keys, rows in reversed(self._runs):  # oldest run last, so earlier rows win
            if not len(keys):
                continue
            at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
            hit = keys[at] == hashes
            found[hit] = rows[at[hit]]
        return found

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Store ``(hash, row)`` pairs (rows given in increasing order across calls)."""
        if not len(hashes):
            return
        self._runs.append(_sorted_unique(hashes, rows.astype(np.uint32)))
        while len(self._runs) > 1 and len(self._runs[-1][0]) >= len(self._runs[-2][0]):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append(
                _sorted_unique(np.concatenate([older[0], newer[0]]), np.concatenate([older[1], newer[1]]))
            )


def _sorted_unique(hashes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort pairs by hash, keeping the earliest row of each hash (a stable sort keeps input order)."""
    order = np.argsort(hashes, kind="stable")
    keys, values = hashes[order], rows[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], values[first]


class IdList:
    """The ids of the kept rows, by row number, packed as UTF-8 bytes (a Python list of str costs ~60 bytes an id)."""

    def __init__(self) -> None:
        """Start empty."""
        self._blobs: list[bytes] = []
        self._offsets: list[np.ndarray] = []
        self._starts: list[int] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def extend(self, ids: list[str]) -> None:
        """Append ids (one batch's kept rows)."""
        if not ids:
            return
        encoded = [sample_id.encode("utf-8", "surrogatepass") for sample_id in ids]
        self._blobs.append(b"".join(encoded))
        self._offsets.append(np.concatenate([[0], np.cumsum([len(item) for item in encoded])]).astype(np.int64))
        self._starts.append(self._count)
        self._count += len(ids)

    def __getitem__(self, row: int) -> str:
        chunk = bisect.bisect_right(self._starts, row) - 1
        if chunk < 0 or row >= self._count:
            raise IndexError(row)
        offsets, local = self._offsets[chunk], row - self._starts[chunk]
        return self._blobs[chunk][offsets[local] : offsets[local + 1]].decode("utf-8", "surrogatepass")
