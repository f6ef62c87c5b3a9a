"""The language shown on an alert: decided by script, then by function words."""

from __future__ import annotations

import pytest

from sanctionwatch.alerting.language import guess_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("북한이 러시아에 포탄을 보냈다", "ko"),
        ("Северная Корея поставляет снаряды России", "ru"),
        ("Північна Корея постачає снаряди: їхні ракети", "uk"),
        ("كوريا الشمالية ترسل قذائف إلى روسيا", "ar"),
        ("צפון קוריאה שולחת פגזים לרוסיה", "he"),
        ("North Korea said that the shells were sent to Russia by rail", "en"),
        ("Nordkorea hat der Armee die Granaten und die Raketen geliefert", "de"),
        ("Kim Jong Un, Putin", "?"),  # names only: no function words to judge by
        ("", "?"),
        ("1234 — 5678", "?"),
    ],
)
def test_language_guess(text: str, expected: str) -> None:
    assert guess_language(text) == expected


def test_the_same_letters_give_the_same_answer_again() -> None:
    text = "Северная Корея поставляет снаряды России"
    assert [guess_language(text) for _ in range(3)] == ["ru", "ru", "ru"]
    assert guess_language("North Korea said that the shells were sent") == "en"
