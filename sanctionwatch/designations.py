"""A designation is news too: after a list re-import, tell Slack who was newly listed."""

from __future__ import annotations

import logging

from .delivery import deliver_all
from .importers import ImportReport
from .models import Entry
from .outbox import enqueue
from .slack import Poster, escape
from .store import Store

log = logging.getLogger(__name__)

# Slack sections hold 3,000 characters; 25 names with programmes stay well inside, and an
# analyst reads the rest in the import report or the database.
MAX_LISTED = 25


def _line(entry: Entry) -> str:
    programs = ", ".join(entry.programs) or "no programme"
    ref = f" `{escape(entry.source_id)}`" if entry.source_id else ""
    return f"• *{escape(entry.name)}* ({escape(entry.type)}; {escape(programs)}){ref}"


def designation_message(report: ImportReport, first_import: bool) -> tuple[str, list[dict]] | None:
    """The message for newly added entries; None on a first import or when nothing is new."""
    if first_import or not report.added:
        return None
    shown = report.added[:MAX_LISTED]
    more = len(report.added) - len(shown)
    header = (
        f":rotating_light: {len(report.added)} new designation(s) on "
        f"{escape(report.list_name)} ({escape(report.fmt)})"
    )
    body = "\n".join(_line(e) for e in shown) + (f"\n… and {more} more" if more else "")
    removed = (
        f"{len(report.removed)} delisted, {len(report.changed)} changed"
        if (report.removed or report.changed)
        else "none delisted or changed"
    )
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": header}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": escape(
                        f"{report.summary()}; {removed}. Imported {report.imported_at:%Y-%m-%d %H:%M} UTC "
                        f"from {report.source_file}"
                    ),
                }
            ],
        },
    ]
    text = f"{len(report.added)} new designation(s) on {report.list_name}: " + ", ".join(
        e.name for e in shown
    )
    return escape(text)[:3900], blocks


def announce(
    report: ImportReport, poster: Poster, channel: str, first_import: bool, store: Store
) -> bool:
    """Queue the designation message in the outbox and deliver it now; True when queued.

    A Slack failure leaves it queued: the next ``run`` delivers it, once (the outbox marks it
    with its notice id in Slack's message metadata)."""
    message = designation_message(report, first_import)
    if message is None:
        return False
    text, blocks = message
    notice = enqueue(store, "designation", channel, text, blocks, ref=f"list:{report.list_name}")
    result = deliver_all(store, poster, alerts=False, outbox_ids=[notice])
    if result.delivered:
        log.info(
            "designations announced list=%s added=%d channel=%s",
            report.list_name,
            len(report.added),
            channel,
        )
    else:
        log.warning(
            "designation notice queued, not delivered yet list=%s outbox=%d",
            report.list_name,
            notice,
        )
    return True
