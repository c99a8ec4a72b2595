"""``/v1/judge``: score dialogues a user sends with a style's rubric and a chosen judge prompt."""

from __future__ import annotations

from fastapi import APIRouter

from agents.schemas import Turn
from service.http.deps import Authenticated, ManagerDep
from service.http.errors import responses
from service.http.schemas import JudgeRequest, JudgeResponse, JudgeResult

router = APIRouter(prefix="/v1/judge", tags=["judge"], dependencies=[Authenticated])


@router.post("", response_model=JudgeResponse, responses=responses(401, 413, 422), summary="Judge your own dialogues")
async def judge(body: JudgeRequest, manager: ManagerDep) -> JudgeResponse:
    """Return per-criterion scores (1-5), reasons, feedback and pass/fail for each dialogue.

    A judge answer that cannot be read, or a failed LLM call, gives ``passed: false`` with ``error``.
    """
    dialogues = [(list[Turn](item.turns), item.system) for item in body.samples]
    pack, verdicts, usage = await manager.judge(body.style, body.prompt, dialogues)
    results = [
        JudgeResult(
            index=index,
            passed=verdict.passed,
            scores=verdict.scores,
            reasons=verdict.reasons,
            feedback=verdict.feedback,
            failing=verdict.failing,
            error=verdict.error,
        )
        for index, verdict in enumerate(verdicts)
    ]
    return JudgeResponse(style=pack.name, prompt=body.prompt, results=results, tokens=usage)
