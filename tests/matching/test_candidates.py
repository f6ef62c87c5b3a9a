"""Candidate generation is complete: every text word the verifier's edit budget accepts for a
name word is proposed by the index (issue 12: two substitutions or two deletions in a long
name were never proposed, although ``compare_tokens`` accepts them)."""

from __future__ import annotations

import random

from rapidfuzz.distance import Levenshtein

from sanctionwatch.matching.index import EDITS_LONG, LONG_TOKEN_LEN, compare_tokens
from sanctionwatch.matching.matcher import Matcher
from sanctionwatch.matching.nearwords import LongWords, histogram, histograms
from sanctionwatch.matching.normalize import analyse_word
from sanctionwatch.models import Entry

ENTRIES = [
    Entry("t:ros", "Rosoboronexport", "organisation", "russia"),
    Entry("t:prig", "Yevgeny Prigozhin", "person", "wagner", ("Prigozhin",)),
    Entry("t:oboron", "Oboronlogistika", "organisation", "russia"),
    Entry("t:shoigu", "Sergei Shoigu", "person", "russia"),
    Entry("t:lk", "Alexander Lukashenko", "person", "belarus"),
    Entry("t:chem", "Chemezov Sergei", "person", "russia"),
]


def test_two_edit_variants_of_a_long_name_are_found() -> None:
    m = Matcher.build(ENTRIES)
    for text in (
        "Rosaboronexpart signed the contract.",  # two substitutions
        "Rosoboronexpo signed the contract.",  # two letters missing
        "Rosoboronexprot signed the contract.",  # a transposition
        "Rosoboronexxportt signed the contract.",  # two letters extra
    ):
        hits = [h for h in m.find(text) if h.entity_id == "t:ros"]
        assert hits, text
        assert hits[0].text == text.split()[0] and "fuzzy" in hits[0].detail
    # three edits are beyond the budget: not a candidate, not a match
    assert m.find("Rasaboronexpart signed the contract.") == []
    # a short word keeps its one-edit budget: two edits in 8 letters are another word
    assert [h.entity_id for h in m.find("Sergei Shoigxz said")] == []


def _mutations(word: str, rng: random.Random, edits: int) -> str:
    letters = "abcdefghijklmnoprstuvz"
    w = word
    for _ in range(edits):
        i = rng.randrange(1, len(w))  # keep the first letter: the verifier requires it
        op = rng.choice("sdi")
        if op == "s":
            w = w[:i] + rng.choice(letters) + w[i + 1 :]
        elif op == "d" and len(w) > 2:
            w = w[:i] + w[i + 1 :]
        else:
            w = w[:i] + rng.choice(letters) + w[i:]
    return w


def test_every_word_the_verifier_accepts_is_proposed() -> None:
    """Brute force against the verifier: random one- and two-edit variants of every name
    word; whenever ``compare_tokens`` accepts the pair, the index must propose the word."""
    m = Matcher.build(ENTRIES)
    ix = m._ix
    rng = random.Random(12)
    accepted = 0
    for toks in ix.name_tokens:
        for a in toks:
            for _ in range(150):
                variant = _mutations(a.block, rng, rng.choice((1, 2)))
                t = analyse_word(variant.capitalize())
                if compare_tokens(a, t) is None:
                    continue
                accepted += 1
                assert a.block in ix.lookup_keys(t), (a.block, variant)
    assert accepted > 300  # the check saw many accepted variants, of both budgets


def _random_words(rng: random.Random, n: int) -> list[str]:
    onsets = ["k", "r", "s", "sh", "ch", "p"]
    letters = "aeioukrstnlmpvzé"  # one letter outside a-z: it shares the "other" count
    return [
        rng.choice(onsets) + "".join(rng.choice(letters) for _ in range(rng.randrange(5, 13)))
        for _ in range(n)
    ]


def test_the_letter_count_filter_drops_no_word_within_the_budget() -> None:
    """Big onset buckets are narrowed by letter counts before rapidfuzz: on random words and
    their one- and two-edit variants, the filtered look-up gives exactly the words brute
    force over the whole vocabulary gives (and so does the plain scan)."""
    rng = random.Random(7)
    vocab = _random_words(rng, 3_000)
    scanned = LongWords.build(vocab, LONG_TOKEN_LEN, EDITS_LONG, histogram_min=10**9)
    filtered = LongWords.build(vocab, LONG_TOKEN_LEN, EDITS_LONG, histogram_min=0)
    assert not scanned._counts and filtered._counts
    queries = [_mutations(w, rng, rng.choice((1, 2))) for w in rng.sample(vocab, 400)]
    queries += _random_words(rng, 100)
    met = 0
    for q in queries:
        expected = {
            w
            for w in vocab
            if (w[0] == q[0] or {w[:2], q[:2]} <= {"ch", "sh"})
            and max(len(w), len(q)) >= LONG_TOKEN_LEN
            and len(w) >= LONG_TOKEN_LEN - EDITS_LONG
            and Levenshtein.distance(w, q) <= EDITS_LONG
        }
        assert set(scanned.near(q)) == expected, q
        assert set(filtered.near(q)) == expected, q
        met += bool(expected)
    assert met > 250  # most variants met their word (or another)


def test_letter_counts() -> None:
    rows = histograms(["abca", "zé", ""])
    assert rows.shape == (3, 27)
    assert rows[0].tolist()[:3] == [2, 1, 1] and rows[0].sum() == 4
    assert rows[1][25] == 1 and rows[1][26] == 1  # "z", then "é" counted as other
    assert rows[2].sum() == 0
    assert histogram("abca").tolist() == rows[0].tolist()
