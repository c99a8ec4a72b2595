"""Fixed-width records in an unnamed temporary file: index data that only a few rows ever read back.

The dedup indexes keep, per kept row, data that is read only for the rare rows that look like a
duplicate (a near-dedup sketch, the row a band hash points to, the kept row's id). At a million
rows that is a few hundred megabytes; here it goes to a file that is unlinked as soon as it is
made (``tempfile.TemporaryFile``, in ``$TMPDIR``), so it lives in the page cache, not in the
process's memory, and nothing is left behind even after SIGKILL. Appends are ``pwrite`` calls
and reads are ``pread`` calls: the file is never mapped, so pages read back do not count towards
the process's RSS.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np


class SpillFile:
    """An append-only array of records of ``width`` items of ``dtype``, stored on disk."""

    def __init__(self, width: int, dtype: type[np.generic] | np.dtype = np.uint8) -> None:
        """Start empty; a record is ``width`` items of ``dtype``."""
        self.width, self.dtype = width, np.dtype(dtype)
        self._record = self.width * self.dtype.itemsize
        self._file = tempfile.TemporaryFile(prefix="dialogforge-clean-")  # noqa: SIM115 (closed by close())
        self._fd = self._file.fileno()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, records: np.ndarray) -> None:
        """Append records (an array of shape ``(n, width)``, or ``(n,)`` when ``width`` is 1)."""
        data = np.ascontiguousarray(records, dtype=self.dtype)
        if not data.size:
            return
        count = data.size // self.width
        os.pwrite(self._fd, data.tobytes(), self._count * self._record)
        self._count += count

    def read(self, row: int) -> np.ndarray:
        """Return one record (``width`` items)."""
        if not 0 <= row < self._count:
            raise IndexError(row)
        return np.frombuffer(os.pread(self._fd, self._record, row * self._record), dtype=self.dtype)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Return the records at ``rows`` (shape ``(len(rows), width)``), one read per row."""
        out = np.empty((len(rows), self.width), dtype=self.dtype)
        for at, row in enumerate(rows.tolist()):
            out[at] = self.read(row)
        return out

    def all(self) -> np.ndarray:
        """Return every record (shape ``(len, width)``); for merges, which read the whole file once."""
        data = os.pread(self._fd, self._count * self._record, 0) if self._count else b""
        return np.frombuffer(data, dtype=self.dtype).reshape(self._count, self.width)

    def close(self) -> None:
        """Close (and so delete) the file."""
        self._file.close()
