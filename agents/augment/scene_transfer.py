"""The scene-transfer operator (场景变换): the same exchange moved to another scene.

A coffee-shop remark becomes a restaurant one ("这里的咖啡真不错" -> "这里的牛排真不错"). Keeps:
the structure (exchange count, fixed by the schema) and the intent (each turn at least
``min_similarity`` to its parent turn: the same kind of request, a looser bound than a
paraphrase's). Changes: the scene, checked from the answer's ``scene_words`` (words that place
the dialogue in the new scene): each must occur in the child and none in the parent. The surface
must change too (3-gram overlap under ``max_overlap``). Children of one parent take the scenes in turn.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, cast

from pydantic import Field, create_model

from agents.answers import DraftAnswer, draft_schema
from agents.augment.checks import check_meaning, check_not_copy, check_phrases_absent, check_phrases_in, joined
from agents.augment.operator import ChildRequest, Operator, OperatorParams, operator_variables
from agents.checks import CheckFailure, EmbedderLike
from agents.rendering import format_dialogue
from agents.schemas import Turn

Scene = Annotated[str, Field(min_length=1, max_length=40)]
MAX_SCENE_WORDS = 4


class SceneTransferParams(OperatorParams):
    """Parameters of ``scene-transfer``."""

    op: Literal["scene-transfer"] = "scene-transfer"
    scenes: list[Scene] = Field(min_length=1, max_length=10, description="The scenes to move dialogues to.")
    min_similarity: float = Field(default=0.85, ge=-1.0, le=1.0, description="Least similarity of each turn (intent).")
    max_overlap: float = Field(default=0.6, gt=0.0, le=1.0, description="Most 3-gram overlap with the parent.")


@lru_cache(maxsize=16)
def scene_schema(exchanges: int) -> type[DraftAnswer]:
    """Build the answer schema ``SceneAnswer``: ``exchanges`` exchanges, then 1-4 words that place them in the scene."""
    model = create_model(
        "SceneAnswer",
        __base__=draft_schema(exchanges),
        scene_words=(
            list[Annotated[str, Field(min_length=1, max_length=20)]],
            Field(min_length=1, max_length=MAX_SCENE_WORDS),
        ),
    )
    return cast(type[DraftAnswer], model)


class SceneTransfer(Operator[SceneTransferParams]):
    """Move a dialogue to another scene, intent and structure kept."""

    name = "scene-transfer"
    summary = "the same exchange moved to another scene (--scenes 餐厅,书店): intent and structure kept"
    params_type = SceneTransferParams

    def scene(self, request: ChildRequest[SceneTransferParams]) -> str:
        """Return this child's scene (children of one parent take the scenes in turn)."""
        return request.params.scenes[request.variant % len(request.params.scenes)]

    def variables(self, request: ChildRequest[SceneTransferParams]) -> dict[str, object]:
        """Return the original, the new scene and the pack's voice."""
        return {**operator_variables(request, self.exchanges(request)), "scene": self.scene(request)}

    def schema(self, request: ChildRequest[SceneTransferParams]) -> type[DraftAnswer]:
        """Return the dialogue-plus-scene-words schema."""
        return scene_schema(self.exchanges(request))

    def read(
        self, request: ChildRequest[SceneTransferParams], answer: DraftAnswer
    ) -> tuple[list[Turn], dict[str, Any]]:
        """Keep the scene and its words in the notes."""
        words = [word.strip() for word in getattr(answer, "scene_words", []) if word.strip()]
        return answer.turns(), {"scene": self.scene(request), "scene_words": words}

    def contract(self, request: ChildRequest[SceneTransferParams], notes: dict[str, Any]) -> str:
        """Keep the intent and flow; the new scene's details."""
        words = notes.get("scene_words") or []
        named = f" (it names {', '.join(words)})" if words else ""
        return (
            f"This sample moves the original dialogue below into a new scene: {notes.get('scene', self.scene(request))}"
            f"{named}. Keep each exchange's intent and the flow; keep the new scene's details.\n"
            f"Original:\n{format_dialogue(request.parent.turns)}"
        )

    def check(
        self,
        request: ChildRequest[SceneTransferParams],
        turns: list[Turn],
        notes: dict[str, Any],
        embedder: EmbedderLike,
    ) -> list[CheckFailure]:
        """The scene words in the child and not in the parent; intent kept; surface changed."""
        params, parent = request.params, request.parent.turns
        words = list(notes.get("scene_words") or [])
        fix = ": name the new scene's place or things in the dialogue"
        failures = [
            *check_phrases_in(words, joined(turns), where="the dialogue", what="the scene word", fix=fix),
            *check_phrases_absent(words, joined(parent), where="the original", what="the scene word", fix=fix),
            *check_meaning(embedder, parent, turns, params.min_similarity, what="the exchange's intent"),
        ]
        copy = check_not_copy(parent, turns, params.max_overlap, change="change the old scene's details")
        return [*failures, *([copy] if copy else [])]


SCENE_TRANSFER = SceneTransfer()
