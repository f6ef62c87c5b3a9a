"""The fuzzy half of the name index: which name words are within the edit budget of a text word.

* One edit: the fuzzy words (first and second tokens of fuzzy-eligible names) with their
  one-letter deletions. Looking up a text word and each of its one-letter deletions finds every
  index word within one edit (substitution, insertion, deletion) in O(word length) look-ups
  (the symmetric-delete method). With a million names that is millions of deletions, so they
  live in one sorted ``array('q')`` of ``hash(deletion) << 24 | word id`` searched with
  ``bisect``: 8 bytes per deletion instead of ~100 for a dict entry. Hash collisions only add
  candidates, which verification rejects.
* Two edits (long words, ``index.edit_budget``): ``nearwords.LongWords``.

Answers are cached by the word's block (a string), so the cache means the same in every
process and travels with a pickled engine (``enginestore``): a restarted process does not
pay again for the words it has met.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

from sanctionwatch.matching.nearwords import LongWords
from sanctionwatch.matching.tables import WORD_ID_BITS, stable_hash

__all__ = ["FuzzyWords"]

# Words whose neighbours are kept; the cache is cleared when it reaches this many.
CACHE_MAX = 200_000
_WORD_MASK = (1 << WORD_ID_BITS) - 1


def deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


class FuzzyWords:
    """Name words by their deletions (one edit) and by onset and length (two edits)."""

    def __init__(self, long_len: int, long_edits: int) -> None:
        self.words: list[str] = []
        self.deletes = array("q")  # sorted hash(deletion) << WORD_ID_BITS | word id
        self.long_words = LongWords(long_len, long_edits)
        self.cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def build(cls, vocab: Iterable[str], long_len: int, long_edits: int) -> FuzzyWords:
        out = cls(long_len, long_edits)
        out.words = sorted(set(vocab))
        if len(out.words) >= 1 << WORD_ID_BITS:
            raise ValueError("too many distinct name words for the fuzzy index")
        codes = array("q")
        for word_id, word in enumerate(out.words):
            for d in (word, *deletions(word)):
                codes.append(stable_hash(d) << WORD_ID_BITS | word_id)
        out.deletes = array("q", sorted(codes))
        out.long_words = LongWords.build(out.words, long_len, long_edits)
        return out

    def __len__(self) -> int:
        return len(self.words)

    def neighbours(self, block: str) -> tuple[str, ...]:
        """Index words within the edit budget of ``block`` (a superset: the verifier decides)."""
        cached = self.cache.get(block)
        if cached is not None:
            return cached
        # The words that are ``d`` or become ``d`` when one letter is removed, for the block
        # and each of its deletions: one bisect each (most find nothing), in one loop (a
        # word never seen before pays this for every letter it has).
        near: set[str] = set()
        codes, words = self.deletes, self.words
        end = len(codes)
        for d in (block, *deletions(block)):
            lo = stable_hash(d) << WORD_ID_BITS
            i = bisect_left(codes, lo)
            hi = lo | _WORD_MASK
            while i < end and codes[i] <= hi:
                near.add(words[codes[i] & _WORD_MASK])
                i += 1
        near.update(self.long_words.near(block))
        result = tuple(sorted(near))
        if len(self.cache) >= CACHE_MAX:
            self.cache.clear()
        self.cache[block] = result
        return result
