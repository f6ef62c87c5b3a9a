"""List imports under real faults (issue 8): a cut-off or older file is refused and the stored
list stays exactly as it was; every import is audited with hashes, counts and names; delistings
are announced by name. Through ``cli.main`` on a real SQLite file."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from sanctionwatch.cli import main as cli
from sanctionwatch.models import Entry
from sanctionwatch.watchlists import imported as liststore
from tests.support.app_harness import ensure_cli_commands
from tests.support.paths import FIXTURES
from tests.support.pipeline import slack_env
from tests.support.slack_api import SlackApiStub

FIX = FIXTURES / "lists"
OFAC_DIR = FIX / "ofac"
OFAC_PREV = FIX / "ofac_prev" / "sdn.csv"
UN = FIX / "un" / "UN.xml"
OS = FIX / "opensanctions" / "targets.simple.csv"
UN_DATE = "2025-04-19T23:00:04.625Z"
# names whose matching must survive a refused import (WUHAN is in the cut-off tail)
PROBE = "Wuhan Global Sensor Technology Co., Ltd. shipped parts; Kim Jong Un saw the Asia Bridge."


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ensure_cli_commands()
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SANCTIONWATCH_CONFIG", raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "carol")
    path = tmp_path / "c.toml"
    path.write_text('database = "sw.db"\n', encoding="utf-8")
    return path


def run(cfg: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main([*argv, "--config", str(cfg)], out=out)
    return code, out.getvalue()


def import_(cfg: Path, fmt: str, path: Path, *extra: str) -> tuple[int, str]:
    return run(cfg, "watchlist", "import", "--format", fmt, str(path), "--no-announce", *extra)


def stored(cfg: Path) -> tuple[list[Entry], list[dict[str, Any]]]:
    """What the database file holds, read through a fresh connection."""
    db = sqlite_utils.Database(sqlite3.connect(cfg.parent / "sw.db"))
    try:
        return liststore.load_imported(db), liststore.list_imported(db)
    finally:
        db.conn.close()


def matched(cfg: Path, text: str) -> set[str]:
    src = cfg.parent / "probe.txt"
    src.write_text(text, encoding="utf-8")
    code, out = run(cfg, "match", str(src), "--json")
    assert code == 0
    return {m["entity"] for m in json.loads(out)["matches"]}


def ofac_copy(tmp_path: Path, rows: slice | list[int] | None = None, name: str = "dl") -> Path:
    """sdn.csv + alt.csv in a folder of their own, sdn.csv optionally cut to some data rows
    (whole CRLF rows, no trailing \\x1a: a download cut at a row boundary, still valid CSV)."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(OFAC_DIR / "alt.csv", folder / "alt.csv")
    data = (OFAC_DIR / "sdn.csv").read_bytes()
    if rows is not None:
        lines = [ln for ln in data.split(b"\r\n") if ln.strip(b"\x1a")]
        kept = lines[rows] if isinstance(rows, slice) else [lines[i] for i in rows]
        data = b"".join(ln + b"\r\n" for ln in kept)
    (folder / "sdn.csv").write_bytes(data)
    return folder / "sdn.csv"


def log_json(cfg: Path) -> list[dict[str, Any]]:
    code, out = run(cfg, "watchlist", "log", "--json")
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def test_sdn_cut_at_row_boundary_is_refused_until_forced(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(cfg, "ofac-sdn", ofac_copy(tmp_path, name="full"))[0] == 0
    before_names = matched(cfg, PROBE)
    assert {"WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD.", "ASIA BRIDGE"} <= before_names
    before = stored(cfg)
    cut = ofac_copy(tmp_path, slice(0, 10))  # 10 of 15 rows, parses fine
    capsys.readouterr()
    code, _ = import_(cfg, "ofac-sdn", cut)
    err = capsys.readouterr().err
    assert code == 2
    assert f"{cut}: " in err
    assert "it would remove 5 of the 15 stored entries (10 entries in the file)" in err
    assert "the limit is 0 (max_delist_fraction 5% of the stored entries, at most 500)" in err
    assert "lacks the end-of-file marker" in err
    assert "--force" in err and "stays exactly as it was" in err
    assert stored(cfg) == before  # entries, version, date and hashes untouched
    assert matched(cfg, PROBE) == before_names
    code, out = import_(cfg, "ofac-sdn", cut, "--force")
    assert code == 0 and "forced" in out and "ofac-sdn: 10 entries (+0 added, -5 removed" in out
    assert "delisted: " in out and "WUHAN GLOBAL SENSOR" in out
    assert "WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD." not in matched(cfg, PROBE)
    entries, (meta,) = stored(cfg)
    assert len(entries) == 10 and meta["version"] == 2 and meta["list_date"] == "27408"


def test_delisting_guard_alone_counts_and_configured_fraction(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(cfg, "ofac-sdn", ofac_copy(tmp_path, name="full"))[0] == 0
    before = stored(cfg)
    # rows 2-3 missing, the highest ent_num still there: only the delisting guard speaks
    holes = ofac_copy(tmp_path, [0, 1, *range(4, 15)])
    capsys.readouterr()
    assert import_(cfg, "ofac-sdn", holes)[0] == 2
    err = capsys.readouterr().err
    assert "it would remove 2 of the 15 stored entries (13 entries in the file)" in err
    assert "older than the stored list" not in err
    assert stored(cfg) == before
    # the configured fraction is honoured: 20 % of 15 = 3 may go
    cfg.write_text('database = "sw.db"\nmax_delist_fraction = 0.2\n', encoding="utf-8")
    code, out = import_(cfg, "ofac-sdn", holes)
    assert code == 0 and "-2 removed" in out and "forced" not in out


def test_older_ofac_list_is_refused(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg.write_text('database = "sw.db"\nmax_delist_fraction = 1.0\n', encoding="utf-8")
    assert import_(cfg, "ofac-sdn", OFAC_DIR / "sdn.csv")[0] == 0
    before = stored(cfg)
    assert before[1][0]["list_date_kind"] == "max-ent-num"
    capsys.readouterr()
    assert import_(cfg, "ofac-sdn", OFAC_PREV)[0] == 2  # 2024-05-02: highest ent_num 43113
    err = capsys.readouterr().err
    assert (
        "the file is older than the stored list: highest ent_num 43113 in the file, "
        "highest ent_num 46633 stored" in err
    )
    assert stored(cfg) == before
    code, out = import_(cfg, "ofac-sdn", OFAC_PREV, "--force")
    assert code == 0 and "list date: highest ent_num 43113" in out
    # the same list again is not older
    assert import_(cfg, "ofac-sdn", OFAC_PREV)[0] == 0


def un_copy(tmp_path: Path, date: str | None, name: str) -> Path:
    text = UN.read_text(encoding="utf-8")
    attr = f"dateGenerated='{UN_DATE}'"
    assert attr in text
    path = tmp_path / f"{name}.xml"
    path.write_text(text.replace(attr, f"dateGenerated='{date}'" if date else ""), "utf-8")
    return path


def test_older_un_list_is_refused(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(cfg, "un-xml", UN)[0] == 0
    before = stored(cfg)
    assert (before[1][0]["list_date_kind"], before[1][0]["list_date"]) == ("dateGenerated", UN_DATE)
    older = un_copy(tmp_path, "2025-04-18T23:00:02.100Z", "older")
    capsys.readouterr()
    assert import_(cfg, "un-xml", older)[0] == 2
    err = capsys.readouterr().err
    assert f"dateGenerated 2025-04-18T23:00:02.100Z in the file, dateGenerated {UN_DATE}" in err
    assert stored(cfg) == before
    assert matched(cfg, "Jin Tiesan met KOMID staff.") >= {
        "KOREA MINING DEVELOPMENT TRADING CORPORATION"
    }
    newer = un_copy(tmp_path, "2025-04-20T23:00:00Z", "newer")
    code, out = import_(cfg, "un-xml", newer)
    assert code == 0 and "list date: dateGenerated 2025-04-20T23:00:00Z" in out
    # a file without a date cannot be compared: accepted, and said so
    code, out = import_(cfg, "un-xml", un_copy(tmp_path, None, "undated"))
    assert code == 0 and "list date: no date (the root has no dateGenerated attribute)" in out


def test_opensanctions_date_from_last_seen(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_(cfg, "opensanctions-csv", OS)[0] == 0
    (meta,) = stored(cfg)[1]
    assert (meta["list_date_kind"], meta["list_date"]) == ("last_seen", "2024-05-03T06:00:00")
    older = tmp_path / "old.csv"
    older.write_text(
        OS.read_text("utf-8").replace("2024-05-03T06:00:00", "2024-04-01T06:00:00"), "utf-8"
    )
    capsys.readouterr()
    assert import_(cfg, "opensanctions-csv", older)[0] == 2
    assert "newest last_seen 2024-04-01T06:00:00 in the file" in capsys.readouterr().err


def test_log_json_records_imports_and_refusals(cfg: Path, tmp_path: Path) -> None:
    cfg.write_text('database = "sw.db"\nmax_delist_fraction = 0.2\n', encoding="utf-8")
    assert import_(cfg, "ofac-sdn", OFAC_PREV)[0] == 0
    code, _ = import_(cfg, "ofac-sdn", OFAC_DIR / "sdn.csv")
    assert code == 0
    assert import_(cfg, "ofac-sdn", ofac_copy(tmp_path, slice(0, 5)))[0] == 2
    rows = [r for r in log_json(cfg) if r["action"].startswith("list.")]
    assert [r["action"] for r in rows] == ["list.import", "list.import", "list.import-refused"]
    first, second, refused = rows
    assert second["actor_name"] == "carol" and second["via"] == "cli"
    assert second["list"] == "ofac-sdn" and second["target"] == str(OFAC_DIR / "sdn.csv")
    after = second["after"]
    assert after["files"] == [
        {"path": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
        for p in (OFAC_DIR / "sdn.csv", OFAC_DIR / "alt.csv")
    ]
    assert after["list_date"]["kind"] == "max-ent-num" and after["list_date"]["value"] == "46633"
    assert (after["added"], after["removed"], after["changed"]) == (1, 2, 1)
    assert after["added_names"] == ["WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD."]
    assert sorted(after["removed_names"]) == ["9H-AMN", "EMPEROR AVIATION LTD"]
    assert after["changed_names"] == ["Sergei Kuzhugetovich SHOIGU"]
    assert second["before"]["list_date"]["value"] == "43113"
    assert first["before"] is None and first["after"]["added"] == 16
    assert refused["after"]["outcome"] == "refused"
    assert refused["after"]["removed"] == 10 and len(refused["after"]["removed_names"]) == 10
    assert any("older than the stored list" in r for r in refused["after"]["reasons"])
    # the text log shows the same, names included
    code, out = run(cfg, "watchlist", "log")
    assert "carol via cli: list.import list ofac-sdn" in out
    assert "removed: " in out and "EMPEROR AVIATION LTD" in out
    assert f"sha256 {after['files'][0]['sha256']}" in out
    assert "list.import-refused" in out and "refused: it would remove 10 of the 15" in out


def test_delisting_announced_and_refused_import_silent(
    cfg: Path, tmp_path: Path, slack_api: SlackApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack_env(monkeypatch, slack_api.base_url)
    cfg.write_text('database = "sw.db"\nmax_delist_fraction = 0.2\n', encoding="utf-8")
    args = ("watchlist", "import", "--format", "ofac-sdn")
    assert run(cfg, *args, str(OFAC_PREV))[0] == 0
    assert slack_api.calls_to("chat.postMessage") == []  # first import: not news
    refused = ofac_copy(tmp_path, slice(0, 4))
    assert run(cfg, *args, str(refused))[0] == 2
    assert slack_api.calls_to("chat.postMessage") == []  # nothing "new" from a refused file
    code, out = run(cfg, *args, str(OFAC_DIR / "sdn.csv"))
    assert code == 0 and "1 new designation(s) and 2 delisting(s)" in out
    (call,) = slack_api.calls_to("chat.postMessage")
    assert "new designation" in call.params["text"] and "delisted: " in call.params["text"]
    sections = [b["text"]["text"] for b in call.params["blocks"] if b["type"] == "section"]
    delisted = next(s for s in sections if s.startswith("*Delisted*"))
    assert "EMPEROR AVIATION LTD" in delisted and "9H-AMN" in delisted
    assert "WUHAN" not in delisted


def test_schema_upgrade_adds_date_columns(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "old.db")
    db.execute(
        "CREATE TABLE imported_lists (name TEXT PRIMARY KEY, fmt TEXT NOT NULL, source_file "
        "TEXT NOT NULL, imported_at TEXT NOT NULL, entry_count INTEGER NOT NULL, version "
        "INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO imported_lists VALUES ('un', 'un-xml', 'x', 't', 0, 1)")
    liststore.ensure_schema(db)
    (row,) = liststore.list_imported(db)
    assert row["list_date"] is None and row["version"] == 1
    # an old row without a date never blocks the next import
    report = liststore.import_list(db, "un-xml", UN, "un")
    assert report.version == 2 and report.list_version is not None
    assert liststore.list_imported(db)[0]["list_date"] == UN_DATE
    db.conn.close()


def _report(added: int, removed: int, name_len: int = 40) -> Any:
    from datetime import UTC, datetime

    from sanctionwatch.watchlists.importers import ImportReport

    def entry(i: int, kind: str) -> Entry:
        name = f"{kind} <&> {i} " + "X" * name_len
        return Entry(
            id=f"l:{kind}{i}",
            name=name,
            type="organisation",
            list="l",
            source_id=str(i),
            programs=("RUSSIA-EO14024", "SDGT"),
        )

    return ImportReport(
        list_name="l",
        fmt="ofac-sdn",
        source_file="sdn.csv",
        total=1000,
        added=[entry(i, "NEW") for i in range(added)],
        removed=[entry(i, "OLD") for i in range(removed)],
        changed=[],
        imported_at=datetime(2024, 5, 3, tzinfo=UTC),
    )


@pytest.mark.parametrize(("added", "removed", "name_len"), [(944, 7019, 40), (3, 600, 2000)])
def test_designation_message_stays_within_slack_limits(
    added: int, removed: int, name_len: int
) -> None:
    from sanctionwatch.alerting.designations import MAX_LISTED, designation_message

    message = designation_message(_report(added, removed, name_len), first_import=False)
    assert message is not None
    text, blocks = message
    assert len(blocks) <= 50 and len(text) <= 4000
    for block in blocks:
        body = block["text"]["text"] if block["type"] == "section" else block["elements"][0]["text"]
        assert len(body) <= 3000 and "<" not in body
    for block in blocks[1:-1]:  # the name sections: names escaped
        assert "&lt;&amp;&gt;" in block["text"]["text"]
    delisted = next(b["text"]["text"] for b in blocks if "*Delisted*" in b["text"].get("text", ""))
    shown = delisted.count("• ")
    assert 0 < shown <= MAX_LISTED
    assert delisted.endswith(f"… and {removed - shown:,} more")
    assert f"{removed:,} delisting(s)" in blocks[0]["text"]["text"]


def test_designation_message_for_delistings_only() -> None:
    from sanctionwatch.alerting.designations import designation_message

    message = designation_message(_report(0, 2), first_import=False)
    assert message is not None
    text, blocks = message
    assert text.startswith("2 delisting(s) on l — delisted: OLD &lt;&amp;&gt; 0")
    assert "new designation" not in text
    assert designation_message(_report(0, 0), first_import=False) is None
    assert designation_message(_report(5, 5), first_import=True) is None


REAL = Path("/work/shared/data/sanctions/ofac")


@pytest.mark.skipif(not REAL.is_dir(), reason="real sanctions data not present")
def test_real_ofac_files(cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the 2024-05-03 list (14,965 entries) with its (newer) alt.csv beside it
    current = tmp_path / "2024" / "sdn.csv"
    current.parent.mkdir()
    shutil.copy(REAL / "sdn.csv", current)
    shutil.copy(REAL / "alt.csv", current.parent / "alt.csv")
    old_2021 = REAL / "matched_set_2021" / "sdn.csv"
    assert import_(cfg, "ofac-sdn", REAL / "history" / "2024-05-02" / "sdn.csv")[0] == 0
    # one day later: 8 delistings, under 500 and 5 % — accepted, delistings named
    code, out = import_(cfg, "ofac-sdn", current)
    assert code == 0 and "-8 removed" in out and "EMPEROR AVIATION LTD" in out
    before = stored(cfg)
    capsys.readouterr()
    # the 2021 list over the 2024 one: older and a mass delisting, refused; store unchanged
    assert import_(cfg, "ofac-sdn", old_2021)[0] == 2
    err = capsys.readouterr().err
    assert "highest ent_num 31651 in the file, highest ent_num 48907 stored" in err
    assert "of the 14,965 stored entries (8,890 entries in the file); the limit is 500" in err
    # the 2024 list cut at a row boundary after 10,000 rows
    lines = current.read_bytes().split(b"\r\n")[:10_000]
    cut = tmp_path / "cut" / "sdn.csv"
    cut.parent.mkdir()
    cut.write_bytes(b"".join(ln + b"\r\n" for ln in lines))
    assert import_(cfg, "ofac-sdn", cut)[0] == 2
    assert "it would remove 4,965 of the 14,965 stored entries" in capsys.readouterr().err
    assert stored(cfg) == before
    rows = [r for r in log_json(cfg) if r["action"].startswith("list.")]
    assert [r["action"] for r in rows][-2:] == ["list.import-refused", "list.import-refused"]
    assert rows[1]["after"]["removed"] == 8 and len(rows[-1]["after"]["removed_names"]) == 50


def test_max_delist_fraction_out_of_range_is_a_config_error(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg.write_text('database = "sw.db"\nmax_delist_fraction = 5\n', encoding="utf-8")
    assert import_(cfg, "un-xml", UN)[0] == 2
    err = capsys.readouterr().err
    assert "key 'max_delist_fraction' must be between 0 and 1, got 5" in err
    assert not (cfg.parent / "sw.db").exists() or stored(cfg)[1] == []
