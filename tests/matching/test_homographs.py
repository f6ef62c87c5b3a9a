"""Keywords of one language are not the same letters in another language's text.

The Portuguese "livre" (free) is the French "livre" (delivers); the Spanish and Portuguese
"cargo" (a post) is the French and Italian word for a cargo ship. A common-word keyword the
watchlist gives only under ``aliases_by_lang`` counts in those languages' items, and in
items whose language is not known; elsewhere, a word that language's dictionary knows is
that language's word.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.matching.lemmas import detect_language
from sanctionwatch.matching.matcher import Matcher
from sanctionwatch.models import Entry
from sanctionwatch.runtime import build_engine
from sanctionwatch.watchlists.files import load_watchlists

ROOT = Path(__file__).resolve().parents[2]

PORTUGUESE = (
    "O ministro, que ocupa o cargo desde 2020, disse que o comércio livre com a Rússia não é"
    " uma prioridade para o governo, mas que as conversas com a Coreia do Norte vão continuar."
)
FRENCH = "La Russie livre des obus à la Corée du Nord, selon un cargo intercepté."


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return build_engine(ROOT / "watchlists", ROOT / "rules")


def keywords(engine, text: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.entity for m in engine.match("", text) if m.type == "keyword"}


def test_the_items_languages_are_what_the_test_says() -> None:
    assert detect_language(PORTUGUESE) == "pt"
    assert detect_language(FRENCH) == "fr"


def test_a_keyword_of_other_languages_is_not_a_word_of_this_one(engine) -> None:  # type: ignore[no-untyped-def]
    found = keywords(engine, PORTUGUESE)
    assert not found & {"deliver", "supply", "cargo ship"}, found
    assert {"deliver", "cargo ship"} <= keywords(engine, FRENCH)
    assert "cargo ship" in keywords(engine, "A cargo of North Korean shells reached Russia.")
    # the same word given for both languages counts in both
    assert "deliver" in keywords(engine, "A Rússia entrega mísseis à Coreia do Norte.")
    assert "deliver" in keywords(engine, "Rusia entrega misiles a Corea del Norte.")


def test_alias_languages_come_from_aliases_by_lang(tmp_path: Path) -> None:
    (tmp_path / "kw.yaml").write_text(
        "list: kw\nentries:\n"
        "  - name: deliver\n    type: keyword\n    aliases: [entrega]\n"
        "    aliases_by_lang:\n      fr: [livre, Livre]\n      pt-BR: [entrega, entregou]\n"
        "      es: [entregó]\n      pt: [entregó]\n",
        encoding="utf-8",
    )
    (entry,) = load_watchlists(tmp_path)
    langs = dict(entry.alias_langs)
    # an alias also given without a language counts everywhere; a tag's region is dropped
    assert langs == {
        "livre": ("fr",),
        "Livre": ("fr",),
        "entregou": ("pt",),
        "entregó": ("es", "pt"),
    }
    assert set(entry.aliases) == {"entrega", "livre", "Livre", "entregou", "entregó"}


def test_only_common_words_of_keyword_entries_are_asked() -> None:
    def entry(name: str, type_: str) -> Entry:
        return Entry(
            id=f"t:{name}",
            name=name.upper(),
            type=type_,
            list="t",
            aliases=(name, name.title()),
            alias_langs=((name, ("fr",)), (name.title(), ("fr",))),
            strict=True,
        )

    m = Matcher.build([entry("livre", "keyword"), entry("cargo", "vessel")])
    sentence = "o comércio livre e o cargo"
    assert [h.text for h in m.find(sentence, lang="pt")] == ["cargo"]  # not a keyword
    assert [h.text for h in m.find(sentence, lang="fr")] == ["livre", "cargo"]
    assert [h.text for h in m.find(sentence, lang="")] == ["livre", "cargo"]  # unknown
    assert [h.text for h in m.find("Livre", lang="pt")] == ["Livre"]  # a name, not a word
    # a word the item's language does not know is not taken for one of its words
    assert [h.text for h in m.find("livre", lang="ko")] == ["livre"]
