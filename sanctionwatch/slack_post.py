"""Delivering messages: ``SlackPoster`` (slack-sdk WebClient) and ``DryRunPoster`` (a terminal).

Retries are slack-sdk's own RetryHandlers, tuned: short exponential backoff for 5xx and
connection errors, and a rate-limit handler that honours ``Retry-After`` only up to a cap. A
longer wait is not slept through: the call fails at once with a retryable ``DeliveryError`` and
the alert stays in the outbox for the next run. A read timeout is not retried on the spot (Slack
may have posted the message already; a blind retry would post it twice): it surfaces as a
retryable ``DeliveryError`` and the outbox decides.

Channels: ``post`` accepts ``#name``, ``name`` or an id (Slack resolves it). ``update`` and
``upload_file`` need the channel id; names are resolved from the ids seen in earlier
``chat.postMessage`` answers, else through ``conversations.list`` (needs the ``channels:read``
scope, plus ``groups:read`` for private channels), cached for the poster's lifetime.
"""

from __future__ import annotations

import html
import logging
import random
import re
import time
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from sanctionwatch.errors import DeliveryError

log = logging.getLogger(__name__)

# Slack asks for seconds-scale waits; more than this and we'd rather leave the alert pending.
DEFAULT_MAX_RETRY_AFTER_S = 30.0
# First backoff step for 5xx/connection retries (then x2, x4 …): Slack's own outages are either
# blips (a second fixes them) or long (no short wait helps), so keep it short.
DEFAULT_BACKOFF_S = 0.5
JITTER_FRACTION = 0.25  # backoff sleeps are stretched by up to 25% to spread retries
RETRY_AFTER_JITTER_S = 0.25  # added to an honoured Retry-After, never subtracted
RETRY_AFTER_FALLBACK_S = 1.0  # a 429 without a readable Retry-After
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
CONVERSATIONS_PAGE_SIZE = 200  # Slack's recommended maximum page size for conversations.list
# Slack error codes worth trying again later; every other ok:false error is permanent.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "request_timeout", "service_unavailable"}
)
HINTS = {
    "channel_not_found": "check the channel name in the config/rule and invite the bot to it "
    "(/invite @sanctionwatch)",
    "not_in_channel": "invite the bot to the channel: /invite @sanctionwatch",
    "is_archived": "the channel is archived; point the rule at another channel",
    "invalid_auth": "check SLACK_BOT_TOKEN (a bot token starting with xoxb-)",
    "not_authed": "set SLACK_BOT_TOKEN",
    "token_revoked": "the bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN",
    "account_inactive": "the bot token belongs to a deactivated app or user; reinstall the app",
    "missing_scope": "add the missing OAuth scope to the Slack app and reinstall it",
    "ratelimited": "Slack is rate-limiting the bot; the alert stays pending and is retried",
    "message_not_found": "the message was deleted in Slack; nothing to update",
}
RETRY_HINT = "Slack or the network failed; the alert stays pending and is retried on the next run"
_CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_LINK_RE = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>]+)>")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class SlackDeliveryError(DeliveryError):
    """``DeliveryError`` with ``retryable`` (try again later?) and the Slack error code."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        retryable: bool,
        error: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.retryable = retryable
        self.error = error
        self.retry_after_s = retry_after_s


class Poster(Protocol):
    """What the pipeline and the Slack app need from a message sink."""

    def post(self, channel: str, text: str, blocks: list[dict]) -> str: ...

    def update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None: ...

    def upload_file(self, channel: str, path: Path, *, title: str, comment: str = "") -> None: ...


class _ProportionalJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() * JITTER_FRACTION)  # noqa: S311 - not crypto


def _retry_after(response: HttpResponse | None) -> float:
    if response is not None:
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    return max(0.0, float(values[0]))
                except ValueError:
                    break
    return RETRY_AFTER_FALLBACK_S


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Honours ``Retry-After`` when it is at most ``max_wait_s``; gives up on longer waits."""

    def __init__(self, max_retry_count: int, max_wait_s: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code == 429
            and _retry_after(response) <= self.max_wait_s
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = _retry_after(response) + random.random() * RETRY_AFTER_JITTER_S  # noqa: S311
        log.info("slack rate-limited url=%s sleep_s=%.2f", request.url, wait)
        state.next_attempt_requested = True
        time.sleep(wait)
        state.increment_current_attempt()


class GatewayErrorRetryHandler(ServerErrorRetryHandler):
    """slack-sdk's 5xx handler, extended from 500/503 to 502/504 (proxies in front of Slack)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in RETRYABLE_STATUS


class SlackPoster:
    """Posts, updates and uploads through slack-sdk's WebClient; raises ``DeliveryError``."""

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        max_retries: int = 3,
        timeout_s: float = 10.0,
        max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
        backoff_s: float = DEFAULT_BACKOFF_S,
    ) -> None:
        backoff = BackoffRetryIntervalCalculator(
            backoff_factor=backoff_s, jitter=_ProportionalJitter()
        )
        self.client = WebClient(
            token=token,
            base_url=api_url,
            timeout=timeout_s,  # type: ignore[arg-type]  # urllib takes float seconds
            retry_handlers=[
                ConnectionErrorRetryHandler(
                    max_retry_count=max_retries, interval_calculator=backoff
                ),
                GatewayErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
                CappedRateLimitRetryHandler(max_retries, max_retry_after_s),
            ],
        )
        self._channel_ids: dict[str, str] = {}

    def post(self, channel: str, text: str, blocks: list[dict]) -> str:
        response = self._call(
            "chat.postMessage",
            channel,
            lambda: self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            ),
        )
        channel_id = str(response.get("channel") or "")
        if channel_id and channel_id != channel:
            self._channel_ids[_channel_key(channel)] = channel_id
        ts = str(response["ts"])
        log.info("slack posted channel=%s ts=%s", channel, ts)
        return ts

    def update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        channel_id = self.channel_id(channel)
        self._call(
            "chat.update",
            channel,
            lambda: self.client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks),
        )
        log.info("slack updated channel=%s ts=%s", channel, ts)

    def upload_file(self, channel: str, path: Path, *, title: str, comment: str = "") -> None:
        if not path.is_file():
            raise SlackDeliveryError(
                f"cannot upload {path} to {channel}: no such file",
                "the export step should have written it; check the export directory",
                retryable=False,
            )
        channel_id = self.channel_id(channel)
        self._call(
            "files.upload",
            channel,
            lambda: self.client.files_upload_v2(
                channel=channel_id,
                file=str(path),
                filename=path.name,
                title=title,
                initial_comment=comment or None,
            ),
        )
        log.info("slack uploaded channel=%s file=%s bytes=%d", channel, path, path.stat().st_size)

    def channel_id(self, channel: str) -> str:
        """The id for ``#name`` / ``name`` / id; ids pass through, names are looked up once."""
        if _CHANNEL_ID_RE.match(channel):
            return channel
        key = _channel_key(channel)
        if key not in self._channel_ids:
            self._load_channels()
        if key not in self._channel_ids:
            raise SlackDeliveryError(
                f"Slack channel {channel} not found in conversations.list",
                "check the channel name, invite the bot to it, or configure the channel id "
                "(C…); the app needs channels:read (and groups:read for private channels)",
                retryable=False,
                error="channel_not_found",
            )
        return self._channel_ids[key]

    def _load_channels(self) -> None:
        cursor = ""
        while True:
            page: Any = self._call(
                "conversations.list",
                "*",
                lambda after=cursor: self.client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=CONVERSATIONS_PAGE_SIZE,
                    cursor=after or None,
                ),
            )
            for ch in page.get("channels") or []:
                self._channel_ids[str(ch["name"]).lower()] = str(ch["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return

    def _call(self, method: str, channel: str, fn: Any) -> Any:
        try:
            return fn()
        except SlackApiError as e:
            status = e.response.status_code
            data = e.response.data if isinstance(e.response.data, dict) else {}
            error = str(data.get("error") or "")
            if status == 429:
                error = "ratelimited"
            detail = error if status == 200 else f"HTTP {status} {error}".strip()
            if error == "missing_scope" and data.get("needed"):
                detail += f" (needed: {data['needed']})"
            retry_after = None
            if status == 429:
                retry_after = _retry_after(
                    HttpResponse(
                        status_code=429, headers={k: [v] for k, v in e.response.headers.items()}
                    )
                )
                detail += f", retry after {retry_after:g}s"
            retryable = status >= 500 or status == 429 or error in RETRYABLE_ERRORS
            hint = HINTS.get(error, RETRY_HINT if retryable else "see the Slack error code")
            raise SlackDeliveryError(
                f"Slack {method} to {channel} failed: {detail}",
                hint,
                retryable=retryable,
                error=error or f"http_{status}",
                retry_after_s=retry_after,
            ) from e
        except (URLError, OSError, SlackClientError) as e:
            # Connection refused/reset, timeouts, the upload URL failing: all transient.
            raise SlackDeliveryError(
                f"Slack {method} to {channel} failed: {type(e).__name__}: {e}",
                RETRY_HINT,
                retryable=True,
                error="connection_error",
            ) from e


def _channel_key(channel: str) -> str:
    return channel.lstrip("#").lower()


class DryRunPoster:
    """No Slack token: writes each message, readable, to ``out`` (a terminal, usually)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._count = 0

    def post(self, channel: str, text: str, blocks: list[dict]) -> str:
        self._count += 1
        ts = f"dryrun.{self._count:06d}"
        self._write(f"── message to {_plain(channel)} (dry run, ts {ts}) ──", blocks, text)
        return ts

    def update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        self._write(f"── update of {_plain(ts)} in {_plain(channel)} (dry run) ──", blocks, text)

    def upload_file(self, channel: str, path: Path, *, title: str, comment: str = "") -> None:
        size = path.stat().st_size if path.is_file() else 0
        lines = [f"── file for {_plain(channel)} (dry run): {_plain(title)} ──"]
        lines.append(f"{path} ({size} bytes)")
        if comment:
            lines.append(_plain(comment))
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()

    def _write(self, banner: str, blocks: list[dict], text: str) -> None:
        lines = [banner]
        body = [line for block in blocks for line in _block_lines(block)]
        lines.extend(body or [_mrkdwn_to_plain(text)])
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()


def _plain(text: str) -> str:
    """Strip terminal control characters (feed text could carry escape sequences)."""
    return _CONTROL_RE.sub("", text)


def _mrkdwn_to_plain(text: str) -> str:
    """``*<url|title>*`` → ``title (url)``, ``<@U1>`` → ``@U1``, entities decoded."""

    def link(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return f"{m.group(2)} ({m.group(1)})"
        target = m.group(3)
        return target if target[:1] not in "@#!" else target[:1].replace("!", "@") + target[1:]

    text = _LINK_RE.sub(link, text).replace("*", "")
    return _plain(html.unescape(text))


def _block_lines(block: dict) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [_plain(str(block.get("text", {}).get("text", "")))]
    if kind == "section":
        lines = [_mrkdwn_to_plain(str(block.get("text", {}).get("text", "")))]
        lines += [_mrkdwn_to_plain(str(f.get("text", ""))) for f in block.get("fields", [])]
        return lines
    if kind == "context":
        return ["  " + _mrkdwn_to_plain(str(e.get("text", ""))) for e in block.get("elements", [])]
    if kind == "actions":
        labels = [str(e.get("text", {}).get("text", "")) for e in block.get("elements", [])]
        return ["  [" + "] [".join(_plain(x) for x in labels) + "]"] if labels else []
    return []
