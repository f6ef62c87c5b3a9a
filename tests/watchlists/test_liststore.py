"""Storing imported lists in SQLite: atomic replacement, change reports, guards."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils

from sanctionwatch.errors import ImportFormatError
from sanctionwatch.models import Entry
from sanctionwatch.watchlists import imported as liststore
from sanctionwatch.watchlists.importers import parse_list
from tests.support.paths import FIXTURES

FIX = FIXTURES / "lists"
OFAC = FIX / "ofac" / "sdn.csv"
OFAC_PREV = FIX / "ofac_prev" / "sdn.csv"
UN = FIX / "un" / "UN.xml"
OS = FIX / "opensanctions" / "targets.simple.csv"

# generous: the brief asks for "well under a second" for 35k entries on a developer machine;
# CI runners are slower and shared, so the test only catches order-of-magnitude regressions
LOAD_35K_BUDGET_S = 3.0


def open_db(path: Path) -> sqlite_utils.Database:
    """Opened like the main Store does: autocommit connection, WAL."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.enable_wal()
    return db


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "sw.db")
    yield database
    database.conn.close()


def consistent(db: sqlite_utils.Database) -> dict[str, int]:
    """Check every list's version row agrees with its stored entries; return the counts."""
    counts = dict(
        db.conn.execute("SELECT list, COUNT(*) FROM imported_entries GROUP BY list").fetchall()
    )
    meta = {r["name"]: r["entry_count"] for r in liststore.list_imported(db)}
    assert set(counts) <= set(meta)  # no entries without a version row
    assert {name: counts.get(name, 0) for name in meta} == meta
    return meta


def test_ensure_schema_is_idempotent(db: sqlite_utils.Database) -> None:
    liststore.ensure_schema(db)
    liststore.ensure_schema(db)
    assert {"imported_lists", "imported_entries"} <= set(db.table_names())
    columns = set(db["imported_entries"].columns_dict)
    assert {"list", "entry_id", "name", "type", "aliases", "tags", "source", "source_id"} <= columns
    assert {"programs", "notes", "fingerprint"} <= columns
    assert db.table("imported_entries").pks == ["entry_id"]
    assert db.table("imported_lists").pks == ["name"]
    assert liststore.load_imported(db) == []
    assert liststore.list_imported(db) == []


def test_import_round_trip(db: sqlite_utils.Database) -> None:
    report = liststore.import_list(db, "ofac-sdn", OFAC)
    parsed = parse_list("ofac-sdn", OFAC, "ofac-sdn")
    assert report.list_name == "ofac-sdn"
    assert report.total == 15
    assert report.added == parsed  # first import: everything is new
    assert report.removed == [] and report.changed == []
    assert report.imported_at.tzinfo is not None
    loaded = liststore.load_imported(db)
    assert sorted(loaded, key=lambda e: e.id) == sorted(parsed, key=lambda e: e.id)
    assert any(e.strict for e in loaded)  # the aircraft keeps strict=True
    (row,) = liststore.list_imported(db)
    assert row["name"] == "ofac-sdn"
    assert row["fmt"] == "ofac-sdn"
    assert row["source_file"] == str(OFAC)
    assert row["entry_count"] == 15
    assert row["version"] == 1
    assert row["imported_at"].endswith("+00:00")


def test_default_names_and_several_lists(db: sqlite_utils.Database) -> None:
    liststore.import_list(db, "ofac-sdn", OFAC)
    liststore.import_list(db, "un-xml", UN)
    liststore.import_list(db, "opensanctions-csv", OS)
    liststore.import_list(db, "un-xml", UN, "un-copy")
    assert consistent(db) == {"ofac-sdn": 15, "un": 7, "opensanctions": 8, "un-copy": 7}
    lists = {e.list for e in liststore.load_imported(db)}
    assert lists == {"ofac-sdn", "un", "opensanctions", "un-copy"}
    # replacing one list leaves the others alone (forced: OFAC_PREV is the older list and
    # de-lists an entry, both refused since issue 8)
    liststore.import_list(db, "ofac-sdn", OFAC_PREV, force=True)
    assert consistent(db) == {"ofac-sdn": 16, "un": 7, "opensanctions": 8, "un-copy": 7}


def test_reimport_reports_exact_changes(db: sqlite_utils.Database) -> None:
    liststore.import_list(db, "ofac-sdn", OFAC_PREV, "ofac")
    # 2 of 16 delisted: above the default 5 % delisting guard (issue 8), so allowed here
    report = liststore.import_list(db, "ofac-sdn", OFAC, "ofac", max_delist_fraction=0.2)
    assert [e.name for e in report.added] == ["WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD."]
    assert sorted(e.source_id for e in report.removed) == ["38556", "38557"]
    assert {e.name for e in report.removed} == {"EMPEROR AVIATION LTD", "9H-AMN"}
    (old, new) = report.changed[0]
    assert len(report.changed) == 1
    assert old.id == new.id == "ofac:35173"
    assert "nationality Russia" in new.notes and "nationality Russia" not in old.notes
    assert report.summary() == "ofac: 15 entries (+1 added, -2 removed, ~1 changed)"
    assert liststore.list_imported(db)[0]["version"] == 2
    # the same file again: nothing changed, but it is a new version
    again = liststore.import_list(db, "ofac-sdn", OFAC, "ofac", max_delist_fraction=0.2)
    assert (again.added, again.removed, again.changed) == ([], [], [])
    assert liststore.list_imported(db)[0]["version"] == 3
    consistent(db)


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        ("ofac-sdn", FIX / "ofac_empty" / "sdn.csv"),
        ("ofac-sdn", FIX / "ofac_truncated" / "sdn.csv"),
        ("ofac-sdn", UN),
        ("un-xml", FIX / "bad" / "un_corrupted.xml"),
        ("un-xml", FIX / "bad" / "error_page.html"),
        ("opensanctions-csv", OFAC),
    ],
)
def test_bad_file_keeps_previous_version(db: sqlite_utils.Database, fmt: str, bad: Path) -> None:
    liststore.import_list(db, "ofac-sdn", OFAC, "sanctions")
    before = liststore.load_imported(db)
    meta_before = liststore.list_imported(db)
    with pytest.raises(ImportFormatError):
        liststore.import_list(db, fmt, bad, "sanctions")
    assert liststore.load_imported(db) == before
    assert liststore.list_imported(db) == meta_before
    assert consistent(db) == {"sanctions": 15}


def test_truncation_guard_and_force(db: sqlite_utils.Database) -> None:
    entries = parse_list("ofac-sdn", OFAC, "ofac")
    liststore.replace_list(db, entries, list_name="ofac", fmt="ofac-sdn", source_file="a.csv")
    with pytest.raises(ImportFormatError) as info:
        liststore.replace_list(
            db, entries[:5], list_name="ofac", fmt="ofac-sdn", source_file="b.csv"
        )
    assert "b.csv: 5 entries vs 15 before — looks truncated; re-run with --force" in str(info.value)
    assert consistent(db) == {"ofac": 15}
    assert liststore.list_imported(db)[0]["source_file"] == "a.csv"
    # exactly at the ratio is accepted (the delisting guard of issue 8 set aside here)
    liststore.replace_list(
        db,
        entries[:8],
        list_name="ofac",
        fmt="ofac-sdn",
        source_file="c.csv",
        min_ratio=0.5,
        max_delist_fraction=1.0,
    )
    report = liststore.replace_list(
        db, entries[:2], list_name="ofac", fmt="ofac-sdn", source_file="d.csv", force=True
    )
    assert len(report.removed) == 6 and report.total == 2
    assert consistent(db) == {"ofac": 2}
    assert liststore.list_imported(db)[0]["version"] == 3


def test_empty_entry_list_needs_force(db: sqlite_utils.Database) -> None:
    with pytest.raises(ImportFormatError):
        liststore.replace_list(db, [], list_name="l", fmt="un-xml", source_file="x")
    assert liststore.list_imported(db) == []
    liststore.import_list(db, "un-xml", UN, "l")
    report = liststore.replace_list(
        db, [], list_name="l", fmt="un-xml", source_file="x", force=True
    )
    assert len(report.removed) == 7
    assert consistent(db) == {"l": 0}
    assert liststore.load_imported(db) == []


def test_failure_mid_insert_rolls_back_everything(db: sqlite_utils.Database) -> None:
    liststore.import_list(db, "un-xml", UN, "un")
    liststore.import_list(db, "ofac-sdn", OFAC, "ofac")
    before = liststore.load_imported(db)
    entries = parse_list("ofac-sdn", OFAC, "ofac")
    # the last entry's id collides with the UN list: the INSERT fails after the DELETE ran
    clash = replace(entries[-1], id="un:KPi.033")
    with pytest.raises(ImportFormatError, match="already belongs to another imported list"):
        liststore.replace_list(
            db,
            [*entries[:-1], clash],
            list_name="ofac",
            fmt="ofac-sdn",
            source_file="x",
            force=True,  # the changed id de-lists one entry: past the delisting guard
        )
    assert liststore.load_imported(db) == before
    assert {r["name"]: r["version"] for r in liststore.list_imported(db)} == {"ofac": 1, "un": 1}
    assert consistent(db) == {"ofac": 15, "un": 7}
    assert not db.conn.in_transaction


def test_duplicate_ids_refused(db: sqlite_utils.Database) -> None:
    e = Entry(id="l:1", name="A", type="person", list="l")
    with pytest.raises(ImportFormatError, match="duplicate entry ids l:1"):
        liststore.replace_list(db, [e, e], list_name="l", fmt="un-xml", source_file="x")


def test_inside_callers_transaction(db: sqlite_utils.Database) -> None:
    liststore.ensure_schema(db)
    db.conn.execute("BEGIN")
    liststore.import_list(db, "un-xml", UN)
    assert db.conn.in_transaction  # the caller's transaction is still open
    db.conn.execute("ROLLBACK")
    assert liststore.load_imported(db) == []
    # a failing import inside the caller's transaction undoes only itself
    db.conn.execute("BEGIN")
    liststore.import_list(db, "un-xml", UN)
    with pytest.raises(ImportFormatError):
        liststore.replace_list(
            db, parse_list("un-xml", UN, "un")[:1], list_name="un", fmt="un-xml", source_file="x"
        )
    db.conn.execute("COMMIT")
    assert consistent(db) == {"un": 7}


def test_plain_sqlite_utils_database_and_other_reader(tmp_path: Path) -> None:
    # a Database opened the sqlite-utils default way works too, and a second connection sees
    # the committed result
    path = tmp_path / "plain.db"
    db = sqlite_utils.Database(path)
    liststore.import_list(db, "opensanctions-csv", OS)
    reader = open_db(path)
    assert len(liststore.load_imported(reader)) == 8
    liststore.import_list(db, "un-xml", UN)
    assert len(liststore.load_imported(reader)) == 15
    db.conn.close()
    reader.conn.close()


def test_load_35k_entries_fast(db: sqlite_utils.Database) -> None:
    entries = [
        Entry(
            id=f"big:{i}",
            name=f"ENTITY NUMBER {i} TRADING CO., LTD.",
            type="organisation",
            list="big",
            aliases=(f"ENT {i}", f"ENTITY {i} LTD", f"Организация {i}"),
            tags=("russia-eo14024", "organisation"),
            source="OFAC SDN",
            source_id=str(i),
            programs=("RUSSIA-EO14024",),
            notes="Tax ID No. 7801675985 (Russia); Registration Number 1197847245837 (Russia)",
        )
        for i in range(35_000)
    ]
    liststore.replace_list(db, entries, list_name="big", fmt="ofac-sdn", source_file="x")
    start = time.perf_counter()
    loaded = liststore.load_imported(db)
    elapsed = time.perf_counter() - start
    assert len(loaded) == 35_000
    assert loaded[0].aliases[2].startswith("Организация")
    assert elapsed < LOAD_35K_BUDGET_S, f"load_imported took {elapsed:.2f}s"
