"""Scripted roles and wiring shared by the loop and job-runner tests."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from agents.judge_plan import plan_for
from agents.schemas import Sample
from agents.styles import StylePack, builtin_styles
from benchmarks.fake_llm import fake_answer
from graph.builder import build_graph, recursion_limit
from graph.memory import TopicMemory
from graph.nodes import LoopDeps
from graph.progress import JobEvent
from graph.state import LoopConfig
from graph.topic_planner import TopicPlanner
from tests.fakes import FakeEmbedder, fake_role_models, json_schema, prompt_text, schema_name

# The shipped threshold is calibrated for e5; the bigram FakeEmbedder needs seed 000's original 0.40.
GENTLE = builtin_styles()["gentle"].model_copy(update={"min_exemplar_similarity": 0.40})
MARKER_RULE = "reply lacks a style marker: use one of 呀/呢/啦 - for example change"
Override = Callable[[str, int], str]


# ------------------------------------------------------------------ scripted roles


def role_of(messages: list[BaseMessage], options: dict[str, Any]) -> str:
    name = schema_name(options)
    if name == "JudgeAnswer":
        return "judge"
    if name == "TopicBatch":
        return "topics"
    return "rewriter" if "You repair training samples" in prompt_text(messages) else "generator"


class Script:
    """Answers like benchmarks.fake_llm unless a role is overridden; records every prompt per role."""

    def __init__(self, **overrides: Override) -> None:
        self.overrides = overrides
        self.prompts: dict[str, list[str]] = defaultdict(list)
        self.schemas: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def __call__(self, messages: list[BaseMessage], options: dict[str, Any]) -> str:
        role, prompt = role_of(messages, options), prompt_text(messages)
        self.prompts[role].append(prompt)
        override = self.overrides.get(role)
        self.schemas[role].append(json_schema(options))
        if override is None:
            return fake_answer(prompt, json_schema(options))
        return override(prompt, len(self.prompts[role]))

    def count(self, role: str) -> int:
        return len(self.prompts[role])


def markerless(prompt: str, call: int) -> str:
    dialogue = json.loads(fake_answer(prompt, "DraftAnswer"))
    for exchange in dialogue["exchanges"]:
        exchange["assistant"] = exchange["assistant"].replace("呢", "").replace("呀", "").replace("啦", "")
    return json.dumps(dialogue, ensure_ascii=False)


def judge_scores(reasons: dict[str, str] | None = None, feedback: str = "", **scores: int) -> Override:
    def answer(prompt: str, call: int) -> str:
        verdict = json.loads(fake_answer(prompt, "JudgeAnswer"))
        for name, item in verdict.items():
            if name != "feedback":
                item["score"] = scores.get(name, item["score"])
                item["reason"] = (reasons or {}).get(name, item["reason"])
        verdict["feedback"] = feedback
        return json.dumps(verdict, ensure_ascii=False)

    return answer


def first_calls(override: Override, times: int = 1) -> Override:
    """Use ``override`` for the first ``times`` calls of a role, then answer normally."""

    def answer(prompt: str, call: int) -> str:
        if call <= times:
            return override(prompt, call)
        return fake_answer(prompt, "JudgeAnswer" if "Score the criteria" in prompt else "DraftAnswer")

    return answer


def raising(prompt: str, call: int) -> str:
    raise RuntimeError("model exploded")


def not_json(prompt: str, call: int) -> str:
    return "not json"


def same_dialogue(prompt: str, call: int) -> str:
    exchange = {
        "user": "最近下雨天没带伞的事让我有点烦",
        "assistant": "听起来下雨天没带伞真的让你很费心呢，要不要和我说说现在的感受呀？(^_−)☆",
    }
    return json.dumps({"exchanges": [exchange]}, ensure_ascii=False)


# ------------------------------------------------------------------ wiring


def make_deps(
    data_dir: Path,
    script: Script,
    *,
    pack: StylePack = GENTLE,
    workspace: str = "ws",
    config: LoopConfig | None = None,
    brainstorm: bool = True,
    planner_type: type[TopicPlanner] = TopicPlanner,
) -> LoopDeps:
    embedder = FakeEmbedder()
    memory = TopicMemory(data_dir, workspace, pack.name, embedder, rng=random.Random(0))
    models = fake_role_models(script)
    planner = planner_type(pack, memory, models.topics if brainstorm else None)
    return LoopDeps(
        pack=pack,
        models=models,
        memory=memory,
        embedder=embedder,
        planner=planner,
        judge_plan=plan_for(pack.rubric),
        config=config or LoopConfig(),
    )


async def run_one(deps: LoopDeps, sample_id: str = "s1", topic: str | None = None) -> dict[str, Any]:
    initial: dict[str, Any] = {"sample_id": sample_id, "rewrites": 0, "attempts": [], "usage": {}}
    if topic:
        initial["topic"] = topic
    state = await build_graph(deps).ainvoke(initial, config={"recursion_limit": recursion_limit(deps)})
    deps.planner.release_for(sample_id)
    return state


class Events:
    def __init__(self) -> None:
        self.events: list[JobEvent] = []

    async def __call__(self, event: JobEvent) -> None:
        self.events.append(event)

    def samples(self) -> list[Sample]:
        return [event.sample for event in self.events if event.kind == "sample" and event.sample is not None]
