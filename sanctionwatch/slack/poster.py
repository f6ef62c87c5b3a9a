"""Delivering messages: ``SlackPoster`` (slack-sdk WebClient) and the ``Poster`` protocol it
shares with ``dryrun.DryRunPoster`` (a terminal).

Retries are slack-sdk's own RetryHandlers, tuned: short exponential backoff for 5xx, and a
rate-limit handler that honours ``Retry-After`` only up to a cap. A longer wait is not slept
through: the call fails at once with a retryable ``DeliveryError`` and the outbox decides when
to try again. ``chat.postMessage`` and uploads are never re-sent blindly: a connection error is
retried on the spot only when the request cannot have reached Slack (connection refused, DNS);
a reset after sending or a read timeout raises a ``SlackDeliveryError`` with ``unknown=True``
(Slack may have posted it), and the outbox looks for the message's metadata in the channel's
history (``find_message``) before posting again. Reads keep slack-sdk's connection retries.

Channels: ``post`` accepts ``#name``, ``name`` or an id (Slack resolves it). ``update``,
``upload_file`` and ``find_message`` need the channel id; names are resolved from the ids seen
in earlier ``chat.postMessage`` answers, else through ``conversations.list`` (needs the
``channels:read`` scope, plus ``groups:read`` for private channels), cached for the poster's
lifetime.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from http.client import HTTPException
from pathlib import Path
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.response import HttpResponse

from sanctionwatch.errors import SlackDeliveryError
from sanctionwatch.slack.retry import (
    CappedRateLimitRetryHandler,
    GatewayErrorRetryHandler,
    NotSentRetryHandler,
    ProportionalJitter,
    not_sent,
    retry_after,
)

log = logging.getLogger(__name__)

# Slack asks for seconds-scale waits; more than this and we'd rather leave the alert pending.
DEFAULT_MAX_RETRY_AFTER_S = 30.0
# First backoff step for 5xx/connection retries (then x2, x4 …): Slack's own outages are either
# blips (a second fixes them) or long (no short wait helps), so keep it short.
DEFAULT_BACKOFF_S = 0.5
CONVERSATIONS_PAGE_SIZE = 200  # Slack's recommended maximum page size for conversations.list
HISTORY_PAGE_SIZE = 200  # conversations.history page (Slack's recommended maximum)
# Pages of history read when looking for a message whose answer was lost: 50 x 200 messages
# posted to one channel since the lost attempt is far beyond any alert channel's traffic.
MAX_HISTORY_PAGES = 50
# Slack's clock and ours may differ: look this much further back than the attempt's time.
HISTORY_CLOCK_SKEW_S = 120
# Per-request timeout. Slack answers chat.postMessage in well under a second; 10 s leaves room
# for a slow network while a hanging Slack costs each round at most this per channel (a
# channel whose answer was lost is skipped for the rest of the round). `[slack] timeout_s`.
DEFAULT_TIMEOUT_S = 10.0
# Slack's answer to chat.postMessage was not JSON (a proxy's error page, a truncated body):
# the code the outbox records. Permanent: retrying the same request gets the same page.
NON_JSON_ERROR = "non_json_response"
_NON_JSON_PREFIX = "Received a response in a non-JSON format"
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


class Poster(Protocol):
    """What the pipeline and the Slack app need from a message sink."""

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        metadata: dict[str, Any] | None = None,
        *,
        thread_ts: str | None = None,
    ) -> str: ...

    def find_message(
        self,
        channel: str,
        event_type: str,
        key: str,
        value: int,
        oldest: datetime,
        *,
        thread_ts: str | None = None,
    ) -> str | None:
        """The ts of a message in ``channel`` (in the thread of ``thread_ts``, if given) since
        ``oldest`` whose metadata has ``event_type`` and ``event_payload[key] == value``; None
        if there is none."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None: ...

    def upload_file(self, channel: str, path: Path, *, title: str, comment: str = "") -> None: ...


class SlackPoster:
    """Posts, updates and uploads through slack-sdk's WebClient; raises ``DeliveryError``."""

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        max_retries: int = 3,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
        backoff_s: float = DEFAULT_BACKOFF_S,
        history_page_size: int = HISTORY_PAGE_SIZE,
    ) -> None:
        self.history_page_size = history_page_size
        backoff = BackoffRetryIntervalCalculator(
            backoff_factor=backoff_s, jitter=ProportionalJitter()
        )
        shared = [
            GatewayErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
            CappedRateLimitRetryHandler(max_retries, max_retry_after_s),
        ]
        # reads and chat.update (idempotent): any connection error may be retried
        self.client = WebClient(
            token=token,
            base_url=api_url,
            timeout=timeout_s,  # type: ignore[arg-type]  # urllib takes float seconds
            retry_handlers=[
                ConnectionErrorRetryHandler(
                    max_retry_count=max_retries, interval_calculator=backoff
                ),
                *shared,
            ],
        )
        # posts and uploads: only errors that prove the request never left are retried
        self.write_client = WebClient(
            token=token,
            base_url=api_url,
            timeout=timeout_s,  # type: ignore[arg-type]
            retry_handlers=[
                NotSentRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
                *shared,
            ],
        )
        self._channel_ids: dict[str, str] = {}

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        metadata: dict[str, Any] | None = None,
        *,
        thread_ts: str | None = None,
    ) -> str:
        response = self._call(
            "chat.postMessage",
            channel,
            lambda: self.write_client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
                thread_ts=thread_ts,
            ),
        )
        channel_id = str(response.get("channel") or "")
        if channel_id and channel_id != channel:
            self._channel_ids[_channel_key(channel)] = channel_id
        ts = str(response["ts"])
        log.info("slack posted channel=%s ts=%s", channel, ts)
        return ts

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
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
            lambda: self.write_client.files_upload_v2(
                channel=channel_id,
                file=str(path),
                filename=path.name,
                title=title,
                initial_comment=comment or None,
            ),
        )
        log.info("slack uploaded channel=%s file=%s bytes=%d", channel, path, path.stat().st_size)

    def find_message(
        self,
        channel: str,
        event_type: str,
        key: str,
        value: int,
        oldest: datetime,
        *,
        thread_ts: str | None = None,
    ) -> str | None:
        channel_id = self.channel_id(channel)
        since = f"{max(0.0, oldest.timestamp() - HISTORY_CLOCK_SKEW_S):.6f}"
        cursor = ""
        for _ in range(MAX_HISTORY_PAGES):
            if thread_ts is not None:  # replies are not in the channel's history
                page: Any = self._call(
                    "conversations.replies",
                    channel,
                    lambda after=cursor: self.client.conversations_replies(
                        channel=channel_id,
                        ts=thread_ts,
                        oldest=since,
                        include_all_metadata=True,
                        limit=self.history_page_size,
                        cursor=after or None,
                    ),
                )
            else:
                page = self._call(
                    "conversations.history",
                    channel,
                    lambda after=cursor: self.client.conversations_history(
                        channel=channel_id,
                        oldest=since,
                        include_all_metadata=True,
                        limit=self.history_page_size,
                        cursor=after or None,
                    ),
                )
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == event_type and payload.get(key) == value:
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return None
        log.warning(
            "history search stopped channel=%s pages=%d event=%s %s=%s",
            channel,
            MAX_HISTORY_PAGES,
            event_type,
            key,
            value,
        )
        return None

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
            if error.startswith(_NON_JSON_PREFIX):
                error = NON_JSON_ERROR
            if status == 429:
                error = "ratelimited"
            detail = error if status == 200 else f"HTTP {status} {error}".strip()
            if error == "missing_scope" and data.get("needed"):
                detail += f" (needed: {data['needed']})"
            wait_s = None
            if status == 429:
                wait_s = retry_after(
                    HttpResponse(
                        status_code=429, headers={k: [v] for k, v in e.response.headers.items()}
                    )
                )
                detail += f", retry after {wait_s:g}s"
            retryable = status >= 500 or status == 429 or error in RETRYABLE_ERRORS
            hint = HINTS.get(error, RETRY_HINT if retryable else "see the Slack error code")
            raise SlackDeliveryError(
                f"Slack {method} to {channel} failed: {detail}",
                hint,
                retryable=retryable,
                error=error or f"http_{status}",
                retry_after_s=wait_s,
            ) from e
        except (URLError, OSError, HTTPException, SlackClientError) as e:
            # Connection refused/reset, timeouts, the upload URL failing: all transient; the
            # outcome is unknown unless the request provably never left.
            unknown = not not_sent(e) and not isinstance(e, SlackClientError)
            raise SlackDeliveryError(
                f"Slack {method} to {channel} failed: {type(e).__name__}: {e}"
                + (" (Slack may have received it)" if unknown else ""),
                RETRY_HINT,
                retryable=True,
                error="answer_lost" if unknown else "connection_error",
                unknown=unknown,
            ) from e


def _channel_key(channel: str) -> str:
    return channel.lstrip("#").lower()


__all__ = ["NotSentRetryHandler", "Poster", "SlackPoster"]
