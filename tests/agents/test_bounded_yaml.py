"""Bounded YAML loading: nesting depth and node count are checked on the parser's events, before recursion."""

from __future__ import annotations

import pytest
import yaml

from agents.bounded_yaml import MAX_DEPTH, YAMLBoundsError, check_bounds, load_bounded

ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]" for prev, name in zip("abcde", "bcdef", strict=True)]
)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 50_000,  # the review's 50,000 nested lists
        "{a: " * 20_000,  # and 20,000 nested mappings
        "".join("  " * level + "a:\n" for level in range(3_000)),  # block style
        "a: &a " + "[" * 15 + "1" + "]" * 15 + "\nb: &b [*a]\nc: " + "[" * 10 + "*b" + "]" * 10,  # deep through aliases
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "aliases"],
)
def test_deep_nesting_is_refused_before_recursion(text: str) -> None:
    with pytest.raises(YAMLBoundsError, match="nesting too deep"):
        load_bounded(text)
    print(f"refused {len(text):,} characters nested deeper than {MAX_DEPTH}")


def test_pure_python_parser_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agents.bounded_yaml._LOADER", yaml.SafeLoader)
    with pytest.raises(YAMLBoundsError, match="nesting too deep"):
        check_bounds("[" * 50_000)


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    with pytest.raises(YAMLBoundsError, match="too many values"):
        load_bounded(ALIAS_BOMB)  # 9**6 = 531,441 values once expanded


def test_text_within_the_bounds_loads_as_usual() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_bounded("a: [1, {b: two}]\nc: &c x\nd: *c") == {"a": [1, {"b": "two"}], "c": "x", "d": "x"}
    assert load_bounded('{"json": [1, 2.5, null, true]}') == {"json": [1, 2.5, None, True]}
    assert load_bounded(at_limit) is not None
    with pytest.raises(YAMLBoundsError):
        load_bounded("[" + at_limit + "]")


def test_not_yaml_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError):
        load_bounded("name: [unclosed")
