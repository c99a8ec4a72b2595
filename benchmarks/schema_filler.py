"""Fill a JSON schema mechanically, like a constrained decoder with no sense: any instance it admits.

Some OpenAI-compatible servers enforce ``response_format`` schemas while the model behind them
pays little attention to the prompt, so the answers are, in effect, arbitrary instances of the
schema. This filler produces such instances (seeded), for the tests that check that every
instance of an answer schema is a usable answer, and for the fake server's ``--mechanical`` mode.

It understands what dialogforge's schemas use: objects with properties, ``$ref`` into ``$defs``,
arrays with ``minItems``/``maxItems``, ``enum``, strings with ``maxLength``, integers with bounds.
"""

from __future__ import annotations

import random
from typing import Any

WORDS = ("好的", "谢谢", "嗯", "okay", "sure", "maybe", "账单", "积分", "today", "呀", "呢", "fine")
MAX_ARRAY = 4


def fill(schema: dict[str, Any], rng: random.Random, root: dict[str, Any] | None = None) -> Any:
    """Return one instance of ``schema`` (resolving ``$ref`` against ``root``), chosen by ``rng``."""
    root = root or schema
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return fill(root["$defs"][name], rng, root)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "anyOf" in schema:
        return fill(rng.choice(schema["anyOf"]), rng, root)
    kind = schema.get("type")
    if kind == "object":
        return {key: fill(value, rng, root) for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, MAX_ARRAY)))
        return [fill(schema.get("items", {}), rng, root) for _ in range(rng.randint(low, high))]
    if kind == "integer":
        return rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 9)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        low = int(schema.get("minLength", 0))
        text = text.ljust(low, "x")
        return text[: int(schema["maxLength"])] if "maxLength" in schema else text
    return None
