"""The Slack app (slack-bolt): the /watchlist slash command and the alert review buttons.

Listeners are thin: they turn the payload into plain arguments and call ``slash.run_command``
or ``review.apply_review``. Bolt verifies every request's v0 signature (five-minute replay
window) before any listener runs; a missing, forged or stale signature gets 401.

The slash command's reply travels in the ack itself (ephemeral), so it always arrives inside
Slack's 3 seconds: the work before the ack is one short SQLite transaction whose lock wait is
capped at ``APP_BUSY_TIMEOUT_MS`` (a busy database gets a "try again", never a silent loss).
Review clicks are acked at once; recording and ``chat.update`` follow.

SQLite connections are per thread (``ThreadStores``): bolt runs listeners on worker threads,
and one connection shared between threads would mix their transactions.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from .config import Settings
from .errors import SlackCommandError
from .models import Entry
from .overlay import Actor, baseline_entries
from .review import apply_review
from .slack import Poster, escape
from .slash import COMMAND, CommandContext, run_command
from .store import Store

log = logging.getLogger(__name__)

# Lock wait of the app's SQLite connections: leaves ~1 s of Slack's 3 s for the rest.
APP_BUSY_TIMEOUT_MS = 2000
# Web API calls made while a user waits (users.info, chat.postEphemeral): fail fast.
APP_API_TIMEOUT_S = 2
REVIEW_ACTION_RE = re.compile(r"^review_")


class ThreadStores:
    """One ``Store`` (one SQLite connection) per thread, opened on first use."""

    def __init__(self, path: Any, busy_timeout_ms: int = APP_BUSY_TIMEOUT_MS) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.path)
            store.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                try:
                    store.close()
                except Exception:  # closing from another thread; best effort at shutdown
                    log.debug("store close failed", exc_info=True)
            self._all.clear()


class UserNames:
    """Slack user id → display name via users.info, cached; falls back to the payload name."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._cache: dict[str, str] = {}

    def __call__(self, user_id: str, fallback: str = "") -> str:
        if user_id in self._cache:
            return self._cache[user_id]
        name = ""
        try:
            user = self.client.users_info(user=user_id).get("user") or {}
            profile = user.get("profile") or {}
            name = str(
                profile.get("real_name")
                or profile.get("display_name")
                or user.get("real_name")
                or user.get("name")
                or ""
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.info("users.info failed user=%s error=%s; using the payload name", user_id, exc)
        name = name or fallback or user_id
        if name != user_id:
            self._cache[user_id] = name
        return name


def build_app(
    settings: Settings,
    stores: ThreadStores,
    poster: Poster,
    client: WebClient,
    *,
    signing_secret: str | None,
    baseline: Callable[[Store], list[Entry]] | None = None,
    token_verification: bool = True,
) -> App:
    """The bolt App with the /watchlist command and the review buttons registered.

    ``signing_secret`` is required over HTTP (None only for Socket Mode, whose requests come
    over the authenticated websocket and carry no signature).
    """

    def default_baseline(store: Store) -> list[Entry]:
        return baseline_entries(settings.watchlists, store.db)

    names = UserNames(client)
    app = App(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        token_verification_enabled=token_verification,
        process_before_response=False,
    )
    get_baseline = baseline or default_baseline

    @app.command(COMMAND)
    def on_watchlist(ack: Ack, command: dict[str, Any]) -> None:
        user_id = str(command.get("user_id") or "")
        text = str(command.get("text") or "")
        sub = text.strip().split(None, 1)[0].lower() if text.strip() else ""
        # Names are looked up only for edits (the audit needs them); list/show stay fast.
        name = (
            names(user_id, str(command.get("user_name") or ""))
            if sub in ("add", "remove") and user_id in settings.slack.admins
            else str(command.get("user_name") or user_id)
        )
        ctx = CommandContext(stores.get(), get_baseline, settings.slack.admins)
        try:
            reply = run_command(ctx, text, Actor(user_id, name, "slack"))
        except Exception:
            log.exception("watchlist command failed user=%s", user_id)
            reply = ":x: Something went wrong on our side; nothing was changed."
        ack(text=reply, response_type="ephemeral")

    @app.action(REVIEW_ACTION_RE)
    def on_review(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        channel_id = str((body.get("channel") or {}).get("id") or "") or None
        container = body.get("container") or {}
        message_ts = str(container.get("message_ts") or "") or None
        actor = Actor(user_id, names(user_id, str(user.get("username") or "")), "slack")
        try:
            result = apply_review(
                stores.get(),
                poster,
                str(action.get("action_id") or ""),
                str(action.get("value") or ""),
                actor,
                channel_id=channel_id,
                message_ts=message_ts,
            )
        except SlackCommandError as exc:
            _ephemeral(client, channel_id, user_id, f":warning: {escape(exc.message)}")
            return
        if not result.message_updated:
            _ephemeral(
                client,
                channel_id,
                user_id,
                f"Your decision on alert #{result.alert_id} is recorded, but the message could"
                f" not be updated: {escape(result.update_error or 'unknown error')}",
            )

    return app


def _ephemeral(client: WebClient, channel: str | None, user: str, text: str) -> None:
    """Tell one user something in the channel they clicked in; logged if even that fails."""
    if not channel:
        log.warning("cannot reply to user=%s (no channel in payload): %s", user, text)
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("ephemeral reply failed user=%s channel=%s error=%s", user, channel, exc)


def web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack.token,
        base_url=settings.slack.api_url,
        timeout=APP_API_TIMEOUT_S,
    )
