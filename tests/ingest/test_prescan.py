"""The pre-scan that lets a changed document with nothing new skip feedparser (issue 12).

Its one duty: never vouch for identities feedparser would not give. Every test compares it
with the real parser (`parse.parse`, feedparser underneath) on the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from sanctionwatch.alerting.newonly import unread_part
from sanctionwatch.alerting.workers import analyse_items, scoped
from sanctionwatch.errors import FeedError
from sanctionwatch.ingest.parse import parse
from sanctionwatch.ingest.prescan import scan_identities
from sanctionwatch.models import Item
from tests.support.paths import REPO

FEEDS = REPO / "tests" / "fixtures" / "feeds"
RSS_TYPE = "application/rss+xml; charset=utf-8"
BASE = "https://news.example.org/feeds/world.xml"
PROPERTY_CASES = 400


def _parsed_ids(body: bytes, content_type: str | None, base_url: str | None) -> list[str]:
    items = parse(body, "F", content_type=content_type, base_url=base_url).items
    return [it.item_id for it in items]


@pytest.mark.parametrize(
    "name", ["guardian.rss", "rss-1.rss", "wapowellness.xml", "heise.atom", "tpm.atom"]
)
@pytest.mark.parametrize("content_type,base_url", [(None, None), (RSS_TYPE, BASE)])
def test_real_feeds_give_the_parsers_identities(
    name: str, content_type: str | None, base_url: str | None
) -> None:
    body = (FEEDS / "real" / name).read_bytes()
    scanned = scan_identities(body, content_type, base_url)
    assert scanned is not None, f"{name} should be readable by the pre-scan"
    assert list(dict.fromkeys(scanned)) == _parsed_ids(body, content_type, base_url)


@pytest.mark.parametrize(
    "path",
    [
        "real/encoding-gb2312.xml",  # not UTF-8
        "real/uolNoticias.rss",  # bytes that are not the UTF-8 they claim
        "billion_laughs.xml",
        "xxe_file.xml",
        "dtd_external.xml",
        "html_page.html",
        "empty.xml",
        "corpus/illformed_rss_incomplete_cdata.xml",
    ],
)
def test_odd_documents_are_left_to_the_parser(path: str) -> None:
    assert scan_identities((FEEDS / path).read_bytes(), None, BASE) is None


def _rss(items: str, decl: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (f'{decl}<rss version="2.0"><channel><title>T</title>{items}</channel></rss>').encode()


@pytest.mark.parametrize(
    "item,why",
    [
        ("<item><title>a</title><guid>42</guid></item>", "permalink guid resolved against the URL"),
        ('<item xml:base="https://b.example/"><guid>https://a.example/1</guid></item>', "xml:base"),
        ("<item><title>only a title</title></item>", "identified by a title hash"),
        (
            "<item><link>https://a.example/?a=1&amp;amp;b=2</link></item>",
            "link feedparser rewrites",
        ),
        ("<item><guid>https://a.example/1</guid><guid>https://a.example/2</guid></item>", "two"),
        ("<item><guid>https://a.example/<b>1</b></guid></item>", "markup inside a guid"),
        ('<item><guid isPermaLink="false">caf\u00e9-1</guid></item>', "non-ASCII id"),
        ("<item><item><guid>https://a.example/1</guid></item></item>", "nested entries"),
        ('<x:item xmlns:x="urn:x"><guid>https://a.example/1</guid></x:item>', "foreign entry"),
        ('<item><link href="https://a.example/1"/></item>', "Atom-style link without an id"),
        ("<item><guid>https://a.example/1", "not well-formed"),
        ("<item><guid>&nope;</guid></item>", "undefined entity"),
    ],
)
def test_unsure_cases(item: str, why: str) -> None:
    assert scan_identities(_rss(item), None, BASE) is None, why


def test_cdata_entities_and_whitespace_are_read_as_xml_reads_them() -> None:
    body = _rss(
        "<item><title>a</title><guid isPermaLink='false'><![CDATA[ id-1 ]]></guid></item>"
        "<item><title>b</title><guid isPermaLink='false'>id&#45;2 &amp; more</guid></item>"
        "<item><title>c</title><link>\n  https://a.example/c?utm_source=x  \n</link></item>"
        "<item><title>d</title><guid>https://a.example/d/</guid>"
        "<description><![CDATA[<p>x</p><guid>decoy</guid>]]></description></item>"
    )
    scanned = scan_identities(body, RSS_TYPE, BASE)
    assert scanned == ["guid:id-1", "guid:id-2 & more", "link:https://a.example/c", (
        "link:https://a.example/d")]  # fmt: skip
    assert scanned == _parsed_ids(body, RSS_TYPE, BASE)


def test_a_plain_ampersand_in_a_link_is_read_as_the_parser_reads_it() -> None:
    body = _rss("<item><title>a</title><link>https://a.example/?a=1&amp;b=2</link></item>")
    assert scan_identities(body, None, BASE) == ["link:https://a.example/?a=1&b=2"]
    assert _parsed_ids(body, None, BASE) == ["link:https://a.example/?a=1&b=2"]


def test_content_types_feedparser_would_read_leniently_are_left_to_it() -> None:
    body = _rss("<item><guid>https://a.example/1</guid></item>")
    assert scan_identities(body, "application/rss+xml", BASE) == ["link:https://a.example/1"]
    assert scan_identities(body, "text/html", BASE) is None
    assert scan_identities(body, "application/xml; charset=iso-8859-1", BASE) is None
    latin = _rss("<item><guid>https://a.example/1</guid></item>", '<?xml version="1.0" '
                 'encoding="ISO-8859-1"?>')  # fmt: skip
    assert scan_identities(latin, None, BASE) is None


def _known_lookup(ids: set[str]):  # type: ignore[no-untyped-def]
    def known(items: Sequence[Item], keys: Sequence[str | None]) -> set[str]:
        return {it.item_id for it in items if it.item_id in ids}

    return known


def _fresh(items: list[Item], recorded: set[str]) -> list[Item]:
    """What the analysis keeps of parsed items (it scopes their ids): those not recorded."""
    fresh = analyse_items(_no_engine, items, _known_lookup(recorded), "#c")
    return [a.item for a in fresh.fresh]


def test_nothing_new_only_when_every_identity_is_recorded() -> None:
    body = (FEEDS / "real" / "guardian.rss").read_bytes()
    items = [scoped(it) for it in parse(body, "G", content_type=RSS_TYPE).items]
    all_ids = {it.item_id for it in items}
    unread = unread_part(body, "G", RSS_TYPE, None, _known_lookup(all_ids), 500)
    assert unread is not None and unread.body is None and unread.entries == len(items)
    # one missing: feedparser reads only that entry, and finds exactly it
    one_missing = all_ids - {items[7].item_id}
    unread = unread_part(body, "G", RSS_TYPE, None, _known_lookup(one_missing), 500)
    assert unread is not None and unread.body is not None and unread.cut == len(items) - 1
    assert len(unread.body) < len(body) / 10
    part = parse(unread.body, "G", content_type=RSS_TYPE).items
    assert [scoped(i) for i in part] == [items[7]]
    assert _fresh(part, one_missing) == _fresh(list(parse(body, "G").items), one_missing)
    # nothing recorded: parsed whole, as before
    assert unread_part(body, "G", RSS_TYPE, None, _known_lookup(set()), 500) is None
    # more entries than the parser keeps: parsed whole (the cap counts entries)
    assert unread_part(body, "G", RSS_TYPE, None, _known_lookup(one_missing), 10) is None


def _no_engine():  # type: ignore[no-untyped-def]
    class Quiet:
        fingerprint = "none"

        def match(self, title: str, text: str) -> list[object]:
            return []

    return Quiet()


# --------------------------------------------------------------------------- property


def _random_item(rnd: random.Random, n: int, atom: bool) -> str:
    """One entry with a random mix of the things that decide (or confuse) identity."""
    host = rnd.choice(["https://a.example", "http://A.Example:80", "https://b.example"])
    path = rnd.choice(["news", "a/b", "x/../y", ""])
    tail = rnd.choice(["", "/", "?utm_source=r&amp;k=1", "#frag"])
    url = f"{host}/{path}/{n}{tail}"
    tag_item, tag_id = ("entry", "id") if atom else ("item", "guid")
    if rnd.random() < 0.02:
        tag_item = rnd.choice(["Item", "ENTRY", "x:item"])
    parts = [f"<{tag_item}>"]
    if rnd.random() < 0.8:
        parts.append(f"<title>Story {n} {rnd.choice(['', '&amp; more', '<![CDATA[cd]]>'])}</title>")
    guid_kind = rnd.choices(
        ["none", "url", "token", "relative", "cdata", "space", "dup", "uni"],
        weights=[4, 10, 8, 1, 2, 2, 1, 1],
    )[0]
    attr = "" if atom else rnd.choice(["", ' isPermaLink="false"', ' isPermaLink="false"',
                                       ' isPermaLink="true"', ' ISPERMALINK="false"'])  # fmt: skip
    value = {
        "url": url,
        "token": f"tag:a.example,2026:{n}",
        "relative": f"{n}",
        "cdata": f"<![CDATA[{url}]]>",
        "space": f"\n   id-{n}  \t",
        "dup": "same-id",
        "uni": f"\u00e9t\u00e9-{n}",
    }.get(guid_kind)
    if value is not None:
        parts.append(f"<{tag_id}{attr}>{value}</{tag_id}>")
    link_kind = rnd.choices(
        ["none", "text", "relative", "href", "two", "amp"], weights=[3, 10, 1, 2, 1, 1]
    )[0]
    if link_kind == "text" and not atom:
        parts.append(f"<link>{url}</link>")
    elif link_kind == "relative" and not atom:
        parts.append(f"<link>/rel/{n}</link>")
    elif link_kind in ("href", "text", "relative"):
        parts.append(f'<link rel="{rnd.choice(["alternate", "self"])}" href="{url}"/>')
    elif link_kind == "two":
        parts.append(f"<link>{url}</link><link>{host}/other/{n}</link>")
    elif link_kind == "amp":
        parts.append(f"<link>{host}/q?a=1&amp;amp;b={n}</link>")
    extra = rnd.random()
    if extra < 0.02:
        parts.append(f"<source><id>src-{n}</id><link>{host}/src</link></source>")
    elif extra < 0.04:
        parts.insert(1, f'<x:guid xmlns:x="urn:x">x-{n}</x:guid>')
    elif extra < 0.05:
        parts[0] = f'<{tag_item} xml:base="{host}/base/">'
    parts.append("<description>&lt;p&gt;text &amp;amp; more&lt;/p&gt;</description>")
    parts.append(f"</{tag_item}>")
    return "".join(parts)


def _random_document(rnd: random.Random) -> tuple[bytes, str | None, str | None]:
    kind = rnd.choice(["rss", "atom", "rdf"])
    entries = "".join(_random_item(rnd, n, kind == "atom") for n in range(rnd.randint(0, 4)))
    if kind == "rss":
        text = f'<rss version="2.0"><channel><title>T</title>{entries}</channel></rss>'
    elif kind == "atom":
        atom_ns = "http://www.w3.org/2005/Atom"
        text = f'<feed xmlns="{atom_ns}"><title>T</title><id>f</id>{entries}</feed>'
    else:
        entries = entries.replace("<item>", f'<item rdf:about="urn:rdf:{rnd.randint(0, 3)}">', 1)
        text = (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>T</title></channel>'
            f"{entries}</rdf:RDF>"
        )
    if "x:item" in text or "x:guid" in text:
        text = text.replace("<x:item>", '<x:item xmlns:x="urn:x">', 1)
    decl = rnd.choice(['<?xml version="1.0" encoding="UTF-8"?>', "", '<?xml version="1.0"?>'])
    body = (decl + text).encode("utf-8")
    if rnd.random() < 0.05:
        body = body[: rnd.randint(1, len(body))]  # cut short: ill-formed
    content_type = rnd.choice([None, RSS_TYPE, "application/atom+xml", "text/xml", "text/html"])
    return body, content_type, rnd.choice([None, BASE, "http://other.example/a/b"])


def test_the_prescan_never_vouches_for_identities_the_parser_would_not_give() -> None:
    """Property: for random documents, whenever the pre-scan answers, the parser succeeds and
    every item it yields has one of the answered identities, so "all of these are recorded"
    can never hide a new item."""
    rnd = random.Random(20261201)
    answered = 0
    for case in range(PROPERTY_CASES):
        body, content_type, base_url = _random_document(rnd)
        scanned = scan_identities(body, content_type, base_url)
        if scanned is None:
            continue
        answered += 1
        try:
            parsed = _parsed_ids(body, content_type, base_url)
        except FeedError as exc:
            pytest.fail(f"case {case}: pre-scan answered, parser failed: {exc}\n{body!r}")
        missing = set(parsed) - set(scanned)
        assert not missing, f"case {case}: {missing} not vouched for\n{body!r}"
    # the property is not vacuous: a good share of documents are answered, not all
    assert PROPERTY_CASES * 0.1 < answered < PROPERTY_CASES * 0.9, answered


def test_parsing_only_the_unread_part_finds_the_same_new_items() -> None:
    """Property: with any subset of a document's items recorded, the items the analysis
    keeps from the cut document equal those it keeps from the whole document (titles,
    texts, dates and all), and "nothing new" is said only when the whole finds nothing."""
    rnd = random.Random(20261202)
    cut_cases = 0
    for case in range(PROPERTY_CASES):
        body, content_type, base_url = _random_document(rnd)
        try:
            whole = parse(body, "F", content_type=content_type, base_url=base_url).items
        except FeedError:
            continue
        ids = [scoped(i).item_id for i in whole]
        recorded = {i for i in ids if rnd.random() < 0.6}
        expected = _fresh(whole, recorded)
        unread = unread_part(body, "F", content_type, base_url, _known_lookup(recorded), 500)
        if unread is None:
            continue
        if unread.body is None:
            assert expected == [], f"case {case}: nothing new said, {expected} missed\n{body!r}"
            continue
        cut_cases += 1
        part = parse(unread.body, "F", content_type=content_type, base_url=base_url).items
        assert _fresh(part, recorded) == expected, f"case {case}\n{body!r}\n{unread.body!r}"
    assert cut_cases > PROPERTY_CASES * 0.05, cut_cases


SHARED_FEEDS = REPO.parent / "shared" / "data" / "feeds"  # feedparser's corpus, real feeds


def test_no_document_of_the_shared_corpus_gets_a_wrong_nothing_new() -> None:
    """The same rule on every document of ../shared/data/feeds (feedparser's own test corpus,
    well-formed and not, odd encodings and entities, and real feeds), each served three ways:
    whenever the pre-scan answers, the parser succeeds and gives no item outside it."""
    if not SHARED_FEEDS.is_dir():
        pytest.skip("shared feed data not available")
    answered, wrong = 0, []
    for path in sorted(p for p in SHARED_FEEDS.rglob("*.*") if p.suffix != ".md"):
        body = path.read_bytes()
        for content_type, base_url in ((None, None), (RSS_TYPE, BASE), ("text/xml", None)):
            scanned = scan_identities(body, content_type, base_url)
            if scanned is None:
                continue
            answered += 1
            try:
                missing = set(_parsed_ids(body, content_type, base_url)) - set(scanned)
            except FeedError as exc:
                wrong.append(f"{path.name}: pre-scan answered, parser failed: {exc}")
                continue
            if missing:
                wrong.append(f"{path.name} ({content_type}, {base_url}): {missing}")
    assert wrong == []
    assert answered >= 50  # not vacuous: 66 answers when this test was written
