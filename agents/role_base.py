"""The one shape of every LLM role: a prompt file rendered strictly, an answer schema, call options.

A role is distilabel's task: :meth:`Role.variables` formats the input into the prompt's variables,
:meth:`Role.schema` is the answer's JSON schema (sent for constrained decoding), and :meth:`Role.ask`
makes the one call and returns a :class:`~agents.structured.StructuredReply`: the parsed answer, or
the raw text and the error. An unreadable answer is data, never an exception. A role says which
prompt file it renders (``prompts/<prompt_file>.md``), how it samples, and those two methods.
The augmentation operators (``agents/augment/``) are roles; the generator, judge, rewriter and
topics brainstorm repeat this shape in their own modules and can move onto it one by one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from agents.prompting import PromptTemplate, role_prompt
from agents.structured import StructuredReply, ask_structured

TaskT = TypeVar("TaskT")
AnswerT = TypeVar("AnswerT", bound=BaseModel)


@dataclass(frozen=True)
class CallOptions:
    """How one call samples.

    Attributes:
        temperature: Sampling temperature (None: the model's default).
        max_tokens: Output token limit.
        top_logprobs: Ask for token log-probabilities with this many alternatives (None: none).
        seed: Sampling seed (None: the server's).
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_logprobs: int | None = None
    seed: int | None = None


class Role(ABC, Generic[TaskT, AnswerT]):
    """One LLM role: which prompt it renders, from what input, and the answer it must give.

    Subclasses set :attr:`prompt_file` (and usually :attr:`temperature` / :attr:`max_tokens`) and
    implement :meth:`variables` and :meth:`schema`; override :meth:`template` or :meth:`options`
    when they depend on the task (the judge's prompt comes from its plan, the generator samples
    at its pack's temperature).
    """

    prompt_file: ClassVar[str]
    temperature: ClassVar[float | None] = None
    max_tokens: ClassVar[int | None] = None

    def template(self, task: TaskT) -> PromptTemplate:
        """Return the prompt this task renders (``prompts/<prompt_file>.md`` by default)."""
        return role_prompt(self.prompt_file)

    @abstractmethod
    def variables(self, task: TaskT) -> dict[str, object]:
        """Return every variable of the prompt, and nothing else (rendering is strict)."""

    @abstractmethod
    def schema(self, task: TaskT) -> type[AnswerT]:
        """Return the answer's pydantic model (sent as the JSON-schema response format)."""

    def options(self, task: TaskT) -> CallOptions:
        """Return how the call samples (the role's class defaults unless overridden)."""
        return CallOptions(temperature=self.temperature, max_tokens=self.max_tokens)

    def messages(self, task: TaskT) -> list[BaseMessage]:
        """Render the prompt for a task."""
        return self.template(task).render(**self.variables(task))

    def digest(self, task: TaskT | None = None) -> str:
        """Return the content hash of the prompt file (for lineage)."""
        return role_prompt(self.prompt_file).digest if task is None else self.template(task).digest

    async def ask(self, model: BaseChatModel, task: TaskT) -> StructuredReply[AnswerT]:
        """Make the role's call: the parsed answer, or the raw text with its error."""
        options = self.options(task)
        return await ask_structured(
            model,
            self.messages(task),
            self.schema(task),
            temperature=options.temperature,
            max_tokens=options.max_tokens,
            top_logprobs=options.top_logprobs,
            seed=options.seed,
        )
