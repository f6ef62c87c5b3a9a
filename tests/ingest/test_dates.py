"""Localised RFC 822 dates in feeds (day and month names in the press's languages)."""

from __future__ import annotations

import calendar

import pytest

from sanctionwatch.ingest.dates import localised_rfc822


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", "2018-09-24 22:42:40"),  # Portuguese
        ("lun., 24 sept. 2018 19:42:40 +0200", "2018-09-24 17:42:40"),  # French
        ("Di, 3 Dez 2024 08:00:00 +0100", "2024-12-03 07:00:00"),  # German
        ("mié, 5 jun 2024 10:00:00 +0200", "2024-06-05 08:00:00"),  # Spanish
        ("Пн, 24 сентября 2018 19:42:40 +0300", "2018-09-24 16:42:40"),  # Russian
        ("wt, 2 lip 2024 12:00:00 +0200", "2024-07-02 10:00:00"),  # Polish
        ("gio, 7 mar 2024 09:30:00 +0100", "2024-03-07 08:30:00"),  # Italian
    ],
)
def test_localised_names_parse_to_utc(text: str, utc: str) -> None:
    parsed = localised_rfc822(text)
    assert parsed is not None
    assert (
        f"{parsed.tm_year:04d}-{parsed.tm_mon:02d}-{parsed.tm_mday:02d} "
        f"{parsed.tm_hour:02d}:{parsed.tm_min:02d}:{parsed.tm_sec:02d}" == utc
    )
    assert calendar.timegm(parsed) > 0


@pytest.mark.parametrize(
    "text",
    [
        "Mon, 24 Sep 2018 19:42:40 GMT",  # English: left to feedparser's own handlers
        "garbage",
        "",
        "24 Set 2018",
        "Seg, 24 Xyz 2018 19:42:40 -0300",
        "x" * 500,
    ],
)
def test_not_ours_or_not_a_date(text: str) -> None:
    assert localised_rfc822(text) is None
