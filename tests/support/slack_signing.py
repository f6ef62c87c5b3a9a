"""Build signed Slack requests (slash commands and interactive payloads) for tests.

The v0 signature is HMAC-SHA256 over ``v0:<timestamp>:<raw body>`` keyed with the signing
secret, sent as ``X-Slack-Signature: v0=<hex>`` with ``X-Slack-Request-Timestamp``. It is
computed here independently of bolt so that the tests check bolt against the published scheme;
``DOC_*`` is Slack's own published example ("Verifying requests from Slack").
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

TEST_SIGNING_SECRET = "test-signing-secret-0123456789abcdef"

# Slack's published example: docs "Verifying requests from Slack".
DOC_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

TEAM_ID = "T0TESTTEAM"
CHANNEL_ID = "C0ALERTS01"
_TRIGGERS = itertools.count(1)


def new_trigger_id() -> str:
    """Unique per request, like Slack's (a retry of a request repeats its trigger id)."""
    return f"{time.time_ns()}.{next(_TRIGGERS)}"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes,
    secret: str = TEST_SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> dict[str, str]:
    """Headers of a signed request; ``retry_num`` makes it a Slack redelivery."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(secret, ts, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def slash_body(
    text: str,
    user_id: str,
    user_name: str = "someone",
    command: str = "/watchlist",
    channel_id: str = CHANNEL_ID,
    response_url: str = "https://hooks.slack.invalid/commands/T0/1/x",
    trigger_id: str | None = None,
) -> bytes:
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "sanctionwatch-test",
            "channel_id": channel_id,
            "channel_name": "sanctions-alerts",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A0TESTAPP1",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
    ).encode()


def action_body(
    action_id: str,
    value: str,
    user_id: str,
    user_name: str = "someone",
    channel_id: str = CHANNEL_ID,
    message_ts: str = "1700000000.000100",
    response_url: str = "https://hooks.slack.invalid/actions/T0/1/x",
    trigger_id: str | None = None,
    menu: bool = False,
) -> bytes:
    """A signed-ready click: a button carrying ``value``, or with ``menu`` the choice of
    the overflow-menu option whose value is ``value`` (a digest story's menu)."""
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": f"review:{value}",
        "value": value,
        "action_ts": str(time.time()),
    }
    if menu:
        action = {
            "type": "overflow",
            "action_id": action_id,
            "block_id": f"digest-story:{value.rpartition(':')[2]}",
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
            "action_ts": str(time.time()),
        }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "sanctionwatch-test"},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": "A0TESTAPP1",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "channel": {"id": channel_id, "name": "sanctions-alerts"},
        "message": {"type": "message", "ts": message_ts, "text": "alert"},
        "response_url": response_url,
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission_body(
    callback_id: str,
    private_metadata: str,
    values: dict[str, Any],
    user_id: str,
    user_name: str = "someone",
) -> bytes:
    """A submitted modal (``view_submission``), as Slack posts it to the request URL."""
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "sanctionwatch-test"},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": "A0TESTAPP1",
        "token": "deprecated-verification-token",
        "trigger_id": new_trigger_id(),
        "view": {
            "id": "V0TESTVIEW",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1700000000.abcdef",
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
