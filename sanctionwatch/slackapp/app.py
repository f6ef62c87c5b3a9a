"""The Slack app (slack-bolt): the /watchlist slash command, the alert review buttons and the
"Details" button (details.py).

Listeners are thin: they ``ack()`` first, then hand the payload and the request's replay key to
the work pool (work.py), which calls ``commands.run_command`` or ``review.apply_review`` and
replies through the command's response_url or ``chat.postEphemeral``. So the ack never waits
for SQLite, the Web API or the watchlist files, and arrives inside Slack's 3 seconds even in a
burst of commands during a poll. Bolt verifies every request's v0 signature (five-minute
window) before any listener runs; a missing, forged or stale signature gets 401. A replay of a
valid signature, or a Slack retry, is acked and applied once (replay.py).

The watchlist baseline is parsed once per change of the files (baseline_cache.py), not per
command.

SQLite connections are per thread (``ThreadStores``): bolt runs listeners on worker threads,
and one connection shared between threads would mix their transactions.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from sanctionwatch.config.settings import Settings
from sanctionwatch.models import Entry
from sanctionwatch.slack.digestformat import DIGEST_REVIEW_ACTION
from sanctionwatch.slack.poster import Poster
from sanctionwatch.slack.reviewformat import REASON_CALLBACK
from sanctionwatch.slack.storyformat import DETAILS_ACTION
from sanctionwatch.slackapp.commands import COMMAND
from sanctionwatch.slackapp.details import run_details
from sanctionwatch.slackapp.feeds import FEEDS_COMMAND, run_feeds_slash
from sanctionwatch.slackapp.work import AfterAck, AppDeps, run_reason, run_review, run_slash
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import RequestKey, request_key
from sanctionwatch.watchlists.cache import BaselineCache

log = logging.getLogger(__name__)

# Lock wait of the app's SQLite connections. The work runs after the ack, so it can wait out a
# poll's or an import's transaction instead of answering "busy, try again".
APP_BUSY_TIMEOUT_MS = 10_000
# Web API calls made while a user waits (users.info, chat.postEphemeral): fail fast.
APP_API_TIMEOUT_S = 2
# an alert's buttons (review_true_match, ...) and a digest story's menu (digest_review)
REVIEW_ACTION_RE = re.compile(rf"^(?:review_|{re.escape(DIGEST_REVIEW_ACTION)}$)")


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
    work: AfterAck | None = None,
) -> App:
    """The bolt App with the /watchlist command and the review buttons registered.

    ``signing_secret`` is required over HTTP (None only for Socket Mode, whose requests come
    over the authenticated websocket and carry no signature). ``work`` runs what follows each
    ack (serve passes its own and shuts it down; by default the app makes one).
    """
    cache = BaselineCache(settings.watchlists)

    def default_baseline(store: Store) -> list[Entry]:
        return cache.get(store.db)

    deps = AppDeps(
        settings, stores, poster, client, UserNames(client), baseline or default_baseline
    )
    after_ack = work or AfterAck()
    app = App(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        token_verification_enabled=token_verification,
        process_before_response=False,
    )

    @app.command(COMMAND)
    def on_watchlist(ack: Ack, command: dict[str, Any], request: BoltRequest) -> None:
        ack()
        after_ack.submit("watchlist", run_slash, deps, command, _key(request, command))

    @app.command(FEEDS_COMMAND)
    def on_feeds(ack: Ack, command: dict[str, Any], request: BoltRequest) -> None:
        ack()
        after_ack.submit("feeds", run_feeds_slash, deps, command, _key(request, command))

    @app.action(REVIEW_ACTION_RE)
    def on_review(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], request: BoltRequest
    ) -> None:
        ack()
        after_ack.submit("review", run_review, deps, body, action, _key(request, body))

    @app.action(DETAILS_ACTION)
    def on_details(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], request: BoltRequest
    ) -> None:
        ack()  # first: the trace is read and posted after the ack
        after_ack.submit("details", run_details, deps, body, action, _key(request, body))

    @app.view(REASON_CALLBACK)
    def on_reason(ack: Ack, body: dict[str, Any], request: BoltRequest) -> None:
        ack()
        after_ack.submit("reason", run_reason, deps, body, _key(request, body))

    return app


def _key(request: BoltRequest, body: dict[str, Any]) -> RequestKey:
    return request_key(request.headers, body)


def web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack.token,
        base_url=settings.slack.api_url,
        timeout=APP_API_TIMEOUT_S,
    )
