"""`samedoc.entries_hash`: equal for a rebuilt document whose only change is its channel's
dates, different for any change to what becomes an item; and never equal for two documents
the parser reads as different items (a property over random documents)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from sanctionwatch.ingest.fetch import DEFAULT_SETTINGS
from sanctionwatch.ingest.parse import parse
from sanctionwatch.ingest.samedoc import entries_hash

URL = "https://news.example.org/feed.xml"
XML = "application/rss+xml"


def _rss(
    items: str, built: str = "Tue, 01 Dec 2026 10:00:00 GMT", title: str = "News", extra: str = ""
) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://news.example.org/</link>"
        f"<lastBuildDate>{built}</lastBuildDate><pubDate>{built}</pubDate>{extra}"
        f"{items}</channel></rss>"
    ).encode()


def _item(n: int, date: str = "Mon, 30 Nov 2026 09:00:00 GMT", title: str = "") -> str:
    return (
        f"<item><title>{title or f'Story {n}'}</title>"
        f"<link>https://news.example.org/{n}</link><pubDate>{date}</pubDate>"
        f"<description>Text {n}.</description></item>"
    )


ITEMS = _item(1) + _item(2)


def _h(body: bytes, url: str = URL, content_type: str | None = XML) -> str:
    return entries_hash(body, url, content_type, DEFAULT_SETTINGS)


def test_a_rebuilt_channel_with_the_same_entries_hashes_the_same() -> None:
    assert _h(_rss(ITEMS)) == _h(_rss(ITEMS, built="Wed, 02 Dec 2026 04:00:00 GMT"))


def test_an_atom_feed_with_a_new_updated_hashes_the_same() -> None:
    def atom(updated: str, entry_updated: str = "2026-11-30T09:00:00Z") -> bytes:
        return (
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:f</id>'
            f"<updated>{updated}</updated><entry><id>urn:e1</id><title>E</title>"
            f"<updated>{entry_updated}</updated></entry></feed>"
        ).encode()

    assert _h(atom("2026-12-01T10:00:00Z")) == _h(atom("2026-12-02T04:00:00Z"))
    # an entry's own date is part of the entry
    assert _h(atom("2026-12-01T10:00:00Z")) != _h(atom("2026-12-01T10:00:00Z", "2026-12-01Z"))


def test_any_change_to_the_entries_changes_the_hash() -> None:
    base = _h(_rss(ITEMS))
    assert _h(_rss(_item(1) + _item(2, date="Tue, 01 Dec 2026 09:00:00 GMT"))) != base
    assert _h(_rss(_item(1, title="Story one") + _item(2))) != base
    assert _h(_rss(_item(2) + _item(1))) != base  # reordered
    assert _h(_rss(_item(3) + _item(1) + _item(2))) != base  # a new item on top
    assert _h(_rss(_item(1))) != base  # one dropped


def test_the_rest_of_the_channel_and_how_it_is_read_count() -> None:
    body = _rss(ITEMS)
    assert _h(_rss(ITEMS, title="Other news")) != _h(body)
    assert _h(_rss(ITEMS, extra="<language>ru</language>")) != _h(body)
    # the URL resolves relative links, the content type picks the encoding, the caps cut
    assert _h(body, url=URL + "?v=2") != _h(body)
    assert _h(body, content_type="text/xml") != _h(body)
    for cap in ("max_items", "max_title_chars", "max_text_chars"):
        capped = replace(DEFAULT_SETTINGS, **{cap: 7})
        assert entries_hash(body, URL, XML, capped) != _h(body), cap


def test_only_plain_date_elements_before_the_first_entry_are_left_out() -> None:
    built = "Tue, 01 Dec 2026 10:00:00 GMT"
    # a date element with an attribute or markup inside is hashed like everything else
    odd = _rss(ITEMS, extra=f'<dc:date x="1">{built}</dc:date>')
    assert _h(odd) != _h(_rss(ITEMS, extra=f'<dc:date x="2">{built}</dc:date>'))
    entity = _rss(ITEMS, extra="<updated>1 &amp; 2</updated>")
    assert _h(entity) != _h(_rss(ITEMS, extra="<updated>1 &amp; 3</updated>"))
    # a channel date written after the entries is not left out
    late = '<?xml version="1.0"?><rss><channel>{}<lastBuildDate>{}</lastBuildDate></channel></rss>'
    assert _h(late.format(ITEMS, built).encode()) != _h(late.format(ITEMS, "x").encode())


def test_an_rdf_table_of_contents_is_not_taken_for_the_first_entry() -> None:
    def rdf(date: str, toc: str) -> bytes:
        return (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="https://n.example/"><title>N</title><dc:date>{date}</dc:date>'
            f'<items><rdf:Seq><rdf:li rdf:resource="{toc}"/></rdf:Seq></items></channel>'
            '<item rdf:about="https://n.example/1"><title>One</title></item></rdf:RDF>'
        ).encode()

    assert _h(rdf("2026-12-01", "https://n.example/1")) == _h(
        rdf("2026-12-02", "https://n.example/1")
    )
    assert _h(rdf("2026-12-01", "https://n.example/1")) != _h(
        rdf("2026-12-01", "https://n.example/2")
    )


_words = st.sampled_from(["a", "b", "Story", "&amp;", "<b>x</b>", "café", ""])
_dates = st.sampled_from(
    ["Mon, 30 Nov 2026 09:00:00 GMT", "Tue, 01 Dec 2026 09:00:00 GMT", "", "soon"]
)
_entry = st.tuples(_words, st.sampled_from(["", "/1", "/2", "https://x.example/3"]), _words, _dates)


def _doc(header: list[tuple[str, str]], entries: list[tuple[str, str, str, str]]) -> bytes:
    head = "".join(f"<{tag}>{value}</{tag}>" for tag, value in header)
    body = "".join(
        f"<item><title>{t}</title>"
        + (f"<link>{link}</link>" if link else "")
        + (f"<guid>{g}</guid>" if g else "")
        + (f"<pubDate>{d}</pubDate>" if d else "")
        + "</item>"
        for t, link, g, d in entries
    )
    return _rss(body, extra=head)


def _mutated(
    entries: list[tuple[str, str, str, str]], how: str, date: str
) -> list[tuple[str, str, str, str]]:
    """``entries`` as a later build of the feed may carry them."""
    if how == "redated":  # the feed stamps its items with the build time
        return [(t, link, g, date) for t, link, g, _ in entries]
    if how == "retitled":
        return [(t + "!", link, g, d) for t, link, g, d in entries]
    if how == "dropped":
        return entries[1:] or entries
    return list(entries)


_headers = st.lists(
    st.tuples(st.sampled_from(["lastBuildDate", "pubDate", "ttl", "language", "title"]), _words),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(
    header=_headers,
    header2=_headers,
    entries=st.lists(_entry, min_size=1, max_size=3),
    how=st.sampled_from(["same", "redated", "retitled", "dropped"]),
    date=_dates,
)
def test_equal_hashes_mean_the_parser_reads_the_same_items(
    header: list[tuple[str, str]],
    header2: list[tuple[str, str]],
    entries: list[tuple[str, str, str, str]],
    how: str,
    date: str,
) -> None:
    one = _doc(header, entries)
    two = _doc(header2, _mutated(entries, how, date))
    if _h(one) != _h(two):
        return
    first = parse(one, "f", content_type=XML, base_url=URL, settings=DEFAULT_SETTINGS).items
    second = parse(two, "f", content_type=XML, base_url=URL, settings=DEFAULT_SETTINGS).items
    assert [(i.item_id, i.title, i.text, i.link, i.published) for i in first] == [
        (i.item_id, i.title, i.text, i.link, i.published) for i in second
    ]
