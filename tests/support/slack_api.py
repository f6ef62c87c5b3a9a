"""A local stand-in for the Slack Web API, reached by the real slack-sdk ``WebClient``.

Start it through the ``slack_api`` pytest fixture (import it into your test module or conftest:
``from tests.support.slack_api import slack_api  # noqa: F401``) and point the client at it::

    client = WebClient(token=TEST_TOKEN, base_url=slack_api.base_url)   # ".../api/"

It is a real HTTP server (``http.server`` in a daemon thread on 127.0.0.1, random port), so
requests go through slack-sdk's own encoding, retry handlers and response parsing.

Implemented methods (anything else answers ``{"ok": false, "error": "unknown_method"}``):
``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``conversations.list`` (paginated with ``limit``/``cursor``), ``conversations.replies``
(a thread, oldest first), ``users.info``,
``views.open`` (a modal, its blocks validated; kept in ``stub.views``),
``files.getUploadURLExternal``, the upload URL it hands out (``POST /upload/<file_id>`` on this
same server, no token, as the real pre-signed URL), and ``files.completeUploadExternal``.
Extra methods can be added without editing this file: ``stub.on("views.open", fn)`` where
``fn(params: dict) -> dict`` returns the JSON body (``"ok": true`` is added if missing).

Refusals like Slack's: ``chat.postMessage``, ``chat.update`` and ``chat.postEphemeral`` answer
``no_text`` (neither text nor blocks), ``msg_too_long`` (text over 40,000 characters) and
``invalid_blocks`` with Slack-style ``errors`` ("must be less than 3001 characters
[json-pointer:/blocks/1/text/text]") for blocks that slack-sdk's ``slack_sdk.models.blocks``
refuse or that break a documented Block Kit limit (see ``message_refusal``).

Auth: every API call needs ``Authorization: Bearer xoxb-…`` (or ``xoxp-…``); otherwise the answer
is ``{"ok": false, "error": "invalid_auth"}``. Set ``stub.accepted_tokens = {...}`` to accept only
those exact tokens.

Channels: a few exist from the start (see ``DEFAULT_CHANNELS``); ``stub.add_channel(name)``
returns the new id. Posting to an unknown ``#name`` or id creates it on the fly unless
``stub.strict_channels = True``, in which case the answer is ``channel_not_found``.

State you can assert on (all guarded by one lock; read through the helpers or take
``stub.lock``):

* ``stub.calls`` — every request, in order, as ``Call(method, params, headers, body, status)``;
  ``params`` merges query string, form fields and JSON body (JSON-encoded ``blocks``/``files``
  strings sent as form fields are decoded). ``stub.calls_to("chat.postMessage")`` filters.
* ``stub.messages`` — ``{(channel_id, ts): {"text", "blocks", "user", ...}}``; ``chat.update``
  rewrites the entry (and records ``"edited": n``). ``stub.posts_per_channel`` counts successful
  ``chat.postMessage`` per channel id; ``stub.post_count("#name" or id)`` looks up by either.
* ``stub.uploads`` — ``{file_id: {"filename", "length", "data": bytes, "title", "channel_id",
  "initial_comment", "completed"}}``.

Failure injection (consumed in order, one per matching request; failed requests are recorded in
``calls`` with their status):

* ``stub.fail_next("chat.postMessage", status=429, retry_after=1)`` → HTTP 429 + ``Retry-After``
* ``stub.fail_next("chat.postMessage", status=500)`` → HTTP 500 ``{"ok": false, ...}``
* ``stub.fail_next("chat.postMessage", error="channel_not_found")`` → HTTP 200, ``ok: false``
* ``times=n`` repeats the same failure n times; ``method="upload"`` targets the upload URL.
* ``stub.fail_next("chat.postMessage", body="<html>…")`` → HTTP 200 (or ``status``) whose body
  is not JSON (a proxy's error page).
* ``stub.fail_next("chat.postMessage", lost=True)`` → the answer is lost: the request is handled
  (the message IS stored), then the connection is closed without a response.
* ``stub.fail_next("chat.postMessage", hang_s=5)`` → handled (stored), then the answer is held
  for ``hang_s`` seconds (longer than the client's timeout: it gives up first).
* ``stub.down = True`` → every request (API and upload) answers HTTP 503.

Persistent refusals, like Slack's own (not consumed):

* ``stub.channel_errors["#gone"] = "channel_not_found"`` (or ``not_in_channel``,
  ``is_archived``; keyed by name or id) → every post, history read and upload completion for
  that channel answers that error.
* ``stub.refuse(lambda params: ..., "invalid_blocks")`` → every chat.postMessage whose params
  match answers that error (e.g. one alert's blocks; ``msg_too_long`` for a long text).

``conversations.history`` (``channel`` id, ``oldest``, ``latest``, ``limit``, ``cursor``;
newest first) returns each message's ``metadata`` (as posted with ``chat.postMessage``'s
``metadata``) only when ``include_all_metadata`` is true, like Slack. Message ``ts`` are fixed
test values from ``TS_BASE_SECONDS`` unless ``stub.real_time_ts = True``: then they are the
epoch time of posting, as in Slack, so ``oldest`` filters by real time.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

log = logging.getLogger(__name__)

TEST_TOKEN = "xoxb-test-token"
TOKEN_PREFIXES = ("xoxb-", "xoxp-")
DEFAULT_CHANNELS = {
    "C0ALERTS01": "sanctions-alerts",
    "C0GENERAL1": "general",
    "C0REPORTS1": "compliance-reports",
}
DEFAULT_USERS = {"U0ANALYST1": "analyst", "U0REVIEWER": "reviewer"}
BOT_USER_ID = "U0BOTUSER1"
TEAM_ID = "T0TESTTEAM"
# First message ts handed out; later ones step by 100 microseconds, like "1700000000.000100".
TS_BASE_SECONDS = 1_700_000_000
TS_STEP_MICROS = 100
SHUTDOWN_POLL_S = 0.02  # serve_forever poll; shutdown() waits up to this long
_CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_JSON_FORM_FIELDS = ("blocks", "attachments", "files", "metadata")
# What Slack refuses (https://api.slack.com/reference/block-kit, chat.postMessage): checked
# here on their own, not with sanctionwatch.slack.blockkit, so a bug there cannot hide in the stand-in.
MAX_MESSAGE_TEXT = 40_000  # msg_too_long beyond
MAX_BLOCKS = 50
BLOCK_TEXT_LIMITS = {"header": 150, "section": 3000}  # the block's own "text"
MAX_FIELDS, MAX_FIELD_TEXT = 10, 2000
MAX_CONTEXT_ELEMENTS, MAX_CONTEXT_TEXT = 10, 3000
MAX_ACTIONS_ELEMENTS, MAX_BUTTON_TEXT, MAX_BUTTON_VALUE = 25, 75, 2000
MAX_ID = 255  # block_id, action_id

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Call:
    """One request the stub received."""

    method: str  # Slack method ("chat.postMessage") or "upload" for the upload URL
    params: dict[str, Any]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int = 200  # HTTP status the stub answered with

    @property
    def json_body(self) -> Any:
        """The raw body parsed as JSON (None if it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: float | None
    body: str | None = None  # a non-JSON body
    lost: bool = False  # handle the request, then close the connection without an answer
    hang_s: float = 0.0  # handle the request, then hold the answer this long


# Methods a channel-wide refusal (``channel_errors``) applies to, and the param naming it.
_CHANNEL_PARAM = {
    "chat.postMessage": "channel",
    "conversations.history": "channel",
    "conversations.replies": "channel",
    "files.completeUploadExternal": "channel_id",
}
HISTORY_DEFAULT_LIMIT = 100  # Slack's default page size for conversations.history


@dataclass
class SlackApiStub:
    """State and behaviour of the fake Slack; the HTTP plumbing is in ``_RequestHandler``."""

    host: str = "127.0.0.1"
    port: int = 0
    down: bool = False
    strict_channels: bool = False
    accepted_tokens: set[str] | None = None
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # views.open, by view id
    posts_per_channel: Counter[str] = field(default_factory=Counter)
    channels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    users: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_USERS))
    lock: threading.RLock = field(default_factory=threading.RLock)
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _handlers: dict[str, Handler] = field(default_factory=dict)
    _ts_counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _id_counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    channel_errors: dict[str, str] = field(default_factory=dict)
    real_time_ts: bool = False
    _refusals: list[tuple[Callable[[dict[str, Any]], bool], str]] = field(default_factory=list)
    _last_ts: float = 0.0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> SlackApiStub:
        stub = self

        class _Bound(_RequestHandler):
            owner = stub

        self._server = ThreadingHTTPServer((self.host, self.port), _Bound)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="slack-api-stub",
            daemon=True,
        )
        self._thread.start()
        log.debug("slack stub started port=%s", self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def base_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``."""
        return f"http://{self.host}:{self.port}/api/"

    # ----------------------------------------------------------------- test helpers
    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: float | None = None,
        times: int = 1,
        body: str | None = None,
        lost: bool = False,
        hang_s: float = 0.0,
    ) -> None:
        """Make the next ``times`` requests to ``method`` fail (see module docstring)."""
        if status == 200 and error is None and body is None and not lost and not hang_s:
            raise ValueError("fail_next needs a non-200 status, an error, a body, lost or hang_s")
        with self.lock:
            queue = self._failures.setdefault(method, [])
            queue.extend(
                _Failure(status, error, retry_after, body, lost, hang_s) for _ in range(times)
            )

    def refuse(self, predicate: Callable[[dict[str, Any]], bool], error: str) -> None:
        """Every chat.postMessage whose params match ``predicate`` answers ``error``."""
        with self.lock:
            self._refusals.append((predicate, error))

    def on(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(params)`` (overrides a built-in one too)."""
        with self.lock:
            self._handlers[method] = handler

    def add_channel(self, name: str, channel_id: str | None = None) -> str:
        with self.lock:
            cid = channel_id or f"C{next(self._id_counter):09d}"
            self.channels[cid] = name.lstrip("#")
            return cid

    def add_user(self, user_id: str, name: str) -> None:
        with self.lock:
            self.users[user_id] = name

    def channel_id(self, channel: str) -> str | None:
        """The id for ``#name``, ``name`` or an id; None if unknown."""
        with self.lock:
            if channel in self.channels:
                return channel
            name = channel.lstrip("#")
            for cid, cname in self.channels.items():
                if cname == name:
                    return cid
            return None

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def post_count(self, channel: str) -> int:
        cid = self.channel_id(channel)
        with self.lock:
            return self.posts_per_channel[cid] if cid else 0

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel (by name or id), oldest first."""
        cid = self.channel_id(channel)
        with self.lock:
            return [m for (c, _ts), m in sorted(self.messages.items()) if c == cid]

    # ----------------------------------------------------------------- dispatch
    def _take_failure(self, method: str) -> _Failure | None:
        with self.lock:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def _next_ts(self) -> str:
        if self.real_time_ts:  # Slack's ts: the epoch time of posting, unique per channel
            now = max(time.time(), self._last_ts + TS_STEP_MICROS / 1_000_000)
            self._last_ts = now
            return f"{now:.6f}"
        n = next(self._ts_counter) * TS_STEP_MICROS
        return f"{TS_BASE_SECONDS + n // 1_000_000}.{n % 1_000_000:06d}"

    def _resolve_for_write(self, channel: str | None) -> str | None:
        if not channel:
            return None
        cid = self.channel_id(channel)
        if cid is None and not self.strict_channels:
            cid = self.add_channel(channel, channel if _CHANNEL_ID_RE.match(channel) else None)
        return cid

    def handle_api(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> dict:
        if not self._token_ok(headers.get("authorization", "")):
            return {"ok": False, "error": "invalid_auth"}
        refused = self._refusal(method, params)
        if refused is not None:
            return {"ok": False, "error": refused}
        with self.lock:
            custom = self._handlers.get(method)
        if custom is not None:
            result = dict(custom(params))
            result.setdefault("ok", True)
        else:
            builtin = _BUILTINS.get(method)
            if builtin is None:
                return {"ok": False, "error": "unknown_method"}
            with self.lock:
                result = builtin(self, params)
        if method == "chat.postMessage" and result.get("ok"):
            self._keep_metadata(result, params)
        return result

    def _refusal(self, method: str, params: dict[str, Any]) -> str | None:
        """The error of a persistent refusal matching this request, if any."""
        with self.lock:
            name = _CHANNEL_PARAM.get(method)
            if name is not None and params.get(name):
                channel = str(params[name])
                cid = self.channel_id(channel)
                for key in (channel, channel.lstrip("#"), f"#{channel.lstrip('#')}", cid):
                    if key and key in self.channel_errors:
                        return self.channel_errors[key]
                if cid is not None:
                    cname = self.channels[cid]
                    for key in (cname, f"#{cname}"):
                        if key in self.channel_errors:
                            return self.channel_errors[key]
            if method == "chat.postMessage":
                for predicate, error in self._refusals:
                    if predicate(params):
                        return error
        return None

    def _keep_metadata(self, result: dict[str, Any], params: dict[str, Any]) -> None:
        """Slack keeps a posted message's metadata; history returns it on request."""
        metadata = params.get("metadata")
        with self.lock:
            message = self.messages.get((str(result.get("channel")), str(result.get("ts"))))
            if message is not None and isinstance(metadata, dict):
                message["metadata"] = metadata

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = str(params.get("channel") or "")
        if cid not in self.channels:  # Slack wants the id here
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        thread = params.get("_thread")
        found = sorted(
            (
                m
                for (c, ts), m in self.messages.items()
                if c == cid
                and oldest < float(ts) <= latest
                # history: top-level messages only (like Slack); replies: one thread
                and (
                    (m.get("thread_ts") in (None, ts))
                    if thread is None
                    else (ts == thread or m.get("thread_ts") == thread)
                )
            ),
            key=lambda m: float(m["ts"]),
            reverse=thread is None,
        )
        limit = max(1, min(int(params.get("limit") or HISTORY_DEFAULT_LIMIT), 999))
        start = int(params.get("cursor") or 0)
        page = found[start : start + limit]
        with_meta = str(params.get("include_all_metadata", "")).lower() in ("true", "1")
        messages = []
        for m in page:
            shown = {k: v for k, v in m.items() if k != "metadata"}
            if with_meta and m.get("metadata"):
                shown["metadata"] = m["metadata"]
            messages.append(shown)
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.replies: the parent and its thread, oldest first."""
        if not params.get("ts"):
            return {"ok": False, "error": "thread_not_found"}
        return self._history({**params, "_thread": str(params["ts"])})

    def thread_of(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies in the thread of ``ts`` in ``channel`` (name or id), oldest first."""
        return [m for m in self.messages_in(channel) if m.get("thread_ts") == ts and m["ts"] != ts]

    def top_level(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel (no thread replies), oldest first."""
        return [m for m in self.messages_in(channel) if m.get("thread_ts") in (None, m["ts"])]

    def _token_ok(self, authorization: str) -> bool:
        if not authorization.startswith("Bearer "):
            return False
        token = authorization[len("Bearer ") :].strip()
        if self.accepted_tokens is not None:
            return token in self.accepted_tokens
        return token.startswith(TOKEN_PREFIXES)

    # ----------------------------------------------------------------- methods
    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://sanctionwatch-test.slack.com/",
            "team": "Sanctionwatch Test",
            "user": "sanctionwatch",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0BOTUSER1",
        }

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_for_write(params.get("channel"))
        if cid is None:
            return {"ok": False, "error": "channel_not_found"}
        refusal = message_refusal(params)
        if refusal is not None:
            return refusal
        ts = self._next_ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "ts": ts,
            "text": params.get("text", ""),
            "blocks": params.get("blocks") or [],
            "thread_ts": params.get("thread_ts"),
        }
        self.messages[(cid, ts)] = message
        self.posts_per_channel[cid] += 1
        return {"ok": True, "channel": cid, "ts": ts, "message": message}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = self.channel_id(str(params.get("channel", "")))
        if cid is None:
            return {"ok": False, "error": "channel_not_found"}
        key = (cid, str(params.get("ts", "")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        refusal = message_refusal(params)
        if refusal is not None:
            return refusal
        message = self.messages[key]
        message["text"] = params.get("text", message["text"])
        if "blocks" in params:
            message["blocks"] = params["blocks"] or []
        message["edited"] = message.get("edited", 0) + 1
        return {"ok": True, "channel": cid, "ts": key[1], "text": message["text"]}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_for_write(params.get("channel"))
        if cid is None:
            return {"ok": False, "error": "channel_not_found"}
        if params.get("user") not in self.users:
            return {"ok": False, "error": "user_not_in_channel"}
        refusal = message_refusal(params)
        if refusal is not None:
            return refusal
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        items = sorted(self.channels.items())
        limit = max(1, int(params.get("limit") or 100))
        start = int(params.get("cursor") or 0)
        page = items[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(items) else ""
        channels = [
            {
                "id": cid,
                "name": name,
                "is_channel": True,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
            }
            for cid, name in page
        ]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": next_cursor}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        uid = str(params.get("user", ""))
        if uid not in self.users:
            return {"ok": False, "error": "user_not_found"}
        name = self.users[uid]
        return {
            "ok": True,
            "user": {
                "id": uid,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": name.title(),
                "tz": "UTC",
                "is_bot": False,
                "profile": {"display_name": name, "real_name": name.title()},
            },
        }

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """A modal: needs a trigger_id and a view whose blocks slack-sdk's models accept."""
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        errors = block_errors(view.get("blocks") or [])
        title = (view.get("title") or {}).get("text", "")
        if not title or len(title) > MAX_VIEW_TITLE:
            errors.append(
                f"must be less than {MAX_VIEW_TITLE + 1} characters [json-pointer:/view/title]"
            )
        if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
            errors.append("private_metadata too long [json-pointer:/view/private_metadata]")
        if errors:
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": errors},
            }
        view_id = f"V{next(self._id_counter):08d}"
        self.views[view_id] = {"trigger_id": params["trigger_id"], **view}
        return {"ok": True, "view": {"id": view_id, **view}}

    def _get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        length = params.get("length")
        if not filename or length in (None, ""):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._id_counter):09d}"
        self.uploads[file_id] = {
            "filename": filename,
            "length": int(length),
            "data": None,
            "completed": False,
        }
        upload_url = f"http://{self.host}:{self.port}/upload/{file_id}"
        return {"ok": True, "upload_url": upload_url, "file_id": file_id}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        cid = None
        if params.get("channel_id"):
            cid = self.channel_id(str(params["channel_id"]))
            if cid is None or cid != params["channel_id"]:  # needs an id, not a name
                return {"ok": False, "error": "channel_not_found"}
        done = []
        for f in files:
            upload = self.uploads.get(str(f.get("id")))
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(
                title=f.get("title") or upload["filename"],
                channel_id=cid,
                initial_comment=params.get("initial_comment"),
                completed=True,
            )
            done.append(
                {
                    "id": f["id"],
                    "name": upload["filename"],
                    "title": upload["title"],
                    "size": len(upload["data"]),
                    "channels": [cid] if cid else [],
                }
            )
        return {"ok": True, "files": done}

    def handle_upload(self, file_id: str, data: bytes) -> int:
        """Store uploaded bytes; answer 200, or 404 for an id never handed out."""
        with self.lock:
            upload = self.uploads.get(file_id)
            if upload is None:
                return 404
            upload["data"] = data
            return 200


def message_refusal(params: dict[str, Any]) -> dict[str, Any] | None:
    """Slack's answer to a message it refuses (``no_text``, ``msg_too_long``,
    ``invalid_blocks_format``, ``invalid_blocks`` with ``errors`` like Slack's), else None."""
    text, blocks = params.get("text"), params.get("blocks")
    if not text and not blocks:
        return {"ok": False, "error": "no_text"}
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return {"ok": False, "error": "msg_too_long"}
    if blocks in (None, ""):
        return None
    if not isinstance(blocks, list):
        return {"ok": False, "error": "invalid_blocks_format"}
    errors = block_errors(blocks)
    if not errors:
        return None
    return {
        "ok": False,
        "error": "invalid_blocks",
        "errors": errors,
        "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
    }


def block_errors(blocks: list[Any]) -> list[str]:
    """Every reason Slack would refuse ``blocks``, as "what [json-pointer:/blocks/…]"."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        errors += [f"{what} [json-pointer:/blocks/{i}{where}]" for where, what in _one(block)]
    return errors


def _one(block: Any) -> list[tuple[str, str]]:
    """(pointer inside the block, problem) for one block: the documented limits, worded like
    Slack's errors, else whatever slack-sdk's models refuse."""
    if not isinstance(block, dict):
        return [("", "must be an object")]
    sdk: list[tuple[str, str]] = []
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [("/type", f"unsupported type {block.get('type')!r}")]
        parsed.validate_json()
        for element in getattr(parsed, "elements", None) or []:
            if hasattr(element, "validate_json"):
                element.validate_json()
    except SlackObjectFormationError as exc:
        sdk = [("", str(exc))]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return [("", f"malformed block: {exc}")]
    try:
        return _limits(block) or sdk
    except (TypeError, AttributeError) as exc:
        return [("", f"malformed block: {exc}")]


def _limits(block: dict[str, Any]) -> list[tuple[str, str]]:
    out = _too_long("/block_id", block.get("block_id"), MAX_ID)
    kind = block["type"]
    if kind in BLOCK_TEXT_LIMITS and "text" in block:
        out += _text("/text", block["text"], BLOCK_TEXT_LIMITS[kind], plain_only=kind == "header")
    fields = block.get("fields") or []
    if len(fields) > MAX_FIELDS:
        out.append(("/fields", f"no more than {MAX_FIELDS} items allowed"))
    for j, f in enumerate(fields):
        out += _text(f"/fields/{j}", f, MAX_FIELD_TEXT)
    elements = block.get("elements") or []
    if kind == "context":
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            out.append(("/elements", f"no more than {MAX_CONTEXT_ELEMENTS} items allowed"))
        for j, e in enumerate(elements):
            if isinstance(e, dict) and e.get("type") in ("mrkdwn", "plain_text"):
                out += _text(f"/elements/{j}", e, MAX_CONTEXT_TEXT)
    if kind == "actions":
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            out.append(("/elements", f"no more than {MAX_ACTIONS_ELEMENTS} items allowed"))
        for j, e in enumerate(elements):
            if isinstance(e, dict) and e.get("type") == "button":
                out += _text(f"/elements/{j}/text", e.get("text"), MAX_BUTTON_TEXT, True)
                out += _too_long(f"/elements/{j}/value", e.get("value"), MAX_BUTTON_VALUE)
                out += _too_long(f"/elements/{j}/action_id", e.get("action_id"), MAX_ID)
    return out


def _text(where: str, obj: Any, limit: int, plain_only: bool = False) -> list[tuple[str, str]]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [(where, "must provide a text object")]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [(f"{where}/type", f"must be one of {', '.join(allowed)}")]
    if not obj["text"]:
        return [(f"{where}/text", "must be more than 0 characters")]
    return _too_long(f"{where}/text", obj["text"], limit)


def _too_long(where: str, value: Any, limit: int) -> list[tuple[str, str]]:
    if isinstance(value, str) and len(value) > limit:
        return [(where, f"must be less than {limit + 1} characters")]
    return []


_BUILTINS: dict[str, Callable[[SlackApiStub, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": SlackApiStub._auth_test,
    "chat.postMessage": SlackApiStub._post_message,
    "chat.update": SlackApiStub._update,
    "chat.postEphemeral": SlackApiStub._post_ephemeral,
    "conversations.list": SlackApiStub._conversations_list,
    "conversations.history": SlackApiStub._history,
    "conversations.replies": SlackApiStub._replies,
    "users.info": SlackApiStub._users_info,
    "files.getUploadURLExternal": SlackApiStub._get_upload_url,
    "files.completeUploadExternal": SlackApiStub._complete_upload,
    "views.open": SlackApiStub._views_open,
}
MAX_VIEW_TITLE = 24  # Slack: a view's title is at most 24 characters
MAX_PRIVATE_METADATA = 3000


def _parse_params(query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            loaded = {}
        if isinstance(loaded, dict):
            params.update(loaded)
    elif ctype.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_FORM_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass
    return params


class _RequestHandler(BaseHTTPRequestHandler):
    owner: SlackApiStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("slack stub: " + format, *args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        stub = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = urlsplit(self.path)
        if url.path.startswith("/upload/"):
            method, params = "upload", {"file_id": url.path.rsplit("/", 1)[-1]}
        elif url.path.startswith("/api/"):
            method = url.path[len("/api/") :]
            params = _parse_params(url.query, headers, body)
        else:
            self._record_and_send(Call("?", {}, headers, body, 404), {"ok": False})
            return
        call = Call(method, params, headers, body)
        failure = stub._take_failure(method)
        if stub.down:
            call.status = 503
            self._record_and_send(call, {"ok": False, "error": "service_unavailable"})
        elif failure is not None and (failure.lost or failure.hang_s):
            payload = stub.handle_api(method, params, headers)  # Slack did the work…
            if failure.lost:  # … and the answer never arrives
                call.status = 0
                with stub.lock:
                    stub.calls.append(call)
                self.close_connection = True
                return
            time.sleep(failure.hang_s)  # … and the answer comes too late
            try:
                self._record_and_send(call, payload)
            except OSError:  # the client gave up and closed the connection
                pass
        elif failure is not None and failure.body is not None:
            call.status = failure.status
            self._record_and_send(call, failure.body, content_type="text/html; charset=utf-8")
        elif failure is not None:
            call.status = failure.status
            error = failure.error or ("ratelimited" if failure.status == 429 else "internal_error")
            extra = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = f"{failure.retry_after:g}"
            self._record_and_send(call, {"ok": False, "error": error}, extra)
        elif method == "upload":
            call.status = stub.handle_upload(params["file_id"], body)
            self._record_and_send(call, "OK - " + str(len(body)))
        else:
            self._record_and_send(call, stub.handle_api(method, params, headers))

    def _record_and_send(
        self,
        call: Call,
        payload: Any,
        extra_headers: dict[str, str] | None = None,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        with self.owner.lock:
            self.owner.calls.append(call)
        if isinstance(payload, str):
            raw, ctype = payload.encode("utf-8"), content_type
        else:
            raw, ctype = json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8"
        self.send_response(call.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def slack_api() -> Iterator[SlackApiStub]:
    """A running Slack Web API stand-in; stopped after the test."""
    stub = SlackApiStub().start()
    try:
        yield stub
    finally:
        stub.stop()
