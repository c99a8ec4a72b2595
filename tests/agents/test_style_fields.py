"""Style-pack field rules: names and aliases, blank markers and phrases, nesting bounds, stored packs."""

from __future__ import annotations

import json

import pytest

from agents.styles import StylePack, StylePackError, builtin_styles, parse_style_pack
from tests.agents.test_styles import minimal_pack, pack_error


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        (["../x"], "aliases.0: Value error, '../x' is not a valid alias"),
        ([""], "aliases.0: Value error, must be 1-64 characters, got 0"),
        (["x" * 100_000], "must be 1-64 characters, got 100000"),
        (["Gentle"], "aliases.0: Value error, 'Gentle' is not a valid alias"),
        (["a b"], "is not a valid alias"),
        (["a\u200bb"], "is not a valid alias"),  # an invisible character
        (["dup"] * 5_000, "aliases: Value error, at most 16 aliases, got 5000"),
        (["x", "x"], "aliases must be unique; repeated: x"),
        (["tiny"], "'tiny' is the pack's own name"),
    ],
)
def test_aliases_follow_the_name_rules(aliases: list[str], expected: str) -> None:
    assert expected in pack_error(minimal_pack(aliases=aliases))


def test_aliases_may_use_any_script() -> None:
    pack = parse_style_pack(json.dumps(minimal_pack(aliases=["温柔", "信用卡客服", "ok-2", "café"])))
    assert pack.aliases == ["温柔", "信用卡客服", "ok-2", "café"]


@pytest.mark.parametrize("field", ["markers", "forbidden", "topics"])
@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_blank_markers_phrases_and_topics_are_refused(field: str, value: str) -> None:
    message = pack_error(minimal_pack(**{field: ["呀", value]}))
    assert f"{field}.1: Value error, must not be empty or only whitespace" in message


def test_deep_nesting_in_a_pack_file_is_refused() -> None:
    with pytest.raises(StylePackError, match="nesting too deep"):
        parse_style_pack("name: tiny\ntopics: " + "[" * 50_000, "deep.yaml")


def test_non_finite_numbers_are_refused() -> None:
    assert "temperature" in pack_error(minimal_pack(temperature=float("nan")))
    message = pack_error(minimal_pack(min_exemplar_similarity=float("inf")))
    assert "min_exemplar_similarity" in message


def test_a_stored_pack_reads_back_without_the_new_rules() -> None:
    # a job saved before a rule existed still resumes with the pack it started with
    data = {**minimal_pack(), "markers": [""], "aliases": ["../x"] * 20}
    pack = StylePack.stored(json.dumps(data))
    assert pack.markers == [""] and len(pack.aliases) == 20


def test_shipped_names_and_aliases_are_one_namespace() -> None:
    keys = [key for pack in builtin_styles().values() for key in (pack.name, *pack.aliases)]
    assert len(keys) == len(set(keys))
