"""Per-word plans (``matching.plans``): what a word starts is worked out once per word and
language, and reusing it gives exactly what verifying at every position gave."""

from __future__ import annotations

import pickle

from sanctionwatch.matching import plans
from sanctionwatch.matching.lemmaindex import add_text_lemmas
from sanctionwatch.matching.matcher import MIN_REPORT_SCORE, Matcher
from sanctionwatch.matching.normalize import analyse_text, analyse_word
from sanctionwatch.matching.positions import glue, glue_flags, seconds
from sanctionwatch.models import Entry

ENTRIES = [
    Entry("t:nk", "North Korea", "country", "dprk", ("Nordkorea", "KN-23", "Северная Корея")),
    Entry("t:ru", "Russia", "country", "russia", ("Russland",)),
    Entry("t:art", "artyleria", "keyword", "terms", strict=True),
    Entry("t:wag", "Wagner Group", "organisation", "wagner", ("Wagner",)),
    # one text word ("Russland") starts both, under two keys: exact, and one edit away
    Entry("t:ra", "Russland Armee", "organisation", "russia"),
    Entry("t:rw", "Russlands Waffen", "organisation", "russia"),
]


def _spans(m: Matcher, text: str, lang: str = "en") -> list[tuple[str, str, int, int]]:
    return [(h.entity_id, h.text, h.start, h.end) for h in m.find(text, lang=lang)]


def test_a_repeated_word_is_found_at_every_position_with_its_own_offsets() -> None:
    m = Matcher.build(ENTRIES)
    text = "Russland. Then Russland again, and Russland."
    got = [s for s in _spans(m, text, "de") if s[0] == "t:ru"]
    starts = [i for i in range(len(text)) if text.startswith("Russland", i)]
    assert [s[2] for s in got] == starts
    assert all(text[s[2] : s[3]] == "Russland" for s in got)
    # the word's plan was made once and holds its verified one-word name
    plan = m._ix._plan_cache["de"][analyse_word("Russland")]
    assert [m._ix.entities[ok[1]].id for ok in plan.ok] == ["t:ru"]
    assert not plan.empty


def _reference(m: Matcher, text: str, lang: str) -> list[tuple[int, int, int, float]]:
    """The search without plans: every name filed under a word's keys (and its lemma's),
    every longer name whose second word follows, verified at every position."""
    ix = m._ix
    tt = analyse_text(text)
    add_text_lemmas(tt, lang)
    n = len(tt.infos)
    keys = []
    for i, t in enumerate(tt.infos):
        k = ix.lookup_keys(t)
        if tt.lemmas is not None:
            k = (*k, *ix.lemma_lookup(t, tt.lemmas[i], lang))
        keys.append(k)
    glue_ok = glue_flags(tt)
    out = set()
    for i in range(n):
        if not tt.word_start[i]:
            continue
        ids, subs = ix.name_starts(keys[i])
        cands = set(ids)
        nxt = list(keys[i + 1]) if i + 1 < n else []
        if i + 1 < n and glue_ok[i + 1]:
            nxt += ix.lookup_keys(glue(tt.infos[i + 1], tt.infos[i + 2]))
        seconds(cands, subs, tuple(nxt), ())
        if glue_ok[i]:
            g = glue(tt.infos[i], tt.infos[i + 1])
            gids, gsubs = ix.name_starts(ix.lookup_keys(g))
            cands.update(gids)
            if i + 2 < n:
                seconds(cands, gsubs, keys[i + 2], ())
        alike: dict[tuple[object, ...], tuple[float, str, int]] = {}
        for name_id in cands:
            h = ix.verify(name_id, tt, i, lambda _tt, p: glue_ok[p])
            if h is None or h.score < MIN_REPORT_SCORE:
                continue
            if h.end_tok - h.start_tok == 1 and len(ix.name_tokens[name_id]) == 1:
                # one word, one-word name: of the entity's aliases that the guards treat
                # alike, the first in _select's order only (plans._first_alike)
                sig = plans.guard_signature(ix, name_id)
                order = (-h.score, ix.aliases[name_id], name_id)
                if sig not in alike or order < alike[sig]:
                    alike[sig] = order
                continue
            out.add((h.name_id, h.start_tok, h.end_tok, h.score))
        out.update((name_id, i, i + 1, -neg) for neg, _a, name_id in alike.values())
    return sorted(out)


TEXTS = [
    ("en", "Russia and North Korea: Wagner Group, Nord-Korea, KN-23 and KN 23; Wagners."),
    ("de", "Nordkorea liefert Russland Granaten; die Wagner-Gruppe und Nord-Korea."),
    ("de", "Russland Waffen, Russland Armee und Russlands Armee."),
    ("pl", "Korea Północna dostarczyła Rosji artylerię; artyleria, Wagner Group."),
    ("en", "North-Korea, NorthKorea, north korea, NORTH KOREA and North Korean arms."),
    ("ru", "Поставки из Северной Кореи: Северная Корея, Северную Корею и Россия."),
]


def test_plans_give_what_verifying_every_position_gives() -> None:
    m = Matcher.build(ENTRIES)
    for lang, text in TEXTS * 2:  # the second round runs on cached plans
        tt = analyse_text(text)
        add_text_lemmas(tt, lang)
        got = sorted({(h.name_id, h.start_tok, h.end_tok, h.score) for h in m._candidates(tt)})
        assert got == _reference(m, text, lang), text
        assert got, text


ALIKE = [
    # nine spellings with one key, and inflected forms that the guard checks per language
    Entry(
        "t:russia",
        "Russia",
        "country",
        "russia",
        ("Rusia", "RUSSIA", "Russiya", "Rossiya", "Russie", "russia", "Россия", "Россией"),
    ),
    Entry("t:putin", "Vladimir Putin", "person", "russia", ("Putin", "Putina", "Putinem")),
    Entry("t:fox", "FOX", "organisation", "sdn", ("Fox", "FOX LLC"), curated=False),
]


def test_one_candidate_per_entity_and_guard_signature_changes_no_match(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Choosing one of an entity's alike one-word aliases in the plan gives the matches
    that trying every one of them gave (guards and overlap decide the same)."""
    texts = [
        ("en", "Russia, RUSSIA and russia; Putin, Putina (a village), Fox and fox news."),
        ("cs", "Putina potkal Putinem v Rusku; Rusia a Russia."),
        ("ru", "Россией и Россия, Путина."),
    ]
    every = Matcher.build(ENTRIES + ALIKE)
    with monkeypatch.context() as patch:
        patch.setattr(plans, "_first_alike", lambda _ix, ok: tuple(ok))
        want = [(lang, m.__dict__) for lang, t in texts for m in every.find(t, lang=lang)]
        many = sum(len(p.ok) for d in every._ix._plan_cache.values() for p in d.values())
    chosen = Matcher.build(ENTRIES + ALIKE)
    assert [(lang, m.__dict__) for lang, t in texts for m in chosen.find(t, lang=lang)] == want
    few = sum(len(p.ok) for d in chosen._ix._plan_cache.values() for p in d.values())
    assert few < many  # the choice was made
    assert {m["entity_id"] for _lang, m in want} >= {"t:russia", "t:putin"}


def test_a_glued_one_word_name_needs_the_hyphen_at_that_position() -> None:
    """'Nord-Korea' meets the alias 'Nordkorea' only where the two words are joined by a
    hyphen: the plan of 'Nord' says it is no name by itself, and the glue is per position."""
    m = Matcher.build(ENTRIES)
    assert [s[1] for s in _spans(m, "Nord-Korea liefert", "de")] == ["Nord-Korea"]
    assert _spans(m, "Nord Korea liefert", "de") == []  # a space is not a hyphen
    assert [s[1] for s in _spans(m, "Nord Korea und Nord-Korea", "de")] == ["Nord-Korea"]
    assert [s[1] for s in _spans(m, "KN 23 und KN-23", "en")] == ["KN 23", "KN-23"]


def test_plans_are_per_language() -> None:
    """The lemma of a word belongs to the text's language: a Polish plan is not used for an
    English text with the same word, in either order."""
    m = Matcher.build(ENTRIES)
    assert _spans(m, "artylerię", "en") == []
    assert [s[1] for s in _spans(m, "artylerię", "pl")] == ["artylerię"]
    assert _spans(m, "artylerię", "en") == []
    assert set(m._ix._plan_cache) == {"", "pl"}  # English is not lemmatised: plans under ""


def test_a_full_plan_cache_is_cleared_without_changing_results(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    text = "Wagner Group fighters left Russia; Nord-Korea sent KN-23 missiles to Russland."
    want = _spans(Matcher.build(ENTRIES), text)
    m = Matcher.build(ENTRIES)
    monkeypatch.setattr(plans, "PLAN_CACHE_MAX", 3)
    monkeypatch.setattr(plans, "PAIR_CACHE_MAX", 2)
    for _ in range(3):
        assert _spans(m, text) == want
        assert sum(len(d) for d in m._ix._plan_cache.values()) <= 3
        assert sum(len(d) for d in m._ix._pair_cache.values()) <= 2
    assert any(t == "t:wag" for t, *_ in want)  # "Wagner Group": a two-word name, by pair


def test_a_two_word_name_is_verified_once_per_pair() -> None:
    m = Matcher.build(ENTRIES)
    text = "North Korea, then North Korea again; North-Korea glued, and North Korean arms."
    got = [s for s in _spans(m, text) if s[0] == "t:nk"]
    assert [s[1] for s in got] == ["North Korea", "North Korea", "North-Korea", "North Korean"]
    pairs = m._ix._pair_cache[""]
    north, korea = analyse_word("North"), analyse_word("Korea")
    assert [k for k in pairs if k[1] is north and k[2] is korea]  # one entry for the pair
    assert len([k for k in pairs if k[1] is north and k[2] is korea]) == 1


def test_plans_never_travel_with_a_saved_engine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = Matcher.build(ENTRIES)
    text = "Wagner fighters and North Korea's KN-23 in Russia."
    want = _spans(m, text)
    assert m._ix._plan_cache
    path = tmp_path / "engine.pickle"
    m.save(path)
    state = pickle.loads(path.read_bytes())[1].__dict__
    assert state["_plan_cache"] == {}  # keyed by word identity: meaningless elsewhere
    assert state["_pair_cache"] == {}
    assert _spans(Matcher.load(path), text) == want
