"""The augmentation operator base: make a child sample from a parent, and say what the child owes it.

An operator is one small module in ``agents/augment/`` with:

- its parameters (a pydantic model with an ``op`` tag; bad values are refused by field name),
- its role: a prompt file ``prompts/operators/<name>.md`` rendered strictly, with its answer schema,
- which parents it can take (:meth:`Operator.refuse`: why not, in one line),
- its contract (:meth:`Operator.contract`): what the child keeps and what changes, with the
  parent quoted, for the rewriter that repairs a failing child,
- its checks of a child against its parent, without an LLM (:meth:`Operator.check`: embedding
  similarity, character n-gram overlap, verbatim prefixes, facts and details the answer names).

The target pack's own checks and rubric apply on top (the sample loop runs them); an operator
adds only what is specific to it. Every draft is a :class:`ChildDraft`: the turns, or the raw
text and the error of an answer that could not be used (a failure kept as data).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict

from agents.answers import DraftAnswer, draft_schema, exchange_count
from agents.checks import CheckFailure, EmbedderLike, check_structure, dialogue_language
from agents.prompting import PromptTemplate, role_prompt
from agents.rendering import bullet_list, format_dialogue, style_variables
from agents.role_base import CallOptions, Role
from agents.schemas import Sample, TokenUsage, Turn
from agents.structured import StructuredReply
from agents.styles import Bounds, Criterion, StylePack

MAX_SIBLINGS_SHOWN = 3


class OperatorParams(BaseModel):
    """Base of every operator's parameters: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


ParamsT = TypeVar("ParamsT", bound=OperatorParams)
EN_CHARS_PER_ZH_CHAR = 2.0  # the shipped packs' bounds: bank-cs (zh) 30-400, empathetic-cs (en) 60-700


def _scaled(bounds: Bounds, factor: float) -> Bounds:
    return Bounds(min_chars=int(bounds.min_chars * factor), max_chars=max(1, round(bounds.max_chars * factor)))


@dataclass(frozen=True)
class ChildRequest(Generic[ParamsT]):
    """What one child is made from.

    Attributes:
        parent: The parent row (never changed).
        pack: The target style pack (the child must pass its checks and rubric).
        params: The operator's parameters.
        variant: The child's number among its parent's children (picks a scene, a pivot...).
        siblings: The parent's children accepted so far (as dialogue text), for the writer to differ from.
    """

    parent: Sample
    pack: StylePack
    params: ParamsT
    variant: int = 0
    siblings: Sequence[str] = ()

    @property
    def parent_exchanges(self) -> int:
        """Return how many user/assistant exchanges the parent has."""
        return exchange_count(self.parent.turns)


@dataclass
class ChildDraft:
    """One draft of a child: its turns, or what went wrong; ``notes`` are what the operator recorded.

    Notes (a pivot translation, the scene words, the labels of a hard case, the facts kept) go
    into the child's lineage and feed the operator's checks of later rewrites.
    """

    turns: list[Turn]
    raw: str
    usage: TokenUsage
    error: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def draft_from(reply: StructuredReply[Any], turns: list[Turn], notes: dict[str, Any] | None = None) -> ChildDraft:
    """Wrap a structured reply as a draft (no turns when it could not be parsed)."""
    if reply.parsed is None:
        return ChildDraft([], reply.raw, reply.usage, reply.error or "unparseable answer")
    return ChildDraft(turns, reply.raw, reply.usage, None, notes or {})


def operator_variables(request: ChildRequest[Any], exchanges: int) -> dict[str, object]:
    """Return the variables every operator prompt shares: the target pack's voice, the original, the siblings."""
    variables = style_variables(request.pack)
    del variables["examples"]  # the original is the example that matters; the pack's seeds only bias a rewrite
    siblings = [" / ".join(text.split("\n")) for text in request.siblings[-MAX_SIBLINGS_SHOWN:]]
    return {
        **variables,
        "original": format_dialogue(request.parent.turns),
        "exchanges": exchanges,
        "siblings": (
            "Versions already made from this original (write one that differs from them too):\n"
            + bullet_list(siblings)
            + "\n\n"
            if siblings
            else ""
        ),
    }


class OperatorRole(Role[ChildRequest[Any], DraftAnswer]):
    """The call of a one-call operator: its prompt file, its variables and schema come from the operator."""

    prompt_file = "operators/paraphrase"  # replaced per operator by ``template``

    def __init__(self, operator: Operator[Any]) -> None:
        """Serve ``operator``'s prompt."""
        self.operator = operator

    def template(self, task: ChildRequest[Any]) -> PromptTemplate:
        """Return ``prompts/operators/<name>.md``."""
        return role_prompt(self.operator.prompt_file)

    def digest(self, task: ChildRequest[Any] | None = None) -> str:
        """Return the operator prompt's hash."""
        return role_prompt(self.operator.prompt_file).digest

    def variables(self, task: ChildRequest[Any]) -> dict[str, object]:
        """Return the operator's variables."""
        return self.operator.variables(task)

    def schema(self, task: ChildRequest[Any]) -> type[DraftAnswer]:
        """Return the operator's answer schema."""
        return self.operator.schema(task)

    def options(self, task: ChildRequest[Any]) -> CallOptions:
        """Sample at the operator's temperature."""
        return self.operator.options(task)


class Operator(ABC, Generic[ParamsT]):
    """One augmentation operator (see the module docstring)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    params_type: ClassVar[type[OperatorParams]]
    temperature: ClassVar[float] = 0.8
    max_tokens: ClassVar[int] = 700
    needs_style: ClassVar[bool] = False  # the target pack must be named (style-transfer, qa-to-dialogue)
    keeps_language: ClassVar[bool] = True  # the child is in its parent's language (not style-transfer's)

    @property
    def prompt_file(self) -> str:
        """Return the operator's prompt file under ``prompts/`` (without ``.md``)."""
        return f"operators/{self.name}"

    def prompt_files(self) -> list[str]:
        """Return every prompt file the operator renders (for lineage hashes)."""
        return [self.prompt_file]

    def pack_for(self, parent: Sample, pack: StylePack) -> StylePack:
        """Return the pack a child of ``parent`` is made and checked with: in the parent's language, if kept.

        A version may mix languages (support logs in zh and en); a paraphrase, an extension or a
        scene change of a Chinese row is Chinese whatever the pack's ``language``, and the pack's
        length bounds in characters are converted (:data:`EN_CHARS_PER_ZH_CHAR`).
        """
        language = dialogue_language(parent.turns)
        if not self.keeps_language or language == pack.language:
            return pack
        factor = EN_CHARS_PER_ZH_CHAR if language == "en" else 1 / EN_CHARS_PER_ZH_CHAR
        bounds = {name: _scaled(getattr(pack, name), factor) for name in ("reply_bounds", "user_bounds")}
        return pack.model_copy(update={"language": language, **bounds})

    def refuse(self, parent: Sample, params: ParamsT, pack: StylePack) -> str | None:
        """Say why a parent cannot be augmented by this operator (None: it can)."""
        problems = check_structure(parent.turns)
        return f"it is not a user/assistant dialogue ({problems[0].reason.split(':')[0]})" if problems else None

    def exchanges(self, request: ChildRequest[ParamsT]) -> int:
        """Return the child's exchange count (the parent's, unless the operator changes it)."""
        return request.parent_exchanges

    def answer_exchanges(self, request: ChildRequest[ParamsT]) -> int:
        """Return how many exchanges the operator's answer writes (all of the child's by default)."""
        return self.exchanges(request)

    def criteria(self, pack: StylePack, params: ParamsT) -> list[Criterion]:
        """Return the rubric the child is judged with: the target pack's (coherence added for multi-turn children)."""
        return list(pack.rubric)

    @abstractmethod
    def variables(self, request: ChildRequest[ParamsT]) -> dict[str, object]:
        """Return every variable of the operator's prompt."""

    def schema(self, request: ChildRequest[ParamsT]) -> type[DraftAnswer]:
        """Return the answer schema (a fixed number of exchanges by default)."""
        return draft_schema(self.answer_exchanges(request))

    def options(self, request: ChildRequest[ParamsT]) -> CallOptions:
        """Sample at the operator's temperature."""
        return CallOptions(temperature=self.temperature, max_tokens=self.max_tokens)

    def read(self, request: ChildRequest[ParamsT], answer: DraftAnswer) -> tuple[list[Turn], dict[str, Any]]:
        """Turn a parsed answer into the child's turns and the operator's notes."""
        return answer.turns(), {}

    async def draft(self, model: BaseChatModel, request: ChildRequest[ParamsT]) -> ChildDraft:
        """Write one child (one call by default)."""
        reply = await OperatorRole(self).ask(model, request)
        if reply.parsed is None:
            return draft_from(reply, [])
        turns, notes = self.read(request, reply.parsed)
        return draft_from(reply, turns, notes)

    @abstractmethod
    def contract(self, request: ChildRequest[ParamsT], notes: dict[str, Any]) -> str:
        """Say what the child keeps from its parent and what must change (the rewriter's task)."""

    @abstractmethod
    def check(
        self, request: ChildRequest[ParamsT], turns: list[Turn], notes: dict[str, Any], embedder: EmbedderLike
    ) -> list[CheckFailure]:
        """Check a child against its parent without an LLM (embeddings allowed); [] when it keeps its contract."""

    def lineage(self, request: ChildRequest[ParamsT], notes: dict[str, Any]) -> dict[str, Any]:
        """Return what the child's lineage records beyond the parameters (the scene, the pivot, the labels)."""
        return dict(notes)
