"""Unit tests for the chat-model factory: names, key hiding, the concurrency bound (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration
from langchain_openai import ChatOpenAI

from agents.admission import Admission
from agents.answers import draft_schema
from agents.job_calls import job_call_slots
from agents.llm import (
    BoundedChatModel,
    LLMConfig,
    build_role_models,
)
from agents.structured import ask_structured
from service.settings import Settings
from tests.fakes import ScriptedChatModel, SlowChatModel

SECRET = "sk-very-secret-123"


def inner_of(model: Any) -> ChatOpenAI:
    assert isinstance(model, BoundedChatModel)
    assert isinstance(model.inner, ChatOpenAI)
    return model.inner


def test_factory_builds_each_role_with_its_model_name() -> None:
    config = LLMConfig(
        api_key=SECRET, generator_model="gen-m", judge_model="judge-m", rewriter_model="rw-m", max_retries=7
    )
    models = build_role_models(config, "http://llm.example/v1")
    assert models.names == {"generator": "gen-m", "judge": "judge-m", "rewriter": "rw-m", "topics": "gen-m"}
    assert inner_of(models.generator).model_name == "gen-m"
    assert inner_of(models.judge).model_name == "judge-m"
    assert inner_of(models.rewriter).model_name == "rw-m"
    assert inner_of(models.topics) is inner_of(models.generator)
    client = inner_of(models.judge)
    assert client.openai_api_base == "http://llm.example/v1"
    assert client.max_retries == 7
    assert client.rate_limiter is None
    admissions = {id(m.admission) for m in (models.generator, models.judge, models.rewriter, models.topics)}  # type: ignore[attr-defined]
    assert admissions == {id(models.admission)}
    assert models.admission is not None and models.admission.ceiling is None  # no silent cap


def test_embedded_server_gets_a_dummy_key_and_rate_limits_are_shared() -> None:
    models = build_role_models(LLMConfig(requests_per_minute=120, tokens_per_minute=9000), "http://127.0.0.1:1/v1")
    generator = inner_of(models.generator)
    assert generator.openai_api_key is not None
    assert generator.openai_api_key.get_secret_value() == "sk-local"
    assert models.admission is not None
    stats = models.admission.stats()
    assert (stats.rpm, stats.tpm) == (120, 9000)


def test_api_key_never_in_repr_or_str() -> None:
    config = LLMConfig(api_key=SECRET, base_url="https://api.example/v1")
    for text in (repr(config), str(config), f"{config}"):
        assert SECRET not in text
        assert "api_key='***'" in text
        assert "https://api.example/v1" in text
    models = build_role_models(config, "https://api.example/v1")
    assert SECRET not in repr(models)
    settings = Settings(llm_api_key=SECRET, llm_base_url="https://api.example/v1")  # type: ignore[arg-type]
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert settings.llm_config().api_key == SECRET


def test_settings_defaults_to_the_embedded_model_names(monkeypatch: Any) -> None:
    for name in ("LLM_BASE_URL", "LLM_API_KEY", "GENERATOR_MODEL", "REWRITER_MODEL"):
        monkeypatch.delenv(f"DIALOGFORGE_{name}", raising=False)
    monkeypatch.setenv("DIALOGFORGE_JUDGE_MODEL", "judge-x")
    monkeypatch.setenv("DIALOGFORGE_LLM_MAX_CONCURRENCY", "3")
    config = Settings(_env_file=None).llm_config()  # type: ignore[call-arg]
    assert config.base_url is None and config.api_key is None
    assert config.generator_model == "qwen2.5-coder-1.5b-instruct"
    assert config.judge_model == "judge-x"
    assert config.max_concurrency == 3
    assert config.timeout_s == 600.0
    monkeypatch.setenv("DIALOGFORGE_LLM_MAX_CONCURRENCY", "16")
    assert Settings(_env_file=None).llm_config().max_concurrency == 4  # type: ignore[call-arg]
    remote = Settings(_env_file=None, llm_base_url="https://api.example/v1").llm_config()  # type: ignore[call-arg]
    assert remote.generator_model == "default"
    assert remote.max_concurrency == 16
    assert remote.timeout_s == 120.0
    monkeypatch.delenv("DIALOGFORGE_LLM_MAX_CONCURRENCY")
    monkeypatch.setenv("DIALOGFORGE_LLM_REQUESTS_PER_SECOND", "2")
    uncapped = Settings(_env_file=None, llm_base_url="https://api.example/v1").llm_config()  # type: ignore[call-arg]
    assert uncapped.max_concurrency is None and uncapped.requests_per_minute == 120


async def test_concurrency_bound_really_bounds() -> None:
    fake = SlowChatModel(responder=lambda messages, options: "ok")
    limit = Admission(3)
    a, b = BoundedChatModel(inner=fake, admission=limit), BoundedChatModel(inner=fake, admission=limit)
    calls = [m.ainvoke([HumanMessage("hi")]) for m in (a, b) for _ in range(10)]
    answers = await asyncio.gather(*calls)
    assert len(answers) == 20
    assert fake.max_in_flight == 3


async def test_a_jobs_call_slots_bound_its_calls_below_an_uncapped_endpoint() -> None:
    fake = SlowChatModel(responder=lambda messages, options: "ok")
    model = BoundedChatModel(inner=fake, admission=Admission())  # no cap at the endpoint

    async def job() -> list[Any]:
        with job_call_slots(2):  # samples and brainstorms of one job alike
            return await asyncio.gather(*(model.ainvoke([HumanMessage(f"call {i}")]) for i in range(8)))

    assert len(await job()) == 8
    assert fake.max_in_flight == 2
    outside = await asyncio.gather(*(model.ainvoke([HumanMessage(f"free {i}")]) for i in range(8)))
    assert len(outside) == 8 and fake.max_in_flight == 8  # no job: only the endpoint's admission bounds


async def test_bounded_model_keeps_bind_options_and_usage() -> None:
    seen: list[dict[str, Any]] = []

    def responder(messages: list[BaseMessage], options: dict[str, Any]) -> str:
        seen.append(options)
        return '{"exchanges": [{"user": "hi", "assistant": "hello"}]}'

    model = BoundedChatModel(inner=ScriptedChatModel(responder=responder, calls=[]), admission=Admission(2))
    reply = await ask_structured(model, [HumanMessage("write")], draft_schema(1), temperature=0.3, max_tokens=50)
    assert reply.parsed is not None and reply.error is None
    assert reply.usage.input_tokens == 10 and reply.usage.output_tokens == 10
    assert seen[0]["response_format"]["json_schema"]["name"] == "DraftAnswer"
    assert seen[0]["temperature"] == 0.3 and seen[0]["max_tokens"] == 50
    answer = model.invoke([HumanMessage("sync")])
    assert isinstance(answer, AIMessage) and answer.usage_metadata is not None


def test_limit_survives_several_event_loops() -> None:
    fake = SlowChatModel(responder=lambda messages, options: "ok")
    model = BoundedChatModel(inner=fake, admission=Admission(2))

    async def burst() -> None:
        await asyncio.gather(*(model.ainvoke([HumanMessage("x")]) for _ in range(5)))

    asyncio.run(burst())
    asyncio.run(burst())
    assert fake.max_in_flight == 2


def test_chat_result_wraps_only_ai_messages() -> None:
    result = BoundedChatModel._result(AIMessage("x"))
    assert isinstance(result.generations[0], ChatGeneration)


def test_each_event_loop_gets_its_own_inner_model() -> None:
    made: list[SlowChatModel] = []

    def factory() -> SlowChatModel:
        made.append(SlowChatModel(responder=lambda messages, options: "ok"))
        return made[-1]

    model = BoundedChatModel(
        inner=ScriptedChatModel(responder=lambda m, o: "sync"), admission=Admission(2), async_inner_factory=factory
    )

    async def twice() -> None:
        await model.ainvoke([HumanMessage("a")])
        await model.ainvoke([HumanMessage("b")])

    asyncio.run(twice())
    asyncio.run(twice())
    assert len(made) == 2
    assert model.invoke([HumanMessage("c")]).content == "sync"
