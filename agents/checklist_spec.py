"""The shape of a checklist judge prompt: narrow yes/no questions per criterion, in each language.

A checklist prompt is a judge prompt file (``prompts/judge/<name>.md``) whose YAML front matter,
between ``---`` lines before the ``### system`` section, holds a :class:`Checklist`. Its
``### system`` and ``### user`` sections are rendered once per question with ``$instruction``,
``$dialogue`` and ``$question`` (all language text lives in the front matter, so one file serves
zh and en). See :mod:`agents.checklist` for how the answers are read.
"""

from __future__ import annotations

from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.bounded_yaml import load_bounded

Language = Literal["en", "zh"]
Probability = Annotated[float, Field(gt=0.0, lt=1.0)]
FRONT_MATTER = "---"


class Question(BaseModel):
    """One yes/no question that catches one kind of failure.

    Attributes:
        kind: What it catches (``role_confusion``, ``impossible_promise``...), shown in reasons.
        text: The question per language.
        fail_if: The answer that means the failure is there.
        threshold: P(failing answer) at or above which the criterion fails, one for every language
            or one per language (a model's yes-bias differs by language); None: the checklist's.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    text: dict[Language, str]
    fail_if: Literal["yes", "no"] = "yes"
    threshold: Probability | dict[Language, Probability] | None = None

    def threshold_for(self, language: Language, default: float) -> float:
        """Return the threshold of this question in a language (the checklist's when it sets none)."""
        if isinstance(self.threshold, dict):
            return self.threshold.get(language, default)
        return default if self.threshold is None else self.threshold


class Frame(BaseModel):
    """The words of one language: the instruction, the labels, the answer hint and the answer tokens."""

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=1)
    conversation: str = Field(min_length=1)
    user: str = Field(min_length=1)
    assistant: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    yes: list[str] = Field(min_length=1)
    no: list[str] = Field(min_length=1)


class Checklist(BaseModel):
    """Questions per criterion, the language frames, and the decision threshold.

    ``calibrate`` divides out each question's bias (contextual calibration, Zhao et al. 2021,
    "Calibrate Before Use"): the question is also asked about a content-free dialogue once per
    endpoint, and ``logit(p) - logit(p_content_free)`` is what is thresholded.
    """

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    calibrate: bool = False
    content_free: str = "N/A"
    frames: dict[Language, Frame]
    criteria: dict[str, list[Question]] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_language(self) -> Checklist:
        for name, questions in self.criteria.items():
            for question in questions:
                missing = set(self.frames) - set(question.text)
                if missing:
                    raise ValueError(f"criterion {name}, question {question.kind}: no text for {sorted(missing)}")
        return self


def split_front_matter(text: str, name: str) -> tuple[Checklist | None, str]:
    """Split a prompt file into its checklist (None when it has no front matter) and the rest.

    Raises:
        ValueError: the front matter is not closed, not YAML, or not a valid checklist.
    """
    if not text.startswith(FRONT_MATTER + "\n"):
        return None, text
    end = text.find("\n" + FRONT_MATTER + "\n", len(FRONT_MATTER))
    if end < 0:
        raise ValueError(f"prompt {name}: the front matter opened by '---' is not closed")
    try:
        data = load_bounded(text[len(FRONT_MATTER) + 1 : end])
    except yaml.YAMLError as exc:
        raise ValueError(f"prompt {name}: the front matter is not YAML: {exc}") from exc
    return Checklist.model_validate(data), text[end + len(FRONT_MATTER) + 2 :]
