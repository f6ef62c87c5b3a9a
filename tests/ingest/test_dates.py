"""Localised RFC 822 dates in feeds (day and month names in the press's languages)."""

from __future__ import annotations

import calendar
import subprocess
import sys

import pytest

from sanctionwatch.ingest.dates import localised_rfc822
from tests.support.paths import REPO


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


# A feed whose only date is localised (Portuguese): parsed by parse(), with no other setup.
PROBE = """
import sys
import feedparser.datetimes as fd
from sanctionwatch.ingest import dates, parse
registered = lambda: sum(h is dates.localised_rfc822 for h in fd._date_handlers)
before = registered()
rss = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
       b"<item><guid>g1</guid><title>x</title>"
       b"<pubDate>Seg, 24 Set 2018 19:42:40 -0300</pubDate></item></channel></rss>")
first = parse.parse(rss, "T").items[0].published
parse.parse(rss, "T")
dates.install()
print(before, registered(), first.isoformat())
"""


def test_handler_is_registered_by_parse_once_not_at_import() -> None:
    """Importing the ingest modules registers nothing (issue 9); the first parse() does, once,
    however often it runs, and the localised date is read."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert done.stdout.split() == ["0", "1", "2018-09-24T22:42:40+00:00"]
