"""Normalisation: offsets, scripts, possessives, romanisation keys, Cyrillic stems."""

from __future__ import annotations

import pytest

from sanctionwatch.matching.normalize import (
    analyse_text,
    analyse_word,
    astuple,
    normalize_name,
    tokenize,
    variant_key,
)


def test_tokens_carry_offsets_into_the_original_text() -> None:
    text = "Putin’s talks with Kim Jong-un"
    toks = tokenize(text)
    assert [t.text for t in toks] == ["putin", "talks", "with", "kim", "jong", "un"]
    assert [text[t.start : t.end] for t in toks] == ["Putin", "talks", "with", "Kim", "Jong", "un"]
    assert [t.index for t in toks] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Kim Jong-un’s", "kim jong un"),
        ("KIM JONG UN", "kim jong un"),
        ("Corée du Nord", "coree du nord"),
        ("Ким Чен Ын", "kim chen yn"),
        ("Ｐｕｔｉｎ", "putin"),  # NFKC: full-width letters
        ("L'Iran", "iran"),  # French elision
        ("Cho'ngsong Yonhap", "chongsong yonhap"),
    ],
)
def test_normalize_name(name: str, expected: str) -> None:
    assert normalize_name(name) == expected


def test_hangul_is_split_per_syllable_within_one_word() -> None:
    text = "김정은이 북한의"
    toks = tokenize(text)
    assert [t.text for t in toks] == ["gim", "jeong", "eun", "i", "bug", "han", "ui"]
    assert [t.index for t in toks] == [0, 0, 0, 0, 1, 1, 1]
    assert text[toks[4].start : toks[5].end] == "북한"


@pytest.mark.parametrize(
    "group",
    [
        ["Yevgeny", "Evgeny", "Evgueni", "Evgenii", "Yevgeniy", "Jewgeni"],
        ["Shoigu", "Shoygu", "Schoigu"],
        ["Prigozhin", "Prigojine"],
        ["Lukashenka", "Łukaszenka"],
        ["Jong", "Jeong"],
        ["Corea", "Korea"],
        ["Lee", "Ri", "Yi"],
    ],
)
def test_romanisation_variants_share_a_key(group: list[str]) -> None:
    keys = {analyse_word(w).key for w in group}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(("a", "b"), [("Iran", "Iraq"), ("North", "South"), ("Il", "Un")])
def test_distinct_words_keep_distinct_keys(a: str, b: str) -> None:
    assert variant_key(analyse_word(a).norm) != variant_key(analyse_word(b).norm)


@pytest.mark.parametrize(
    "forms",
    [
        ["Путин", "Путина", "Путиным", "Путину"],
        ["Корея", "Кореи", "Корею", "Кореей"],
        ["Андрей", "Андрея"],
        ["Пхеньян", "Пхеньяна", "Пхеньяне"],
    ],
)
def test_cyrillic_declensions_share_a_stem(forms: list[str]) -> None:
    assert len({analyse_word(f).cstem for f in forms}) == 1


def test_short_cyrillic_words_keep_their_stem() -> None:
    # "рос" (grew) must not become the stem of "Россия"
    assert analyse_word("рос").cstem != analyse_word("Россия").cstem


def test_acronyms_and_numbers_are_exact_only() -> None:
    assert analyse_word("KOMID").exact_only
    assert analyse_word("136").exact_only
    assert not analyse_word("Komid").exact_only
    assert not analyse_word("PUTINISM").exact_only  # shouted headline, not an acronym


def test_variant_key_is_every_rule_applied_as_written() -> None:
    """``variant_key`` skips rules that cannot apply and replaces plain strings literally;
    it must give what every rule's regex gives, on names and on random letter strings."""
    import random

    from sanctionwatch.matching.variants import variant_key, variant_key_reference

    rng = random.Random(7)
    letters = "abcdeghijklmnopqrstuvwxyzkhsc"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 12))) for _ in range(20_000)]
    words += "lee rhee yi choi park lukaschenko schoigu czen lukaszenka prigozhin dzong".split()
    words += "khabarovsk poutine evgueni prigojine jeong eun yevgeny jewgeni sergej".split()
    words += "shoygu wagner alexander iraq corea kassem tschtsch dzhdz guei ouou".split()
    for w in words:
        assert variant_key(w) == variant_key_reference(w), w
    assert variant_key("prigojine") == variant_key("prigozhin")


def test_the_word_pattern_finds_the_words_a_per_character_pattern_finds() -> None:
    """The tokeniser's pattern matches runs of letters and of marks in one step; it must
    find exactly the words of the plain per-character formulation."""
    import random
    import re

    from sanctionwatch.matching import normalize

    marks = (
        r"\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
        r"\u0900-\u0963\u0966-\u0dff"
    )
    plain = re.compile(r"[^\W_](?:[^\W_]|[" + marks + r"]|['’ʼ`](?=[^\W_]))*")
    alphabet = "ab Zé_1'’ʼ`-.\u0301\u0483Шо\u05d0\u05b0\u0627\u064eकि\u093f\u0dcaㅎ한中\u200c"
    rng = random.Random(3)
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(5_000)]
    texts += ["O'Brien l'Iran don't Putin’s ''a 'b", "किम जोंग उन", "Шо\u0301йгу", "a_b __c_ 1_2"]
    for text in texts:
        want = [m.span() for m in plain.finditer(text)]
        assert [m.span() for m in normalize._WORD_RE.finditer(text)] == want, repr(text)
        split = normalize._WORD_SPLIT_RE.split(text)
        assert split[1::2] == [text[s:e] for s, e in want]


def test_analysed_tokens_pickle_by_value() -> None:
    """A cached engine's tokens come back with every field (``Analysed.__reduce__``), and
    one object shared by two names stays one object."""
    import pickle

    infos = analyse_text("Путиным l'Iran 北朝鮮 KN-23 پهپادهای לאיראן Jong-un").infos
    assert len(infos) >= 8
    back = pickle.loads(pickle.dumps((infos, infos[0]), protocol=pickle.HIGHEST_PROTOCOL))
    assert [astuple(a) for a in back[0]] == [astuple(a) for a in infos]
    assert back[0][0] is back[1]
    assert any(a.alts for a in back[0]) and any(a.cstem for a in back[0])


def test_ascii_words_take_the_short_way_to_the_same_form() -> None:
    """``fold_ascii`` skips NFKC, NFD and anyascii for ASCII words: the same forms as the long
    way, on random ASCII strings (letters, digits, punctuation, both cases)."""
    import random
    import re
    import string
    import unicodedata

    from anyascii import anyascii

    from sanctionwatch.matching.fold import fold_ascii

    def long_way(word: str) -> str:
        folded = unicodedata.normalize("NFKC", word).casefold()
        bare = "".join(
            c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
        )
        return re.sub(r"[^a-z0-9]+", "", anyascii(bare).lower())

    rnd = random.Random(12)
    alphabet = string.ascii_letters + string.digits + string.punctuation
    words = ["".join(rnd.choices(alphabet, k=rnd.randint(1, 12))) for _ in range(5_000)]
    words += ["Putin", "KN-23", "DPRK", "x86", "ABC123", "'", "O'Brien"]
    for word in words:
        assert fold_ascii(word) == long_way(word), word
    assert analyse_word("KN23").exact_only and not analyse_word("Putin").exact_only
    assert analyse_word("Pyongyang").cyrillic is False and analyse_word("Пхеньян").cyrillic


def test_a_long_vowel_mark_ends_the_syllable_before_it() -> None:
    """ー has no sound of its own: it is part of the syllable before, so a match of タンカー
    (tanker) covers the whole word, and プーチン keeps its first syllable "プー"."""
    from sanctionwatch.matching.matcher import Matcher
    from sanctionwatch.models import Entry

    tt = analyse_text("ロシアのタンカーが")
    assert [tt.text[s:e] for s, e in zip(tt.starts, tt.ends, strict=True)][4:7] == [
        "タ",
        "ン",
        "カー",
    ]
    m = Matcher.build([Entry(id="t:tanker", name="タンカー", type="keyword", list="t")])
    assert [h.text for h in m.find("ロシアのタンカーが北朝鮮へ")] == ["タンカー"]
    lead = analyse_text("ーの")  # a leading ー belongs to nothing
    assert [lead.text[s:e] for s, e in zip(lead.starts, lead.ends, strict=True)] == ["の"]


def test_kana_voicing_marks_are_sounds() -> None:
    """The voicing marks of kana make other syllables (ガ "ga", パ "pa"), not accents to
    strip: "ガス" (gas) is not "カス" (dregs), nor "バス" (bus) "ハス" (lotus)."""
    from sanctionwatch.matching.matcher import Matcher
    from sanctionwatch.models import Entry

    assert analyse_word("ガ").norm == "ga" and analyse_word("カ").norm == "ka"
    assert analyse_word("パ").norm != analyse_word("ハ").norm != analyse_word("バ").norm
    m = Matcher.build([Entry(id="t:gas", name="ガス", type="keyword", list="t")])
    assert [h.text for h in m.find("ロシアのガスが")] == ["ガス"]
    assert m.find("カスが残った") == []
