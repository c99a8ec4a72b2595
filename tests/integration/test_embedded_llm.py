"""The real embedded model: a structured draft, a judge call with logprobs, then a clean stop."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agents.answers import draft_schema
from agents.checklist import judge_checklist
from agents.judge import judge_dialogue
from agents.llm import RoleModels, check_reachable
from agents.local_llm import EmbeddedLLMServer
from agents.prompting import judge_prompt
from agents.schemas import Turn
from agents.structured import ask_structured
from agents.styles import Criterion, builtin_styles

pytestmark = pytest.mark.embedded


async def test_structured_dialogue_call(embedded_server: EmbeddedLLMServer, embedded_models: RoleModels) -> None:
    assert embedded_server.base_url.startswith("http://127.0.0.1:")
    assert embedded_server.base_url.endswith("/v1")
    await check_reachable(embedded_server.base_url, None, timeout=5)
    messages = [
        SystemMessage("You write short training dialogues for a kind companion. Answer in JSON."),
        HumanMessage("Write a 2-turn dialogue (user, then assistant) about a rainy day. Under 30 words a turn."),
    ]
    schema = draft_schema(2)
    reply = await ask_structured(embedded_models.generator, messages, schema, temperature=0.2, max_tokens=200)
    assert reply.error is None, reply.raw
    assert reply.parsed is not None
    assert [turn.role for turn in reply.parsed.turns()] == ["user", "assistant", "user", "assistant"]
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0


async def test_one_judge_call_gives_sampled_and_weighted_scores(embedded_models: RoleModels) -> None:
    pack = builtin_styles()["gentle"]
    turns = [
        Turn(role="user", content="考试没考好..."),
        Turn(role="assistant", content="没关系的呀，要不要和我聊聊呢？"),
    ]
    verdict, usage = await judge_dialogue(embedded_models.judge, judge_prompt(), pack.rubric, turns, pack.system_prompt)
    assert verdict.error is None, verdict.raw
    assert usage.calls == 1 and set(verdict.scores) == {criterion.name for criterion in pack.rubric}
    assert set(verdict.weighted) == set(verdict.scores)  # llama.cpp returns logprobs with the schema enforced
    for name, weighted in verdict.weighted.items():
        assert 1.0 <= weighted <= 5.0 and abs(weighted - verdict.scores[name]) < 2.0


def test_models_endpoint_names_the_model(embedded_server: EmbeddedLLMServer) -> None:
    answer = httpx.get(f"{embedded_server.base_url}/models", timeout=5, trust_env=False)
    assert embedded_server.model_name in [m["id"] for m in answer.json()["data"]]


def test_stop_frees_the_port(embedded_server: EmbeddedLLMServer) -> None:
    """Start a second, tiny-context server on the same weights and stop it (the shared one stays)."""
    server = EmbeddedLLMServer(embedded_server.model_path, n_parallel=1, ctx_per_slot=512)
    with server:
        port = server.port
        assert httpx.get(f"{server.root_url}/health", timeout=5, trust_env=False).status_code == 200
    assert not server.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    shared = httpx.get(f"{embedded_server.root_url}/health", timeout=5, trust_env=False)
    assert shared.status_code == 200  # stopping one server leaves the other serving


async def test_one_checklist_question_reads_p_yes_from_logprobs(embedded_models: RoleModels) -> None:
    """One max_tokens=1 call: llama.cpp's top_logprobs give a P(yes) strictly between 0 and 1."""
    shipped = judge_prompt("checklist")
    assert shipped.checklist is not None
    promise = [q for q in shipped.checklist.criteria["coherence"] if q.kind == "impossible_promise"]
    one = shipped.checklist.model_copy(update={"criteria": {"coherence": promise}})
    template = replace(shipped, digest=shipped.digest + "-one", checklist=one)
    turns = [
        Turn(role="user", content="I can't figure out how to set up the router you sent me."),
        Turn(role="assistant", content="Don't worry, I'll drive over to your place and set it up myself."),
    ]
    rubric = [Criterion(name="coherence", description="roles straight", threshold=4)]
    verdict, usage = await judge_checklist(embedded_models.judge, template, rubric, turns)
    assert usage.calls == 1 and verdict.error is None, verdict.raw
    p_yes = json.loads(verdict.raw or "")["p_yes"]["coherence"]["impossible_promise"]
    assert 0.0 < p_yes < 1.0  # read from the logprobs, not the sampled word's 0/1 fallback
