"""The rule-based baseline judge: seed 000's reply filter turned into a 1-5 score.

Seed 000 accepts a generated reply when it is non-empty, contains one of the style's keywords and
its embedding is similar enough (cosine > 0.40 with text2vec) to the style's example reply. Here
the two checks each earn points for the criterion under test (empathy keywords and exemplar
replies, English and Chinese):

    score = 1 + 2 * [any keyword present] + 2 * clip((max_sim - floor) / (ceiling - floor), 0, 1)

``max_sim`` is the highest cosine similarity to the exemplars. e5 similarities crowd into a
narrow high band (5th-95th percentile 0.82-0.90 on the EN dev set), so ``floor``/``ceiling``
(defaults 0.82 / 0.90 for multilingual-e5-small) spread
that band over two points instead of seed 000's single 0.40 cut. An empty reply scores 1. The
result is continuous in [1, 5]; rank metrics use it as is, kappa maps it like any judge score.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

import numpy as np

from agents.embeddings import Embedder
from agents.styles import Criterion
from evals.judges import Judgement

EMPATHY_KEYWORDS: tuple[str, ...] = (
    "sorry", "understand", "feel", "feeling", "appreciate", "thank", "glad", "hope", "care",
    "must be", "sounds", "difficult", "hard", "here for you", "proud", "well done", "great",
    "抱歉", "对不起", "理解", "感受", "感觉", "感谢", "谢谢", "很高兴", "希望", "关心", "辛苦",
    "一定很", "听起来", "不容易", "陪", "为你", "骄傲", "做得好",
)  # fmt: skip
EMPATHY_EXEMPLARS: tuple[str, ...] = (
    "I'm so sorry you're going through this. That sounds really hard, and it makes sense that you feel this way.",
    "Thank you for sharing that with me, I really appreciate your openness. How are you feeling right now?",
    "It's completely understandable to feel overwhelmed. I'm here for you, and we can take it one step at a time.",
    "I'm really glad you told me. You've been carrying a lot, and you deserve some kindness too.",
    "听到这些我很难过，你一定很辛苦。你有这样的感受是完全可以理解的。",
    "谢谢你愿意和我分享，我真的很感激。你现在感觉怎么样？",
    "感到不知所措是很正常的。我会一直陪着你，我们一步一步来。",
)


class RuleBaselineJudge:
    """Score a response by keywords and embedding similarity to exemplars (no LLM)."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        keywords: Sequence[str] = EMPATHY_KEYWORDS,
        exemplars: Sequence[str] = EMPATHY_EXEMPLARS,
        floor: float = 0.82,
        ceiling: float = 0.90,
    ) -> None:
        """Prepare the exemplar vectors.

        Args:
            embedder: Any embedder returning unit rows (e5 by default in the CLI).
            keywords: Words whose presence earns two points (case-insensitive substring match).
            exemplars: Replies that fully meet the criterion.
            floor: Similarity at or below which the similarity part is 0.
            ceiling: Similarity at or above which the similarity part is full.
        """
        if ceiling <= floor:
            raise ValueError("ceiling must be above floor")
        self.embedder = embedder
        self.keywords = tuple(word.lower() for word in keywords)
        self.floor = floor
        self.ceiling = ceiling
        self.exemplar_vectors = embedder.embed(list(exemplars))
        self.name = "rule-baseline"
        self.model = embedder.name
        fingerprint = "|".join([*self.keywords, *exemplars, f"{floor}:{ceiling}"])
        self.version = hashlib.sha256(fingerprint.encode()).hexdigest()[:12]

    def score(self, text: str) -> float:
        """Return the 1-5 baseline score of one response."""
        if not text.strip():
            return 1.0
        lowered = text.lower()
        keyword = any(word in lowered for word in self.keywords)
        vector = self.embedder.embed([text])[0]
        similarity = float(np.max(self.exemplar_vectors @ vector))
        spread = float(np.clip((similarity - self.floor) / (self.ceiling - self.floor), 0.0, 1.0))
        return 1.0 + 2.0 * keyword + 2.0 * spread

    async def judge(self, text: str, context: str, criterion: Criterion) -> Judgement:
        """Score one response; the context and criterion text are not used by the rules."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        value = await asyncio.to_thread(self.score, text)
        return Judgement(score=value, seconds=loop.time() - start)
