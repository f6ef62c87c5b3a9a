"""Look-up caches survive a saved engine, warm-up does the per-language work ahead, and the
lemma dictionaries of many languages stay loaded (simplemma's shared cache kept 8)."""

from __future__ import annotations

import pickle
from pathlib import Path

from sanctionwatch.matching import lemmas
from sanctionwatch.matching.engine import Engine
from sanctionwatch.matching.enginestore import load_engine, save_engine
from sanctionwatch.matching.matcher import Matcher
from sanctionwatch.models import Entry

ENTRIES = [
    Entry("t:ros", "Rosoboronexport", "organisation", "russia", ("Рособоронэкспорт",)),
    Entry("t:art", "artyleria", "keyword", "arms", ("artillery",)),
    Entry("t:nk", "Korea Północna", "country", "dprk", ("North Korea",)),
]
POLISH = "Korea Północna dostarczyła Rosji artylerię; Rosoboronexport podpisał umowę."


def _found(m: Matcher, text: str) -> list[tuple[str, int, int, float]]:
    return [(x.entity_id, x.start, x.end, x.score) for x in m.find(text, lang="pl")]


def test_caches_travel_with_a_pickled_index_and_give_the_same_matches() -> None:
    m = Matcher.build(ENTRIES)
    before = _found(m, POLISH)
    assert {"t:art", "t:ros"} <= {e for e, *_ in before}  # "artylerię" met through its lemma
    warmth = m.warmth()
    assert warmth > 0 and m._ix.lemma_keys.languages() == ["pl"]
    again = pickle.loads(pickle.dumps(m))
    assert again.warmth() == warmth  # fuzzy look-ups, lemma memo and the pl table survive
    assert again._ix.lemma_keys.languages() == ["pl"]
    assert ("pl", "artylerię") in again._ix.lemma_keys.memo
    assert _found(again, POLISH) == before


def test_warm_up_builds_the_tables_ahead_and_changes_no_result() -> None:
    cold = Matcher.build(ENTRIES)
    warm = Matcher.build(ENTRIES)
    assert warm.warm_up(["pl", "xx", "en"]) == ["en", "pl"]  # unknown languages are skipped
    assert warm._ix.lemma_keys.languages() == ["pl"]
    assert _found(warm, POLISH) == _found(cold, POLISH)
    # by default: English and every language the index has met
    assert Matcher.build(ENTRIES).warm_up() == ["en"]
    assert cold.warm_up() == ["en", "pl"]


def test_keep_warm_rewrites_the_engine_file_only_when_caches_grew(tmp_path: Path) -> None:
    from sanctionwatch.matching.enginestore import StoredEngineCache

    path = tmp_path / "engine"
    engine = Engine(Matcher.build(ENTRIES), (), tuple(ENTRIES), "fp")
    assert save_engine(path, engine)
    cache = StoredEngineCache((), tmp_path, path)
    loaded = load_engine(path, "fp")
    assert loaded is not None and load_engine(path, "other") is None  # stale: other inputs
    cache._engine, cache._saved_warmth = loaded, loaded.matcher.warmth()
    assert not cache.keep_warm(loaded)  # nothing new
    loaded.matcher.find(POLISH, lang="pl")  # a new language's table and new words
    mtime = path.stat().st_mtime_ns
    assert cache.keep_warm(loaded)
    assert path.stat().st_mtime_ns != mtime
    reread = load_engine(path, "fp")
    assert reread is not None and reread.matcher._ix.lemma_keys.languages() == ["pl"]


def test_more_than_eight_languages_keep_their_dictionaries() -> None:
    langs = ["fr", "it", "nl", "sl", "lv", "lt", "id", "ro", "ca"]  # nine small dictionaries
    for lang in langs:
        lemmas.lemma_of(lang, "zzzq" + lang)  # loads the dictionary (a miss is not cached)
    opened = {lang: lemmas._dictionaries().get_dictionary(lang) for lang in langs}
    assert all(lemmas._dictionaries().kind(lang) for lang in langs)  # each one was read
    for lang in langs:
        lemmas.lemma_of(lang, "zzzr" + lang)
    assert all(lemmas._dictionaries().get_dictionary(x) is opened[x] for x in langs)  # kept
