"""The line a job prints first: what bounds its speed (concurrency, LLM cap, RPM/TPM, cache, embedder).

No limit is silent: a cap below the job's concurrency is named with the setting that sets it.
"""

from __future__ import annotations

from service.settings import Settings


def _rate(value: float | None, unit: str) -> str:
    return f"{unit} {value:g}" if value else f"{unit} off"


def llm_cap_text(settings: Settings, concurrency: int) -> str:
    """Describe how many LLM calls may be in flight, and why."""
    config = settings.llm_config()
    cap = config.max_concurrency
    if cap is None:
        return f"LLM calls in flight: up to {concurrency} (no cap set; halved on 429/503, regrown after)"
    if settings.uses_embedded_llm and cap < concurrency:
        why = f"the embedded model's {settings.local_parallel} slots, DIALOGFORGE_LOCAL_PARALLEL"
    elif cap < concurrency:
        why = f"DIALOGFORGE_LLM_MAX_CONCURRENCY={cap}, below --concurrency {concurrency}"
    else:
        why = "DIALOGFORGE_LLM_MAX_CONCURRENCY"
    return f"LLM calls in flight: at most {min(cap, concurrency)} ({why})"


def limits_line(settings: Settings, concurrency: int) -> str:
    """Return the one line that says every limit in force for a job of ``concurrency`` samples."""
    config = settings.llm_config()
    parts = [
        f"concurrency {concurrency}",
        llm_cap_text(settings, concurrency),
        _rate(config.requests_per_minute, "RPM"),
        _rate(config.tokens_per_minute, "TPM"),
        "cache on" if settings.cache else "cache off",
        f"embedder {settings.embedder}",
    ]
    return "; ".join(parts)
