"""Service settings, read from ``DIALOGFORGE_*`` environment variables (and a ``.env`` file).

Only the service's startup (CLI entry, FastAPI lifespan) builds :class:`Settings`; everything
else receives the values it needs as arguments. Keep this one flat class: each feature adds its
own fields here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.llm import DEFAULT_MODEL, LLMConfig
from agents.local_llm import EMBEDDED_MODEL_NAME
from agents.remote_embeddings import EmbeddingEndpoint


def _reveal(secret: SecretStr | None) -> str | None:
    """The secret's value, for the one call that needs it (never for logs)."""
    return secret.get_secret_value() if secret else None


class Settings(BaseSettings):
    """Every knob of dialogforge, e.g. ``DIALOGFORGE_LLM_BASE_URL=https://api.deepseek.com/v1``."""

    model_config = SettingsConfigDict(env_prefix="DIALOGFORGE_", env_file=".env", extra="ignore")

    # LLM endpoint: unset base URL = the embedded llama.cpp model.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    generator_model: str | None = None
    judge_model: str | None = None
    rewriter_model: str | None = None
    llm_timeout_s: float | None = Field(default=None, gt=0)
    llm_max_retries: int = Field(default=5, ge=0)
    # Calls in flight: unset = no cap (each job's concurrency decides; 429s still halve it).
    llm_max_concurrency: int | None = Field(default=None, ge=1)
    llm_rpm: float | None = Field(default=None, gt=0)  # the provider's published requests per minute
    llm_tpm: float | None = Field(default=None, gt=0)  # ... and tokens per minute
    llm_requests_per_second: float | None = Field(default=None, gt=0)  # older spelling of llm_rpm / 60

    # Storage.
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".dialogforge")
    # The call cache (data_dir/cache.db): LLM answers and embeddings, shared by the data dir's jobs.
    cache: bool = True
    cache_max_mb: int = Field(default=1024, ge=1)
    # Prices per model (YAML: "model: {input: USD per 1M tokens, output: ...}") on top of the shipped ones.
    prices_file: Path | None = None
    # How long a job's lease lasts unrenewed (renewed every third of it). Another process takes
    # over a job only once its lease has expired, or at once when its holder on this host exited.
    job_lease_s: float = Field(default=30.0, ge=0.3, le=3600)

    # Embedded model.
    local_gguf: Path | None = None
    local_parallel: int = Field(default=4, ge=1)
    local_ctx_per_slot: int = Field(default=4096, ge=512)

    # Embeddings: "e5" (bundled multilingual-e5-small), "openai:<model>" (an OpenAI-compatible
    # /v1/embeddings endpoint, by default the LLM's) or a sentence-transformers name or path.
    embedder: str = "e5"
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = None

    # Accepted user turns shown to the generator as "already covered". Unset: 5 on an endpoint,
    # 0 on the embedded 1.5B model, which copies them (measured: benchmarks/README.md).
    avoid_neighbors: int | None = Field(default=None, ge=0, le=20)

    # Judge scores: "sampled" (the digit the judge wrote) or "weighted" (the expectation over the
    # score tokens' probabilities; needs an endpoint that returns logprobs, checked at start).
    judge_scoring: Literal["sampled", "weighted"] = "sampled"
    judge_sampled_fallback: bool = False  # weighted asked for, no logprobs: use sampled instead of failing

    # HTTP service (dialogforge serve): keys are comma-separated bearer tokens; none = loopback only.
    api_keys: SecretStr | None = None
    max_job_n: int = Field(default=10_000, ge=1)
    max_concurrent_jobs: int = Field(default=4, ge=1)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=512 * 1_048_576, ge=1024)  # POST /v1/datasets (a file to import)
    sample_timeout_s: float = Field(default=300.0, gt=0)
    shutdown_grace_s: float = Field(default=20.0, ge=0)
    max_event_subscribers: int = Field(default=256, ge=1)

    # Review page (/review): show the judge's verdict once a reviewer has decided (never before);
    # how long a review session lasts.
    review_show_judge: bool = True
    review_session_hours: float = Field(default=12.0, gt=0, le=24 * 7)

    def api_key_list(self) -> list[str]:
        """Return the configured API keys (empty when the service is open on loopback only)."""
        raw = self.api_keys.get_secret_value() if self.api_keys else ""
        return [key.strip() for key in raw.split(",") if key.strip()]

    # Slack bot (service.slack): off unless both the token and the signing secret are set.
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret")
    )
    slack_api_url: str | None = None  # DIALOGFORGE_SLACK_API_URL: Slack Web API base (tests point it at a mock)
    slack_progress_interval_s: float = Field(default=3.0, gt=0)
    # Chat bots: bounds per user and per channel (n = samples in that user's/channel's running jobs).
    chatops_max_n_per_user: int = Field(default=1000, ge=1)
    chatops_max_n_per_channel: int = Field(default=2000, ge=1)
    chatops_max_jobs_per_user: int = Field(default=2, ge=1)
    chatops_max_jobs_per_channel: int = Field(default=4, ge=1)
    chatops_public_url: str | None = None  # e.g. https://dialogforge.example.com, for download links
    chatops_link_ttl_s: float = Field(default=3600.0, gt=0, le=7 * 86400)  # how long a download link works
    chatops_link_secret: SecretStr | None = None  # signs download links (unset: a random key in data_dir)

    chatops_max_clock_skew_s: float = Field(default=300.0, gt=0, le=3600)  # signed requests' timestamps

    # Feishu / Lark bot (service.feishu): off unless the app id, app secret and verification token are set.
    feishu_app_id: str | None = Field(default=None, validation_alias=AliasChoices("FEISHU_APP_ID", "feishu_app_id"))
    feishu_app_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("FEISHU_APP_SECRET", "feishu_app_secret")
    )
    feishu_verification_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("FEISHU_VERIFICATION_TOKEN", "feishu_verification_token")
    )
    feishu_encrypt_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("FEISHU_ENCRYPT_KEY", "feishu_encrypt_key")
    )
    feishu_api_url: str = "https://open.feishu.cn"  # DIALOGFORGE_FEISHU_API_URL: https://open.larksuite.com for Lark
    feishu_progress_interval_s: float = Field(default=3.0, gt=0)

    # DingTalk robot (service.dingtalk): off unless the app key and app secret are set.
    dingtalk_app_key: str | None = Field(
        default=None, validation_alias=AliasChoices("DINGTALK_APP_KEY", "dingtalk_app_key")
    )
    dingtalk_app_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DINGTALK_APP_SECRET", "dingtalk_app_secret")
    )
    dingtalk_robot_code: str | None = Field(
        default=None, validation_alias=AliasChoices("DINGTALK_ROBOT_CODE", "dingtalk_robot_code")
    )  # unset: the app key (an enterprise-internal app's robot)
    dingtalk_api_url: str = "https://api.dingtalk.com"  # DIALOGFORGE_DINGTALK_API_URL
    dingtalk_progress_interval_s: float = Field(default=3.0, gt=0)

    @property
    def feishu_enabled(self) -> bool:
        """Whether the Feishu bot is configured (app id, app secret and verification token)."""
        return bool(self.feishu_app_id and self.feishu_app_secret and self.feishu_verification_token)

    @property
    def dingtalk_enabled(self) -> bool:
        """Whether the DingTalk robot is configured (app key and app secret)."""
        return bool(self.dingtalk_app_key and self.dingtalk_app_secret)

    @property
    def slack_enabled(self) -> bool:
        """Whether the Slack bot is configured (both the bot token and the signing secret set)."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def uses_embedded_llm(self) -> bool:
        """Whether the embedded llama.cpp server must be started (no base URL set)."""
        return not self.llm_base_url

    def embedding_endpoint(self) -> EmbeddingEndpoint:
        """Where ``openai:`` embedders are served: the embeddings URL and key, else the LLM's."""
        return EmbeddingEndpoint.choose(
            (self.embeddings_base_url, _reveal(self.embeddings_api_key)),
            (self.llm_base_url, _reveal(self.llm_api_key)),
            timeout_s=self.llm_timeout_s or 60.0,
            max_retries=self.llm_max_retries,
        )

    def llm_config(self) -> LLMConfig:
        """Return the LLM settings for :func:`agents.llm.build_role_models`.

        Unset model names default to the embedded model's name when the embedded server is used,
        else to ``"default"``. For the embedded server, calls in flight are capped at its slot
        count (more would only queue inside llama.cpp with their timeout running) and the default
        timeout is 600 s (a long answer on 2 busy cores takes minutes); 120 s elsewhere. An
        endpoint has no cap unless ``llm_max_concurrency`` is set.
        """
        embedded = self.uses_embedded_llm
        fallback = EMBEDDED_MODEL_NAME if embedded else DEFAULT_MODEL
        concurrency = self.llm_max_concurrency
        if embedded:
            concurrency = min(concurrency or self.local_parallel, self.local_parallel)
        rpm = self.llm_rpm or (self.llm_requests_per_second * 60 if self.llm_requests_per_second else None)
        return LLMConfig(
            base_url=self.llm_base_url or None,
            api_key=_reveal(self.llm_api_key),
            generator_model=self.generator_model or fallback,
            judge_model=self.judge_model or fallback,
            rewriter_model=self.rewriter_model or fallback,
            timeout_s=self.llm_timeout_s or (600.0 if embedded else 120.0),
            max_retries=self.llm_max_retries,
            max_concurrency=concurrency,
            requests_per_minute=rpm,
            tokens_per_minute=self.llm_tpm,
        )
