"""One batch through a run of row and keyed operators: the work a worker process does.

The worker applies the row operators in order (a dropped row skips the rest) and computes the
keys of the keyed operators for the rows alive at their place. It cannot know which rows a keyed
operator will drop (that needs the index in the main process), so it carries on with them; the
main process then discards what it did to rows dropped earlier (see ``graph.cleaning.chain``),
which gives exactly the result of running the chain one operator at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.schemas import Sample
from graph.cleaning.base import Change, Decision, Drop, Flag, Keep, KeyedOperator, Operator, RowOperator
from graph.cleaning.batch import TurnRows, turn_rows
from graph.cleaning.report import Example, change_example, drop_example

ExampleKey = tuple[int, str, str]
"""(operator position, bucket: dropped / changed / flagged, code)."""

EXAMPLES_PER_BATCH = 3


@dataclass
class SegmentResult:
    """What a run of operators made of one batch.

    Attributes:
        events: Per operator position, the rows (by index in the batch) it did not simply keep.
        keys: Per keyed operator position, the rows it saw and their keys.
        final: The last turns of every row some operator changed (as the ``turns`` column holds them).
        examples: A few redacted examples per operator, bucket and code.
    """

    events: dict[int, dict[int, Decision]] = field(default_factory=dict)
    keys: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    final: dict[int, TurnRows] = field(default_factory=dict)
    examples: dict[ExampleKey, list[Example]] = field(default_factory=dict)


def _bucket(decision: Decision) -> tuple[str, str]:
    if isinstance(decision, Drop):
        return "dropped", decision.code
    if isinstance(decision, Flag):
        return "flagged", decision.code
    assert isinstance(decision, Change)
    return "changed", decision.what


def run_segment(operators: list[tuple[int, Operator]], samples: list[Sample]) -> SegmentResult:
    """Apply row operators and key keyed operators over one batch (see the module docstring)."""
    result = SegmentResult()
    current = list(samples)
    alive = list(range(len(samples)))
    for position, operator in operators:
        if isinstance(operator, KeyedOperator):
            rows = np.array(alive, dtype=np.int64)
            result.keys[position] = (rows, operator.keys([current[i] for i in alive]))
            continue
        assert isinstance(operator, RowOperator)
        events: dict[int, Decision] = {}
        survivors = []
        for index, decision in zip(alive, operator.decide_batch([current[i] for i in alive]), strict=True):
            if isinstance(decision, Keep):
                survivors.append(index)
                continue
            events[index] = decision
            bucket, code = _bucket(decision)
            examples = result.examples.setdefault((position, bucket, code), [])
            if isinstance(decision, Change):
                if len(examples) < EXAMPLES_PER_BATCH:
                    examples.append(change_example(current[index].id, current[index].turns, decision.turns))
                current[index] = current[index].model_copy(update={"turns": decision.turns})
                result.final[index] = turn_rows(decision.turns)
                survivors.append(index)
                continue
            if len(examples) < EXAMPLES_PER_BATCH:
                duplicate = decision.duplicate_of if isinstance(decision, Drop) else None
                examples.append(drop_example(current[index], decision.detail, duplicate))
            if isinstance(decision, Flag):
                survivors.append(index)
        result.events[position] = events
        alive = survivors
    return result
