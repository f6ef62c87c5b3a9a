"""Index words two edits from a long text word: the half of the edit budget that the
deletion index does not reach.

The deletion index (``index.NameIndex``) files every fuzzy name word with its one-letter
deletions, which finds every word one edit away. The verifier accepts two edits when either
word has ``LONG_TOKEN_LEN`` letters or more (``index.edit_budget``): "Rosaboronexpart" (two
substitutions) and "Rosoboronexpo" (two deletions) are Rosoboronexport. Symmetric deletion
would need two deletions on both sides for those (about L²/2 entries per name word: hundreds
of millions with a million names); deleting twice on the text side only, as before, missed
two substitutions and two missing letters, and cost L²/2 look-ups per unseen word.

Here instead the long-budget words are bucketed by onset and sorted by length, and a text
word is compared with the words of its bucket within two letters of its length, by rapidfuzz's
bit-parallel Levenshtein with a cut-off (C speed, a few microseconds per hundred words).
The onset bucket is what ``compare_tokens`` requires anyway (the same first letter, or the
"ch"/"sh" onsets that French and English write for one Russian letter), so every word the
verifier can accept at two edits is proposed, and nothing further.

With a million names one onset and length window holds thousands of words, and that scan
cost 0.36 ms per new long text word. Such windows are narrowed first by letter counts: an
edit changes a word's letter histogram by at most 2 (L1: a substitution moves one letter
from one count to another, an insertion or deletion changes one count), so a word within
``edits`` has histograms at most ``2 * edits`` apart. The histograms of each bucket are one
numpy matrix; the filter is one vector operation and drops no word the scan would find.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

__all__ = ["LongWords"]

# Buckets of words that start with either onset: "ch" and "sh" may meet (index.SIBILANT_ONSETS).
_SIBILANT_BUCKET = "ch|sh"
_SIBILANTS = ("ch", "sh")
# Windows of more words than this are narrowed by letter counts before rapidfuzz. Measured on
# the bench's 3,292 long words, interleaved: at 1M names 2,612 → 739 µs per word with 1,024
# (667 with 512), at the OFAC size no change with 1,024 (+7 % with 512: the vector
# operations' own cost is tens of µs, about what rapidfuzz spends on a few hundred words).
HISTOGRAM_MIN = 1_024
_LETTERS = 26  # a-z have a count each; every other character shares one more
_OTHER = _LETTERS


def _columns(text: str) -> npt.NDArray[np.intp]:
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return np.where((points >= ord("a")) & (points <= ord("z")), points - ord("a"), _OTHER)


def histogram(word: str) -> npt.NDArray[np.int16]:
    """Letter counts of one word (as one row of ``histograms``)."""
    return np.bincount(_columns(word), minlength=_LETTERS + 1).astype(np.int16)


def histograms(words: Sequence[str]) -> npt.NDArray[np.int16]:
    """Letter counts of ``words``, one row each (columns a-z, then every other character)."""
    out = np.zeros((len(words), _LETTERS + 1), dtype=np.int16)
    if not words:
        return out
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    rows = np.repeat(np.arange(len(words)), lengths)
    np.add.at(out, (rows, _columns("".join(words))), 1)
    return out


def _buckets(word: str) -> tuple[str, ...]:
    if word[:2] in _SIBILANTS:
        return (word[0], _SIBILANT_BUCKET)
    return (word[0],)


class LongWords:
    """Words by onset bucket, sorted by length, for two-edit look-ups of long words."""

    def __init__(self, long_len: int, edits: int, histogram_min: int = HISTOGRAM_MIN) -> None:
        self.long_len = long_len  # a pair of words gets ``edits`` when either is this long
        self.edits = edits
        self.histogram_min = histogram_min
        # bucket → (words sorted by length, then text; their lengths, for bisect)
        self._by: dict[str, tuple[list[str], list[int]]] = {}
        # bucket → the letter counts of its words, in the same order (big buckets only)
        self._counts: dict[str, npt.NDArray[np.int16]] = {}

    @classmethod
    def build(
        cls, words: Iterable[str], long_len: int, edits: int, histogram_min: int = HISTOGRAM_MIN
    ) -> LongWords:
        out = cls(long_len, edits, histogram_min)
        grouped: dict[str, list[str]] = {}
        for word in set(words):
            if len(word) >= long_len - edits:
                for bucket in _buckets(word):
                    grouped.setdefault(bucket, []).append(word)
        for bucket, group in grouped.items():
            group.sort(key=lambda w: (len(w), w))
            out._by[bucket] = (group, [len(w) for w in group])
            if len(group) > histogram_min:
                out._counts[bucket] = histograms(group)
        return out

    def near(self, word: str) -> list[str]:
        """Every filed word within ``edits`` of ``word`` (same onset bucket) where one of
        the two is at least ``long_len`` letters long: the pairs that have the long budget.
        One rapidfuzz call per bucket, over the words whose length can be that close."""
        n = len(word)
        if n < self.long_len - self.edits:
            return []
        # lengths within the budget; below long_len only when the text word is long itself
        shortest = n - self.edits if n >= self.long_len else self.long_len
        longest = n + self.edits
        out: list[str] = []
        for bucket in _buckets(word):
            filed = self._by.get(bucket)
            if filed is None:
                continue
            group, lengths = filed
            lo = bisect_left(lengths, shortest)
            hi = bisect_right(lengths, longest)
            if lo >= hi:
                continue
            choices = group[lo:hi]
            counts = self._counts.get(bucket)
            if counts is not None and hi - lo > self.histogram_min:
                apart = np.abs(counts[lo:hi] - histogram(word)).sum(axis=1)
                choices = [group[lo + i] for i in np.flatnonzero(apart <= 2 * self.edits)]
            hits = process.extract(
                word,
                choices,
                scorer=Levenshtein.distance,
                score_cutoff=self.edits,
                limit=None,
            )
            out.extend(w for w, _dist, _i in hits)
        return out

    def __len__(self) -> int:
        return sum(len(g) for b, (g, _n) in self._by.items() if b != _SIBILANT_BUCKET)
