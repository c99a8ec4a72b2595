"""What the bot says: the help text, and progress, summary and sample messages.

Plain text with light Markdown (``*bold*``, backticks) that Slack, Lark, DingTalk and WeCom all
show legibly. Every function is pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from agents.schemas import Sample
from agents.styles import StylePack
from graph.datasets.export import EXPORT_FORMATS
from graph.progress import JobProgress, JobSummary

STOP_WORDS = {
    "completed": "done",
    "budget_attempts": "stopped: attempt budget used up",
    "budget_tokens": "stopped: token budget used up",
    "deadline": "stopped: deadline reached",
    "cancelled": "cancelled",
    "errors": "stopped after repeated errors",
}
MAX_TURN_CHARS = 600


def help_text(prefix: str, max_n: int) -> str:
    """Return the grammar with examples in English and Chinese.

    Args:
        prefix: How users call the bot here, e.g. ``/dataset`` or ``@dialogforge``.
        max_n: The largest n one job may ask for.
    """
    formats = " | ".join(EXPORT_FORMATS)
    return "\n".join(
        [
            "*dialogforge* makes, cleans and grows fine-tuning data sets. Commands / 命令:",
            f"• `{prefix} <style> <n> [format]`: start a job of n samples (n ≤ {max_n}; format {formats}, "
            "default sharegpt) / 生成 n 条样本",
            f"• `{prefix} status <id>` · `{prefix} cancel <id>`: follow or stop a job / 查看或取消任务",
            f"• `{prefix} sample <style>`: one sample now, with its scores / 立即生成一条样例",
            f"• `{prefix} clean <name@N> [ops]`: clean a version into a new one (default chain) / 清洗",
            f"• `{prefix} augment <name@N> <op> [n] [style] [param=value]`: n new samples per row (paraphrase, "
            "backtranslate, extend, scene-transfer, hard-cases, ...; scenes=, via=, turns=, focus=) / 增强",
            f"• `{prefix} report <name@N>`: the QC report (report.html) / 质检报告",
            f"• `{prefix} styles`: the style packs / 风格列表 · `{prefix} help`: this text / 帮助",
            "Examples / 例子:",
            f"  `{prefix} gentle 50 sharegpt`   `{prefix} snarky 20 alpaca`   `{prefix} status 3f2a9c1b7d4e`",
            f"  `{prefix} 温柔 50`   `{prefix} 生成 毒舌 20 条 openai`   `{prefix} 样例 温柔`",
            f"  `{prefix} 状态 3f2a9c1b7d4e`   `{prefix} 取消 3f2a9c1b7d4e`   `{prefix} 帮助`",
            f"  `{prefix} 清洗 bank-logs@1`   `{prefix} 增强 bank-logs@2 换个说法 2条`   `{prefix} 报告 bank-logs@3`",
            f"  `{prefix} clean bank-logs@1 normalize,pii,exact-dedup`   `{prefix} augment bank-logs@2 paraphrase 2`",
            f"  `{prefix} 增强 cafe@1 换场景 场景=餐厅,书店`   `{prefix} 增强 support@1 续写 4轮`   "
            f"`{prefix} 增强 logs@1 回译 via=英语`",
            "I update one message with the progress and post the JSONL file and a summary in its thread.",
        ]
    )


def styles_text(packs: Mapping[str, StylePack]) -> str:
    """Return one line per style pack: name, aliases and description."""
    lines = ["*Styles / 风格*:"]
    for name, pack in sorted(packs.items()):
        aliases = f" ({', '.join(pack.aliases)})" if pack.aliases else ""
        lines.append(f"• `{name}`{aliases}: {pack.description}")
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """Return a short human duration: ``42 s``, ``3 min 5 s``, ``1 h 2 min``."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def started_text(job_id: str, label: str, n: int, fmt: str) -> str:
    """Return the answer to a job request: the id and how to follow it."""
    return f"Started job `{job_id}`: {n} × {label} ({fmt}). Progress follows; `status {job_id}` or `cancel {job_id}`."


def waiting_text(job_id: str, label: str, n: int) -> str:
    """Return the progress message as first posted, before any update arrived."""
    return f"Job `{job_id}` ({label}, queued): *0/{n}* accepted"


def unreachable_text(job_id: str, reason: str) -> str:
    """Return what the asker is told when the bot cannot post the progress message in the chat."""
    return (
        f"I cannot post in this chat ({reason}); add me to it to see progress here. "
        f"Job `{job_id}` runs on: `status {job_id}`."
    )


def progress_text(job_id: str, label: str, progress: JobProgress, state: str = "running") -> str:
    """Return the one progress line that the bot keeps updating."""
    p = progress
    return (
        f"Job `{job_id}` ({label}, {state}): *{p.accepted}/{p.target}* accepted · {p.rejected} rejected · "
        f"{p.rewrites} rewrites · {p.tokens:,} tokens · {duration(p.elapsed_s)}"
    )


def summary_text(summary: JobSummary, fmt: str) -> str:
    """Return the end-of-job summary: accepted, rejected by reason, tokens, time, diversity."""
    s = summary
    outcome = STOP_WORDS.get(s.stop_reason, s.stop_reason)
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(s.rejected_by_reason.items()))
    lines = [
        f"*Job `{s.job_id}` {outcome}*: {s.accepted}/{s.target} {s.style} samples accepted ({fmt}).",
        f"Rejected: {s.rejected}" + (f" ({reasons})" if reasons else "") + f" · rewrites: {s.rewrites}",
        f"Tokens: {s.total_tokens:,} · LLM calls: {s.llm_calls} · time: {duration(s.wall_s)}",
    ]
    if s.diversity is not None:
        lines.append(f"Diversity: {s.diversity.summary_line(2, ' · ')}")
    if s.message:
        lines.append(f"Last error: {s.message[:300]}")
    return "\n".join(lines)


def sample_text(sample: Sample, style: str) -> str:
    """Return one sample inline: its turns, then the judge's scores and feedback."""
    lines = [f"*One {style} sample* ({sample.status}, {sample.rewrites} rewrites):"]
    for turn in sample.turns:
        who = "User" if turn.role == "user" else "Assistant"
        content = turn.content if len(turn.content) <= MAX_TURN_CHARS else turn.content[:MAX_TURN_CHARS] + "…"
        lines.append(f"> *{who}*: {content}")
    verdict = sample.verdict
    if verdict is not None:
        scores = " · ".join(f"{name} {score}/5" for name, score in verdict.scores.items())
        lines.append(f"Scores: {scores}" + (" (passed)" if verdict.passed else " (failed)"))
        if verdict.feedback:
            lines.append(f"Judge: {verdict.feedback[:300]}")
    if sample.reject_reason:
        lines.append(f"Rejected: {sample.reject_reason[:300]}")
    return "\n".join(lines)


def upload_failed_text(job_id: str, download_url: str, reason: str, ttl_s: float) -> str:
    """Return the message posted when the data set file could not be uploaded."""
    return f"I could not upload the data set of job `{job_id}` here ({reason}). " + download_text(
        job_id, download_url, ttl_s
    )


def download_text(job_id: str, download_url: str, ttl_s: float) -> str:
    """Return the message that gives a data set as a link (where the chat cannot take the file)."""
    return (
        f"Download the data set of job `{job_id}` (the link works for {duration(ttl_s)}; "
        f"`status {job_id}` gives a fresh one): {download_url}"
    )


def error_text(message: str) -> str:
    """Return an error in plain words, with a pointer to the help."""
    return f"Sorry: {message} (`help` shows the commands)"


def split_text(text: str, limit: int) -> list[str]:
    """Split a text into pieces of at most ``limit`` characters, at line breaks where possible.

    For platforms with a message size limit: a long answer becomes several messages, never a
    refused one.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            candidate = line
        current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def shorten(text: str, limit: int) -> str:
    """Return the text cut to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
