"""Load prompt files and render them strictly: a missing or unknown variable is an error.

A prompt file is Markdown with two sections, each opened by a line ``### system`` or ``### user``.
A checklist judge prompt also has YAML front matter (:mod:`agents.checklist_spec`).
Variables are written ``$name`` or ``${name}`` (``string.Template``), so JSON braces in a prompt
need no escaping. ``$$`` is a literal dollar sign.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agents.checklist_spec import Checklist, split_front_matter
from agents.paths import JUDGE_PROMPTS_DIR, PROMPTS_DIR

# The judge prompt the engine uses unless told otherwise: the winner on the development set with
# the embedded model (evals/RESULTS.md: anchored, Spearman 0.62 vs 0.25 for the plain rubric).
DEFAULT_JUDGE_PROMPT = "anchored"
# The measured winner per criterion, where it differs from DEFAULT_JUDGE_PROMPT (evals/RESULTS.md).
DEFAULT_CRITERION_PROMPTS: dict[str, str] = {}

_SECTION = re.compile(r"^### (system|user)\s*$", re.MULTILINE)


class PromptError(ValueError):
    """A prompt file is malformed or was rendered with the wrong variables."""


@dataclass(frozen=True)
class PromptTemplate:
    """A two-part (system, user) prompt with a content hash for lineage (and a checklist's questions)."""

    name: str
    system: Template
    user: Template
    digest: str
    checklist: Checklist | None = None

    @property
    def variables(self) -> set[str]:
        """Return the names of every variable the template uses."""
        found: set[str] = set()
        for template in (self.system, self.user):
            for match in template.pattern.finditer(template.template):
                name = match.group("named") or match.group("braced")
                if name:
                    found.add(name)
        return found

    def render(self, **values: object) -> list[BaseMessage]:
        """Render to chat messages; every variable must be given, and nothing else."""
        missing = self.variables - values.keys()
        unknown = values.keys() - self.variables
        if missing or unknown:
            raise PromptError(
                f"prompt {self.name}: missing variables {sorted(missing)}, unknown variables {sorted(unknown)}"
            )
        text = {key: str(value) for key, value in values.items()}
        return [SystemMessage(self.system.substitute(text)), HumanMessage(self.user.substitute(text))]


def parse_prompt(text: str, name: str) -> PromptTemplate:
    """Split a prompt file's text into its system and user templates (and a checklist's front matter)."""
    try:
        checklist, body = split_front_matter(text, name)
    except ValueError as exc:
        raise PromptError(str(exc)) from exc
    parts = _SECTION.split(body)
    if sorted(parts[1::2]) != ["system", "user"]:
        raise PromptError(f"prompt {name} needs exactly one '### system' and one '### user' section")
    sections = {key: Template(part.strip()) for key, part in zip(parts[1::2], parts[2::2], strict=True)}
    for key, template in sections.items():
        if not template.is_valid():
            raise PromptError(f"prompt {name}: stray '$' in the {key} section (write $$ for a literal dollar sign)")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return PromptTemplate(name, sections["system"], sections["user"], digest, checklist)


@lru_cache(maxsize=64)
def load_prompt(path: Path) -> PromptTemplate:
    """Read a prompt file (cached by path)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"cannot read prompt {path}: {exc.strerror}") from exc
    return parse_prompt(text, path.stem)


def role_prompt(role: str) -> PromptTemplate:
    """Load a role's prompt from ``prompts/<role>.md`` (generator, rewriter, topics)."""
    return load_prompt(PROMPTS_DIR / f"{role}.md")


def default_prompt_for(criterion: str) -> str:
    """Return the judge prompt a criterion uses when its rubric entry names none."""
    return DEFAULT_CRITERION_PROMPTS.get(criterion, DEFAULT_JUDGE_PROMPT)


def judge_prompt_names() -> list[str]:
    """List the shipped judge prompt variants, the engine's default first."""
    names = sorted(path.stem for path in JUDGE_PROMPTS_DIR.glob("*.md"))
    return sorted(names, key=lambda name: name != DEFAULT_JUDGE_PROMPT)


def judge_prompt(name: str = DEFAULT_JUDGE_PROMPT, *, allow_path: bool = False) -> PromptTemplate:
    """Load a shipped judge prompt variant by name; unknown names list the known ones.

    Args:
        name: A name from :func:`judge_prompt_names`, or, when ``allow_path`` is set (the CLI,
            where the user owns the files), the path of a ``.md`` prompt file.
        allow_path: Accept file paths. Never set it for names that come over the network.
    """
    path = Path(name)
    if allow_path and path.suffix == ".md" and path.is_file():
        return load_prompt(path.resolve())
    if name not in judge_prompt_names():
        raise PromptError(f"unknown judge prompt {name!r}; known: {', '.join(judge_prompt_names())}")
    return load_prompt(JUDGE_PROMPTS_DIR / f"{name}.md")
