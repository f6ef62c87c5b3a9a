"""Combining marks stay inside words (`matching/marks.py`): Python's `re` knows no marks, so
the word pattern names them, and a script whose vowels are marks must not fall apart."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from sanctionwatch.matching.normalize import _WORD_RE, analyse_text

MARK_CATEGORIES = ("Mn", "Mc", "Me")


def test_every_combining_mark_continues_a_word() -> None:
    marks = [
        chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in MARK_CATEGORIES
    ]
    assert len(marks) > 1_900  # Unicode 14: 1,982 beyond the first 0x300
    split = [f"U+{ord(m):04X} {unicodedata.name(m, '?')}" for m in marks
             if _WORD_RE.fullmatch(f"a{m}b") is None]  # fmt: skip
    assert split == [], f"add these to marks.OTHER_MARKS: {split[:20]}"


@pytest.mark.parametrize(
    "word,norm",
    [
        ("รัสเซีย", "rasesiy"),  # Russia, Thai: vowel signs above and below
        ("ອີຣານ", "iran"),  # Iran, Lao: was "" + "ran"
        ("រុស្ស៊ី", "rossei"),  # Russia, Khmer
        ("ရုရှား", "rurha"),  # Russia, Burmese
        ("रूस", "rus"),  # Russia, Hindi (covered before, still one word)
    ],
)
def test_words_written_with_marks_are_one_token(word: str, norm: str) -> None:
    assert [info.norm for info in analyse_text(word).infos] == [norm]


def test_marks_do_not_join_words_across_spaces_or_punctuation() -> None:
    tt = analyse_text("ລາວ ແລະ ອີຣານ, ရုရှား")
    assert len(tt.infos) == 4
