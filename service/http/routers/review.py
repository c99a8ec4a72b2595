"""The review page (``/review``, server-rendered HTML) and its JSON status (``GET /v1/reviews/{ref}``).

Same keys as the API: the login form exchanges one for a signed session cookie
(``service.review.session``); every page and form needs that session, every form its CSRF token,
and a reviewer reaches only the items of their own queue (anything else is 404, whether or not it
exists). Decisions are saved to SQLite before the answer is sent (``graph.reviews.store``).
Handlers are plain functions: FastAPI runs them in its thread pool, off the event loop.
"""

from __future__ import annotations

import hmac
import time
from collections import deque
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData

from graph.reviews.errors import InvalidDecisionError, NotAssignedError, ReviewConflictError, ReviewError
from graph.reviews.model import REASONS, ReviewDecision, check_decision, check_reviewer
from graph.reviews.status import review_status, status_dict
from graph.reviews.store import ReviewStore
from service.chatops.links import link_secret
from service.http.deps import Authenticated
from service.http.errors import error_json, responses
from service.review.pages import STATIC, item_url, page
from service.review.session import COOKIE, COOKIE_PATH, ReviewSession, ReviewSessions
from service.settings import Settings

router = APIRouter(tags=["review"], include_in_schema=False)
api_router = APIRouter(prefix="/v1/reviews", tags=["reviews"], dependencies=[Authenticated])
SECRET_FILE = "review-session.key"
MAX_LOGIN_FAILURES = 10  # per client address and minute
RefPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}@[A-Za-z0-9._-]{1,64}$")]


class ReviewState:
    """What the review routes share: the store, the sessions, the setting, failed logins."""

    def __init__(self, settings: Settings, keys: list[bytes]) -> None:
        """Open the review store and the session signer of the data directory."""
        self.store = ReviewStore(settings.data_dir)
        secret = link_secret(settings.data_dir, None, file_name=SECRET_FILE)
        self.sessions = ReviewSessions(secret, keys, max_age_s=int(settings.review_session_hours * 3600))
        self.show_judge = settings.review_show_judge
        self.failures: dict[str, deque[float]] = {}

    def too_many_failures(self, client: str) -> bool:
        """Count a failed login of ``client``; True when it made more than the bound in a minute."""
        now = time.monotonic()
        recent = self.failures.setdefault(client, deque(maxlen=MAX_LOGIN_FAILURES + 1))
        while recent and now - recent[0] > 60:
            recent.popleft()
        recent.append(now)
        if len(self.failures) > 10_000:  # bounded: forget the oldest clients
            self.failures.pop(next(iter(self.failures)))
        return len(recent) > MAX_LOGIN_FAILURES


def mount_review(app: FastAPI, settings: Settings) -> None:
    """Add the review page, its static files and its JSON status to the app."""
    app.state.review = ReviewState(settings, app.state.api_keys)
    app.mount("/review/static", StaticFiles(directory=STATIC), name="review-static")
    app.include_router(router)
    app.include_router(api_router)


def _state(request: Request) -> ReviewState:
    state: ReviewState = request.app.state.review
    return state


State = Annotated[ReviewState, Depends(_state)]


def _session(request: Request, state: ReviewState) -> ReviewSession | None:
    return state.sessions.check(request.cookies.get(COOKIE))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def _form_ok(request: Request, form: FormData, session: ReviewSession) -> bool:
    token = form.get("csrf")
    return _same_origin(request) and isinstance(token, str) and hmac.compare_digest(token, session.csrf)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/review")
def home(request: Request, state: State, finished: str | None = None) -> Response:
    """The reviewer's queues, or the login form."""
    session = _session(request, state)
    if session is None:
        return page("login.html.j2", needs_key=state.sessions.needs_key, reviewer=None)
    rounds = state.store.rounds_of(session.reviewer)
    return page("home.html.j2", session=session, rounds=rounds, finished=finished)


@router.post("/review/login")
async def login(request: Request, state: State) -> Response:
    """Exchange an API key and a reviewer name for a session cookie."""
    form = await request.form()
    reviewer, key = str(form.get("reviewer") or "").strip().lower(), str(form.get("key") or "")
    client = request.client.host if request.client else "?"
    if not _same_origin(request):
        return page("login.html.j2", 403, needs_key=state.sessions.needs_key, reviewer=reviewer,
                    error="this form must be sent from this server's own page")  # fmt: skip
    try:
        check_reviewer(reviewer)
    except InvalidDecisionError as error:
        return page("login.html.j2", 422, needs_key=state.sessions.needs_key, reviewer=None, error=str(error))
    issued = state.sessions.login(key, reviewer)
    if issued is None:
        status, message = (429, "too many failed logins; wait a minute") if state.too_many_failures(client) else (
            401, "the API key is not valid")  # fmt: skip
        return page("login.html.j2", status, needs_key=True, reviewer=reviewer, error=message)
    _, cookie = issued
    response = _redirect("/review")
    response.set_cookie(
        COOKIE, cookie, max_age=state.sessions.max_age_s, path=COOKIE_PATH, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.post("/review/logout")
async def logout(request: Request, state: State) -> Response:
    """End the session."""
    session = _session(request, state)
    form = await request.form()
    if session is not None and not _form_ok(request, form, session):
        return page("home.html.j2", 403, session=session, rounds=[], finished=None, error="stale form; reload")
    response = _redirect("/review")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.get("/review/{ref}/next")
def next_item(request: Request, state: State, ref: RefPath) -> Response:
    """Go to the reviewer's first undecided item of this queue (or home when the queue is done)."""
    session = _session(request, state)
    if session is None:
        return _redirect("/review")
    waiting = [a for a, done in state.store.queue(ref, session.reviewer) if not done]
    return _redirect(item_url(ref, waiting[0].sample_id) if waiting else f"/review?finished={ref}")


def _item_page(state: ReviewState, session: ReviewSession, ref: str, sample_id: str, status: int = 200,
               error: str | None = None) -> Response:  # fmt: skip
    try:
        sample, assignment = state.store.item(ref, sample_id, session.reviewer)
        round_ = state.store.round(ref)
    except ReviewError:
        return page("home.html.j2", 404, session=session, rounds=state.store.rounds_of(session.reviewer),
                    finished=None, error="no such item in your queue")  # fmt: skip
    queue = state.store.queue(ref, session.reviewer)
    ids = [a.sample_id for a, _ in queue]
    index = ids.index(sample_id)
    waiting = [a.sample_id for a, done in queue[index + 1 :] + queue[:index] if not done]
    decision = state.store.decision(ref, sample_id, session.reviewer)
    return page(
        "item.html.j2", status, session=session, round=round_, sample=sample, assignment=assignment,
        decision=decision, verdict=sample.verdict, show_judge=state.show_judge, reasons=REASONS,
        position=index + 1, total=len(ids), decided_count=sum(done for _, done in queue),
        action=item_url(ref, sample_id), next_url=item_url(ref, waiting[0]) if waiting else "/review", error=error,
    )  # fmt: skip


@router.get("/review/{ref}/items/{sample_id:path}")
def item(request: Request, state: State, ref: RefPath, sample_id: str) -> Response:
    """One item of the reviewer's queue, as a chat (the judge's verdict only once decided)."""
    session = _session(request, state)
    if session is None:
        return _redirect("/review")
    return _item_page(state, session, ref, sample_id)


def _decision_of(form: FormData, ref: str, sample_id: str, reviewer: str) -> ReviewDecision:
    scores: dict[str, int] = {}
    edits: dict[int, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if name.startswith("score.") and value:
            try:
                scores[name[len("score.") :]] = int(value)
            except ValueError:
                raise InvalidDecisionError(f"score {name[6:]!r} must be a number 1-5") from None
        elif name.startswith("edit.") and name[5:].isdigit():
            edits[int(name[5:])] = value.replace("\r\n", "\n")
    decision = str(form.get("decision") or "")
    if decision not in ("accept", "reject"):
        raise InvalidDecisionError("choose accept or reject")
    reason = str(form.get("reason") or "") or None
    return ReviewDecision(ref=ref, sample_id=sample_id, reviewer=reviewer, decision=decision,
                          reason=reason, scores=scores, edits=edits, note=str(form.get("note") or ""))  # fmt: skip


@router.post("/review/{ref}/items/{sample_id:path}")
async def decide(request: Request, state: State, ref: RefPath, sample_id: str) -> Response:
    """Save the reviewer's decision on an item of their queue, then show it with the judge's verdict."""
    session = _session(request, state)
    if session is None:
        return page("login.html.j2", 401, needs_key=state.sessions.needs_key, reviewer=None,
                    error="your session has ended; log in again (nothing was saved)")  # fmt: skip
    form = await request.form()
    if not _form_ok(request, form, session):
        return _item_page(state, session, ref, sample_id, 403, "this form is stale or foreign; reload the page")
    try:
        sample, _ = state.store.item(ref, sample_id, session.reviewer)
        round_ = state.store.round(ref)
        decision = _decision_of(form, ref, sample_id, session.reviewer)
        edits = {
            i: text for i, text in decision.edits.items() if i < len(sample.turns) and text != sample.turns[i].content
        }
        decision = check_decision(decision.model_copy(update={"edits": edits}), round_.criteria, len(sample.turns))
        revision = str(form.get("revision") or "")
        state.store.save(decision, int(revision) if revision.isdigit() else None)
    except NotAssignedError:
        return _item_page(state, session, ref, sample_id)  # renders the 404 page
    except InvalidDecisionError as error:
        return _item_page(state, session, ref, sample_id, 422, str(error))
    except ReviewConflictError as error:
        return _item_page(state, session, ref, sample_id, 409, str(error))
    return _redirect(item_url(ref, sample_id))


@api_router.get("/{ref}", responses=responses(401, 404), summary="Show a review round's status")
def review_status_json(request: Request, state: State, ref: RefPath) -> JSONResponse:
    """Progress, agreement per criterion, disagreements and seed 001's targets of a review round."""
    try:
        status = review_status(state.store, ref)
    except ReviewError as error:
        return error_json(404, error.code, str(error))
    return JSONResponse(status_dict(status), headers={"Cache-Control": "no-store"})
