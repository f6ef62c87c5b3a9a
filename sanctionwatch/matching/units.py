"""Sentence and paragraph numbers of a text, for rules with ``within: sentence | paragraph``.

Computed once per matched text (only when something matched), by one regex pass each:

* a paragraph ends at a blank line or a line break (feeds flatten HTML paragraphs to
  newlines);
* a sentence ends at terminal punctuation followed by space or the end (. ! ? … and the
  CJK 。！？, Arabic ؟ and ۔, Devanagari । ॥), and at every paragraph end.

The title is its own field: it is one sentence and one paragraph of its own. Rules treat a
title match as near everything in the text (see ``evaluate``), so an actor in the title and
the deal in the text still meet ``within: sentence``; ``within: item`` takes the whole item.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["UNITS", "Units", "units_of"]

UNITS = ("sentence", "paragraph", "item")
_PARAGRAPH_END = re.compile(r"\n\s*")
# Terminal punctuation; Latin full stops need following space (not "3.5" or "U.S.-made"
# inside a word); CJK and Devanagari stops end a sentence where they stand.
_SENTENCE_END = re.compile(r"[.!?…؟۔](?=\s|$)|[。！？।॥]|\n\s*")


@dataclass(frozen=True)
class Units:
    sentence_starts: tuple[int, ...]
    paragraph_starts: tuple[int, ...]

    def sentence(self, offset: int) -> int:
        return bisect_right(self.sentence_starts, offset) - 1

    def paragraph(self, offset: int) -> int:
        return bisect_right(self.paragraph_starts, offset) - 1


def units_of(text: str) -> Units:
    """Where each sentence and paragraph of ``text`` starts (character offsets)."""
    sentences = [0, *(m.end() for m in _SENTENCE_END.finditer(text))]
    paragraphs = [0, *(m.end() for m in _PARAGRAPH_END.finditer(text))]
    return Units(tuple(sentences), tuple(paragraphs))
