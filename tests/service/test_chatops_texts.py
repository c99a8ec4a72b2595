"""Chat message texts: help in English and Chinese, progress, summary, status and samples."""

from __future__ import annotations

from agents.schemas import Attempt, Lineage, Sample, Turn, Verdict
from agents.styles import builtin_styles
from graph.diversity import DiversityReport
from graph.progress import JobProgress, JobSummary
from service.chatops import texts, views
from service.chatops.store import ChatJob


def summary(**changes: object) -> JobSummary:
    base = JobSummary(
        job_id="abc123",
        style="gentle",
        workspace="default",
        target=10,
        accepted=10,
        rejected=3,
        rejected_by_reason={"judge": 2, "check": 1},
        rewrites=4,
        llm_calls=40,
        tokens={},
        total_tokens=12345,
        calls_per_accepted=4.0,
        tokens_per_accepted=1234.5,
        wall_s=125.0,
        stop_reason="completed",
        diversity=DiversityReport(n=10, distinct_2=0.81, mean_pairwise_distance=0.3456, near_duplicates=1),
    )
    return base.model_copy(update=changes)


def test_help_has_grammar_and_examples_in_both_languages() -> None:
    text = texts.help_text("/dataset", 500)
    for needle in (
        "/dataset gentle 50 sharegpt",
        "/dataset 温柔 50",
        "/dataset status <id>",
        "/dataset cancel <id>",
        "/dataset sample <style>",
        "/dataset 样例 温柔",
        "/dataset 状态",
        "/dataset 帮助",
        "n ≤ 500",
        "alpaca | sharegpt | openai | raw",
    ):
        assert needle in text
    assert "@dialogforge 温柔 50" in texts.help_text("@dialogforge", 10)


def test_styles_text_has_one_line_per_pack() -> None:
    packs = builtin_styles()
    lines = texts.styles_text(packs).splitlines()
    assert len(lines) == len(packs) + 1
    assert any(line.startswith("• `gentle` (温柔): ") for line in lines)


def test_progress_line() -> None:
    progress = JobProgress(job_id="abc", target=50, accepted=12, rejected=3, rewrites=5, tokens=4321, elapsed_s=130)
    line = texts.progress_text("abc", "gentle", progress)
    assert line == (
        "Job `abc` (gentle, running): *12/50* accepted · 3 rejected · 5 rewrites · 4,321 tokens · 2 min 10 s"
    )


def test_summary_has_accepted_reasons_tokens_time_diversity() -> None:
    text = texts.summary_text(summary(), "sharegpt")
    assert "*Job `abc123` done*: 10/10 gentle samples accepted (sharegpt)." in text
    assert "Rejected: 3 (check 1, judge 2) · rewrites: 4" in text
    assert "Tokens: 12,345" in text and "time: 2 min 5 s" in text
    assert "distinct-2 0.81" in text and "mean pairwise distance 0.35" in text and "near-duplicate pairs 1" in text


def test_summary_of_a_stopped_job_says_why_and_the_error() -> None:
    text = texts.summary_text(
        summary(stop_reason="errors", accepted=2, diversity=None, message="ConnectError: refused"), "alpaca"
    )
    assert "stopped after repeated errors" in text and "2/10" in text
    assert "Diversity" not in text and "Last error: ConnectError: refused" in text


def test_status_text_prefers_the_summary_in_the_words_of_the_jobs_kind() -> None:
    progress = JobProgress(job_id="abc123", target=10, accepted=4, rejected=1)
    job = ChatJob("abc123", "slack", "u", "c", "gentle", 10, "raw")
    assert "(gentle, running): *4/10*" in views.status_text(job, "running", progress, None, None)
    assert "done" in views.status_text(job, "completed", progress, summary(), None)
    cleaning = ChatJob("abc123", "slack", "u", "c", "logs@1", 0, "raw", kind="clean")
    assert "*5/10* rows read · 4 kept · 1 dropped" in views.status_text(cleaning, "running", progress, None, None)
    assert "New version: `logs@2`" in views.status_text(cleaning, "completed", progress, summary(), "logs@2")


def test_sample_text_shows_turns_and_scores() -> None:
    verdict = Verdict(scores={"empathy": 5, "style": 4}, passed=True, feedback="warm and specific")
    sample = Sample(
        id="s1",
        status="accepted",
        system="sys",
        turns=[Turn(role="user", content="我好累"), Turn(role="assistant", content="辛苦啦" + "呢" * 700)],
        attempts=[Attempt(kind="generate", verdict=verdict), Attempt(kind="rewrite", verdict=verdict)],
        lineage=Lineage(style="gentle", topic="加班"),
    )
    text = texts.sample_text(sample, "gentle")
    assert "(accepted, 1 rewrites)" in text
    assert "> *User*: 我好累" in text
    assert "Scores: empathy 5/5 · style 4/5 (passed)" in text
    assert "Judge: warm and specific" in text
    assert max(len(line) for line in text.splitlines()) < 700


def test_durations_and_errors() -> None:
    assert texts.duration(0.4) == "0 s"
    assert texts.duration(3725) == "1 h 2 min"
    assert texts.error_text("boom.").startswith("Sorry: boom.")
    failed = texts.upload_failed_text("j1", "https://df.example/chat/datasets/tok", "HTTP 500", 3600)
    assert "(HTTP 500)" in failed and failed.endswith("https://df.example/chat/datasets/tok")
    assert "the link works for 1 h 0 min" in failed and "`status j1` gives a fresh one" in failed


def test_split_text_keeps_lines_and_never_exceeds_the_limit() -> None:
    text = "\n".join(["a" * 30, "b" * 30, "c" * 95, "d"])
    pieces = texts.split_text(text, 40)
    assert all(len(p) <= 40 for p in pieces) and "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert pieces[0] == "a" * 30 and pieces[-1].endswith("d")
    assert texts.split_text("", 10) == [""] and texts.split_text("short", 10) == ["short"]
    assert texts.shorten("abcdef", 4) == "abc…" and texts.shorten("abc", 4) == "abc"


def test_the_diversity_line_is_one_renderer_for_the_cli_and_the_chat() -> None:
    from graph.diversity import DiversityReport

    report = DiversityReport(n=4, distinct_2=0.81234, mean_pairwise_distance=0.4567, near_duplicates=1)
    assert report.summary_line() == "distinct-2 0.812, mean pairwise distance 0.457, near-duplicate pairs 1"
    assert report.summary_line(2, " · ") == "distinct-2 0.81 · mean pairwise distance 0.46 · near-duplicate pairs 1"
