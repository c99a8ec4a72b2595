"""The cleaning operator model: one base per kind of step, and the decision each makes per row.

Every operator has a ``name`` (what ``--ops`` and recipes call it), a one-line ``summary``, a
typed pydantic ``Params`` model (unknown or badly typed fields are refused with the field's name)
and makes one decision per row:

- :class:`Keep`: the row goes on unchanged;
- :class:`Change`: the row goes on with new turns (``what`` names the edit, e.g. ``nfkc``; the
  report shows the diff of a few examples);
- :class:`Flag`: the row goes on unchanged, counted under a code (``language`` with ``mode: flag``);
- :class:`Drop`: the row leaves the data set with a machine ``code`` (``exact_duplicate``,
  ``pii``...) and a ``detail`` for people. The detail never holds unredacted personal data.

Three kinds of operator (after datatrove's one base class per kind of step):

- :class:`RowOperator` decides from the row alone. Pure, so the chain runs it in worker
  processes, on both cores.
- :class:`KeyedOperator` (deduplication) computes a key per row in the workers (a content hash,
  MinHash band hashes) and decides in the main process, where an index of what was kept lives.
- :class:`MainOperator` runs in the main process on the rows that reached it, a batch at a time:
  :class:`LLMOperator` (``refusals:rewrite``, ``judge``) calls models in a style, with bounded
  concurrency; :class:`EmbeddingOperator` (``semantic-dedup``) embeds rows with the configured
  embedder (no LLM, no style).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from agents.schemas import Attempt, Sample, Turn

if TYPE_CHECKING:
    from agents.embeddings import Embedder


class OperatorParams(BaseModel):
    """The parameters of an operator; subclasses add typed fields with defaults and descriptions."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Keep:
    """The row goes on unchanged."""


@dataclass(frozen=True, slots=True)
class Change:
    """The row goes on with new turns.

    Attributes:
        turns: The row's turns after the edit.
        what: Short codes of the edits made, joined by ``+`` (``nfkc+whitespace``): the report counts them.
        attempts: Records to append to the row's attempts (an LLM operator's rewrites and verdicts).
    """

    turns: list[Turn]
    what: str
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class Drop:
    """The row leaves the data set.

    Attributes:
        code: A stable machine code (``exact_duplicate``, ``pii``, ``too_short``...).
        detail: A short explanation for people, with personal data redacted.
        duplicate_of: For deduplication, the id of the kept row this one duplicates.
    """

    code: str
    detail: str = ""
    duplicate_of: str | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """The row goes on unchanged, but is counted (and shown) under ``code`` in the report."""

    code: str
    detail: str = ""


KEEP = Keep()
Decision = Keep | Change | Drop | Flag


class Operator(ABC):
    """What every operator has: a name, a summary, typed parameters."""

    name: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[OperatorParams]] = OperatorParams
    shorthand: ClassVar[str | None] = None
    """The parameter that ``name:value`` sets (``refusals:rewrite`` sets ``mode``)."""

    def __init__(self, params: OperatorParams | None = None) -> None:
        """Keep the (validated) parameters; None means every default."""
        self.params = params if params is not None else self.Params()

    @classmethod
    def implementation(cls, params: OperatorParams) -> type[Operator]:
        """Return the class that runs these parameters (``refusals`` with ``mode: rewrite`` calls models)."""
        return cls

    @property
    def spec(self) -> dict[str, Any]:
        """Return the operator as the manifest and the report name it: name and every parameter."""
        return {"name": self.name, "params": self.params.model_dump(mode="json")}


class RowOperator(Operator):
    """An operator that decides from the row alone (run in worker processes)."""

    @abstractmethod
    def decide(self, sample: Sample) -> Decision:
        """Return the decision for one row."""

    def decide_batch(self, samples: Sequence[Sample]) -> list[Decision]:
        """Return the decision for each row; operators that vectorize part of the work override it."""
        return [self.decide(sample) for sample in samples]


class KeyedOperator(Operator):
    """An operator that keys each row in the workers and decides against an index in the main process."""

    @abstractmethod
    def keys(self, samples: Sequence[Sample]) -> np.ndarray:
        """Return one key row per sample: shape ``(len(samples),)`` or ``(len(samples), k)``, any dtype."""

    @abstractmethod
    def new_index(self) -> KeyIndex:
        """Return an empty index for one run of the chain."""


class KeyIndex(ABC):
    """The state of one keyed operator during one run: what was kept so far."""

    @abstractmethod
    def admit(self, ids: Sequence[str], keys: np.ndarray) -> list[Decision]:
        """Decide, in order, for rows that reached the operator; remember the kept ones."""

    def lineage(self, sample_id: str) -> dict[str, Any]:
        """Return what to record in a kept row's lineage (e.g. the ids its cluster dropped)."""
        return {}


class MainOperator(Operator):
    """An operator that runs in the main process on the rows that reached it, one batch at a time.

    Its rows are light samples (id, system and turns, as the worker operators see them).
    """

    @abstractmethod
    async def decide_batch(self, samples: Sequence[Sample]) -> list[Decision]:
        """Return one decision per row (an unreadable model answer keeps the row, never raises)."""

    def close(self) -> None:
        """Free what the run held (the chain calls it once its run ends, whether it finished or failed)."""


class LLMOperator(MainOperator):
    """An operator that calls models in a style (the chain needs a style and models for it)."""


class EmbeddingOperator(MainOperator):
    """An operator that embeds rows with the configured embedder (no LLM, no style)."""

    def __init__(self, params: OperatorParams, embedder: Embedder) -> None:
        """Keep the parameters and the embedder."""
        super().__init__(params)
        self.embedder = embedder
