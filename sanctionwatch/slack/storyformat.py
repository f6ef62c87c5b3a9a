"""The analyst's alert: one message per item and channel, written to be judged at a glance.

    🔴 CRITICAL · dprk-russia-arms-transfer (+3 rules)
    *<link|Kim Jong Un to meet Putin in Russia to discuss weapons>*
    *States and actors:* Kim Jong Un ×4 (Kim Jong-un) · North Korea ×4 (North Korean, DPRK) …
    *Weapons:* ammunition ×1 (munitions) · missiles ×1
    *Activity:* arms deliveries ×3 (weapons, weapons supplies) …
    > … the DPRK has supplied *munitions* to *Russia* for the war in Ukraine.
    *Why:* • dprk-russia-arms-transfer (critical): North Korean arms going to Russia …
    Feed · Published · Language · Alert #12 · also reported by 2 outlets
    [True match] [False positive] [Escalate] [Details]

The trace of scores and clauses is not here: the "Details" button shows it to whoever clicks
(``format_details``, an ephemeral message) and ``bot.py match`` shows it for any text. Everything from a feed or watchlist is escaped;
every section is budgeted to Block Kit's limits after escaping, and the result is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sanctionwatch.models import Match
from sanctionwatch.slack.blockkit import (
    ELLIPSIS,
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TEXT_OBJECT,
    checked,
    slack_len,
)
from sanctionwatch.slack.format import (
    MAX_TITLE_CHARS,
    SEVERITY_EMOJI,
    UNKNOWN_SEVERITY_EMOJI,
    AlertView,
    disposition_line,
    escape,
    escape_fit,
    format_alert,
    format_alert_reduced,
    format_time,
    review_actions,
    safe_link,
    title_markup,
    truncate,
)

# Entry types shown as "States and actors"; weapons have their own line; keywords are
# activity unless their watchlist also names an actor in this item (Pyongyang, "Wagner").
ACTOR_TYPES = ("person", "organisation", "country", "vessel")
GROUP_TITLES = ("States and actors", "Weapons", "Activity")
LOOKALIKE_TAG = "lookalike"  # look-alike entries exist to keep rules quiet, not to be shown
# Matches below the rules' default threshold are not actors: they are the near misses `match`
# explains.
MIN_ACTOR_SCORE = 88.0
MAX_SPELLINGS = 3  # "as written" variants shown per actor
MAX_ACTOR_CHARS = 200  # one actor with its spellings
MAX_DESCRIPTION_CHARS = 400  # one rule's description
MAX_OUTLETS_SHOWN = 5  # "also reported by N outlets: A, B, C, D, E …"
MAX_REASON_CHARS = 500  # a reviewer's reason shown on the message
DETAILS_SECTION_CHARS = MAX_SECTION_TEXT


def actor_groups(matches: Sequence[Match]) -> dict[str, list[tuple[str, int, list[str]]]]:
    """{group title: [(entity, count, spellings other than the name)]}, each entity once,
    in first-mention order; count = distinct places it is named."""
    kept = [m for m in matches if m.score >= MIN_ACTOR_SCORE and LOOKALIKE_TAG not in m.tags]
    actor_lists = {m.watchlist for m in kept if m.type in ACTOR_TYPES}
    places: dict[str, set[tuple[str, int, int]]] = {}
    words: dict[str, dict[str, None]] = {}
    first: dict[str, Match] = {}
    for m in sorted(kept, key=lambda m: (m.field != "title", m.start)):
        first.setdefault(m.entity_id, m)
        places.setdefault(m.entity_id, set()).add((m.field, m.start, m.end))
        words.setdefault(m.entity_id, {})[" ".join(m.text.split())] = None
    groups: dict[str, list[tuple[str, int, list[str]]]] = {t: [] for t in GROUP_TITLES}
    for entity_id, m in first.items():
        if m.type in ACTOR_TYPES or (m.type == "keyword" and m.watchlist in actor_lists):
            title = GROUP_TITLES[0]
        elif m.type == "weapon":
            title = GROUP_TITLES[1]
        else:
            title = GROUP_TITLES[2]
        spellings = [w for w in words[entity_id] if w.casefold() != m.entity.casefold()]
        groups[title].append((m.entity, len(places[entity_id]), spellings))
    return {t: g for t, g in groups.items() if g}


def actor_text(name: str, count: int, spellings: list[str]) -> str:
    """``*Kim Jong Un* ×4 (Kim Jong-un)``, escaped and cut."""
    shown = ", ".join(spellings[:MAX_SPELLINGS])
    if len(spellings) > MAX_SPELLINGS:
        shown += f", {ELLIPSIS}"
    part = MAX_ACTOR_CHARS // 2
    out = f"*{escape_fit(name, part)}* ×{count}"
    if shown:
        out += f" ({escape_fit(shown, part)})"
    return out


def _packed(title: str, parts: list[str], limit: int) -> str:
    """``*title:* a · b · c`` within ``limit``; the rest counted ("… and 4 more")."""
    line = f"*{title}:* "
    for i, part in enumerate(parts):
        sep = "" if i == 0 else " · "
        rest = f" {ELLIPSIS} and {len(parts) - i} more"
        if slack_len(line + sep + part) + slack_len(rest) > limit and i < len(parts):
            return line + rest
        line += sep + part
    return line


def actors_section(view: AlertView) -> str:
    groups = actor_groups(view.actors or view.matches)
    if not groups:
        return "*States and actors:* (none named)"
    budget = MAX_SECTION_TEXT // len(groups) - 1
    return "\n".join(
        _packed(title, [actor_text(*a) for a in group], budget) for title, group in groups.items()
    )


def excerpt_text(segments: Sequence[tuple[str, bool]], limit: int = MAX_SECTION_TEXT) -> str:
    """The excerpt as a mrkdwn quote, matched words bold, everything escaped, within ``limit``."""
    out = "> "
    for text, bold in segments:
        piece = escape(text.replace("*", "∗")) if bold else escape(text)
        piece = f"*{piece.strip()}*" if bold and piece.strip() else piece
        if bold and text[:1].isspace():
            piece = " " + piece
        if slack_len(out + piece) > limit - 2:
            room = limit - 2 - slack_len(out)
            out += escape_fit(text, room) if not bold and room > 0 else ELLIPSIS
            break
        out += piece
    return out.replace("\n", " ")


def rules_section(view: AlertView) -> str:
    rules = view.rules or ((view.rule, view.severity, ""),)
    budget = (MAX_SECTION_TEXT - 20) // len(rules)
    lines = ["*Why:*"]
    for name, severity, description in rules:
        line = f"• *{escape_fit(name, 100)}* ({escape_fit(severity, 20)})"
        if description.strip():
            room = max(budget - slack_len(line) - 2, 0)
            line += ": " + escape_fit(
                " ".join(description.split()), min(room, MAX_DESCRIPTION_CHARS)
            )
        lines.append(line)
    return "\n".join(lines)


def _header(view: AlertView) -> str:
    severity = view.severity.lower()
    emoji = SEVERITY_EMOJI.get(severity, UNKNOWN_SEVERITY_EMOJI)
    more = len(view.rules) - 1
    extra = f" (+{more} rule{'s' if more > 1 else ''})" if more > 0 else ""
    return truncate(f"{emoji} {severity.upper()} · {view.rule}{extra}", MAX_HEADER_TEXT)


def _meta(view: AlertView) -> str:
    meta = (
        f"Feed: {escape_fit(view.feed, MAX_TITLE_CHARS)} · "
        f"Published: {format_time(view.published_at)} · "
        f"Language: {escape_fit(view.language or '?', 10)} · Alert #{view.alert_id}"
    )
    if view.also_reported:
        n = len(view.also_reported)
        names = ", ".join(view.also_reported[:MAX_OUTLETS_SHOWN])
        if n > MAX_OUTLETS_SHOWN:
            names += f", {ELLIPSIS}"
        meta += (
            f" · *also reported by {n} outlet{'s' if n > 1 else ''}* "
            f"({escape_fit(names, 600)}; see the thread)"
        )
    return meta


def actor_names(view: AlertView) -> list[str]:
    return [a[0] for group in actor_groups(view.actors or view.matches).values() for a in group]


def fallback_text(view: AlertView) -> str:
    """Severity, title and actors: what a notification or a screen reader says."""
    title = view.title.strip() or "(no title)"
    actors = ", ".join(actor_names(view)) or "no entities"
    return escape_fit(f"[{view.severity.upper()}] {title} — {actors}", MAX_FALLBACK_TEXT)


def format_story(view: AlertView) -> tuple[str, list[dict[str, Any]]]:
    """(fallback, blocks) of the one message for an item in a channel."""
    title = view.title.strip() or "(no title)"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _header(view), "emoji": True}},
        {
            "type": "section",
            "text": _md(title_markup(title, safe_link(view.link), MAX_TITLE_CHARS, view.alert_id)),
        },
        {"type": "section", "text": _md(actors_section(view))},
    ]
    if view.excerpt:
        blocks.append({"type": "section", "text": _md(excerpt_text(view.excerpt))})
    blocks.append({"type": "section", "text": _md(rules_section(view))})
    blocks.append({"type": "context", "elements": [_md(_meta(view))]})
    disposition = reviewed_line(view)
    if disposition:
        blocks.append({"type": "context", "elements": [_md(disposition)]})
    actions = review_actions(view.alert_id)
    actions["elements"].append(details_button(view.alert_id))  # the trace, on demand
    blocks.append(actions)
    return checked(fallback_text(view), blocks, f"alert {view.alert_id}")


def reviewed_line(view: AlertView) -> str | None:
    """The decision on the alert with its reason (``✅ True match — by <@U1> at …: “…”``),
    or None when nobody has judged it."""
    line = disposition_line(view)
    if line and view.disposition_reason:
        line += f": “{escape_fit(view.disposition_reason, MAX_REASON_CHARS)}”"
    return line


def render_alert(view: AlertView, reduced: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """The message for an alert row: the story layout for grouped alerts, the one-rule layout
    for rows recorded before grouping existed; ``reduced`` after Slack refused the full one."""
    if reduced:
        return format_alert_reduced(view)
    return format_story(view) if view.rules else format_alert(view)


def format_copy(view: AlertView) -> tuple[str, list[dict[str, Any]]]:
    """The thread reply for another outlet's copy of the story: outlet, title, link, language."""
    title = view.title.strip() or "(no title)"
    head = f"*{escape_fit(view.feed, 200)}* ({escape_fit(view.language or '?', 10)}) also reports:"
    text = head + "\n" + title_markup(title, safe_link(view.link), MAX_TITLE_CHARS, view.alert_id)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _md(text)},
        {
            "type": "context",
            "elements": [
                _md(f"Published: {format_time(view.published_at)} · Alert #{view.alert_id}")
            ],
        },
    ]
    fallback = escape_fit(f"Also reported by {view.feed}: {title}", MAX_FALLBACK_TEXT)
    return checked(fallback, blocks, f"story copy {view.alert_id}")


DETAILS_ACTION = "details_show"  # the alert's "Details" button (slackapp/details.py)


def details_button(alert_id: int) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": DETAILS_ACTION,
        "text": {"type": "plain_text", "text": "Details", "emoji": True},
        "value": str(alert_id),
    }


def trace_sections(trace: str, limit: int = DETAILS_SECTION_CHARS) -> list[str]:
    """``trace`` escaped and split at line ends into sections of at most ``limit``; a single
    line longer than that is cut (with "…")."""
    out: list[str] = []
    current = ""
    for line in trace.splitlines() or [""]:
        piece = escape(line)
        if slack_len(piece) > limit:
            piece = escape_fit(line, limit)
        joined = f"{current}\n{piece}" if current else piece
        if current and slack_len(joined) > limit:
            out.append(current)
            current = piece
        else:
            current = joined
    if current.strip():
        out.append(current)
    return out


def format_details(view: AlertView, traces: Sequence[str]) -> tuple[str, list[dict[str, Any]]]:
    """The "Details" view (an ephemeral message to the one who clicked): every rule's clause
    trace, split into sections, and every match's score. A trace longer than a message holds
    is cut, and says where to read it whole (``bot.py match``)."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _md(f"*Details of alert #{view.alert_id}*")}
    ]
    room = MAX_BLOCKS - 3  # the title, the scores and the "cut" note
    sections = [part for trace in traces for part in trace_sections(trace)]
    for part in sections[:room]:
        blocks.append({"type": "section", "text": _md(part)})
    if len(sections) > room:
        note = (
            f"{ELLIPSIS} {len(sections) - room} more part(s) of the trace not shown:"
            " `bot.py match` on the item's text shows it whole"
        )
        blocks.append({"type": "context", "elements": [_md(note)]})
    scores: dict[str, float] = {}
    for m in view.actors or view.matches:
        scores[m.entity] = max(scores.get(m.entity, 0.0), m.score)
    lines = ", ".join(f"{n} {s:g}" for n, s in scores.items())
    if lines:
        blocks.append(
            {"type": "context", "elements": [_md(escape_fit("Scores: " + lines, MAX_TEXT_OBJECT))]}
        )
    return checked(f"Details of alert #{view.alert_id}", blocks, f"details {view.alert_id}")


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}
