"""Candidate generation is complete: every text word the verifier's edit budget accepts for a
name word is proposed by the index (issue 12: two substitutions or two deletions in a long
name were never proposed, although ``compare_tokens`` accepts them)."""

from __future__ import annotations

import random

from sanctionwatch.matching.index import compare_tokens
from sanctionwatch.matching.matcher import Matcher
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
