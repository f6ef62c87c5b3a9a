"""A lemma is a dictionary word, met letter for letter.

Lemmas were compared by their variant keys, the folding that joins romanisations of one
name ("Yevgeny", "Evgeni"). For dictionary words it joins other words: the French "armée"
(army) folded like "arme", the lemma of the alias "armes" (weapons); the Turkish lemma of
"Koksan" is "kok", which "Cook" folds to; the French lemma of the alias "Rus" is "ru",
the romanisation of the kana る. Lemmas now meet by their normalised form, and only words
that are lemmatised at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.matching.engine import Engine
from sanctionwatch.runtime import build_engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(ROOT / "watchlists", ROOT / "rules")


def found(engine: Engine, text: str) -> dict[str, list[tuple[str, str, float]]]:
    out: dict[str, list[tuple[str, str, float]]] = {}
    for m in engine.match("", text):
        out.setdefault(m.entity, []).append((m.text, m.alias, m.score))
    return out


def test_a_spelling_variant_of_a_lemma_is_another_word(engine: Engine) -> None:
    french = (
        "L'armée russe a reçu des armes de la Corée du Nord, selon le ministère des Affaires"
        " étrangères de l'Ukraine, qui a parlé avec la presse et qui mit fin à la réunion."
    )
    hits = found(engine, french)
    assert [text for text, _a, _s in hits["arms deliveries"]] == ["armes"]  # not "armée"
    assert "summit" not in hits  # "mit" (put) is not the English "met"
    turkish = (
        "Cook, Rusya ve Kuzey Kore arasındaki ilişkiler hakkında konuştu ve bu konuda bir"
        " açıklama yaptı."
    )
    assert "Koksan" not in found(engine, turkish)
    assert "Koksan" in found(
        engine, "Kuzey Kore, Rusya'ya Koksan obüsleri gönderdi ve bu konuda bir açıklama yaptı."
    )


def test_an_inflected_form_meets_its_own_languages_alias(engine: Engine) -> None:
    """A form whose lemma is an alias is that alias (95), rather than a near spelling of
    another: "Ukrayna'ya" (to Ukraine) is the Turkish "Ukrayna", not "Ukrainian"."""
    text = (
        "Rusya, Ukrayna'ya yönelik saldırılarında Kuzey Kore'den aldığı füzeleri kullandı ve"
        " bu konuda bir açıklama yapıldı."
    )
    assert found(engine, text)["Ukraine"] == [("Ukrayna'ya", "Ukrayna", 95.0)]


def test_syllables_are_not_lemmas(engine: Engine) -> None:
    """The kana る romanises to "ru", the French lemma of the alias "Rus"."""
    text = (
        "Le président a dit que la situation est grave et que les négociations vont"
        " continuer avec les partenaires: 見る, 食べる, する."
    )
    assert "Russia" not in found(engine, text)
