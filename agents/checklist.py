"""The checklist judge: narrow yes/no questions read through token probabilities, one call each.

A small model scores poorly on a holistic 1-5 scale (the embedded 1.5B model gave every sample
4/4/4) but answers a narrow question better, and better still when its answer is read as a
probability rather than sampled. So a criterion judged by a checklist prompt asks each of its
questions (:mod:`agents.checklist_spec`) in its own call with ``max_tokens=1`` and
``top_logprobs``; P(yes) is the probability mass of the yes tokens over that of the yes and no
tokens at the first position. The criterion fails when any question's P(failing answer) reaches
its threshold. The questions of one dialogue run in sequence, so the server's prompt cache
reuses the shared system + dialogue prefix.

With ``calibrate`` on, each question is first asked once about a content-free dialogue (per
endpoint and language, remembered in-process) and its bias is divided out (contextual
calibration: ``logit(p) - logit(p_cf)``).

The verdict keeps the engine's shape: ``weighted`` is ``1 + 4 * (1 - max P(failure))``, ``scores``
its rounding (kept on the right side of the criterion's threshold), ``reasons`` the flagged
questions (they go to the rewriter), ``raw`` every question's probability as JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from agents.checklist_spec import Checklist, Frame, Language, Question
from agents.prompting import PromptError, PromptTemplate
from agents.schemas import TokenUsage, Turn, Verdict
from agents.structured import logprobs_of, text_of, usage_of
from agents.styles import Criterion

CHECKLIST_TOP_LOGPROBS = 10
_EPSILON = 1e-6
_CALIBRATION_LIMIT = 1024
_calibration: dict[tuple[str, ...], float] = {}  # (endpoint, model, digest, language, kind) -> P(yes | content-free)


def dialogue_language(turns: Sequence[Turn], checklist: Checklist) -> Language:
    """Return ``zh`` when the dialogue has CJK characters and the checklist has zh, else ``en``."""
    text = "".join(turn.content for turn in turns)
    cjk = any("\u4e00" <= char <= "\u9fff" for char in text)
    return (
        "zh" if cjk and "zh" in checklist.frames else "en" if "en" in checklist.frames else next(iter(checklist.frames))
    )


def questions_for(checklist: Checklist, criterion: str, template_name: str) -> list[Question]:
    """Return the questions of a criterion.

    Raises:
        PromptError: the checklist has no questions for it (the message lists the ones it has).
    """
    if criterion not in checklist.criteria:
        known = ", ".join(sorted(checklist.criteria))
        raise PromptError(f"checklist prompt {template_name} has no questions for {criterion!r}; it has: {known}")
    return checklist.criteria[criterion]


def yes_probability(answer: AIMessage, frame: Frame) -> float | None:
    """Read P(yes) from the first token's top logprobs; the sampled token decides when they are missing.

    Returns None when neither a yes nor a no token is there (the answer says nothing).
    """
    yes_tokens = {token.lower() for token in frame.yes}
    no_tokens = {token.lower() for token in frame.no}
    content = logprobs_of(answer) or []
    top: list[dict[str, Any]] = list((content[0].get("top_logprobs") or []) if content else [])
    yes = sum(math.exp(alt["logprob"]) for alt in top if str(alt.get("token", "")).strip().lower() in yes_tokens)
    no = sum(math.exp(alt["logprob"]) for alt in top if str(alt.get("token", "")).strip().lower() in no_tokens)
    if yes + no > 0:
        return yes / (yes + no)
    word = text_of(answer).strip().lower()
    if word in yes_tokens:
        return 1.0
    if word in no_tokens:
        return 0.0
    return None


def calibrated(p_yes: float, p_content_free: float) -> float:
    """Divide a question's bias out of P(yes): ``sigmoid(logit(p) - logit(p_cf))``."""
    p = min(max(p_yes, _EPSILON), 1 - _EPSILON)
    base = min(max(p_content_free, _EPSILON), 1 - _EPSILON)
    return 1 / (1 + math.exp(-(math.log(p / (1 - p)) - math.log(base / (1 - base)))))


def render_dialogue(turns: Sequence[Turn], frame: Frame) -> str:
    """Render turns under the language's heading, with its labels (``User: ``/``用户：``)."""
    lines = [f"{frame.user if turn.role == 'user' else frame.assistant}{turn.content}" for turn in turns]
    return "\n".join([frame.conversation, *lines])


async def _ask(model: BaseChatModel, template: PromptTemplate, frame: Frame, dialogue: str, question: str) -> AIMessage:
    asked = f"{frame.question}{question}\n{frame.answer}"
    messages = template.render(instruction=frame.instruction, dialogue=dialogue, question=asked)
    bound = model.bind(max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=CHECKLIST_TOP_LOGPROBS)
    answer = await bound.ainvoke(messages)
    if not isinstance(answer, AIMessage):
        raise TypeError(f"chat model returned {type(answer).__name__}, expected AIMessage")
    return answer


def _endpoint(model: BaseChatModel) -> tuple[str, str]:
    return str(getattr(model, "openai_api_base", "") or ""), str(getattr(model, "model_name", "") or "")


async def _content_free(
    model: BaseChatModel, template: PromptTemplate, checklist: Checklist, language: Language, question: Question
) -> tuple[float | None, TokenUsage]:
    key = (*_endpoint(model), template.digest, language, question.kind)
    if key in _calibration:
        return _calibration[key], TokenUsage()
    frame = checklist.frames[language]
    empty = [Turn(role="user", content=checklist.content_free), Turn(role="assistant", content=checklist.content_free)]
    answer = await _ask(model, template, frame, render_dialogue(empty, frame), question.text[language])
    value = yes_probability(answer, frame)
    if value is not None:
        if len(_calibration) >= _CALIBRATION_LIMIT:
            _calibration.clear()
        _calibration[key] = value
    return value, usage_of(answer)


def _score(p_failure: float, threshold: int, flagged: bool) -> tuple[int, float]:
    weighted = round(1 + 4 * (1 - p_failure), 4)
    score = min(5, max(1, round(weighted)))
    score = min(score, threshold - 1) if flagged else max(score, threshold)
    return max(1, score), weighted


async def judge_checklist(
    model: BaseChatModel, template: PromptTemplate, rubric: list[Criterion], turns: list[Turn]
) -> tuple[Verdict, TokenUsage]:
    """Judge a dialogue on the rubric's criteria with the template's checklist questions.

    Raises:
        PromptError: the template is not a checklist, or has no questions for a criterion.
    """
    checklist = template.checklist
    if checklist is None:
        raise PromptError(f"judge prompt {template.name} is not a checklist")
    plan = {criterion.name: questions_for(checklist, criterion.name, template.name) for criterion in rubric}
    language = dialogue_language(turns, checklist)
    frame = checklist.frames[language]
    dialogue = render_dialogue(turns, frame)
    usage = TokenUsage()
    probabilities: dict[str, dict[str, float | None]] = {}
    scores: dict[str, int] = {}
    weighted: dict[str, float] = {}
    reasons: dict[str, str] = {}
    failing: list[str] = []
    unreadable: list[str] = []
    for criterion in rubric:
        found: dict[str, float | None] = {}
        flags: list[str] = []
        worst = 0.0
        for question in plan[criterion.name]:
            answer = await _ask(model, template, frame, dialogue, question.text[language])
            usage = usage + usage_of(answer)
            p_yes = yes_probability(answer, frame)
            if p_yes is not None and checklist.calibrate:
                base, spent = await _content_free(model, template, checklist, language, question)
                usage = usage + spent
                p_yes = calibrated(p_yes, base) if base is not None else p_yes
            found[question.kind] = None if p_yes is None else round(p_yes, 4)
            if p_yes is None:
                unreadable.append(f"{criterion.name}/{question.kind}")
                continue
            p_failure = p_yes if question.fail_if == "yes" else 1 - p_yes
            worst = max(worst, p_failure)
            if p_failure >= question.threshold_for(language, checklist.threshold):
                flags.append(f"{question.kind} (P={p_failure:.2f}): {question.text[language]}")
        probabilities[criterion.name] = found
        scores[criterion.name], weighted[criterion.name] = _score(worst, criterion.threshold, bool(flags))
        reasons[criterion.name] = (
            "checklist flagged " + "; ".join(flags) if flags else f"no checklist question flagged (max P={worst:.2f})"
        )
        if flags:
            failing.append(criterion.name)
    raw = json.dumps({"language": language, "p_yes": probabilities}, ensure_ascii=False)
    error = f"no yes/no answer to {', '.join(unreadable)}" if unreadable else None
    verdict = Verdict(
        scores=scores,
        weighted=weighted,
        scoring="weighted",
        reasons=reasons,
        passed=not failing and error is None,
        failing=failing,
        prompt_name=template.name,
        raw=raw,
        error=error,
    )
    return verdict, usage
