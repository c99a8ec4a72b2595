"""A compact index of hashes for deduplication: sorted NumPy runs, merged like a log-structured tree.

Deduplicating a million rows in a Python ``set`` or ``dict`` costs about 100 bytes an entry, and
MinHash LSH keeps one entry per band per row: 20 bands x 1M rows would be 2 GB. Here each band
is a list of sorted runs of ``(hash, row)`` pairs as ``uint32``/``uint64`` arrays (8-12 bytes an
entry); a new batch is a new run, and runs of similar size are merged (so there are at most
log2(n) runs and every entry is re-sorted O(log n) times). Lookups are one ``searchsorted`` per run.

Only the hashes stay in memory: a large run's row numbers and the kept rows' ids are read back
for the few rows whose hash matches, so they live in unnamed temporary files
(``graph.cleaning.spill``): at a million rows that halves the near-dedup index.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from graph.cleaning.spill import SpillFile

SPILL_ENTRIES = 65_536
"""A run at least this long keeps its row numbers in a temporary file instead of memory."""
Rows = np.ndarray | SpillFile


class HashRuns:
    """Hash -> the first row number stored with it, for one band."""

    def __init__(self) -> None:
        """Start empty."""
        self._runs: list[tuple[np.ndarray, Rows]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(keys.nbytes + (rows.nbytes if isinstance(rows, np.ndarray) else 0) for keys, rows in self._runs)

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """Return, for each hash, the row stored with it (the earliest when several were), or -1."""
        found = np.full(len(hashes), -1, dtype=np.int64)
        for keys, rows in reversed(self._runs):  # oldest run last, so earlier rows win
            if not len(keys):
                continue
            at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
            hit = keys[at] == hashes
            if isinstance(rows, SpillFile):
                found[hit] = rows.take(at[hit]).ravel()
            else:
                found[hit] = rows[at[hit]]
        return found

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Store ``(hash, row)`` pairs (rows given in increasing order across calls)."""
        if not len(hashes):
            return
        self._runs.append(_stored(*_sorted_unique(hashes, rows.astype(np.uint32))))
        while len(self._runs) > 1 and len(self._runs[-1][0]) >= len(self._runs[-2][0]):
            newer, older = self._runs.pop(), self._runs.pop()
            merged = _sorted_unique(
                np.concatenate([older[0], newer[0]]), np.concatenate([_loaded(older[1]), _loaded(newer[1])])
            )
            for _, rows_of in (older, newer):
                if isinstance(rows_of, SpillFile):
                    rows_of.close()
            self._runs.append(_stored(*merged))


def _stored(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, Rows]:
    """Keep a large run's row numbers in a temporary file (only matching hashes read them back)."""
    if len(rows) < SPILL_ENTRIES:
        return keys, rows
    spilled = SpillFile(1, np.uint32)
    spilled.append(rows)
    return keys, spilled


def _loaded(rows: Rows) -> np.ndarray:
    return rows.all().ravel() if isinstance(rows, SpillFile) else rows


def _sorted_unique(hashes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort pairs by hash, keeping the earliest row of each hash (a stable sort keeps input order)."""
    order = np.argsort(hashes, kind="stable")
    keys, values = hashes[order], rows[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], values[first]


class IdList:
    """The ids of the kept rows, by row number, as UTF-8 in a temporary file (read back only for duplicates)."""

    def __init__(self) -> None:
        """Start empty."""
        self._blob = tempfile.TemporaryFile(prefix="dialogforge-clean-ids-")  # noqa: SIM115 (closed with the list)
        self._ends = SpillFile(1, np.int64)  # per id, where it ends in the blob
        self._size = 0

    def __len__(self) -> int:
        return len(self._ends)

    def extend(self, ids: list[str]) -> None:
        """Append ids (one batch's kept rows)."""
        if not ids:
            return
        encoded = [sample_id.encode("utf-8", "surrogatepass") for sample_id in ids]
        os.pwrite(self._blob.fileno(), b"".join(encoded), self._size)
        ends = self._size + np.cumsum([len(item) for item in encoded], dtype=np.int64)
        self._ends.append(ends)
        self._size = int(ends[-1])

    def __getitem__(self, row: int) -> str:
        if not 0 <= row < len(self._ends):
            raise IndexError(row)
        start = int(self._ends.read(row - 1)[0]) if row else 0
        end = int(self._ends.read(row)[0])
        return os.pread(self._blob.fileno(), end - start, start).decode("utf-8", "surrogatepass")
