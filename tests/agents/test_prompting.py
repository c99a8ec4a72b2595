from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agents.generator import generator_messages
from agents.judge import judge_dialogue
from agents.knowledge.passage import Passage
from agents.paths import JUDGE_PROMPTS_DIR, PROMPTS_DIR
from agents.prompting import PromptError, judge_prompt, judge_prompt_names, load_prompt, parse_prompt, role_prompt
from agents.rewriter import rewriter_messages
from agents.schemas import Turn
from agents.styles import StylePack, builtin_styles
from agents.topics import brainstorm_topics
from tests.fakes import ScriptedChatModel, prompt_text, template_responder

STYLES = sorted(builtin_styles())
JUDGES = judge_prompt_names()
SCORING_JUDGES = [name for name in JUDGES if judge_prompt(name).checklist is None]  # 1-5 prompts (not yes/no)
LANGUAGE = {"zh": "Simplified Chinese", "en": "English"}
TURNS = [Turn(role="user", content="my parcel never came"), Turn(role="assistant", content="so sorry, let me check")]


def pack_named(name: str) -> StylePack:
    return builtin_styles()[name]


def text(messages: list) -> str:
    return prompt_text(messages)


# ------------------------------------------------------------------ strict rendering


def test_render_gives_system_then_user() -> None:
    template = parse_prompt("### system\nYou are $who.\n### user\nSay ${word}!", "t")
    messages = template.render(who="kind", word="hi")
    assert isinstance(messages[0], SystemMessage) and messages[0].content == "You are kind."
    assert isinstance(messages[1], HumanMessage) and messages[1].content == "Say hi!"
    assert template.variables == {"who", "word"}


def test_missing_variable_is_named() -> None:
    template = parse_prompt("### system\n$a and $b\n### user\n$c", "t")
    with pytest.raises(PromptError, match=r"prompt t: missing variables \['b', 'c'\]"):
        template.render(a=1)


def test_unknown_variable_is_named() -> None:
    template = parse_prompt("### system\n$a\n### user\nfixed", "t")
    with pytest.raises(PromptError, match=r"unknown variables \['extra'\]"):
        template.render(a=1, extra=2)


def test_double_dollar_is_literal() -> None:
    template = parse_prompt("### system\nIt costs $$5 for $item.\n### user\nok", "t")
    assert template.variables == {"item"}
    assert template.render(item="tea")[0].content == "It costs $5 for tea."


def test_json_braces_survive() -> None:
    template = parse_prompt('### system\nAnswer {"turns": [{"role": "user"}]} in $language.\n### user\ngo', "t")
    assert template.render(language="English")[0].content == 'Answer {"turns": [{"role": "user"}]} in English.'


def test_values_are_not_reinterpreted() -> None:
    template = parse_prompt("### system\n$a\n### user\nx", "t")
    assert template.render(a="$b {c} $$")[0].content == "$b {c} $$"


@pytest.mark.parametrize(
    "source",
    [
        "no sections at all",
        "### system\nonly system",
        "### user\nonly user",
        "### system\na\n### user\nb\n### user\nc",
        "### system\na\n### system\nb\n### user\nc",
    ],
)
def test_malformed_sections_are_rejected(source: str) -> None:
    with pytest.raises(PromptError, match="exactly one '### system' and one '### user'"):
        parse_prompt(source, "bad")


def test_stray_dollar_is_a_prompt_error() -> None:
    with pytest.raises(PromptError, match=r"prompt bad: stray .\$. in the system section"):
        parse_prompt("### system\nIt costs $5.\n### user\nok", "bad")


def test_digest_changes_with_text() -> None:
    one = parse_prompt("### system\na\n### user\nb", "t")
    assert one.digest == parse_prompt("### system\na\n### user\nb", "t").digest
    assert one.digest != parse_prompt("### system\na.\n### user\nb", "t").digest
    assert len(one.digest) == 12


def test_load_prompt_reads_files(tmp_path: Path) -> None:
    path = tmp_path / "mine.md"
    path.write_text("### system\nhello $name\n### user\nbye", encoding="utf-8")
    template = load_prompt(path)
    assert template.name == "mine"
    assert template.variables == {"name"}
    with pytest.raises(PromptError, match="cannot read prompt"):
        load_prompt(tmp_path / "missing.md")


# ------------------------------------------------------------------ shipped prompts


@pytest.mark.parametrize("role", ["generator", "rewriter", "topics"])
def test_role_prompts_parse(role: str) -> None:
    template = role_prompt(role)
    assert template.name == role
    assert template.variables
    assert template.digest == parse_prompt((PROMPTS_DIR / f"{role}.md").read_text(encoding="utf-8"), role).digest


def test_judge_prompt_names_default_first() -> None:
    assert JUDGES[0] == "anchored"
    assert set(JUDGES) == {path.stem for path in JUDGE_PROMPTS_DIR.glob("*.md")}
    assert len(JUDGES) >= 2


@pytest.mark.parametrize("name", JUDGES)
def test_judge_prompts_parse(name: str) -> None:
    template = judge_prompt(name)
    assert template.name == name
    if template.checklist is not None:  # yes/no questions, one call each (agents/checklist.py)
        assert template.variables == {"instruction", "dialogue", "question"}
    else:
        assert template.variables == {"persona", "rubric", "dialogue", "criteria", "reference"}


def test_judge_prompt_by_path_only_when_allowed() -> None:
    path = str(JUDGE_PROMPTS_DIR / "anchored.md")
    assert judge_prompt(path, allow_path=True).digest == judge_prompt().digest
    for name in (path, "../rewriter", "../judge/anchored"):  # names from the network never reach a file
        with pytest.raises(PromptError):
            judge_prompt(name)


def test_unknown_judge_prompt_lists_known() -> None:
    with pytest.raises(PromptError) as caught:
        judge_prompt("harsh")
    assert "'harsh'" in str(caught.value)
    assert all(name in str(caught.value) for name in JUDGES)


@pytest.mark.parametrize("style", STYLES)
def test_generator_prompt_renders(style: str) -> None:
    pack = pack_named(style)
    rendered = text(generator_messages(pack, "a rainy Monday", ["covered one", "covered two"], exchanges=2))
    assert pack.system_prompt in rendered
    assert pack.examples[0].user in rendered and pack.examples[-1].assistant in rendered
    assert "Topic of the new sample: a rainy Monday" in rendered
    assert "- covered one\n- covered two" in rendered
    assert LANGUAGE[pack.language] in rendered
    assert f"{pack.reply_bounds.min_chars}-{pack.reply_bounds.max_chars} characters" in rendered
    assert f"{pack.user_bounds.min_chars}-{pack.user_bounds.max_chars} characters" in rendered
    assert "with exactly 2 exchange(s)" in rendered
    assert '{"exchanges": [{"user": "...", "assistant": "..."}]}' in rendered
    assert "Reference passages" not in rendered and '"cited"' not in rendered
    assert "$" not in rendered
    if pack.markers:
        assert "must contain at least one of: " + " / ".join(pack.markers) + "." in rendered
    else:
        assert "must contain at least one of" not in rendered


def test_generator_prompt_with_passages_asks_for_citations() -> None:
    passages = [Passage("points.md#2", "积分有效期为两年。", "points.md", "积分")]
    rendered = text(generator_messages(pack_named("bank-cs"), "积分快过期了", [], passages=passages))
    assert "Reference passages (the only facts the assistant may state):\n[points.md#2] 积分有效期为两年。" in rendered
    assert 'before each reply list in "cited" the ids' in rendered and "$" not in rendered
    rewrite = text(rewriter_messages(pack_named("bank-cs"), TURNS, ["x"], passages=passages))
    assert "[points.md#2]" in rewrite and '"cited"' in rewrite


def test_generator_prompt_without_neighbours() -> None:
    rendered = text(generator_messages(pack_named("gentle"), "t", []))
    assert "(nothing yet)" in rendered


@pytest.mark.parametrize("style", STYLES)
def test_rewriter_prompt_renders(style: str) -> None:
    pack = pack_named(style)
    problems = ["reply lacks a style marker: use one of 呢/呀/啦", "judge feedback: be warmer"]
    rendered = text(rewriter_messages(pack, TURNS, problems))
    assert pack.system_prompt in rendered
    assert "User: my parcel never came\nAssistant: so sorry, let me check" in rendered
    assert "- reply lacks a style marker: use one of 呢/呀/啦\n- judge feedback: be warmer" in rendered
    assert LANGUAGE[pack.language] in rendered
    assert "$" not in rendered
    if pack.markers:
        assert " / ".join(pack.markers) in rendered


def test_rewriter_prompt_for_unreadable_answer() -> None:
    rendered = text(rewriter_messages(pack_named("gentle"), [], []))
    assert "(the previous answer could not be read)" in rendered
    assert "(no details given" in rendered


@pytest.mark.parametrize("style", STYLES)
async def test_topics_prompt_renders(style: str) -> None:
    pack = pack_named(style)
    model = ScriptedChatModel(responder=template_responder)
    topics, usage, error = await brainstorm_topics(model, pack, ["old topic"], count=5)
    assert error is None and len(topics) == 5 and usage.calls == 1
    rendered = text(model.calls[0][0])
    assert pack.system_prompt in rendered
    assert (pack.topic_hint or pack.description) in rendered
    assert "- old topic" in rendered
    assert "Give 5 new, different situations." in rendered
    assert LANGUAGE[pack.language] in rendered


@pytest.mark.parametrize("name", SCORING_JUDGES)
@pytest.mark.parametrize("style", STYLES)
async def test_judge_prompt_renders(style: str, name: str) -> None:
    pack = pack_named(style)
    model = ScriptedChatModel(responder=template_responder)
    verdict, _ = await judge_dialogue(model, judge_prompt(name), pack.rubric, TURNS, pack.system_prompt)
    assert verdict.passed and verdict.prompt_name == name
    rendered = text(model.calls[0][0])
    assert pack.system_prompt in rendered
    assert "User: my parcel never came" in rendered
    assert "Score the criteria: " + ", ".join(criterion.name for criterion in pack.rubric) in rendered
    for criterion in pack.rubric:
        assert f"- {criterion.name}: {criterion.description}" in rendered
    assert "$" not in rendered
