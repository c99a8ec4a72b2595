"""Style packs: the pydantic schema, loading from YAML, and lookup by name, alias or path.

The rules of single fields (names, aliases, markers...) are in ``agents.style_fields``; a pack's
name and aliases share one namespace (``service.jobs.styles``). YAML is loaded with bounds on
nesting and size (``agents.bounded_yaml``), so no pack can make the parser recurse too deep.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agents.bounded_yaml import YAMLBoundsError, load_bounded
from agents.paths import STYLES_DIR
from agents.prompting import judge_prompt_names
from agents.style_fields import MAX_ALIASES, STORED, Phrase, StyleAlias, StyleName, is_new

MAX_STYLE_PACK_BYTES = 256 * 1024


class StylePackError(ValueError):
    """A style pack could not be found, read or validated; the message says what to fix."""


class SeedExample(BaseModel):
    """One seed dialogue: a user turn and the reply in the wanted voice (more turns allowed)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    user: str = Field(min_length=1)
    assistant: str = Field(min_length=1)


class Bounds(BaseModel):
    """Character bounds for every assistant turn (and, separately, for user turns)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_chars: int = Field(default=1, ge=0)
    max_chars: int = Field(default=2000, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) is larger than max_chars ({self.max_chars})")
        return self


RESERVED_CRITERION_NAMES = frozenset({"feedback"})  # a key of the judge's answer


class Criterion(BaseModel):
    """One rubric criterion the judge scores 1-5; the sample passes at or above the threshold.

    ``prompt`` names the judge prompt that scores it (``prompts/judge/<prompt>.md``); unset, the
    measured default for the criterion is used.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    description: str = Field(min_length=1)
    threshold: int = Field(default=4, ge=1, le=5)
    prompt: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$")

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_CRITERION_NAMES:
            raise ValueError(f"{name!r} is reserved; choose another criterion name")
        return name

    @field_validator("prompt")
    @classmethod
    def _known_prompt(cls, prompt: str | None) -> str | None:
        if prompt is not None and prompt not in judge_prompt_names():
            raise ValueError(f"unknown judge prompt {prompt!r}; known: {', '.join(judge_prompt_names())}")
        return prompt


COHERENCE = Criterion(
    name="coherence",
    description=(
        "The turns form one coherent conversation with clear roles: each reply answers what the user just said "
        "and remembers the earlier turns; later turns follow from earlier ones without contradicting or repeating "
        "them."
    ),
    threshold=4,
)


def with_coherence(rubric: list[Criterion]) -> list[Criterion]:
    """Return the rubric with a ``coherence`` criterion (for multi-turn samples), unless it has one."""
    return rubric if any(criterion.name == COHERENCE.name for criterion in rubric) else [*rubric, COHERENCE]


class KnowledgeSpec(BaseModel):
    """The knowledge a pack's samples are grounded in: files to index, or an indexed set by name.

    ``path`` (a file or folder, relative to the pack file) is indexed into the set ``name``
    (default: the pack's name); a pack without ``path`` uses a set indexed earlier with
    ``dialogforge knowledge index``. ``grounding: required`` rejects replies that cite no passage;
    ``criteria`` are judged against the passages.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^/\\]+$")
    path: str | None = Field(default=None, min_length=1)
    grounding: Literal["required", "optional"] = "required"
    top_k: int = Field(default=3, ge=1, le=10, description="Passages retrieved for each sample's topic.")
    criteria: list[str] = Field(default_factory=lambda: ["correctness"])


class StylePack(BaseModel):
    """A persona or task to make data for: prompt, seeds, rules and rubric."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: StyleName
    aliases: list[StyleAlias] = Field(default_factory=list, json_schema_extra={"maxItems": MAX_ALIASES})
    description: str = Field(min_length=1, max_length=200)
    language: Literal["zh", "en"] = "en"
    system_prompt: str = Field(min_length=1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    examples: list[SeedExample] = Field(min_length=1)
    markers: list[Phrase] = Field(default_factory=list, description="The reply must contain at least one.")
    forbidden: list[Phrase] = Field(default_factory=list, description="The reply must contain none.")
    reply_bounds: Bounds = Field(default_factory=Bounds)
    user_bounds: Bounds = Field(default_factory=lambda: Bounds(min_chars=2, max_chars=400))
    min_exemplar_similarity: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Least cosine similarity of a reply to a seed reply."
    )
    near_duplicate_similarity: float = Field(
        default=0.95,
        gt=0.0,
        le=1.0,
        description="User turns at least this similar to an accepted one are near-duplicates. Calibrated "
        "for the bundled e5: paraphrases score about 0.97, unrelated short texts 0.85-0.90.",
    )
    rubric: list[Criterion] = Field(min_length=1)
    turns: int = Field(
        default=1, ge=1, le=6, description="Exchanges per generated sample (generate --turns overrides it)."
    )
    topics: list[Phrase] = Field(default_factory=list)
    topic_hint: str = Field(default="", description="What kinds of situations to brainstorm.")
    knowledge: KnowledgeSpec | None = None
    _source_dir: Path | None = PrivateAttr(default=None)

    @field_validator("rubric")
    @classmethod
    def _unique_criteria(cls, rubric: list[Criterion]) -> list[Criterion]:
        names = [criterion.name for criterion in rubric]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"criterion names must be unique; repeated: {', '.join(duplicates)}")
        return rubric

    @field_validator("aliases")
    @classmethod
    def _aliases_are_new_names(cls, aliases: list[str], info: ValidationInfo) -> list[str]:
        if not is_new(info):
            return aliases
        if len(aliases) > MAX_ALIASES:
            raise ValueError(f"at most {MAX_ALIASES} aliases, got {len(aliases)}")
        if info.data.get("name") in aliases:
            raise ValueError(f"{info.data['name']!r} is the pack's own name")
        repeated = sorted({alias for alias in aliases if aliases.count(alias) > 1})
        if repeated:
            raise ValueError(f"aliases must be unique; repeated: {', '.join(repeated)}")
        return aliases

    @classmethod
    def stored(cls, text: str) -> StylePack:
        """Read back a pack a store saved as JSON, without re-applying the rules for new packs.

        A job resumes with the pack it started with, even one saved before a rule was added.
        """
        return cls.model_validate_json(text, context=STORED)

    @model_validator(mode="after")
    def _knowledge_criteria_in_rubric(self) -> StylePack:
        if self.knowledge:
            names = {criterion.name for criterion in self.rubric}
            unknown = [name for name in self.knowledge.criteria if name not in names]
            if unknown:
                raise ValueError(f"knowledge.criteria names {', '.join(unknown)}, which the rubric does not have")
        return self

    def knowledge_path(self) -> Path | None:
        """Return the pack's knowledge files (resolved against the pack file's folder), or None.

        Raises:
            StylePackError: the pack names files but was not read from a file (e.g. sent over HTTP):
                its files cannot be resolved, and must not be read from the server's disk.
        """
        if self.knowledge is None or self.knowledge.path is None:
            return None
        if self._source_dir is None:
            raise StylePackError(
                "knowledge.path is only allowed in a pack file; index the files with "
                "`dialogforge knowledge index` and name the set in knowledge.name instead"
            )
        return (self._source_dir / self.knowledge.path).resolve()

    @property
    def thresholds(self) -> dict[str, int]:
        """Map each criterion to its pass threshold."""
        return {criterion.name: criterion.threshold for criterion in self.rubric}

    def digest(self) -> str:
        """Return a short hash of the pack's content, for lineage."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def format_validation_error(error: ValidationError, source: str) -> str:
    """Turn a pydantic error into one line per problem, each naming the field."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    return f"invalid style pack {source}: " + "; ".join(problems)


def parse_style_pack(text: str, source: str = "<text>") -> StylePack:
    """Validate a style pack given as YAML (or JSON) text."""
    if len(text.encode()) > MAX_STYLE_PACK_BYTES:
        raise StylePackError(f"style pack {source} is larger than {MAX_STYLE_PACK_BYTES // 1024} KiB")
    try:
        data = load_bounded(text)
    except YAMLBoundsError as exc:
        raise StylePackError(f"style pack {source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise StylePackError(f"style pack {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise StylePackError(f"style pack {source} must be a mapping of fields, got {type(data).__name__}")
    try:
        return StylePack.model_validate(data)
    except ValidationError as exc:
        raise StylePackError(format_validation_error(exc, source)) from exc


def load_style_file(path: Path) -> StylePack:
    """Read and validate one style pack file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StylePackError(f"cannot read style pack {path}: {exc.strerror}") from exc
    pack = parse_style_pack(text, str(path))
    pack._source_dir = path.resolve().parent
    return pack


def builtin_styles(directory: Path = STYLES_DIR) -> dict[str, StylePack]:
    """Load every pack shipped in ``prompts/styles``, keyed by name."""
    packs = [load_style_file(path) for path in sorted(directory.glob("*.yaml"))]
    return {pack.name: pack for pack in packs}


def resolve_style(name_or_path: str, extra: dict[str, StylePack] | None = None) -> StylePack:
    """Find a pack by name, alias (e.g. 温柔) or file path; unknown names list the known ones."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml", ".json"} or candidate.is_file():
        if not candidate.is_file():
            raise StylePackError(f"style pack file not found: {name_or_path}")
        return load_style_file(candidate)
    packs = {**builtin_styles(), **(extra or {})}
    for pack in packs.values():
        if name_or_path == pack.name or name_or_path in pack.aliases:
            return pack
    known = ", ".join(sorted(packs))
    raise StylePackError(f"unknown style {name_or_path!r}; known styles: {known} (or pass a .yaml path)")
