"""What an augmented child must not repeat (graph.augment.seen): the whole parent set, word for word or
nearly, and the accepted children; while staying close to its own parent is the operator's business."""

from __future__ import annotations

from agents.schemas import Lineage, Sample, Turn
from graph.augment.seen import Seen

TOPICS = [
    "my landlord kept the whole deposit after I moved out of the flat in March",
    "the airline lost my suitcase on a connecting flight through Frankfurt last week",
    "my manager scheduled a performance review without telling me what it is about",
    "the gym keeps charging my card although I cancelled the membership in writing",
    "my neighbour's dog barks every night from midnight until about three in the morning",
]


def dialogue(user: str, reply: str) -> list[Turn]:
    return [Turn(role="user", content=user), Turn(role="assistant", content=reply)]


def sample(sample_id: str, turns: list[Turn]) -> Sample:
    return Sample(id=sample_id, status="accepted", system="", turns=turns, lineage=Lineage(origin="import"))


def parent_set(extra: int = 0) -> list[Sample]:
    """The five parents above, then ``extra`` distinct filler parents (a large set, searched by LSH)."""
    rows = [
        sample(f"p{index}", dialogue(f"Honestly, {topic}.", f"That sounds stressful: {topic} is not fair to you."))
        for index, topic in enumerate(TOPICS)
    ]
    rows += [
        sample(f"f{index}", dialogue(f"Question number {index} about invoice {index * 7919}", f"Answer {index}"))
        for index in range(extra)
    ]
    return rows


def test_a_child_that_nearly_repeats_another_parent_of_a_large_set_is_a_duplicate() -> None:
    seen, rows = Seen(), parent_set(extra=3000)
    for start in range(0, len(rows), 500):
        seen.add_parents(rows[start : start + 500])
    own, other = rows[0], rows[1]
    copy_of_other = dialogue(
        f"Honestly, {TOPICS[1]}!", f"That sounds stressful: {TOPICS[1]} is not fair to you at all."
    )
    failure = seen.duplicate(own, copy_of_other)
    assert failure is not None and failure.code == "near_duplicate" and other.id in failure.reason


def test_word_for_word_repeats_of_any_parent_or_child_are_duplicates() -> None:
    seen, rows = Seen(), parent_set()
    seen.add_parents(rows)
    copy = [Turn(role=turn.role, content=turn.content.upper() + " !") for turn in rows[0].turns]
    failure = seen.duplicate(rows[0], copy)
    assert failure is not None and "word for word" in failure.reason
    child = dialogue("A brand new question about a parking fine in Leeds", "Let us look at the fine together.")
    assert seen.duplicate(rows[2], child) is None
    seen.add_child(rows[2].id, "c1", child)
    repeat = seen.duplicate(rows[3], child)
    assert repeat is not None and "word for word" in repeat.reason


def test_an_extension_keeps_its_own_parent_and_a_different_child_passes() -> None:
    seen, rows = Seen(), parent_set()
    twin = sample("twin", [Turn(role=turn.role, content=turn.content + " Really.") for turn in rows[0].turns])
    seen.add_parents([*rows, twin])
    extended = [
        *rows[0].turns,
        *dialogue("What can I do about it this week?", "Write to them and ask for the itemised deductions."),
    ]
    assert seen.duplicate(rows[0], extended) is None  # closer to its own parent than to the parent's twin
    paraphrase = dialogue(
        "The flat's owner refused to give back any of my deposit once I left in spring.",
        "How unfair to keep all of it; you deserve a list of what they deducted.",
    )
    assert seen.duplicate(rows[0], paraphrase) is None


def test_a_near_repeat_of_a_sibling_is_a_duplicate_every_time() -> None:
    seen, rows = Seen(), parent_set()
    seen.add_parents(rows)
    first = dialogue(
        "The owner of my old flat is holding on to the entire deposit since March.",
        "Keeping all of it sounds unfair; ask them in writing for every deduction.",
    )
    seen.add_child(rows[0].id, "c1", first)
    again = dialogue(
        "The owner of my old flat is holding on to the entire deposit since March!",
        "Keeping all of it sounds unfair; ask them in writing for every deduction please.",
    )
    failure = seen.duplicate(rows[0], again)
    assert failure is not None and "sibling" in failure.reason
