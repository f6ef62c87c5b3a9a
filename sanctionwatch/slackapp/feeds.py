"""``/feeds`` in Slack: list for everyone; add, remove, pause and resume for ``[slack] admins``
(the command logic, validation and audit are in alerting/feedadmin.py)."""

from __future__ import annotations

import logging
from typing import Any

from sanctionwatch.alerting.feedadmin import SLASH_COMMAND, run_slash
from sanctionwatch.slackapp.work import AppDeps, send_reply
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.replay import DuplicateRequest, RequestKey

log = logging.getLogger(__name__)

FEEDS_COMMAND = SLASH_COMMAND
FAILED_REPLY = ":x: Something went wrong; nothing was changed. The error is in the bot's log."


def run_feeds_slash(deps: AppDeps, command: dict[str, Any], key: RequestKey | None = None) -> None:
    """Apply one /feeds command (already acked) and send its ephemeral reply; a replayed or
    retried change (``key`` seen before) is neither applied nor answered again."""
    user_id = str(command.get("user_id") or "")
    payload_name = str(command.get("user_name") or "")
    admin = user_id in deps.settings.slack.admins
    name = deps.names(user_id, payload_name) if admin else payload_name or user_id
    try:
        reply = run_slash(
            deps.settings,
            deps.stores.get(),
            str(command.get("text") or ""),
            Actor(user_id, name),
            key,
        )
    except DuplicateRequest:
        return  # applied (and answered) the first time
    except Exception:
        log.exception("feeds command failed user=%s", user_id)
        reply = FAILED_REPLY
    send_reply(deps.client, command, reply)
