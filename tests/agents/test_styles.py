from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.paths import STYLES_DIR
from agents.styles import (
    MAX_STYLE_PACK_BYTES,
    StylePack,
    StylePackError,
    builtin_styles,
    load_style_file,
    parse_style_pack,
    resolve_style,
)

SHIPPED = sorted(path.stem for path in STYLES_DIR.glob("*.yaml"))


def minimal_pack(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "tiny",
        "description": "a tiny test pack",
        "system_prompt": "You are kind.",
        "examples": [{"user": "hello there", "assistant": "hi, how are you today?"}],
        "rubric": [{"name": "empathy", "description": "cares", "threshold": 4}],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def pack_error(data: Any) -> str:
    with pytest.raises(StylePackError) as caught:
        parse_style_pack(yaml.safe_dump(data, allow_unicode=True), "test.yaml")
    return str(caught.value)


def test_all_four_packs_ship() -> None:
    assert set(SHIPPED) >= {"gentle", "snarky", "empathetic-cs", "bank-cs"}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_pack_loads(name: str) -> None:
    pack = load_style_file(STYLES_DIR / f"{name}.yaml")
    assert pack.name == name
    assert pack.system_prompt.strip()
    assert pack.examples and all(example.user.strip() and example.assistant.strip() for example in pack.examples)
    assert pack.rubric and all(1 <= criterion.threshold <= 5 for criterion in pack.rubric)
    assert pack.reply_bounds.min_chars <= pack.reply_bounds.max_chars
    assert pack.topics, "every shipped pack lists candidate topics"
    assert len(pack.digest()) == 12


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_seed_texts_are_complete(name: str) -> None:
    # A '#' after a space starts a YAML comment: every '#' in the file's data lines must reach the pack.
    path = STYLES_DIR / f"{name}.yaml"
    data_lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.strip().startswith("#")]
    loaded = json.dumps(load_style_file(path).model_dump(), ensure_ascii=False)
    assert loaded.count("#") >= sum(line.count("#") for line in data_lines)


def test_empathetic_seed_keeps_order_number() -> None:
    pack = resolve_style("empathetic-cs")
    first = pack.examples[0]
    assert "#ORD12345" in first.user
    assert first.user.endswith("I'm really worried.")
    assert "#ORD12345" in first.assistant
    assert first.assistant.endswith("resolve this.")


def test_builtin_styles_keyed_by_name() -> None:
    packs = builtin_styles()
    assert sorted(packs) == SHIPPED
    assert all(isinstance(pack, StylePack) for pack in packs.values())


@pytest.mark.parametrize(
    ("query", "expected"),
    [("gentle", "gentle"), ("温柔", "gentle"), ("毒舌", "snarky"), ("snarky", "snarky"), ("bank", "bank-cs")],
)
def test_resolve_by_name_or_alias(query: str, expected: str) -> None:
    assert resolve_style(query).name == expected


def test_resolve_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(minimal_pack(name="mine")), encoding="utf-8")
    assert resolve_style(str(path)).name == "mine"
    assert resolve_style(str(STYLES_DIR / "gentle.yaml")).name == "gentle"


def test_resolve_missing_path(tmp_path: Path) -> None:
    with pytest.raises(StylePackError, match="style pack file not found"):
        resolve_style(str(tmp_path / "nope.yaml"))


def test_resolve_extra_packs() -> None:
    extra = {"tiny": StylePack.model_validate(minimal_pack(aliases=["小"]))}
    assert resolve_style("小", extra).name == "tiny"


def test_unknown_style_lists_known_ones() -> None:
    with pytest.raises(StylePackError) as caught:
        resolve_style("pirate")
    message = str(caught.value)
    assert "'pirate'" in message
    for name in SHIPPED:
        assert name in message


def test_minimal_pack_defaults() -> None:
    pack = parse_style_pack(yaml.safe_dump(minimal_pack()))
    assert pack.language == "en"
    assert pack.markers == [] and pack.topics == []
    assert pack.thresholds == {"empathy": 4}


def test_digest_follows_content() -> None:
    one = StylePack.model_validate(minimal_pack())
    assert one.digest() == StylePack.model_validate(minimal_pack()).digest()
    assert one.digest() != StylePack.model_validate(minimal_pack(system_prompt="You are cold.")).digest()


def test_error_names_rubric_threshold() -> None:
    message = pack_error(minimal_pack(rubric=[{"name": "empathy", "description": "cares", "threshold": 9}]))
    assert message.startswith("invalid style pack test.yaml: ")
    assert "rubric.0.threshold" in message


def test_error_names_missing_system_prompt() -> None:
    message = pack_error(minimal_pack(system_prompt=None))
    assert "system_prompt: Field required" in message


def test_error_names_unknown_field() -> None:
    message = pack_error(minimal_pack(colour="blue"))
    assert "colour: Extra inputs are not permitted" in message


def test_error_names_unknown_field_in_a_seed() -> None:
    message = pack_error(minimal_pack(examples=[{"user": "hi", "assistant": "hello", "mood": "happy"}]))
    assert "examples.0.mood" in message


def test_error_on_duplicate_criteria() -> None:
    criterion = {"name": "style", "description": "voice"}
    message = pack_error(minimal_pack(rubric=[criterion, criterion]))
    assert "rubric" in message
    assert "repeated: style" in message


def test_error_on_bounds_out_of_order() -> None:
    message = pack_error(minimal_pack(reply_bounds={"min_chars": 50, "max_chars": 10}))
    assert "reply_bounds" in message
    assert "min_chars (50) is larger than max_chars (10)" in message


def test_error_lists_every_problem() -> None:
    message = pack_error(minimal_pack(name="Bad Name", examples=[], temperature=5))
    assert "name:" in message and "examples:" in message and "temperature:" in message


@pytest.mark.parametrize(("text", "kind"), [("", "NoneType"), ("- a\n- b\n", "list"), ("just text", "str")])
def test_error_on_non_mapping_yaml(text: str, kind: str) -> None:
    with pytest.raises(StylePackError, match=f"must be a mapping of fields, got {kind}"):
        parse_style_pack(text, "x.yaml")


def test_error_on_invalid_yaml() -> None:
    with pytest.raises(StylePackError, match="is not valid YAML"):
        parse_style_pack("name: [unclosed", "x.yaml")


def test_error_on_oversize_pack() -> None:
    text = yaml.safe_dump(minimal_pack(description="x")) + "# " + "x" * MAX_STYLE_PACK_BYTES + "\n"
    with pytest.raises(StylePackError, match="larger than 256 KiB"):
        parse_style_pack(text, "big.yaml")


def test_error_on_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(StylePackError, match="cannot read style pack"):
        load_style_file(tmp_path / "missing.yaml")
