"""The augmentation operators by name, and their parameters as one tagged union.

``OperatorSpec`` is what a job request carries: ``{"op": "scene-transfer", "scenes": ["餐厅"]}``,
validated by the operator's own parameter model (an unknown ``op`` lists the operators; a bad
field is named, e.g. ``operator.scene-transfer.scenes``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from agents.augment.backtranslate import BACKTRANSLATE, BacktranslateParams
from agents.augment.extend import EXTEND, ExtendParams
from agents.augment.hard_cases import HARD_CASES, HardCasesParams
from agents.augment.operator import Operator
from agents.augment.paraphrase import PARAPHRASE, ParaphraseParams
from agents.augment.qa_dialogue import QA_TO_DIALOGUE, QaDialogueParams
from agents.augment.scene_transfer import SCENE_TRANSFER, SceneTransferParams
from agents.augment.style_transfer import STYLE_TRANSFER, StyleTransferParams

OPERATORS: dict[str, Operator[Any]] = {
    operator.name: operator
    for operator in (PARAPHRASE, BACKTRANSLATE, STYLE_TRANSFER, SCENE_TRANSFER, EXTEND, QA_TO_DIALOGUE, HARD_CASES)
}

OperatorSpec = Annotated[
    ParaphraseParams
    | BacktranslateParams
    | StyleTransferParams
    | SceneTransferParams
    | ExtendParams
    | QaDialogueParams
    | HardCasesParams,
    Field(discriminator="op"),
]
_adapter: TypeAdapter[OperatorSpec] = TypeAdapter(OperatorSpec)


class OperatorError(ValueError):
    """An unknown operator or bad operator parameters; the message says what to fix."""


def operator_names() -> list[str]:
    """Return the operators' names, in the order they are documented."""
    return list(OPERATORS)


def get_operator(name: str) -> Operator[Any]:
    """Return an operator by name; an unknown name lists the operators."""
    try:
        return OPERATORS[name]
    except KeyError:
        raise OperatorError(f"unknown operator {name!r}; operators: {', '.join(OPERATORS)}") from None


def parse_spec(name: str, params: dict[str, Any]) -> OperatorSpec:
    """Validate an operator's parameters, refusing unknown operators and naming bad fields."""
    get_operator(name)
    try:
        return _adapter.validate_python({**params, "op": name})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'][1:]) or name}: {item['msg']}" for item in error.errors()
        )
        raise OperatorError(f"bad parameters for {name}: {problems}") from None


def describe_operators() -> list[tuple[str, str]]:
    """Return (name, one-line summary) of every operator."""
    return [(name, operator.summary) for name, operator in OPERATORS.items()]


# Command-line shorthands: the option, the operators that take it and the parameter it sets.
SHORTHANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "via": (("backtranslate",), "via"),
    "scenes": (("scene-transfer",), "scenes"),
    "turns": (("extend", "qa-to-dialogue"), "turns"),
    "focus": (("hard-cases",), "focus"),
}
MAX_OPS = 8


def parse_ops(ops: str, shorthands: dict[str, Any] | None = None, sets: list[str] | None = None) -> list[OperatorSpec]:
    """Parse ``--ops a,b`` with the shorthand options (``--via``...) and ``--set op.field=value`` pairs.

    Values of ``--set`` are read as YAML scalars or flow lists (``0.9``, ``[en, ja]``, ``text``).

    Raises:
        OperatorError: An unknown operator, a shorthand or ``--set`` no chosen operator takes, or a bad value.
    """
    import yaml

    names = [name.strip() for name in ops.split(",") if name.strip()]
    if not names:
        raise OperatorError(f"--ops names no operator; operators: {', '.join(OPERATORS)}")
    if len(names) > MAX_OPS or len(set(names)) != len(names):
        raise OperatorError(f"--ops takes up to {MAX_OPS} different operators, each once")
    params: dict[str, dict[str, Any]] = {get_operator(name).name: {} for name in names}
    for option, value in (shorthands or {}).items():
        if value is None:
            continue
        takers, field = SHORTHANDS[option]
        chosen = [name for name in names if name in takers]
        if not chosen:
            raise OperatorError(f"--{option} is for {' or '.join(takers)}, which --ops does not name")
        for name in chosen:
            params[name][field] = value
    for item in sets or []:
        key, sep, raw = item.partition("=")
        name, dot, field = key.strip().partition(".")
        if not sep or not dot or not field:
            raise OperatorError(f"--set {item!r}: write OPERATOR.FIELD=VALUE, e.g. paraphrase.max_overlap=0.4")
        if name not in params:
            raise OperatorError(f"--set {item!r}: operator {name!r} is not in --ops ({', '.join(names)})")
        try:
            params[name][field] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise OperatorError(f"--set {item!r}: the value is not a number, text or [list]") from None
    return [parse_spec(name, values) for name, values in params.items()]
