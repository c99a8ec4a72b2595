"""Prometheus metrics of one app: requests, LLM calls, tokens, accepted/rejected samples, latencies.

Each app has its own registry (several apps can live in one test process). LLM calls and tokens
are counted from each finished sample's lineage, plus the topic brainstorms when a job ends.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from agents.admission import Admission, AdmissionStats
from agents.pricing import PriceTable
from agents.schemas import Sample, TokenUsage
from service.jobs.models import JobRecord

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class ServiceMetrics:
    """The service's counters and histograms; also a job observer for the JobManager."""

    def __init__(self) -> None:
        """Create the metrics in a fresh registry."""
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "dialogforge_http_requests", "HTTP requests served.", ["method", "route", "status"], registry=r
        )
        self.request_latency = Histogram(
            "dialogforge_http_request_duration_seconds",
            "Time to serve a request (whole stream for streaming responses).",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_calls = Counter("dialogforge_llm_calls", "LLM calls, by role.", ["role"], registry=r)
        self.llm_tokens = Counter(
            "dialogforge_llm_tokens", "LLM tokens, by role and direction.", ["role", "kind"], registry=r
        )
        self.samples = Counter("dialogforge_samples", "Finished samples, by status.", ["status"], registry=r)
        self.sample_latency = Histogram(
            "dialogforge_sample_duration_seconds", "Time to finish one sample.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.jobs_ended = Counter("dialogforge_jobs_ended", "Jobs that ended, by status.", ["status"], registry=r)
        self.jobs_running = Gauge("dialogforge_jobs_running", "Jobs running in this process.", registry=r)
        self._admission: Admission | None = None
        self.llm_cost = Counter(
            "dialogforge_llm_cost_usd", "LLM cost in USD (price table), by role.", ["role"], registry=r
        )
        self.prices: PriceTable | None = None

    def track_admission(self, admission: Admission | None) -> None:
        """Read the endpoint's LLM call limit, calls in flight and 429/503 count at scrape time.

        The gauges are registered once; a second lifespan of the same app just points them at its
        engine's admission.
        """
        if admission is None:
            return
        first = self._admission is None
        self._admission = admission
        if not first:
            return
        r = self.registry
        limit = Gauge("dialogforge_llm_call_limit", "LLM calls allowed in flight now (AIMD).", registry=r)
        in_flight = Gauge("dialogforge_llm_calls_in_flight", "LLM calls in flight now.", registry=r)
        throttled = Gauge("dialogforge_llm_throttled", "429/503 answers from the LLM endpoint so far.", registry=r)
        limit.set_function(lambda: float(self._stats().limit))
        in_flight.set_function(lambda: float(self._stats().in_flight))
        throttled.set_function(lambda: float(self._stats().throttled))

    def _stats(self) -> AdmissionStats:
        assert self._admission is not None
        return self._admission.stats()

    def track_running(self, count: Callable[[], int]) -> None:
        """Read the running-jobs gauge from ``count`` at scrape time."""
        self.jobs_running.set_function(lambda: float(count()))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one served request."""
        self.requests.labels(method, route, str(status)).inc()
        self.request_latency.labels(method, route).observe(seconds)

    def _usage(self, tokens: dict[str, TokenUsage], models: dict[str, str] | None = None) -> None:
        for role, usage in tokens.items():
            if self.prices is not None and models:
                self.llm_cost.labels(role).inc(self.prices.cost(models.get(role, ""), usage) or 0.0)
            self.llm_calls.labels(role).inc(usage.calls)
            self.llm_tokens.labels(role, "input").inc(usage.input_tokens)
            self.llm_tokens.labels(role, "output").inc(usage.output_tokens)

    def on_sample(self, sample: Sample) -> None:
        """Count a finished sample and the LLM calls and tokens it took."""
        self.samples.labels(sample.status).inc()
        self._usage(sample.lineage.tokens, sample.lineage.models)
        lineage = sample.lineage
        if lineage.finished_at is not None:
            self.sample_latency.observe(max(0.0, (lineage.finished_at - lineage.started_at).total_seconds()))

    def on_job_end(self, record: JobRecord) -> None:
        """Count an ended job and its topic brainstorm calls."""
        self.jobs_ended.labels(record.status).inc()
        if record.summary is not None and "topics" in record.summary.tokens:
            self._usage({"topics": record.summary.tokens["topics"]}, record.summary.models)

    def on_usage(self, tokens: dict[str, TokenUsage]) -> None:
        """Count LLM calls made outside jobs (e.g. the judge endpoint)."""
        self._usage(tokens)

    def render(self) -> bytes:
        """Return the metrics in the Prometheus text format."""
        return generate_latest(self.registry)
