"""Precision on official lists (issue 12): legal forms, contractions, one-word aliases that
are ordinary words, and overlapping names of related entries. Real OFAC SDN rows
(tests/fixtures/lists/ofac_precision/, see the fixtures README) imported by the real importer."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.matching.legalforms import core_of
from sanctionwatch.matching.matcher import OFFICIAL_SINGLE_WORD_SCORE, Matcher
from sanctionwatch.matching.normalize import analyse_text
from sanctionwatch.matching.signals import countries_of
from sanctionwatch.models import Entry, Match
from sanctionwatch.watchlists.importers.ofac import parse_ofac_sdn

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "lists" / "ofac_precision"
SBERBANK_OF_RUSSIA = "ofac-sdn:17018"
BPS_SBERBANK = "ofac-sdn:18714"  # Belarusian subsidiary: "BPS-SBERBANK OAO", "SBER BANK"
SBERBANK_UKRAINE = "ofac-sdn:18715"  # Ukrainian subsidiary: "JSC SBERBANK"
SBERBANK_CAPITAL = "ofac-sdn:18669"
WUHAN = "ofac-sdn:46633"
PROMTEKH = "ofac-sdn:46688"  # "CLOSED JOINT STOCK COMPANY INDUSTRIAL TECHNOLOGIES"
DAN = "ofac-sdn:15908"  # vessel, f.k.a. "JUSTICE", programme IRAN
LIMON = "ofac-sdn:43843"  # a.k.a. "Fox"


def curated(name: str, type_: str, *aliases: str) -> Entry:
    return Entry(id=f"c:{name.lower()}", name=name, type=type_, list="c", aliases=aliases)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    entries = parse_ofac_sdn(FIXTURE / "sdn.csv", "ofac-sdn")
    countries = [curated("Iran", "country", "Islamic Republic of Iran")]
    return Matcher.build([*entries, *countries, curated("Vladimir Putin", "person", "Putin")])


def found(matcher: Matcher, text: str) -> list[Match]:
    return matcher.find(text, lang="en")


def ids(matcher: Matcher, text: str) -> list[str]:
    return [m.entity_id for m in found(matcher, text)]


def test_rigour_finds_legal_forms_at_the_edges_only() -> None:
    def core(alias: str) -> list[str] | None:
        c = core_of(alias, tuple(analyse_text(alias).infos), "organisation")
        return None if c is None else [t.norm for t in c.tokens]

    assert core("WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD.") == [
        "wuhan",
        "global",
        "sensor",
        "technology",
    ]
    assert core("PJSC SBERBANK") == ["sberbank"]
    assert core("OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU SBERBANK KAPITAL") == [
        "sberbank",
        "kapital",
    ]
    assert core("ООО Ромашка") == ["romashka"]  # Cyrillic legal forms too
    assert core("KOREA MINING DEVELOPMENT TRADING CO") == [
        "korea",
        "mining",
        "development",
        "trading",
    ]
    assert core("SBER BANK") is None  # no legal form
    assert core("JSC") == []
    # people keep every part: "AO" is a surname, not a joint-stock company
    assert core_of("AO Jun", tuple(analyse_text("AO Jun").infos), "person") is None


def test_legal_forms_are_optional(matcher: Matcher) -> None:
    (m,) = found(matcher, "Wuhan Global Sensor Technology shipped sensors to Russia.")
    assert m.entity_id == WUHAN and m.score == 100 and m.text == "Wuhan Global Sensor Technology"
    assert "legal form" in m.detail and "optional" in m.detail
    (full,) = found(matcher, "WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD. was designated.")
    assert full.entity_id == WUHAN and full.text == "WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD"
    # another legal form than the list's, in another place, and the Russian one
    assert ids(matcher, "Sberbank Capital OOO") == [SBERBANK_CAPITAL]
    assert ids(matcher, "Ltd Sberbank Kapital") == [SBERBANK_CAPITAL]


def test_legal_forms_alone_or_with_generic_words_find_nothing(matcher: Matcher) -> None:
    assert found(matcher, "Ltd") == []
    assert found(matcher, "JSC") == []
    assert found(matcher, "The JSC and the Co., Ltd. filed their accounts.") == []
    # "INDUSTRIAL TECHNOLOGIES" names no particular company: found only in full
    assert found(matcher, "Industrial Technologies rose 3% on the exchange.") == []
    assert ids(matcher, "Closed Joint Stock Company Industrial Technologies") == [PROMTEKH]


@pytest.mark.parametrize(
    ("text", "surfaces"),
    [
        ("Don't panic", ["Don't", "panic"]),
        ("don’t", ["don’t"]),
        ("Isn't it", ["Isn't", "it"]),
        ("O'Brien spoke", ["O'Brien", "spoke"]),
        ("l'Iran et d’Iran", ["Iran", "et", "Iran"]),
        ("dell'Iran e all'Iran", ["Iran", "e", "Iran"]),
        ("Sa'd left", ["Sa'd", "left"]),
    ],
)
def test_contractions_and_apostrophes_are_one_word(text: str, surfaces: list[str]) -> None:
    tt = analyse_text(text)
    assert [text[s:e] for s, e in zip(tt.starts, tt.ends, strict=True)] == surfaces


def test_dont_takes_nothing_but_elided_iran_is_found(matcher: Matcher) -> None:
    assert found(matcher, "Don't Panic: A Guide") == []
    assert found(matcher, "DON’T PANIC") == []
    iran = Matcher.build([curated("Iran", "country")])
    for text in ("l'Iran a livré", "d’Iran", "dell'Iran", "all'Iran"):
        assert [m.text for m in iran.find(text)] == ["Iran"], text


@pytest.mark.parametrize(
    "text",
    [
        "Fox News: Justice Editor Resigns",
        "Editor's Note: Justice For All",
        "FOX AND FRIENDS",
    ],
)
def test_title_case_ordinary_words_are_no_candidates(matcher: Matcher, text: str) -> None:
    assert found(matcher, text) == []


def test_an_ordinary_one_word_alias_is_listed_on_a_second_signal(matcher: Matcher) -> None:
    # its country (the vessel's programme is IRAN), through a curated country entry
    hits = found(matcher, "Justice was seen off the coast of Iran.")
    dan = [m for m in hits if m.entity_id == DAN]
    assert len(dan) == 1 and "its country in the item (iran)" in dan[0].detail
    assert dan[0].score == OFFICIAL_SINGLE_WORD_SCORE  # still below any default rule
    # a word for its kind: the entry is a vessel
    (tanker,) = found(matcher, "The tanker Justice left port.")
    assert tanker.entity_id == DAN and "tanker" in tanker.detail
    # another name of the same entry
    hits = found(matcher, "Jeuri Limon Elenes, known as Fox, was arrested.")
    assert [m.entity_id for m in hits] == [LIMON, LIMON]
    assert "another name of the same entry" in hits[1].detail
    # the signal may stand in the title, the alias in the text
    both = matcher.find_item((("title", "Iran"), ("text", "Justice sailed.")), "en")
    assert [(m.field, m.entity_id) for m in both] == [("title", "c:iran"), ("text", DAN)]


def test_curated_one_word_names_keep_working(matcher: Matcher) -> None:
    (putin,) = found(matcher, "Putin met the envoy")
    assert putin.score == 100


def test_sberbank_finds_sberbank_of_russia(matcher: Matcher) -> None:
    hits = found(matcher, "Sberbank profits rose.")
    assert [m.entity_id for m in hits] == [SBERBANK_OF_RUSSIA, SBERBANK_UKRAINE]
    main = hits[0]
    assert main.alias == "PJSC SBERBANK" and main.text == "Sberbank"
    # the Belarusian subsidiary's "SBER BANK" meets it only glued: the name as written wins
    assert "most specific" in main.detail and "SBER BANK" in main.detail
    # "JSC SBERBANK" of the Ukrainian subsidiary is as good: both listed, with the reason
    assert "ambiguous" in main.detail and "JOINT STOCK COMPANY SBERBANK" in main.detail
    assert "ambiguous" in hits[1].detail and "PJSC SBERBANK" in hits[1].detail


def test_the_longer_name_of_another_entry_wins(matcher: Matcher) -> None:
    assert ids(matcher, "Sberbank Capital was sanctioned.") == [SBERBANK_CAPITAL]
    assert ids(matcher, "BPS-Sberbank in Minsk") == [BPS_SBERBANK]
    assert ids(matcher, "Sberbank of Russia") == [SBERBANK_OF_RUSSIA, SBERBANK_UKRAINE]


def test_programme_countries() -> None:
    assert countries_of(("RUSSIA-EO14024", "UKRAINE-EO13662")) == {"russia", "ukraine"}
    assert countries_of(("DPRK3", "NPWMD")) == {"north korea"}
    assert countries_of(("SDGT",)) == frozenset()


def official(id_: str, name: str, *aliases: str, programs: tuple[str, ...] = ()) -> Entry:
    return Entry(
        id=f"ofac-sdn:{id_}",
        name=name,
        type="organisation",
        list="ofac-sdn",
        aliases=aliases,
        programs=programs,
        source="OFAC SDN",
        curated=False,
    )


def test_fragments_and_state_names_are_not_company_cores() -> None:
    # real SDN names: 50-odd letters of legal form around a two-letter or a country's name
    m = Matcher.build(
        [
            official("1", "SCIENTIFIC AND PRODUCTION ASSOCIATION", "AO NPO IT"),
            official("2", "SERVICIO AEREO DE SANTANDER E.U.", "S.A.S. E.U."),
            official("3", "BANK ROSSIYA", "AB ROSSIYA, OAO", programs=("UKRAINE-EO13661",)),
            curated("Russia", "country", "Росія", "Rossiya"),
        ]
    )
    assert m.find("It was late. U said so.", lang="en") == []
    (russia,) = m.find("Росія постачає снаряди.", lang="uk")
    assert russia.entity_id == "c:russia"
    # written in full it is the bank (the curated state inside it is kept: curated entries
    # are never dropped for an official one)
    hits = m.find("AB Rossiya OAO", lang="en")
    assert [(h.entity_id, h.text) for h in hits] == [
        ("ofac-sdn:3", "AB Rossiya OAO"),
        ("c:russia", "Rossiya"),
    ]


def test_a_rule_that_asks_is_the_context_of_a_held_word() -> None:
    from sanctionwatch.matching.engine import Engine
    from sanctionwatch.matching.rules import parse_rule

    entries = [
        *parse_ofac_sdn(FIXTURE / "sdn.csv", "ofac-sdn"),
        Entry(id="c:oil", name="crude oil", type="keyword", list="c", tags=("cargo",)),
    ]
    asks = parse_rule(
        {
            "name": "iran-vessel-cargo",
            "min_score": 80,
            "within_words": 10,
            "all": [{"programs": ["IRAN"], "types": ["vessel"]}, {"tags": ["cargo"]}],
        },
        "test",
        "test.yaml",
    )
    default = parse_rule({"name": "d", "all": [{"types": ["vessel"]}]}, "test", "test.yaml")
    text = "Justice loaded crude oil at night."
    m = Matcher.build(entries)
    plain = Engine(m, (default,), tuple(entries), "fp")
    assert [x.entity_id for x in plain.match("", text)] == ["c:oil"]  # no rule asks
    engine = Engine(m, (asks, default), tuple(entries), "fp")
    hits = engine.match("Night loading", text)
    assert [x.entity_id for x in hits] == [DAN, "c:oil"]
    assert "listed on a rule's context: iran-vessel-cargo" in hits[0].detail
    assert [a.rule for a in engine.evaluate(hits, "#c")] == ["iran-vessel-cargo"]
    # the rule's other clauses unmet: still held
    assert [x.entity_id for x in engine.match("", "Justice was served.")] == []


def test_ordinary_cyrillic_words_need_a_second_signal_too() -> None:
    """Russian and Ukrainian items have no detected language (they are not lemmatised), so
    a word in Cyrillic letters is also asked of the Cyrillic dictionaries: "Звезда" (star)
    is an ordinary word, not the company PAO ZVEZDA, unless the item gives a second signal."""
    zvezda = Entry(
        id="ofac-sdn:zvezda",
        name="PAO ZVEZDA",
        type="organisation",
        list="ofac-sdn",
        aliases=("ZVEZDA",),
        programs=("RUSSIA-EO14024",),
        curated=False,
    )
    russia = curated("Russia", "country", "Россия", "России")
    m = Matcher.build([zvezda, russia])
    held: list[Match] = []
    assert m.find_item((("text", "Звезда взошла над городом."),), "", held) == []
    assert [h.text for h in held] == ["Звезда"]  # held back, not lost
    hits = m.find("Звезда поставляет двигатели для флота России.", lang="")
    star = [h for h in hits if h.entity_id == "ofac-sdn:zvezda"]
    assert len(star) == 1 and "its country in the item (russia)" in star[0].detail
    # written as the alias is, the name stands without a signal
    assert [h.text for h in m.find("ПАО Звезда объявило результаты.", lang="")] == ["ПАО Звезда"]
    # a word no dictionary knows is not ordinary: listed (score capped) without a signal
    sevmash = Entry(
        "ofac-sdn:sevmash",
        "AO PO SEVMASH",
        "organisation",
        "ofac-sdn",
        aliases=("SEVMASH",),
        curated=False,
    )
    hits = Matcher.build([sevmash]).find("Севмаш спустил на воду подлодку.", lang="")
    assert [(h.text, h.score) for h in hits] == [("Севмаш", OFFICIAL_SINGLE_WORD_SCORE)]
    assert "uk" in m.warm_up() and "ru" in m.warm_up()  # official entries: warmed at start
