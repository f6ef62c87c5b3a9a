"""``story ID``: why items were (or were not) joined into one story, written once for
``bot.py story`` and ``/watchlist story`` (renderers in storyview.py).

A story is found by what the reader has at hand: ``12`` or ``#12`` is an alert number (every
message and the CSV's ``alert_id`` show it), ``story:12`` (or ``s12``) a story id (the CSV's
``story_id``), and an ``http(s)://`` link an item's link. The explanation lists the story's
items in the order they came (outlet, title, link, language, when), which item posted in each
channel, and for every joined item the reason ``stories.assign`` recorded with its MinHash
text similarity and entity overlap against the named thresholds and the window. Asked about an
item that started its own story, it also says why that item joined none of the stories open
at the time: each is judged again with ``stories.judge`` from what is stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sanctionwatch.alerting.outbox import WAITING
from sanctionwatch.alerting.stories import (
    MIN_ENTITIES_FOR_REWRITE,
    SAME_TEXT_MIN_SIMILARITY,
    MinHash,
    Signature,
    judge,
)
from sanctionwatch.clock import iso, parse_iso
from sanctionwatch.errors import CommandError
from sanctionwatch.storage.db import Store

STORY_RE = re.compile(r"^(?:story:|s)(\d+)$", re.IGNORECASE)
ALERT_RE = re.compile(r"^(?:alert:|#)?(\d+)$", re.IGNORECASE)
USAGE = "story ID: an alert number (12 or #12), story:12 for a story id, or an item's link"


@dataclass(frozen=True)
class Posted:
    alert_id: int
    channel: str
    how: str  # message | thread copy | digest | waiting | suppressed | failed


@dataclass(frozen=True)
class StoryItem:
    item_id: str
    feed: str
    title: str
    link: str | None
    language: str
    published_at: str | None
    joined_at: str
    first: bool  # the item that started the story
    reason: str  # why it joined (or "first item of the story")
    text_similarity: float | None
    entity_similarity: float | None
    posted: tuple[Posted, ...]


@dataclass(frozen=True)
class NotJoined:
    """A story open when the asked-about item came, and why the item did not join it."""

    story_id: int
    title: str
    why: str
    text_similarity: float | None
    entity_similarity: float | None


@dataclass(frozen=True)
class StoryExplanation:
    story_id: int
    title: str
    rules: tuple[str, ...]
    entities: tuple[str, ...]
    created_at: str
    last_at: str
    window_hours: int
    same_text_min_similarity: float
    min_entities_for_rewrite: int
    items: tuple[StoryItem, ...]
    asked_item: str | None  # the item the ID named (alert or link), if any
    not_joined: tuple[NotJoined, ...]  # when the asked item started the story

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def resolve(store: Store, ref: str) -> tuple[int, str | None]:
    """(story id, the item named by ``ref`` or None); CommandError when nothing matches."""
    ref = ref.strip()
    if ref.startswith("<") and ref.endswith(">"):  # Slack sends a pasted link as <url|text>
        ref = ref[1:-1].split("|", 1)[0]
    found = STORY_RE.match(ref)
    if found:
        story_id = int(found.group(1))
        if store.db.execute("SELECT 1 FROM stories WHERE id = ?", [story_id]).fetchone():
            return story_id, None
        raise CommandError(f"no story {story_id}", hint=USAGE)
    if ref.startswith(("http://", "https://")):
        row = store.db.execute(
            "SELECT s.story_id, i.item_id FROM items i JOIN story_items s"
            " ON s.item_id = i.item_id WHERE i.link = ? ORDER BY i.first_seen_at LIMIT 1",
            [ref],
        ).fetchone()
        if row is None:
            raise CommandError(f"no alerted item has the link {ref}", hint=USAGE)
        return int(row[0]), str(row[1])
    found = ALERT_RE.match(ref)
    if not found:
        raise CommandError(f"not an alert number, story id or link: {ref!r}", hint=USAGE)
    row = store.db.execute(
        "SELECT story_id, item_id FROM alerts WHERE id = ?", [int(found.group(1))]
    ).fetchone()
    if row is None:
        raise CommandError(f"no alert #{found.group(1)}", hint=USAGE)
    if row[0] is None:
        raise CommandError(
            f"alert #{found.group(1)} belongs to no story (recorded before stories existed)"
        )
    return int(row[0]), str(row[1])


def _how(status: str, thread_of: Any, in_digest: bool) -> str:
    if status == "delivered":
        return "digest" if in_digest else ("thread copy" if thread_of else "message")
    if status == "digest":
        return "waiting for the digest"
    if status in WAITING:
        return "waiting for delivery"
    return status  # suppressed, failed


def _posted(store: Store, item_id: str) -> tuple[Posted, ...]:
    rows = store.db.execute(
        "SELECT a.id, a.channel, a.status, a.thread_of, d.alert_id FROM alerts a"
        " LEFT JOIN digest_entries d ON d.alert_id = a.id WHERE a.item_id = ? ORDER BY a.id",
        [item_id],
    ).fetchall()
    return tuple(
        Posted(int(r[0]), str(r[1]), _how(str(r[2]), r[3], r[4] is not None)) for r in rows
    )


def _signature(row: Any) -> tuple[frozenset[str], frozenset[str], MinHash | None]:
    import numpy as np

    data = json.loads(row["entities"] or "{}")
    blob = row["minhash"]
    minhash = MinHash(np.frombuffer(blob, dtype=np.uint64).copy()) if blob else None
    return frozenset(data.get("entities", ())), frozenset(data.get("actors", ())), minhash


def _not_joined(store: Store, story: dict[str, Any], window: timedelta) -> tuple[NotJoined, ...]:
    """Why the first item of ``story`` joined none of the stories open when it came."""
    created = parse_iso(story["created_at"])
    if created is None:
        return ()
    ents, actors, minhash = _signature(story)
    if minhash is None:
        return ()
    sig = Signature(story["rules_key"], ents, actors, minhash)
    out = []
    rows = store.db.query(
        "SELECT * FROM stories WHERE id < ? AND created_at >= ? ORDER BY id DESC LIMIT 20",
        [story["id"], iso(created - window)],
    )
    for other in rows:
        if other["rules_key"] != story["rules_key"]:
            out.append(
                NotJoined(
                    int(other["id"]),
                    str(other["title"] or ""),
                    f"other rules fired ({other['rules_key']}): another development",
                    None,
                    None,
                )
            )
            continue
        o_ents, o_actors, o_hash = _signature(other)
        joined, why, text, ent = judge(sig, o_ents, o_actors, o_hash)
        if joined:  # it would join now (the stories' entities were updated since): say so
            why = f"{why}; it would join now, but that story had moved on when the item came"
        out.append(NotJoined(int(other["id"]), str(other["title"] or ""), why, text, ent))
    return tuple(out)


def _entity_names(store: Store, ids: tuple[str, ...]) -> tuple[str, ...]:
    """Entity ids as their names (as the matcher recorded them), in the ids' order."""
    names = []
    for entity_id in ids:
        row = store.db.execute(
            "SELECT entity FROM matches WHERE entity_id = ? LIMIT 1", [entity_id]
        ).fetchone()
        names.append(str(row[0]) if row else entity_id)
    return tuple(names)


def explain_story(store: Store, ref: str, window_hours: int) -> StoryExplanation:
    story_id, asked = resolve(store, ref)
    (story,) = list(store.db.query("SELECT * FROM stories WHERE id = ?", [story_id]))
    rows = store.db.query(
        "SELECT s.item_id, s.joined_at, s.reason, s.text_similarity, s.entity_similarity,"
        " i.feed, i.title, i.link, i.published_at,"
        " (SELECT a.language FROM alerts a WHERE a.item_id = s.item_id LIMIT 1) AS language"
        " FROM story_items s JOIN items i ON i.item_id = s.item_id WHERE s.story_id = ?"
        " ORDER BY s.joined_at, s.rowid",
        [story_id],
    )
    items = tuple(
        StoryItem(
            item_id=str(r["item_id"]),
            feed=str(r["feed"] or ""),
            title=str(r["title"] or ""),
            link=r["link"],
            language=str(r["language"] or "?"),
            published_at=r["published_at"],
            joined_at=str(r["joined_at"]),
            first=str(r["item_id"]) == str(story["first_item_id"]),
            reason=str(r["reason"]),
            text_similarity=r["text_similarity"],
            entity_similarity=r["entity_similarity"],
            posted=_posted(store, str(r["item_id"])),
        )
        for r in rows
    )
    window = timedelta(hours=window_hours)
    started = asked is None or asked == str(story["first_item_id"])
    data = json.loads(story["entities"] or "{}")
    names = _entity_names(store, tuple(data.get("entities", ())))
    return StoryExplanation(
        story_id=story_id,
        title=str(story["title"] or ""),
        rules=tuple(x for x in str(story["rules_key"]).split(",") if x),
        entities=names,
        created_at=str(story["created_at"]),
        last_at=str(story["last_at"]),
        window_hours=window_hours,
        same_text_min_similarity=SAME_TEXT_MIN_SIMILARITY,
        min_entities_for_rewrite=MIN_ENTITIES_FOR_REWRITE,
        items=items,
        asked_item=asked,
        not_joined=_not_joined(store, story, window) if started else (),
    )
