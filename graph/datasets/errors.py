"""Errors of the data-set layer: one root with a stable machine ``code``; messages say what to fix.

The CLI prints ``error: <message>`` (exit 2); the HTTP service maps each ``code`` to a status once
(``service/http/errors.py``). Messages never contain row contents beyond a short excerpt.
"""

from __future__ import annotations

from dataclasses import dataclass


class DatasetError(Exception):
    """Base class: ``code`` is a stable machine name, the message is for people."""

    code = "dataset_error"


class InvalidNameError(DatasetError):
    """A data set name, tag or reference is malformed (or would escape the store's folder)."""

    code = "invalid_name"


class DatasetNotFoundError(DatasetError):
    """No data set has this name."""

    code = "dataset_not_found"


class VersionNotFoundError(DatasetError):
    """The data set exists but has no such version; the message lists the versions it has."""

    code = "version_not_found"


class DatasetConflictError(DatasetError):
    """The operation would overwrite something that exists (a tag, a file)."""

    code = "dataset_conflict"


class SourceError(DatasetError):
    """An input cannot be read: missing file, unknown kind, undecodable bytes, not in the HF cache."""

    code = "bad_source"


class FormatError(DatasetError):
    """The rows' format is unknown or ambiguous; the message says which option chooses it."""

    code = "bad_format"


class BadRowError(DatasetError):
    """A row is malformed and ``--on-error fail`` is in force; names the file, row and field."""

    code = "bad_row"


class ExportRowError(DatasetError):
    """A version cannot be exported in the chosen format (names the sample)."""

    code = "export_failed"


@dataclass(frozen=True)
class RowProblem:
    """One input row that could not become a sample: where it is, which field, what is wrong.

    Attributes:
        file: The source file as the user named it.
        row: 1-based row number (the line number for JSON Lines).
        field: The field at fault, as a path such as ``conversations[2].from`` ("" for the row).
        message: What is wrong and how to fix it.
        raw: The row as it was read (a JSON line, a CSV record as an object), for the rejects file.
    """

    file: str
    row: int
    field: str
    message: str
    raw: object = None

    def __str__(self) -> str:
        where = f"{self.file}: row {self.row}"
        return f"{where}, field {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def record(self) -> dict[str, object]:
        """Return the rejects-file record of this problem."""
        return {"file": self.file, "row": self.row, "field": self.field, "error": self.message, "raw": self.raw}
