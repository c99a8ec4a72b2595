"""The augmentation runner and its child loop with fake models (no sockets): bounded parents in flight,
the judge's reasons and the operator's contract reach the rewriter, duplicates and failures are counted
and never stop the other children, and accepted children carry their lineage."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from langchain_core.messages import BaseMessage

from agents.admission import Admission
from agents.augment.registry import get_operator, parse_spec
from agents.bounded_chat import BoundedChatModel
from agents.job_calls import work_in_flight
from agents.judge_plan import plan_for
from agents.llm import RoleModels
from agents.schemas import Lineage, Sample, Turn
from agents.styles import StylePack, builtin_styles
from graph.augment.loop import AugmentDeps
from graph.augment.runner import AugmentRunner
from graph.augment.source import RowSource
from graph.progress import Budget
from tests.fakes import FakeEmbedder, ScriptedChatModel, SlowChatModel, prompt_text, template_responder

GENTLE = builtin_styles()["gentle"]
PARAPHRASE = parse_spec("paraphrase", {"min_similarity": 0.0})


def parents(count: int) -> list[Sample]:
    """``count`` one-exchange parents about different things."""
    things = ["猫", "狗", "考试", "加班", "下雨", "搬家", "面试", "失眠"]
    return [
        Sample(
            id=f"p{index}",
            status="accepted",
            system="",
            turns=[
                Turn(role="user", content=f"我最近因为{things[index]}的事有点烦"),
                Turn(role="assistant", content=f"{things[index]}的事一定让你很累吧，想和我聊聊吗呀？"),
            ],
            lineage=Lineage(origin="import", topic=things[index]),
        )
        for index in range(count)
    ]


def paraphrase_of(prompt: str) -> str:
    """A paraphrase answer naming the parent's topic, different in words (valid for the gentle pack)."""
    user = prompt.split("User: ", 1)[1].split("\n", 1)[0]
    thing = user.removeprefix("我最近因为").removesuffix("的事有点烦")
    reply = {"user": f"这阵子{thing}让我心里不太舒服", "assistant": f"为了{thing}烦心真的辛苦啦，说说发生了什么呢？"}
    return json.dumps({"exchanges": [reply]}, ensure_ascii=False)


def models(generator: Any, judge: Any | None = None) -> RoleModels:
    judge = judge or ScriptedChatModel(responder=template_responder)
    names = {"generator": "fake", "judge": "fake", "rewriter": "fake", "topics": "fake"}
    return RoleModels(generator=generator, judge=judge, rewriter=generator, topics=judge, names=names)


def run(
    role_models: RoleModels,
    rows: list[Sample],
    *,
    per_sample: int = 1,
    concurrency: int = 2,
    budget: Budget | None = None,
    previous: list[Sample] | None = None,
    pack: StylePack = GENTLE,
) -> Any:
    plans = {"paraphrase": plan_for(get_operator("paraphrase").criteria(pack, PARAPHRASE))}
    deps = AugmentDeps(role_models, FakeEmbedder(), plans, max_rewrites=1)
    runner = AugmentRunner(
        deps, pack, [PARAPHRASE], per_sample=per_sample, concurrency=concurrency, parent_version="cs@1",
        budget=budget,
    )  # fmt: skip
    source = RowSource(lambda: iter([rows[:3], rows[3:]]))
    runner.restore(source, previous or [])
    finished: list[Sample] = []

    async def keep(child: Sample) -> None:
        finished.append(child)

    report = asyncio.run(runner.run(source, keep))
    assert report is runner.report and (budget is None or runner.stop_reason is not None)
    return report, [child for child in finished if child.status == "accepted"]


def test_calls_and_parents_are_bounded_in_flight_and_children_carry_lineage() -> None:
    generator = SlowChatModel(responder=lambda messages, options: paraphrase_of(prompt_text(messages)))
    bounded = BoundedChatModel(inner=generator, admission=Admission())  # as the engine wraps every role
    report, children = run(models(bounded), parents(8), concurrency=2)
    assert generator.max_in_flight == 2 and len(generator.calls) == 8  # the concurrency bounds the calls
    report, children = run(models(generator), parents(6), concurrency=2)
    assert generator.max_in_flight == work_in_flight(2) == 3  # parents in flight: half as many again
    assert len(generator.calls) == 8 + 6
    assert report.parents == 6 and report.accepted == {"paraphrase": 6} and not report.rejected
    assert {child.lineage.parent_id for child in children} == {f"p{index}" for index in range(6)}
    child = children[0]
    assert child.lineage.origin == "augmented" and child.lineage.operator == "paraphrase"
    assert child.lineage.parent_version == "cs@1" and child.lineage.params["variant"] == 0
    assert child.lineage.tokens["generator"].calls == 1 and child.lineage.tokens["judge"].calls >= 1
    assert child.verdict is not None and child.verdict.passed


def test_a_child_keeps_its_parents_language_whatever_the_packs_and_style_transfer_takes_the_packs() -> None:
    english_pack = GENTLE.model_copy(update={"language": "en"})  # a mixed version augmented with one pack
    generator = ScriptedChatModel(responder=lambda messages, options: paraphrase_of(prompt_text(messages)))
    report, _ = run(models(generator), parents(3), pack=english_pack)
    assert report.accepted == {"paraphrase": 3} and not report.rejected  # Chinese children of Chinese rows
    english_parent = Sample(
        id="e1", status="accepted", system="", turns=[Turn(role="user", content="I lost my card today"),
        Turn(role="assistant", content="Let us freeze it in the app right away.")], lineage=Lineage(origin="import"),
    )  # fmt: skip
    english = get_operator("paraphrase").pack_for(english_parent, GENTLE)
    assert english.language == "en" and english.reply_bounds.max_chars == 2 * GENTLE.reply_bounds.max_chars
    assert get_operator("style-transfer").pack_for(english_parent, GENTLE) is GENTLE  # the target voice's language


def test_a_copy_is_rewritten_with_the_contract_and_a_repeat_sibling_is_a_duplicate() -> None:
    def copy_then_paraphrase(messages: list[BaseMessage], options: dict[str, Any]) -> str:
        prompt = prompt_text(messages)
        if "Sample to repair" in prompt:  # the rewriter: its prompt quotes the contract and the reasons
            assert "This sample is a paraphrase of the original dialogue" in prompt and "reuse the original" in prompt
            return paraphrase_of(prompt.split("Original:\n", 1)[1])
        user, reply = prompt.split("User: ", 1)[1].split("\n")[:2]
        copy = {"user": user, "assistant": reply.removeprefix("Assistant: ")}
        return json.dumps({"exchanges": [copy]}, ensure_ascii=False)

    generator = ScriptedChatModel(responder=copy_then_paraphrase)
    report, children = run(models(generator), parents(1), per_sample=2)
    assert report.accepted == {"paraphrase": 1} and report.rewrites == 2
    assert report.rejected == {"near_duplicate": 1}  # the second child repaired into the first one's words
    assert [attempt.kind for attempt in children[0].attempts] == ["generate", "rewrite"]
    assert children[0].attempts[0].failure_codes == ["copy"]


def test_a_failing_child_is_counted_and_the_others_go_on() -> None:
    def explode_for_the_cat(messages: list[BaseMessage], options: dict[str, Any]) -> str:
        prompt = prompt_text(messages)
        if "因为猫" in prompt:
            raise RuntimeError("model exploded")
        return paraphrase_of(prompt)

    report, children = run(models(ScriptedChatModel(responder=explode_for_the_cat)), parents(3))
    assert report.rejected == {"error": 1} and report.accepted == {"paraphrase": 2} and len(children) == 2


def test_a_budget_stops_new_children_and_a_restored_run_skips_the_finished_ones() -> None:
    responder = ScriptedChatModel(responder=lambda messages, options: paraphrase_of(prompt_text(messages)))
    report, first = run(models(responder), parents(6), concurrency=1, budget=Budget(max_attempts=2))
    assert report.started == 2 and len(first) == 2  # the budget: no third child started

    generator = ScriptedChatModel(responder=lambda messages, options: paraphrase_of(prompt_text(messages)))
    report, rest = run(models(generator), parents(6), concurrency=2, previous=first)
    assert len(generator.calls) == 4 and report.accepted == {"paraphrase": 6}  # counted with the earlier two
    assert {c.lineage.parent_id for c in first}.isdisjoint(c.lineage.parent_id for c in rest)
