"""The Slack bot: ``/dataset`` and ``@mention`` listeners on slack-bolt's AsyncApp.

Requests are verified by bolt (signature and timestamp: 401 otherwise), retried deliveries are
dropped by a bounded TTL set of delivery ids, and jobs are followed in tracked background tasks.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from service.chatops import texts
from service.chatops.follow import ChatOutputError, JobFollower
from service.chatops.grammar import Cancel, Command, CommandError, Generate, Help, SampleNow, Status, Styles
from service.chatops.service import Bounds, ChatContext, ChatOpsError, ChatOpsService, describe_error
from service.jobs.manager import JobManager
from service.settings import Settings
from service.slack.dedupe import TTLSet
from service.slack.output import SlackOutput

logger = logging.getLogger(__name__)

SLASH_COMMAND = "/dataset"
MENTION_PREFIX = "@dialogforge"
MAX_BACKGROUND_TASKS = 256
RATE_LIMIT_RETRIES = 3
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")

Reply = Callable[[str], Awaitable[None]]


def build_client(settings: Settings) -> AsyncWebClient:
    """Return the Web API client: the bot token, ``slack_api_url`` when set, 429 and connection retries."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = (settings.slack_api_url or AsyncWebClient.BASE_URL).rstrip("/") + "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def chatops_for(manager: JobManager, settings: Settings) -> ChatOpsService:
    """Wrap the job manager for chat, with the chat bounds from settings."""
    bounds = Bounds(
        max_n_per_user=settings.chatops_max_n_per_user,
        max_n_per_channel=settings.chatops_max_n_per_channel,
        max_jobs_per_user=settings.chatops_max_jobs_per_user,
        max_jobs_per_channel=settings.chatops_max_jobs_per_channel,
    )
    return ChatOpsService(
        manager,
        styles=lambda: {pack.name: pack for pack, _ in manager.styles.all()},
        bounds=bounds,
        public_url=settings.chatops_public_url,
    )


def mention_text(text: str) -> str:
    """Return a mention's text without the ``<@U123>`` user mentions."""
    return _MENTION.sub(" ", text).strip()


class SlackBot:
    """The bolt app with its listeners, the retry dedupe set, and the job followers."""

    def __init__(
        self,
        settings: Settings,
        get_manager: Callable[[], JobManager | None],
        client: AsyncWebClient | None = None,
    ) -> None:
        """Build the bolt app (no network call until the first request)."""
        self.settings = settings
        self.get_manager = get_manager
        self.client = client or build_client(settings)
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        self.app = AsyncApp(client=self.client, signing_secret=secret, logger=logger)
        self.seen = TTLSet(ttl_s=3600.0, max_size=10_000)
        self.tasks: set[asyncio.Task[None]] = set()
        self._chatops: ChatOpsService | None = None
        self.app.middleware(self._dedupe)
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.event("app_mention")(self._on_mention)

    # ------------------------------------------------------------- plumbing

    def chatops(self) -> ChatOpsService:
        """Return the chat layer (built on first use, once the job manager exists)."""
        if self._chatops is None:
            manager = self.get_manager()
            if manager is None:
                raise ChatOpsError("the service is still starting; try again in a few seconds.")
            self._chatops = chatops_for(manager, self.settings)
        return self._chatops

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work in a tracked background task (bounded in number)."""
        if len(self.tasks) >= MAX_BACKGROUND_TASKS:
            work.close()
            raise ChatOpsError("I am busy with too many requests; try again in a minute.")
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        """Cancel the followers and wait for them (at shutdown)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _dedupe(
        self, req: AsyncBoltRequest, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Acknowledge a delivery seen before (a Slack retry) without running it again."""
        key = body.get("event_id") or body.get("trigger_id")
        if key and not self.seen.add(str(key)):
            retry = (req.headers.get("x-slack-retry-num") or ["?"])[0]
            logger.info("slack: duplicate delivery %s (retry %s) acknowledged, not run again", key, retry)
            return BoltResponse(status=200, body="")
        await next()
        return None

    # ------------------------------------------------------------ listeners

    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        """Handle ``/dataset ...``: answer within Slack's 3 seconds, then work in the background."""
        channel = str(command.get("channel_id", ""))
        ctx = ChatContext("slack", str(command.get("team_id", "")), str(command.get("user_id", "")), channel)

        async def tell_user(text: str) -> None:
            await respond(text=text, response_type="ephemeral", replace_original=False)

        try:
            chatops = self.chatops()
            parsed = chatops.parse(str(command.get("text", "")))
            if isinstance(parsed, Generate):
                record = await chatops.start(parsed, ctx)
                text = texts.started_text(record.id, parsed.style, parsed.n, parsed.format)
                await ack(response_type="in_channel", text=text)
                self._follow(chatops, record.id, parsed, SlackOutput(self.client, channel), tell_user)
            elif isinstance(parsed, SampleNow):
                await ack(
                    response_type="ephemeral", text=f"Making one {parsed.style} sample; it will appear in this channel."
                )
                self.spawn(self._sample(chatops, parsed, SlackOutput(self.client, channel), tell_user))
            else:
                await ack(response_type="ephemeral", text=await self._answer(chatops, parsed, ctx, SLASH_COMMAND))
        except Exception as exc:
            if not isinstance(exc, ChatOpsError | CommandError):
                logger.exception("slack: /dataset failed")
            await ack(response_type="ephemeral", text=describe_error(exc))

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Handle ``@dialogforge ...`` with the same words; answers go in the mention's thread."""
        channel = str(event.get("channel", ""))
        thread = str(event.get("thread_ts") or event.get("ts") or "") or None
        team = str(body.get("team_id") or event.get("team") or "")
        ctx = ChatContext("slack", team, str(event.get("user", "")), channel)
        output = SlackOutput(self.client, channel, thread)
        try:
            chatops = self.chatops()
            parsed = chatops.parse(mention_text(str(event.get("text", ""))))
            if isinstance(parsed, Generate):
                record = await chatops.start(parsed, ctx)
                self._follow(chatops, record.id, parsed, output, None)
            elif isinstance(parsed, SampleNow):
                await output.reply(f"Making one {parsed.style} sample…")
                self.spawn(self._sample(chatops, parsed, output, None))
            else:
                await output.reply(await self._answer(chatops, parsed, ctx, MENTION_PREFIX))
        except ChatOutputError as exc:
            logger.warning("slack: cannot answer a mention in %s: %s", channel, exc)
        except Exception as exc:
            if not isinstance(exc, ChatOpsError | CommandError):
                logger.exception("slack: mention failed")
            await self._safe_reply(output, describe_error(exc))

    # -------------------------------------------------------------- actions

    async def _answer(self, chatops: ChatOpsService, command: Command, ctx: ChatContext, prefix: str) -> str:
        """Return the answer to a quick command (help, styles, status, cancel)."""
        if isinstance(command, Help):
            return chatops.help(prefix)
        if isinstance(command, Styles):
            return chatops.styles_text()
        if isinstance(command, Status):
            return await chatops.status(command.job_id)
        if isinstance(command, Cancel):
            return await chatops.cancel(command.job_id, ctx)
        raise ChatOpsError(f"{type(command).__name__} is not a quick command")

    def _follow(
        self, chatops: ChatOpsService, job_id: str, command: Generate, output: SlackOutput, unreachable: Reply | None
    ) -> None:
        """Follow a started job in the background (the job was counted against the bounds)."""
        follower = JobFollower(
            chatops,
            job_id,
            command.style,
            command.n,
            command.format,
            output,
            interval_s=self.settings.slack_progress_interval_s,
            on_unreachable=self._unreachable(job_id, unreachable),
        )
        try:
            self.spawn(follower.run())
        except ChatOpsError:
            chatops.release(job_id)  # the job runs on; it is just not followed here
            raise

    def _unreachable(self, job_id: str, tell_user: Reply | None) -> Callable[[str], Awaitable[None]]:
        """Return what to do when the progress message cannot be posted."""

        async def notify(reason: str) -> None:
            logger.warning("slack: job %s: cannot post progress (%s)", job_id, reason)
            if tell_user is not None:
                await tell_user(
                    f"I cannot post in this channel ({reason}); invite me with `/invite @dialogforge`. "
                    f"Job `{job_id}` runs on: `{SLASH_COMMAND} status {job_id}`."
                )

        return notify

    async def _sample(
        self, chatops: ChatOpsService, command: SampleNow, output: SlackOutput, fallback: Reply | None
    ) -> None:
        """Make one sample and show it (or the error) in the channel or thread."""
        try:
            text = await chatops.sample(command.style)
        except ChatOpsError as exc:
            text = describe_error(exc)
        except Exception as exc:
            logger.exception("slack: sample failed")
            text = describe_error(exc)
        try:
            await output.reply(text)
        except ChatOutputError as exc:
            logger.warning("slack: cannot post a sample: %s", exc)
            if fallback is not None:
                await fallback(text)

    async def _safe_reply(self, output: SlackOutput, text: str) -> None:
        """Reply in the thread; log (never raise) when Slack refuses."""
        try:
            await output.reply(text)
        except ChatOutputError as exc:
            logger.warning("slack: cannot reply: %s", exc)
