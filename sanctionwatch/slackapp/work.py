"""What the Slack app does after it has acked: run the command or record the click, then reply.

Slack wants every request acked within 3 seconds. The listeners in app.py call ``ack()`` first
and hand the request to ``AfterAck``, a small pool of its own: bolt's listener threads (and the
waitress threads waiting for their ack) are then never held by a SQLite lock wait during a
poll, a users.info lookup or a reply. The reply to a command goes to its ``response_url``
(ephemeral, valid 30 minutes), with ``chat.postEphemeral`` as the fallback; a click's problems
go to the clicking user by ``chat.postEphemeral``.

Each request carries its ``RequestKey``; the change it makes claims that key in the same
transaction (replay.py), so a replayed or retried request is acked and applied once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.escalation import EscalationTarget
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import CommandError
from sanctionwatch.matching.rules import load_rules
from sanctionwatch.models import Entry
from sanctionwatch.slack.format import escape
from sanctionwatch.slack.poster import Poster
from sanctionwatch.slackapp.commands import EDITS, CommandContext, run_command
from sanctionwatch.slackapp.reasons import handle_submission, open_reason_modal
from sanctionwatch.slackapp.review import apply_review
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import DuplicateRequest, RequestKey

log = logging.getLogger(__name__)

# Threads doing the work after the ack. SQLite takes one writer at a time, so more threads
# would only wait on its lock; four let the network calls (users.info, chat.update, replies)
# of one request overlap another's transaction.
WORK_THREADS = 4
# A reply to response_url: Slack answers in well under a second; give up before a user would
# retry, and fall back to chat.postEphemeral.
RESPOND_TIMEOUT_S = 5
FAILED_REPLY = ":x: Something went wrong on our side; nothing was changed."


class StoreSource(Protocol):
    def get(self) -> Store: ...


class AfterAck:
    """The pool the listeners hand their work to once they have acked.

    ``shutdown`` waits for queued work: an edit acked to Slack is applied before serve exits.
    """

    def __init__(self, threads: int = WORK_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack-work")
        self._cond = threading.Condition()
        self.submitted = 0
        self.finished = 0

    def submit(self, what: str, fn: Callable[..., None], *args: Any) -> Future[None]:
        def run() -> None:
            try:
                fn(*args)
            except Exception:  # a worker must survive any request
                log.exception("slack work failed what=%s", what)
            finally:
                with self._cond:
                    self.finished += 1
                    self._cond.notify_all()

        with self._cond:
            self.submitted += 1
        return self._pool.submit(run)

    def wait_finished(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests have been handled in all (False on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.finished < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class AppDeps:
    """What the work needs, built once by ``app.build_app``."""

    settings: Settings
    stores: StoreSource
    poster: Poster
    client: WebClient
    names: Callable[[str, str], str]
    baseline: Callable[[Store], Sequence[Entry]]


def run_slash(deps: AppDeps, command: dict[str, Any], key: RequestKey | None) -> None:
    """Apply one /watchlist command (already acked) and send its reply."""
    user_id = str(command.get("user_id") or "")
    text = str(command.get("text") or "")
    sub = text.strip().split(None, 1)[0].lower() if text.strip() else ""
    payload_name = str(command.get("user_name") or "")
    # Names are looked up only for edits (the audit needs them); list/show need none.
    name = (
        deps.names(user_id, payload_name)
        if sub in EDITS and user_id in deps.settings.slack.admins
        else payload_name or user_id
    )
    rules_folder = deps.settings.rules

    def rule_names() -> list[str]:
        return [r.name for r in load_rules(rules_folder)]

    ctx = CommandContext(
        deps.stores.get(),
        deps.baseline,
        deps.settings.slack.admins,
        key,
        rule_names,
        story_window_hours=deps.settings.story_window_hours,
    )
    try:
        reply = run_command(ctx, text, Actor(user_id, name, "slack"))
    except DuplicateRequest:
        return  # applied (and answered) the first time
    except Exception:
        log.exception("watchlist command failed user=%s", user_id)
        reply = FAILED_REPLY
    send_reply(deps.client, command, reply)


def send_reply(client: WebClient, command: dict[str, Any], text: str) -> None:
    """Ephemeral reply through the command's response_url; chat.postEphemeral if that fails."""
    url = str(command.get("response_url") or "")
    user = str(command.get("user_id") or "")
    if url:
        try:
            response = WebhookClient(url=url, timeout=RESPOND_TIMEOUT_S).send(
                text=text, response_type="ephemeral"
            )
            if response.status_code == 200:
                return
            log.warning("response_url answered status=%d user=%s", response.status_code, user)
        except (SlackClientError, OSError) as exc:
            log.warning("response_url failed user=%s error=%s", user, exc)
    ephemeral(client, str(command.get("channel_id") or "") or None, user, text)


def run_review(
    deps: AppDeps, body: dict[str, Any], action: dict[str, Any], key: RequestKey | None
) -> None:
    """Record one review click (already acked) and update its message: the alert's own
    (its buttons), or the digest that lists it (a story's menu in a digest)."""
    user = body.get("user") or {}
    user_id = str(user.get("id") or "")
    channel_id = str((body.get("channel") or {}).get("id") or "") or None
    container = body.get("container") or {}
    message_ts = str(container.get("message_ts") or "") or None
    actor = Actor(user_id, deps.names(user_id, str(user.get("username") or "")), "slack")
    # a button carries its value; a digest story's menu, the value of the option chosen
    value = action.get("value") or (action.get("selected_option") or {}).get("value")
    try:
        result = apply_review(
            deps.stores.get(),
            deps.poster,
            str(action.get("action_id") or ""),
            str(value or ""),
            actor,
            channel_id=channel_id,
            message_ts=message_ts,
            reviewers=deps.settings.slack.reviewers,
            request=key,
            escalate_to=EscalationTarget.from_settings(deps.settings.slack),
        )
    except DuplicateRequest:
        return
    except CommandError as exc:
        ephemeral(deps.client, channel_id, user_id, f":warning: {escape(exc.message)}")
        return
    trigger = str(body.get("trigger_id") or "")
    open_reason_modal(
        deps.client, trigger, result.alert_id, result.disposition, channel_id, message_ts
    )
    if result.queued:  # the escalation post: now, or by the next poll if Slack refuses it
        deliver_all(deps.stores.get(), deps.poster, alerts=False, outbox_ids=list(result.queued))
    if not result.message_updated:
        ephemeral(
            deps.client,
            channel_id,
            user_id,
            f"Your decision on alert #{result.alert_id} is recorded, but the message could"
            f" not be updated: {escape(result.update_error or 'unknown error')}",
        )


def run_reason(deps: AppDeps, body: dict[str, Any], key: RequestKey | None) -> None:
    """Add the reason of a submitted review modal (already acked) to its decision."""
    user = body.get("user") or {}
    user_id = str(user.get("id") or "")
    actor = Actor(user_id, deps.names(user_id, str(user.get("username") or "")), "slack")
    try:
        handle_submission(deps.stores.get(), deps.client, deps.poster, body, actor, key)
    except CommandError as exc:
        log.info("reason not recorded user=%s: %s", user_id, exc.message)


def ephemeral(client: WebClient, channel: str | None, user: str, text: str) -> None:
    """Tell one user something in the channel they clicked in; logged if even that fails."""
    if not channel:
        log.warning("cannot reply to user=%s (no channel in payload): %s", user, text)
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("ephemeral reply failed user=%s channel=%s error=%s", user, channel, exc)
