"""A designation is news too, and so is a delisting: after a list re-import, tell Slack who was
newly listed and who was removed (a removed name stops matching, and analysts must know why).

Only imports that were stored are announced: a refused import raises before any message is
built, so an old or cut-off file never produces "new designations".
"""

from __future__ import annotations

import logging
from typing import Any

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.outbox import enqueue
from sanctionwatch.models import Entry
from sanctionwatch.slack.blockkit import checked
from sanctionwatch.slack.format import escape, escape_fit
from sanctionwatch.slack.poster import Poster
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.importers import ImportReport

log = logging.getLogger(__name__)

NAME_LIMIT = 200  # a list's name or format shown in the headline; real ones are < 40 chars
# Names shown per kind; an analyst reads the rest in `watchlist log` or the import report.
MAX_LISTED = 25
# Slack: a section's text holds at most 3,000 characters (after escaping), a message at most
# 50 blocks, the fallback text about 4,000. This message uses at most 4 blocks.
SECTION_LIMIT = 3000
TEXT_LIMIT = 3900


def _line(entry: Entry) -> str:
    """One escaped bullet line."""
    programs = ", ".join(entry.programs) or "no programme"
    ref = f" `{escape(entry.source_id)}`" if entry.source_id else ""
    name = escape_fit(entry.name, 300)  # one absurd name must not push the others out
    return f"• *{name}* ({escape(entry.type)}; {escape_fit(programs, 200)}){ref}"


def _section(title: str, entries: list[Entry]) -> dict[str, Any]:
    """A section listing up to MAX_LISTED entries, always within SECTION_LIMIT."""
    lines = [title]
    shown = 0
    for entry in entries[:MAX_LISTED]:
        line = _line(entry)
        more = f"\n… and {len(entries) - shown - 1:,} more"
        if sum(len(x) + 1 for x in lines) + len(line) + len(more) > SECTION_LIMIT:
            break
        lines.append(line)
        shown += 1
    if shown < len(entries):
        lines.append(f"… and {len(entries) - shown:,} more")
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}


def _headline(report: ImportReport) -> str:
    parts = []
    if report.added:
        parts.append(f"{len(report.added):,} new designation(s)")
    if report.removed:
        parts.append(f"{len(report.removed):,} delisting(s)")
    return " and ".join(parts)


def designation_message(
    report: ImportReport, first_import: bool
) -> tuple[str, list[dict[str, Any]]] | None:
    """The message for newly added and delisted entries; None on a first import (everything
    is "new" then) or when nothing was added or removed."""
    if first_import or not (report.added or report.removed):
        return None
    icon = ":rotating_light:" if report.added else ":information_source:"
    # list and format names are unbounded input: cut them so the headline section fits
    where = f"{escape_fit(report.list_name, NAME_LIMIT)} ({escape_fit(report.fmt, NAME_LIMIT)})"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{icon} {_headline(report)} on {where}"},
        }
    ]
    if report.added:
        blocks.append(_section("*Newly designated*", report.added))
    if report.removed:
        blocks.append(_section("*Delisted* (no longer matched)", report.removed))
    date = f"; list date: {report.list_version.label}" if report.list_version else ""
    forced = "; accepted with --force" if report.forced else ""
    changed = f"; {len(report.changed):,} changed" if report.changed else ""
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": escape_fit(
                        f"{report.summary()}{changed}{date}{forced}. Imported "
                        f"{report.imported_at:%Y-%m-%d %H:%M} UTC from {report.source_file}",
                        SECTION_LIMIT,
                    ),
                }
            ],
        }
    )
    text = f"{_headline(report)} on {report.list_name}"
    if report.added:
        text += ": " + "; ".join(e.name for e in report.added[:MAX_LISTED])
    if report.removed:
        text += " — delisted: " + "; ".join(e.name for e in report.removed[:MAX_LISTED])
    # checked: names, list and file names are unbounded input; cut whatever would not fit.
    return checked(escape_fit(text, TEXT_LIMIT), blocks, f"designations {report.list_name}")


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
            "designations announced list=%s added=%d removed=%d channel=%s",
            report.list_name,
            len(report.added),
            len(report.removed),
            channel,
        )
    else:
        log.warning(
            "designation notice queued, not delivered yet list=%s outbox=%d",
            report.list_name,
            notice,
        )
    return True
