"""The judges under test: an LLM judge (prompt x model) and the rule-based baseline of seed 000.

Every judge scores one response on the 1-5 scale of the engine's judge and returns a
:class:`Judgement`; a judgement that could not be parsed has ``score=None`` and its error.
Transport errors (connection refused, timeouts) are raised, not returned, so they are never
cached as if they were the judge's answer.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from dataclasses import dataclass
from typing import Protocol

from langchain_core.language_models import BaseChatModel

from agents.answers import judge_schema
from agents.judge import JudgeOptions, judge_dialogue
from agents.prompting import PromptTemplate
from agents.rendering import criterion_note
from agents.schemas import Turn
from agents.structured import response_format
from agents.styles import Criterion

JUDGE_LOW, JUDGE_HIGH = 1, 5
SC_TEMPERATURE = 0.7
DEFAULT_PERSONA = (
    "A supportive chatbot that talks with people about how they feel and guides them through "
    "short wellbeing exercises. It should sound warm, attentive and caring."
)
NO_CONTEXT_USER_TURN = (
    "(The user's message is not available. Judge the assistant's reply on its own, as one turn of a "
    "support conversation.)"
)
CRITERION_DESCRIPTIONS: dict[str, str] = {
    "empathy": (
        "How much the reply shows empathy: it notices the person and their feelings or situation, "
        "responds with warmth, understanding, encouragement, gratitude or care, and speaks to them as "
        "a person. A neutral, purely procedural or informational reply shows little empathy; a cold, "
        "blunt or dismissive one shows none."
    ),
    "style": "The reply speaks in the persona's voice and tone.",
    "correctness": "The reply is accurate, sensible and answers what the user said.",
    "helpfulness": "The reply helps the user move forward with a concrete, relevant next step.",
}


@dataclass(frozen=True)
class Judgement:
    """One judge's score of one response, with its cost."""

    score: float | None
    error: str | None = None
    raw: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    weighted: float | None = None  # the probability-weighted score of the same call, when logprobs came back


class Judge(Protocol):
    """Anything that scores a response 1-5 for a criterion."""

    name: str
    model: str
    version: str

    async def judge(self, text: str, context: str, criterion: Criterion) -> Judgement:
        """Score one response (and the user turn it answers, if known)."""
        ...


def make_criterion(name: str, description: str | None = None) -> Criterion:
    """Build a one-criterion rubric entry; known criteria have a shipped description."""
    text = description or CRITERION_DESCRIPTIONS.get(name)
    if not text:
        known = ", ".join(sorted(CRITERION_DESCRIPTIONS))
        raise ValueError(f"no description for criterion {name!r}: pass one (known: {known})")
    return Criterion(name=name, description=text, threshold=3)


def eval_turns(text: str, context: str) -> list[Turn]:
    """Build the dialogue to judge: the user turn (or a neutral placeholder) and the response."""
    return [
        Turn(role="user", content=context or NO_CONTEXT_USER_TURN),
        Turn(role="assistant", content=text),
    ]


class LLMJudge:
    """A judge prompt on one chat model, through the engine's own ``judge_dialogue``."""

    def __init__(
        self,
        template: PromptTemplate,
        chat_model: BaseChatModel,
        model_name: str,
        persona: str = DEFAULT_PERSONA,
        samples: int = 1,
    ) -> None:
        """Wrap a prompt template and a chat model.

        Args:
            template: The judge prompt (its digest versions the cache).
            chat_model: The model to call.
            model_name: The model's name, for the leaderboard and the cache key.
            persona: The persona text the prompt is rendered with.
            samples: Self-consistency: with k > 1, k draws at temperature 0.7 (seeds 0..k-1), the
                median score (and the mean weighted score) is the judgement. k calls per item.
        """
        self.template = template
        self.chat_model = chat_model
        self.model = model_name
        self.persona = persona
        self.samples = samples
        self.name = template.name if samples == 1 else f"{template.name}+sc{samples}"
        self.version = template.digest  # with the criterion text and answer schema: see judge()

    def version_for(self, criterion: Criterion) -> str:
        """Return what identifies this judge's answers for a criterion: prompt, criterion text, notes, schema."""
        schema = json.dumps(response_format(judge_schema([criterion.name])), sort_keys=True)
        parts = (self.template.digest, criterion.description, criterion_note(criterion.name), schema)
        suffix = "" if self.samples == 1 else f"|sc{self.samples}@{SC_TEMPERATURE}"
        return hashlib.sha256(("\x1f".join(parts) + suffix).encode()).hexdigest()[:12]

    async def judge(self, text: str, context: str, criterion: Criterion) -> Judgement:
        """Score one response with the judge prompt; an unparseable answer has no score."""
        start = time.perf_counter()
        if self.samples == 1:
            options = [JudgeOptions()]
        else:
            options = [JudgeOptions(temperature=SC_TEMPERATURE, seed=seed) for seed in range(self.samples)]
        answers = [
            await judge_dialogue(
                self.chat_model, self.template, [criterion], eval_turns(text, context), self.persona, options=option
            )
            for option in options
        ]
        seconds = time.perf_counter() - start
        scores = [v.scores[criterion.name] for v, _ in answers if criterion.name in v.scores]
        weighted = [v.weighted[criterion.name] for v, _ in answers if criterion.name in v.weighted]
        first = answers[0][0]
        return Judgement(
            score=float(statistics.median(scores)) if scores else None,
            error=None if scores else first.error,
            raw="\n".join(v.raw or "" for v, _ in answers),
            input_tokens=sum(u.input_tokens for _, u in answers),
            output_tokens=sum(u.output_tokens for _, u in answers),
            seconds=seconds,
            weighted=float(statistics.fmean(weighted)) if weighted and len(weighted) == len(answers) else None,
        )
