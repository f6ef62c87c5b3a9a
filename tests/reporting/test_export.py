"""The compliance CSV: encoding, quoting, injection safety, round-trips through the csv module."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sanctionwatch.reporting.export import (
    EXPORT_COLUMNS,
    ExportRow,
    format_entities,
    inert,
    write_changes_csv,
    write_csv,
)
from tests.support.factories import make_match

BOM = b"\xef\xbb\xbf"


def row(**kw: object) -> ExportRow:
    base = dict(
        alert_id=7,
        detected_at=datetime(2026, 11, 28, 10, 0, 5, tzinfo=UTC),
        published_at=datetime(2026, 11, 28, 18, 30, tzinfo=timezone(timedelta(hours=9))),
        feed="yonhap-kr",
        title='김정은, 푸틴과 회담 — "arms", shells, missiles\nsecond line',
        link="https://example.org/a?b=1&c=2",
        rule="dprk-russia-arms",
        severity="critical",
        channel="#sanctions-alerts",
        entities="Kim Jong Un [김정은] 100; Vladimir Putin [푸틴] 97",
        delivered=True,
        disposition="true_match",
        disposition_by="U123ABC",
        disposition_at=datetime(2026, 11, 28, 11, 0, tzinfo=UTC),
    )
    base.update(kw)
    return ExportRow(**base)  # type: ignore[arg-type]


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_row_fields_are_the_columns_in_order() -> None:
    assert tuple(f.name for f in dataclasses.fields(ExportRow)) == EXPORT_COLUMNS


def test_round_trip_with_bom_non_ascii_quotes_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.csv"
    r = row()
    assert write_csv([r, row(alert_id=8, delivered=False, disposition=None)], path) == 2
    raw = path.read_bytes()
    assert raw.startswith(BOM) and not raw.startswith(BOM + BOM)
    assert b"\r\n" in raw  # csv module's excel dialect
    header, first, second = read(path)
    assert tuple(header) == EXPORT_COLUMNS
    got = dict(zip(header, first, strict=True))
    assert got["alert_id"] == "7"
    assert got["title"] == r.title  # comma, quotes, newline and Hangul survive
    assert got["entities"] == r.entities
    assert got["detected_at"] == "2026-11-28T10:00:05Z"
    assert got["published_at"] == "2026-11-28T09:30:00Z"  # converted from KST
    assert got["delivered"] == "yes" and got["disposition_by"] == "U123ABC"
    got2 = dict(zip(header, second, strict=True))
    assert got2["delivered"] == "no" and got2["disposition"] == ""


def test_none_values_are_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    write_csv([row(published_at=None, link=None, disposition_at=None)], path)
    got = dict(zip(*read(path), strict=True))
    assert got["published_at"] == "" and got["link"] == "" and got["disposition_at"] == ""


def test_empty_export_is_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    assert write_csv([], path) == 0
    assert read(path) == [list(EXPORT_COLUMNS)]
    assert path.read_bytes().startswith(BOM)


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝1+1", "'＝1+1"),
        ("Kim = leader", "Kim = leader"),
        ("", ""),
        ("Ким Чен Ын", "Ким Чен Ын"),
    ],
)
def test_inert(value: str, expected: str) -> None:
    assert inert(value) == expected


def test_injection_cells_inert_in_file_but_numbers_untouched(tmp_path: Path) -> None:
    path = tmp_path / "evil.csv"
    evil = row(
        title="=cmd|' /C calc'!A0",
        feed="@feed",
        entities="-Wagner [x] 90",
        disposition_by="+U1",
        rule="\tr",
    )
    write_csv([evil], path)
    got = dict(zip(*read(path), strict=True))
    assert got["title"] == "'=cmd|' /C calc'!A0"
    assert got["feed"] == "'@feed"
    assert got["entities"] == "'-Wagner [x] 90"
    assert got["disposition_by"] == "'+U1"
    assert got["rule"] == "'\tr"
    assert got["alert_id"] == "7"
    for column, value in got.items():
        assert not value.startswith(("=", "+", "-", "@", "\t")), column


def test_overwrites_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "weekly.csv"
    write_csv([row(alert_id=i) for i in range(5)], path)
    write_csv([row(alert_id=99)], path)
    rows = read(path)
    assert [r[0] for r in rows[1:]] == ["99"]
    assert [p.name for p in tmp_path.iterdir()] == ["weekly.csv"]


def test_iso_strings_from_the_store_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "strings.csv"
    write_csv(
        [
            row(
                detected_at="2026-11-28T10:00:00+00:00",
                published_at="2026-11-28T19:00:00+09:00",
                disposition_at="",
                delivered="yes",
            ),
            row(detected_at="-not a date", published_at=None, delivered="no"),
        ],
        path,
    )
    header, first, second = read(path)
    got = dict(zip(header, first, strict=True))
    assert got["detected_at"] == "2026-11-28T10:00:00Z"
    assert got["published_at"] == "2026-11-28T10:00:00Z"
    assert got["disposition_at"] == "" and got["delivered"] == "yes"
    got2 = dict(zip(header, second, strict=True))
    assert got2["detected_at"] == "'-not a date"  # unparseable: kept as (inert) text
    assert got2["delivered"] == "no"


def test_nul_characters_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    write_csv([row(title="a\x00b")], path)
    assert dict(zip(*read(path), strict=True))["title"] == "ab"


def test_format_entities() -> None:
    ms = [
        make_match("Kim Jong Un", "Ким Чен Ын", score=100.0),
        make_match("Russia", "России", score=96.0),
        make_match("Kim Jong Un", "Ким Чен Ын", score=88.0),  # repeat: best score kept
        make_match("Russia", "Russia", score=95.44),
    ]
    assert format_entities(ms) == (
        "Kim Jong Un [Ким Чен Ын] 100; Russia [России] 96; Russia [Russia] 95.4"
    )
    assert format_entities([]) == ""


def test_changes_csv(tmp_path: Path) -> None:
    path = tmp_path / "changes.csv"
    changes: list[dict[str, object]] = [
        {
            "list": "dprk",
            "change": "added",
            "name": "=Kim",
            "count": -5,
            "at": datetime(2026, 1, 1),
        },
        {"list": "ofac", "change": "removed", "name": "Сергей Шойгу", "extra": "ignored"},
    ]
    n = write_changes_csv(changes, path, ["list", "change", "name", "count", "at"])
    assert n == 2
    assert path.read_bytes().startswith(BOM)
    header, first, second = read(path)
    assert header == ["list", "change", "name", "count", "at"]
    assert first == ["dprk", "added", "'=Kim", "-5", "2026-01-01T00:00:00Z"]
    assert second == ["ofac", "removed", "Сергей Шойгу", "", ""]
    assert write_changes_csv([], tmp_path / "none.csv", ["a"]) == 0
    assert read(tmp_path / "none.csv") == [["a"]]
    with pytest.raises(ValueError):
        write_changes_csv([], tmp_path / "x.csv", [])
