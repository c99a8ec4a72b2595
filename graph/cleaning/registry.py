"""Operators by name, the default chain, and chain specifications (``--ops`` text or a YAML recipe).

``--ops normalize,pii:drop,default,refusals:rewrite``: names run in order; ``default`` stands for
:data:`DEFAULT_CHAIN`; ``name:value`` sets the operator's shorthand parameter (``refusals:rewrite``
sets ``mode``, ``language:en`` sets ``expected``); an operator named twice keeps only the later
one, at the later place. A recipe file says the same with parameters::

    ops:
      - normalize
      - strip-html: {urls: placeholder}
      - pii: {mode: redact, names: true}
      - near-dedup: {threshold: 0.8}
      - refusals: {mode: rewrite, style: gentle}

Every problem names what to fix: an unknown operator lists the known ones; a bad parameter names
``ops.<n>.<operator>.<field>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph.cleaning.base import EmbeddingOperator, LLMOperator, Operator, OperatorParams
from graph.cleaning.llm import LLMTools
from graph.cleaning.operators.chit_chat import ChitChat
from graph.cleaning.operators.exact_dedup import ExactDedup
from graph.cleaning.operators.judge import Judge
from graph.cleaning.operators.language import Language
from graph.cleaning.operators.length import Length
from graph.cleaning.operators.near_dedup import NearDedup
from graph.cleaning.operators.normalize import Normalize
from graph.cleaning.operators.pii import Pii
from graph.cleaning.operators.refusals import Refusals
from graph.cleaning.operators.repetition import Repetition
from graph.cleaning.operators.semantic_dedup import SemanticDedup
from graph.cleaning.operators.strip_html import StripHtml

if TYPE_CHECKING:
    from agents.embeddings import Embedder

OPERATORS: dict[str, type[Operator]] = {
    op.name: op
    for op in (
        Normalize,
        StripHtml,
        Pii,
        Length,
        Repetition,
        ChitChat,
        Refusals,
        Language,
        ExactDedup,
        NearDedup,
        SemanticDedup,
        Judge,
    )
}
DEFAULT_CHAIN = (
    "normalize",
    "strip-html",
    "pii",
    "length",
    "repetition",
    "chit-chat",
    "refusals",
    "exact-dedup",
    "near-dedup",
)
MAX_RECIPE_BYTES = 64 * 1024
MAX_OPS = 32


class ChainError(ValueError):
    """A chain, operator, parameter or recipe is not valid; the message says what to fix."""

    code = "invalid_chain"


class OpSpec(BaseModel):
    """One step of a chain: an operator's name and its parameters (validated by the operator)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class ChainSpec(BaseModel):
    """A whole chain, as the manifest, the report and job requests carry it."""

    model_config = ConfigDict(extra="forbid")

    ops: list[OpSpec] = Field(min_length=1, max_length=MAX_OPS)

    def as_recipe(self) -> dict[str, Any]:
        """Return the chain as recipe data (``parse_recipe`` of it gives this chain back)."""
        return {"ops": [{op.name: dict(op.params)} for op in self.ops]}

    def with_style(self, style: str | None) -> ChainSpec:
        """Give the operators that call models (``refusals:rewrite``, ``judge``) ``style`` where they name none.

        Raises:
            ChainError: Such an operator has no style, or a style is given and no operator uses one.
        """
        ops, used = [], False
        for index, spec in enumerate(self.ops):
            if not _calls_models(spec, index):
                ops.append(spec)
                continue
            used = True
            if not spec.params.get("style"):
                if style is None:
                    raise ChainError(
                        f"ops.{index}.{spec.name} calls a model in a style: give one (--style NAME, "
                        f"or style: in the recipe)"
                    )
                spec = OpSpec(name=spec.name, params={**spec.params, "style": style})
            ops.append(spec)
        if style is not None and not used:
            raise ChainError("a style is only used by refusals:rewrite and judge, and the chain has neither")
        return ChainSpec(ops=ops)


def _known() -> str:
    return ", ".join([*OPERATORS, "default"])


def operator_class(name: str) -> type[Operator]:
    """Return the operator class of a name, or raise ChainError listing the known ones."""
    try:
        return OPERATORS[name]
    except KeyError:
        raise ChainError(f"unknown operator {name!r}; operators: {_known()}") from None


def validate_params(name: str, params: dict[str, Any], where: str) -> OperatorParams:
    """Validate an operator's parameters; errors name ``where.<field>`` and what was wrong."""
    cls = operator_class(name)
    try:
        return cls.Params.model_validate(params)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            location = f"{where}.{field}" if field else where
            problems.append(f"{location}: {error['msg']}")
        fields = ", ".join(cls.Params.model_fields) or "none"
        raise ChainError(f"{'; '.join(problems)} (parameters of {name}: {fields})") from None


def _replace_repeats(specs: list[OpSpec]) -> list[OpSpec]:
    kept: list[OpSpec] = []
    for spec in specs:
        kept = [earlier for earlier in kept if earlier.name != spec.name]
        kept.append(spec)
    return kept


def parse_ops(text: str) -> ChainSpec:
    """Parse ``--ops`` text (``normalize,pii:drop,default,refusals:rewrite``) into a validated chain."""
    specs: list[OpSpec] = []
    for index, item in enumerate(part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, value = item.partition(":")
        if name == "default" and not value:
            specs += [OpSpec(name=op) for op in DEFAULT_CHAIN]
            continue
        cls = operator_class(name)
        params: dict[str, Any] = {}
        if value:
            if cls.shorthand is None:
                raise ChainError(f"operator {name!r} takes no ':value'; set its parameters in a recipe file")
            params[cls.shorthand] = value
        validate_params(name, params, f"ops.{index}.{name}")
        specs.append(OpSpec(name=name, params=params))
    if not specs:
        raise ChainError(f"no operators given; operators: {_known()}")
    return ChainSpec(ops=_replace_repeats(specs))


def parse_recipe(data: Any, source: str = "recipe") -> ChainSpec:
    """Validate recipe data (``{"ops": [name | {name: {params}}]}``) into a chain."""
    if not isinstance(data, dict) or "ops" not in data:
        raise ChainError(f"{source}: a recipe is a mapping with an 'ops' list")
    unknown = set(data) - {"ops", "name", "description"}
    if unknown:
        raise ChainError(f"{source}: unknown field(s) {', '.join(sorted(unknown))}; fields: ops, name, description")
    items = data["ops"]
    if not isinstance(items, list) or not items:
        raise ChainError(f"{source}: ops must be a non-empty list")
    if len(items) > MAX_OPS:
        raise ChainError(f"{source}: ops has {len(items)} steps; at most {MAX_OPS}")
    specs: list[OpSpec] = []
    for index, item in enumerate(items):
        params: dict[str, Any]
        if isinstance(item, str):
            if item == "default":
                specs += [OpSpec(name=op) for op in DEFAULT_CHAIN]
                continue
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = params or {}
            if not isinstance(params, dict):
                raise ChainError(f"{source}: ops.{index}.{name} must be a mapping of parameters")
        else:
            raise ChainError(f"{source}: ops.{index} must be an operator name or {{name: {{parameters}}}}")
        validate_params(str(name), params, f"ops.{index}.{name}")
        specs.append(OpSpec(name=str(name), params=params))
    return ChainSpec(ops=_replace_repeats(specs))


def load_recipe(path: Path) -> ChainSpec:
    """Read and validate a YAML recipe file."""
    try:
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise ChainError(f"{path}: a recipe is at most {MAX_RECIPE_BYTES // 1024} KB")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ChainError(f"cannot read recipe {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ChainError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_recipe(data, str(path))


def describe_operators() -> list[dict[str, Any]]:
    """Return every operator with its summary and parameters (name, type, default, description)."""
    described = []
    for name, cls in OPERATORS.items():
        params = []
        for field_name, field in cls.Params.model_fields.items():
            default = field.get_default(call_default_factory=True)
            annotation = getattr(field.annotation, "__name__", None) or str(field.annotation).replace("typing.", "")
            params.append(
                {"name": field_name, "type": annotation, "default": default, "description": field.description or ""}
            )
        described.append({"name": name, "summary": cls.summary, "shorthand": cls.shorthand, "params": params})
    return described


def _calls_models(spec: OpSpec, index: int) -> bool:
    params = validate_params(spec.name, spec.params, f"ops.{index}.{spec.name}")
    return issubclass(operator_class(spec.name).implementation(params), LLMOperator)


def needs_models(chain: ChainSpec) -> bool:
    """Return whether any operator of the chain calls models (then the service must start them)."""
    return any(_calls_models(spec, index) for index, spec in enumerate(chain.ops))


def needs_embedder(chain: ChainSpec) -> bool:
    """Return whether an operator of the chain embeds rows (``semantic-dedup``)."""
    return any(issubclass(operator_class(spec.name), EmbeddingOperator) for spec in chain.ops)


def build_operators(
    chain: ChainSpec, tools: LLMTools | None = None, embedder: Embedder | None = None
) -> list[Operator]:
    """Return the operators of a validated chain; the ones that call models get ``tools``, embedders ``embedder``.

    Raises:
        ChainError: A parameter is invalid, or an operator calls models (or embeds) and none were given.
    """
    operators: list[Operator] = []
    for index, spec in enumerate(chain.ops):
        where = f"ops.{index}.{spec.name}"
        params = validate_params(spec.name, spec.params, where)
        cls = operator_class(spec.name).implementation(params)
        if issubclass(cls, LLMOperator):
            if tools is None:
                raise ChainError(f"{where} calls models, and none were given to this run")
            operators.append(cls(params, tools))  # type: ignore[call-arg]
        elif issubclass(cls, EmbeddingOperator):
            if embedder is None:
                raise ChainError(f"{where} embeds rows, and no embedder was given to this run")
            operators.append(cls(params, embedder))
        else:
            operators.append(cls(params))
    return operators
