"""What LLM calls cost: a price table per model and the cost of a job by role, sample and reason.

Shipped defaults cover a few common hosted models (USD per million tokens, as the providers
published them in 2025: check yours). A YAML file (``DIALOGFORGE_PRICES_FILE``) overrides or adds
models::

    gpt-4o-mini: {input: 0.15, output: 0.60, batch_discount: 0.5}
    my-vllm-model: {input: 0, output: 0}

A model is matched by its exact name, else by the longest shipped or configured name it starts
with (``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``). The embedded model costs nothing.
A model with no price is listed as unpriced, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from agents.local_llm import EMBEDDED_MODEL_NAME
from agents.schemas import TokenUsage

MILLION = 1_000_000


class PricingError(ValueError):
    """The price file cannot be read; the message names the file and the field."""

    code = 2  # the CLI's exit code: bad input


class Price(BaseModel):
    """USD per million input and output tokens, and the Batch API's discount (0.5 = half price)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    batch_discount: float = Field(default=0.0, ge=0, le=1)


OPENAI_BATCH = 0.5
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(input=0.15, output=0.60, batch_discount=OPENAI_BATCH),
    "gpt-4o": Price(input=2.50, output=10.00, batch_discount=OPENAI_BATCH),
    "gpt-4.1": Price(input=2.00, output=8.00, batch_discount=OPENAI_BATCH),
    "gpt-4.1-mini": Price(input=0.40, output=1.60, batch_discount=OPENAI_BATCH),
    "gpt-4.1-nano": Price(input=0.10, output=0.40, batch_discount=OPENAI_BATCH),
    "o4-mini": Price(input=1.10, output=4.40, batch_discount=OPENAI_BATCH),
    "deepseek-chat": Price(input=0.27, output=1.10),
    "deepseek-reasoner": Price(input=0.55, output=2.19),
    EMBEDDED_MODEL_NAME: Price(input=0.0, output=0.0),
}


class CostReport(BaseModel):
    """A job's cost in USD: total, per role, per accepted sample and per reject reason."""

    total_usd: float
    per_role_usd: dict[str, float]
    per_accepted_usd: float | None
    rejected_by_reason_usd: dict[str, float] = Field(default_factory=dict)
    unpriced_models: list[str] = Field(default_factory=list)
    batch: bool = False


class PriceTable:
    """Prices by model name (see the module docstring)."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        """Use ``prices`` on top of the shipped defaults."""
        self.prices = {**DEFAULT_PRICES, **(prices or {})}

    @classmethod
    def load(cls, path: Path | None) -> PriceTable:
        """The defaults, overridden by the YAML file at ``path`` (if given).

        Raises:
            PricingError: the file is missing, not YAML, or a price is malformed.
        """
        if path is None:
            return cls()
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise PricingError(f"cannot read the price file {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise PricingError(f"price file {path}: expected 'model: {{input: ..., output: ...}}' entries")
        prices = {}
        for model, entry in raw.items():
            try:
                prices[str(model)] = Price.model_validate(entry)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise PricingError(f"price file {path}: {model}.{where}: {first['msg']}") from None
        return cls(prices)

    def price(self, model: str) -> Price | None:
        """Return the price of ``model`` (exact name, else the longest known prefix), or None."""
        if model in self.prices:
            return self.prices[model]
        prefixes = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, usage: TokenUsage, *, batch: bool = False) -> float | None:
        """Return the USD cost of ``usage`` on ``model`` (None when it has no price)."""
        price = self.price(model)
        if price is None:
            return None
        full = (usage.input_tokens * price.input + usage.output_tokens * price.output) / MILLION
        return full * (1 - price.batch_discount) if batch else full

    def usage_cost(self, tokens: Mapping[str, TokenUsage], models: Mapping[str, str], *, batch: bool = False) -> float:
        """Return the USD cost of per-role usage (roles on unpriced models count 0)."""
        total = 0.0
        for role, usage in tokens.items():
            cost = self.cost(models.get(role, ""), usage, batch=batch)
            total += cost or 0.0
        return total

    def report(
        self,
        tokens: Mapping[str, TokenUsage],
        models: Mapping[str, str],
        accepted: int,
        rejected_by_reason_usd: Mapping[str, float],
        *,
        batch: bool = False,
    ) -> CostReport:
        """Build a job's cost report from its per-role usage."""
        per_role = {role: self.cost(models.get(role, ""), usage, batch=batch) or 0.0 for role, usage in tokens.items()}
        unpriced = sorted(
            {
                models.get(role, "")
                for role, usage in tokens.items()
                if usage.calls and self.price(models.get(role, "")) is None
            }
        )
        total = sum(per_role.values())
        return CostReport(
            total_usd=total,
            per_role_usd=per_role,
            per_accepted_usd=total / accepted if accepted else None,
            rejected_by_reason_usd=dict(rejected_by_reason_usd),
            unpriced_models=unpriced,
            batch=batch,
        )
