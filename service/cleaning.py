"""The operators of one cleaning run, with models only when an operator calls them (CLI and job kind).

``CleaningTools(settings, chain, into)`` builds the chain's operators. Rule operators need nothing;
``semantic-dedup`` gets the configured embedder; ``refusals:rewrite`` and ``judge`` get the loop's
dependencies of their style (models, embedder, checks, judge prompt, and a memory workspace of
the cleaning, ``clean-<into>``, so rewritten rows are checked against each other and not against
a generation workspace). The CLI lets it
start the engine (the embedded model) only when the chain needs one; the HTTP job kind passes
the service's engine and style registry. Every style and judge prompt is resolved before the
first row is read, so a wrong name fails at once.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from agents.embeddings import Embedder, make_embedder
from agents.prompting import DEFAULT_JUDGE_PROMPT, PromptError
from agents.styles import StylePack, StylePackError, resolve_style
from graph.cleaning.base import Operator
from graph.cleaning.registry import ChainError, ChainSpec, build_operators, needs_embedder, needs_models
from graph.nodes import LoopDeps
from service.engine import Engine
from service.jobs.errors import JobServiceError
from service.settings import Settings

DEFAULT_CONCURRENCY = 8


def workspace(into: str) -> str:
    """Return the memory workspace of cleanings into a data set (workspace names allow no dots)."""
    return f"clean-{into}".replace(".", "_")[:64]


class CleaningTools:
    """Builds a chain's operators and, for those that call models, the loop's dependencies (``LLMTools``)."""

    def __init__(
        self,
        settings: Settings,
        chain: ChainSpec,
        into: str,
        *,
        engine: Engine | None = None,
        resolve: Callable[[str], StylePack] = resolve_style,
        local: bool = True,
        notify: Callable[[str], None] = lambda line: None,
    ) -> None:
        """Prepare; ``engine`` None starts one when the chain needs models (and stops it at exit)."""
        self.settings, self.chain, self.into = settings, chain, into
        self.engine, self._owns_engine = engine, False
        self.resolve, self.local, self.notify = resolve, local, notify
        self._deps: dict[tuple[str, str], LoopDeps] = {}
        self.concurrency = DEFAULT_CONCURRENCY

    def __enter__(self) -> CleaningTools:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._owns_engine and self.engine is not None:
            self.engine.stop()
            self.engine = None

    def operators(self) -> list[Operator]:
        """Return the chain's operators, the models started first if any operator calls them.

        Raises:
            ChainError: A parameter, a style or a judge prompt is wrong.
        """
        embedder = self._embedder() if needs_embedder(self.chain) else None
        if not needs_models(self.chain):
            return build_operators(self.chain, embedder=embedder)
        if self.engine is None:
            self.engine, self._owns_engine = Engine.start(self.settings, notify=self.notify), True
        embedded = self.engine.is_embedded
        self.concurrency = min(DEFAULT_CONCURRENCY, self.settings.local_parallel) if embedded else DEFAULT_CONCURRENCY
        operators = build_operators(self.chain, self, embedder)
        for spec in self.chain.ops:  # resolve every style and judge prompt now, not mid-run
            style = spec.params.get("style")
            if style:
                self.deps(str(style), spec.params.get("prompt") if spec.name == "judge" else None)
        return operators

    def _embedder(self) -> Embedder:
        """Return the configured embedder, without the engine's cache: a cleaning embeds every row once."""
        if self.engine is None:
            return make_embedder(self.settings.embedder, self.settings.embedding_endpoint())
        return self.engine.embedder.inner

    def deps(self, style: str, judge: str | None = None) -> LoopDeps:
        """Return (once per style and prompt) the loop's dependencies in the cleaning's workspace."""
        key = (style, judge or DEFAULT_JUDGE_PROMPT)
        if key not in self._deps:
            assert self.engine is not None, "operators() starts the engine before any operator runs"
            try:
                pack = self.resolve(style)
                deps = self.engine.loop_deps(pack, workspace(self.into), judge=key[1], judge_from_path=self.local)
            except (StylePackError, PromptError, JobServiceError) as error:
                raise ChainError(str(error)) from None
            self._deps[key] = deps
        return self._deps[key]
