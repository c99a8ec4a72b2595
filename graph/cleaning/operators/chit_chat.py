"""``chit-chat``: dialogues whose replies carry nothing but greetings, thanks or goodbyes.

Seed 001 keeps 28,000 of 50,000 logged dialogues after dropping "无效寒暄". A row is chit-chat
when every assistant turn, once greetings, thanks, courtesy phrases, emoji and punctuation are
taken out, has fewer than ``min_content_chars`` characters left ("你好，在吗？" / "您好！" /
"谢谢，再见~" / "Hi there! Thanks, bye."). Rules only; the ``judge`` operator can score what
remains.
"""

from __future__ import annotations

import re
from functools import cached_property

from pydantic import Field

from agents.schemas import Sample
from graph.cleaning.base import KEEP, Decision, Drop, OperatorParams, RowOperator

DEFAULT_PHRASES: tuple[str, ...] = (
    "您好", "你好", "哈喽", "嗨", "在吗", "在的", "在呢", "请问", "有什么可以帮您", "有什么可以帮你", "有什么需要",
    "很高兴为您服务", "很高兴为你服务", "谢谢", "感谢", "多谢", "不客气", "不用谢", "没关系", "再见", "拜拜", "晚安",
    "早上好", "下午好", "晚上好", "好的", "嗯嗯", "嗯", "哦", "收到", "明白", "了解", "客气了", "祝您生活愉快",
    "祝你生活愉快", "亲", "呢", "呀", "啦", "哈", "吧", "啊",
    "hello", "hi", "hey", "there", "thanks", "thank you", "thx", "you're welcome", "welcome", "no problem",
    "bye", "goodbye", "see you", "good morning", "good evening", "good night", "ok", "okay", "sure", "great",
    "how can i help you", "how can i help", "anything else", "have a nice day", "you", "too",
)  # fmt: skip


_NOT_WORD = re.compile(r"[\W_]+")
_PREFIX_CHARS = 48


class ChitChatParams(OperatorParams):
    """Parameters of ``chit-chat``."""

    phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_PHRASES), description="Courtesy phrases.")
    min_content_chars: int = Field(default=2, ge=1, description="Characters a reply needs beyond courtesy.")


class ChitChat(RowOperator):
    """Drop dialogues whose every reply is only a greeting, thanks or goodbye."""

    name = "chit-chat"
    summary = "Drop dialogues whose replies are only greetings/thanks/goodbyes (你好/在吗/谢谢，再见)."
    Params = ChitChatParams
    params: ChitChatParams

    @cached_property
    def _courtesy(self) -> re.Pattern[str]:
        phrases = sorted(self.params.phrases, key=len, reverse=True)
        words = "|".join(rf"\b{re.escape(p)}\b" if p.isascii() else re.escape(p) for p in phrases)
        return re.compile(words, re.I)

    def content(self, reply: str) -> str:
        """Return what is left of a reply without courtesy phrases, punctuation, symbols and spaces."""
        return _NOT_WORD.sub("", self._courtesy.sub("", reply))

    def has_content(self, reply: str) -> bool:
        """Return whether a reply says something beyond courtesy.

        Two shortcuts give the same answer as :meth:`content` at a fraction of the cost: a reply
        with ``min_content_chars`` letters that occur in no phrase has content (no phrase can
        remove them); and when a prefix alone keeps ``min_content_chars`` plus the longest phrase's
        length (a phrase cut by the prefix's end could count as content), so does the whole reply.
        """
        needed = self.params.min_content_chars
        if len(_NOT_WORD.sub("", reply.translate(self._phrase_chars))) >= needed:
            return True
        if len(reply) > _PREFIX_CHARS and len(self.content(reply[:_PREFIX_CHARS])) >= needed + self._longest:
            return True
        return len(self.content(reply)) >= needed

    @cached_property
    def _phrase_chars(self) -> dict[int, None]:
        """A translation table deleting every character (either case) that occurs in a phrase."""
        chars = {char for phrase in self.params.phrases for char in phrase.lower() + phrase.upper()}
        return dict.fromkeys(map(ord, chars))

    @cached_property
    def _longest(self) -> int:
        return max((len(phrase) for phrase in self.params.phrases), default=0)

    def decide(self, sample: Sample) -> Decision:
        """Drop the row when no reply says anything beyond courtesy."""
        replies = [turn.content for turn in sample.turns if turn.role == "assistant"]
        if not replies:
            return KEEP
        if not any(self.has_content(reply) for reply in replies):
            return Drop("chit_chat", "the replies are only greetings or thanks")
        return KEEP
