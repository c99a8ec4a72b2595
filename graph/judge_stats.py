"""What the judge did in a job: score use per criterion, what it passed, what it sent to rewrite.

A judge that passes nearly everything that reaches it (after the rule checks) is not deciding
anything: the report flags it as "not discriminating" so nobody mistakes its 4/4/4 for quality.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

from agents.schemas import Sample

NOT_DISCRIMINATING_PASS_RATE = 0.95
MIN_JUDGED_FOR_FLAG = 10
LEVELS = ("1", "2", "3", "4", "5")


class JudgeStats(BaseModel):
    """Counts over every judged draft of a job (first drafts and rewrites)."""

    judged: int = 0
    passed: int = 0
    unreadable: int = 0
    sent_to_rewrite_by_judge: int = 0
    sent_to_rewrite_by_rules: int = 0
    score_use: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Per criterion, how often each sampled score 1-5 was given."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pass_rate(self) -> float | None:
        """The share of judged drafts the judge passed (None before any)."""
        return self.passed / self.judged if self.judged else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def not_discriminating(self) -> bool:
        """Whether the judge passed more than 95% of at least 10 drafts that reached it."""
        rate = self.pass_rate
        return self.judged >= MIN_JUDGED_FOR_FLAG and rate is not None and rate > NOT_DISCRIMINATING_PASS_RATE

    def add(self, sample: Sample) -> None:
        """Count one finished sample's attempts."""
        attempts = sample.attempts
        for index, attempt in enumerate(attempts):
            rewritten = index + 1 < len(attempts) and attempts[index + 1].kind == "rewrite"
            verdict = attempt.verdict
            if verdict is None:
                if rewritten and (attempt.check_failures or attempt.parse_error):
                    self.sent_to_rewrite_by_rules += 1
                continue
            self.judged += 1
            self.passed += int(verdict.passed)
            self.unreadable += int(verdict.error is not None)
            self.sent_to_rewrite_by_judge += int(rewritten and not verdict.passed)
            for name, score in verdict.scores.items():
                use = self.score_use.setdefault(name, dict.fromkeys(LEVELS, 0))
                use[str(score)] = use.get(str(score), 0) + 1

    def summary_line(self) -> str:
        """Describe the judge's work in one line (for the CLI and the report)."""
        if not self.judged:
            return "the judge saw no draft"
        flag = " - NOT DISCRIMINATING (it passes nearly everything that reaches it)" if self.not_discriminating else ""
        return (
            f"judged {self.judged} drafts, passed {self.passed} ({self.pass_rate:.0%}), sent "
            f"{self.sent_to_rewrite_by_judge} to rewrite (rules sent {self.sent_to_rewrite_by_rules}){flag}"
        )
