"""Words of a text for frequency counts: jieba segments Chinese, a regular expression splits the rest.

Chinese has no spaces between words, so counting characters would show 的/我/你 and counting
whitespace-split "words" would show whole sentences; jieba (a dictionary + HMM segmenter, MIT) gives
real words. Stop words (a short built-in list per language) and one-character Chinese tokens
(mostly particles and pronouns) are left out, so the top terms say what the data is about.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Any

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\d_]{2,}|\d+[^\W\d_]+", re.UNICODE)
_HAS_LETTER = re.compile(r"[^\W\d_]")

ZH_STOP = frozenset(
    """我们 你们 他们 她们 它们 什么 怎么 怎样 这个 那个 这些 那些 就是 可以 没有 一个 一些 一下 自己
    还是 因为 所以 但是 如果 已经 现在 真的 知道 觉得 这样 那样 这么 那么 时候 然后 而且 或者 不是 还有
    以及 应该 可能 需要 非常 特别 一点 有点 其实 只是 之后 之前 虽然 不过 不要 不会 一直 一起 一样 为什么
    怎么办 多少 哪里 这里 那里 大家 我会 你会 我们会 可是 于是 然而 并且 比如 例如 通过 进行 我们的 你的 我的
    一定 当然 好的 谢谢 您好 你好 请问 的话 起来 出来 下来 过来 一次 这种 那种 每个 所有 很多 看看""".split()
)
EN_STOP = frozenset(
    """the and you your yours for that this with are was were have has had not but can could would should
    will just what when where which who whom how why all any some our ours out about into than then them they
    their there these those from been being its it's i'm i've i'll you're you've don't can't won't didn't
    doesn't isn't aren't wasn't let's also very more most much many such only own same too here there now
    well really get got make made like know think feel want need one two way even still back may might must
    shall did does doing done let over under again further once both each few other nor off his her hers him
    she he we us me my mine myself yourself itself ourselves themselves because while until through during
    before after above below between being because since whether though although yes yeah okay sure thanks
    thank please hello hi dear""".split()
)


def is_chinese(texts: Iterable[str], share: float = 0.2) -> bool:
    """Return whether at least ``share`` of the characters of ``texts`` (first 200 k) are Chinese."""
    seen = han = 0
    for text in texts:
        seen += len(text)
        han += len(_CJK.findall(text))
        if seen > 200_000:
            break
    return seen > 0 and han / seen >= share


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces building its prefix dictionary on stderr
    jieba.initialize()
    return jieba


def words(text: str, chinese: bool) -> list[str]:
    """Return the countable words of ``text``: jieba's words for text with Chinese, else lowercased words.

    Any text holding Chinese characters is segmented, whatever the corpus' language (``chinese``
    is kept for callers): a mostly English data set with some Chinese rows would otherwise count
    whole Chinese sentences as single "words".
    """
    del chinese
    if _CJK.search(text):
        found = []
        for token in _jieba().lcut(text, HMM=True):
            token = token.strip().lower()
            if not token or not _HAS_LETTER.search(token) or token in ZH_STOP or token in EN_STOP:
                continue
            if _CJK.match(token) and len(token) < 2:
                continue
            if not _CJK.match(token) and len(token) < 3:
                continue
            found.append(token)
        return found
    return [word for word in (w.lower() for w in _WORD.findall(text)) if len(word) >= 3 and word not in EN_STOP]


def top_terms(texts: Iterable[str], chinese: bool, limit: int = 25) -> list[tuple[str, int]]:
    """Return the ``limit`` most frequent words of ``texts`` with their counts (ties by word)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(words(text, chinese))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
