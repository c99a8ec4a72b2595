"""Plain pairs: one exchange per row from the columns ``--map`` names (CSV, JSON, Parquet alike)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from graph.datasets.formats.base import Converted, Dialogue, FieldError, convert_rows, text
from graph.datasets.readers.base import RawBatch


@dataclass
class PairsFormat:
    """One exchange per row from named columns: ``--map user=question,assistant=answer[,system=...]``."""

    user: str
    assistant: str
    system: str | None = None
    name: str = "pairs"

    def read_schema(self) -> pa.Schema | None:
        """Pairs are read whole."""
        return None

    def parse(self, record: dict[str, Any]) -> Dialogue:
        """Return the system prompt and the one exchange of a row."""
        for column in (self.user, self.assistant):
            if column not in record:
                raise FieldError(column, f"column missing; the row has: {', '.join(map(str, record)) or 'nothing'}")
        system = text(record.get(self.system), self.system, required=False) if self.system else ""
        return system, [
            ("user", text(record[self.user], self.user)),
            ("assistant", text(record[self.assistant], self.assistant)),
        ]

    def convert(self, batch: RawBatch) -> Converted:
        """Convert a batch row by row."""
        return convert_rows(batch, self.parse, range(len(batch)))

    def finish(self) -> None:
        """Nothing is held between batches."""
        return None
