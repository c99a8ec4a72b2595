"""The grounding check: a grounded reply must cite a passage, and state no number its passages lack.

Cheap and deterministic, like the other checks (no LLM): a reply of a pack that requires
grounding fails when it cites no passage, or when it states a number (a day count, an amount, a
rate) that appears in none of the passages it cites nor in the user's turn: invented fees and
deadlines are the commonest ungrounded claims. Step numbers ("1. ", "2、") are not claims. The
judge then checks the rest of the reply against the passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agents.checks import CheckFailure
from agents.knowledge.passage import Passage
from agents.schemas import Turn

_NUMBER = re.compile(r"(?<![\d.])\d+(?:[.,]\d+)*%?")
_STEP = re.compile(r"(?<![\d.])\d{1,2}(?=\s*[.、)）:：](?!\d))")
MAX_QUOTED = 3


def stated_numbers(text: str) -> list[str]:
    """Return the numbers a text states, step numbers left out ("1. 登录App" states none)."""
    steps = {match.start() for match in _STEP.finditer(text)}
    return [m.group(0).replace(",", "") for m in _NUMBER.finditer(text) if m.start() not in steps]


def check_grounding(
    turns: Sequence[Turn], citations: Sequence[Sequence[str]], passages: Sequence[Passage]
) -> list[CheckFailure]:
    """Check every reply cites a passage it was given and states only numbers found there.

    Args:
        turns: The dialogue (alternating user / assistant turns).
        citations: The passage ids each reply cites, one list per reply, in order.
        passages: The passages the writer was given.
    """
    by_id = {passage.id: passage for passage in passages}
    replies = [(index, turn) for index, turn in enumerate(turns) if turn.role == "assistant"]
    failures = []
    for number, (index, turn) in enumerate(replies, start=1):
        name = f"reply {number}" if len(replies) > 1 else "reply"
        cited = [by_id[pid] for pid in (citations[number - 1] if number <= len(citations) else []) if pid in by_id]
        if not cited:
            failures.append(
                CheckFailure(
                    "ungrounded",
                    f"{name} cites no passage: base it on the reference passages "
                    f"({', '.join(by_id) or 'none given'}) and list the ones it uses in cited",
                )
            )
            continue
        known = " ".join(passage.text for passage in cited) + " " + (turns[index - 1].content if index else "")
        allowed = set(stated_numbers(known))
        invented = [value for value in dict.fromkeys(stated_numbers(turn.content)) if value not in allowed]
        if invented:
            quoted = ", ".join(f"'{value}'" for value in invented[:MAX_QUOTED])
            failures.append(
                CheckFailure(
                    "ungrounded",
                    f"{name} states {quoted}, which the passages it cites ({', '.join(p.id for p in cited)}) do not: "
                    "use only the numbers the passages give",
                )
            )
    return failures
