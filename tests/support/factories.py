"""Builders for the domain objects tests hand to the code: one place that knows their fields.

Each builder fills every field with a plausible value (Kim Jong Un found as «Ким Чен Ын» in a
Russian headline) so a test names only what it is about; a new field in `Match`, `Item` or
`AlertView` is then added here once instead of in every test module.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sanctionwatch.models import Item, Match
from sanctionwatch.slack.format import AlertView

DETECTED = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def slug(name: str) -> str:
    """The id part the shipped watchlists derive from a name: "Kim Jong Un" → "kim-jong-un"."""
    return name.lower().replace(" ", "-")


def make_match(
    entity: str = "Kim Jong Un",
    text: str = "Ким Чен Ын",
    *,
    watchlist: str = "dprk",
    entity_id: str | None = None,
    alias: str | None = None,
    field: str = "title",
    start: int = 0,
    end: int | None = None,
    score: float = 100.0,
    detail: str = "exact match on 3 tokens (cyrillic)",
    type: str = "",
    tags: tuple[str, ...] = (),
    token_start: int = 0,
    token_end: int = 0,
    programs: tuple[str, ...] = (),
) -> Match:
    """A match of ``entity`` on the words ``text`` (offsets ``start``..``start+len(text)``).

    ``entity_id`` defaults to ``"dprk:<slug of entity>"`` (the watchlist given does not change
    it, as a test that moves an entry to another list keeps its id), ``alias`` to ``text``.
    """
    return Match(
        entity_id=entity_id if entity_id is not None else f"dprk:{slug(entity)}",
        entity=entity,
        watchlist=watchlist,
        alias=text if alias is None else alias,
        text=text,
        field=field,
        start=start,
        end=start + len(text) if end is None else end,
        score=score,
        detail=detail,
        type=type,
        tags=tags,
        token_start=token_start,
        token_end=token_end,
        programs=programs,
    )


def make_item(
    item_id: str = "guid:F-1",
    *,
    feed: str = "F",
    title: str = "Ким Чен Ын прибыл в Россию",
    text: str = "t",
    link: str | None = None,
    published: datetime | None = None,
    guid: str | None = None,
) -> Item:
    """A parsed feed item; undated and without a link unless given."""
    return Item(
        item_id=item_id,
        feed=feed,
        title=title,
        text=text,
        link=link,
        published=published,
        guid=guid,
    )


_VIEW = AlertView(
    alert_id=42,
    rule="dprk-russia-arms",
    severity="critical",
    channel="#sanctions-alerts",
    title="Ким Чен Ын прибыл в Россию",
    link="https://example.org/news/1?a=1&b=2",
    feed="tass-ru",
    published_at=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
    detected_at=DETECTED,
    matches=(
        make_match(),
        make_match("Russia", "Россию", watchlist="countries", alias="Россия", score=96.0),
    ),
    explanation="all: dprk entity AND russia within 20 words",
)


def make_view(**changes: object) -> AlertView:
    """A critical DPRK–Russia alert as the formatter sees it; keywords replace fields."""
    return replace(_VIEW, **changes)  # type: ignore[arg-type]
