"""``story ID`` rendered: plain text for the terminal, escaped mrkdwn for ``/watchlist story``.

Both render the one ``StoryExplanation`` (storyexplain.py), so the terminal and Slack always
say the same thing. The Slack reply is a slash command's ephemeral text: everything from a
feed is escaped and the whole is kept under ``MAX_SLACK_CHARS``, later items counted, not
shown, when a story has very many.
"""

from __future__ import annotations

from collections.abc import Callable

from sanctionwatch.alerting.storyexplain import StoryExplanation, StoryItem
from sanctionwatch.slack.blockkit import slack_len
from sanctionwatch.slack.format import escape, escape_fit, safe_link

# A slash command reply is one message text: 4,000 characters reads as one screen and stays
# far inside Slack's limits after escaping.
MAX_SLACK_CHARS = 3800
MAX_TITLE_CHARS = 200
MAX_REASON_CHARS = 300


def _sim(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _why(item: StoryItem, expl: StoryExplanation) -> str:
    if item.first:
        return "started the story"
    return (
        f"joined: {item.reason} (text similarity {_sim(item.text_similarity)}, threshold"
        f" {expl.same_text_min_similarity}; entity overlap {_sim(item.entity_similarity)},"
        f" a rewrite needs the same ≥{expl.min_entities_for_rewrite} entities)"
    )


def _posted(item: StoryItem) -> str:
    return "; ".join(f"alert #{p.alert_id} in {p.channel}: {p.how}" for p in item.posted)


def _head(expl: StoryExplanation) -> list[str]:
    return [
        f"rules: {', '.join(expl.rules) or '(none)'}",
        f"entities: {', '.join(expl.entities) or '(none)'}",
        f"first item {expl.created_at}, last {expl.last_at}; items join within"
        f" {expl.window_hours} h of the story's last item (story_window_hours)",
        f"joined when the same rules fire and either the text matches (MinHash ≥"
        f" {expl.same_text_min_similarity}) with no new actor, or the same ≥"
        f"{expl.min_entities_for_rewrite} entities are named (a translation or rewrite)",
    ]


def render_text(expl: StoryExplanation) -> str:
    lines = [f"story {expl.story_id}: {expl.title}", *(f"  {x}" for x in _head(expl)), ""]
    for n, item in enumerate(expl.items, start=1):
        asked = "  <- asked about" if item.item_id == expl.asked_item else ""
        lines += [
            f"{n}. [{item.feed}] {item.title}{asked}",
            f"   link: {item.link or '(none)'}",
            f"   language: {item.language} · published: {item.published_at or 'unknown'}"
            f" · joined: {item.joined_at}",
            f"   {_why(item, expl)}",
            f"   posted: {_posted(item) or '(no alert)'}",
        ]
    if expl.not_joined:
        lines += ["", "why the first item started a new story:"]
        for nj in expl.not_joined:
            lines.append(f"  - not story {nj.story_id} ({nj.title}): {nj.why}")
    elif expl.items and expl.asked_item in (None, expl.items[0].item_id):
        none_open = "no other story with the same rules was open within the window"
        lines += ["", f"why the first item started a new story: {none_open}"]
    return "\n".join(lines)


def render_slack(expl: StoryExplanation) -> str:
    """The same explanation as escaped mrkdwn within ``MAX_SLACK_CHARS``."""
    esc: Callable[[str, int], str] = escape_fit
    out = [f"*Story {expl.story_id}:* {esc(expl.title, MAX_TITLE_CHARS)}"]
    out += [f"• {escape(x)}" for x in _head(expl)]
    tail: list[str] = []
    if expl.not_joined:
        tail.append("*Why the first item started a new story:*")
        tail += [
            f"• not story {nj.story_id} ({esc(nj.title, 80)}): {esc(nj.why, MAX_REASON_CHARS)}"
            for nj in expl.not_joined[:5]
        ]
    budget = MAX_SLACK_CHARS - slack_len("\n".join(out + tail)) - 80
    for n, item in enumerate(expl.items, start=1):
        link = safe_link(item.link)
        title = esc(item.title or "(no title)", MAX_TITLE_CHARS)
        shown = f"<{link}|{title}>" if link else title
        mark = " ← asked about" if item.item_id == expl.asked_item else ""
        entry = (
            f"*{n}.* [{esc(item.feed, 80)}] {shown}{mark}\n    {esc(item.language, 10)} ·"
            f" published {escape(item.published_at or 'unknown')} · "
            f"{esc(_why(item, expl), MAX_REASON_CHARS + 200)}\n"
            f"    posted: {esc(_posted(item) or '(no alert)', 300)}"
        )
        if slack_len(entry) + 1 > budget:
            out.append(f"… and {len(expl.items) - n + 1} more item(s): `bot.py story` shows all")
            break
        budget -= slack_len(entry) + 1
        out.append(entry)
    return "\n".join(out + tail)
