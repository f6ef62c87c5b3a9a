"""The database under real faults (issue 8): empty and foreign files, a damaged page,
read-only file and folder, a second poller through a symlink, and `backup` while a run writes.

Every case uses a real file in tmp_path and the real CLI (in-process `main`, or `bot.py`
subprocesses where the behaviour is about processes)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sanctionwatch.storage.db import Store, StoreError
from sanctionwatch.storage.dbfile import SQLITE_HEADER, describe_sqlite_error
from tests.support.botproc import LOCK_EXIT_CODE, WAIT_S, polled, start_bot, wait_running
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.pipeline import ALERTING, rss, run_cli, write_config
from tests.support.slack_api import SlackApiStub

DB_ERROR_EXIT = 2
ROWS_SPANNING_PAGES = 3000  # ~30 leaf pages of the link_key index at 4 kB a page
INDEX = "idx_items_link_key"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("SANCTIONWATCH_CONFIG", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(var, raising=False)


def _config(tmp_path: Path, feed_server: FeedServer) -> Path:
    feed_server.add("/news.xml", body=rss(ALERTING))
    return write_config(tmp_path, [("News", feed_server.url("/news.xml"))])


def _fill(path: Path, rows: int = ROWS_SPANNING_PAGES) -> None:
    store = Store(path)
    with store.transaction() as db:
        db.conn.executemany(
            "INSERT INTO items (item_id, feed, link_key, title, first_seen_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (f"guid:{n}", "News", f"https://example.org/news/{n:06d}", f"title {n}",
                 "2026-11-28T10:00:00+00:00")
                for n in range(rows)
            ],
        )  # fmt: skip
    store.close()


# ---- empty and foreign files -------------------------------------------------------------
@pytest.mark.parametrize("command", [["run", "--once"], ["status"], ["feeds"]])
def test_empty_file_is_refused_not_taken_for_a_new_database(
    tmp_path: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    cfg = _config(tmp_path, feed_server)
    db = tmp_path / "sw.db"
    db.write_bytes(b"")
    code, out = run_cli([*command, "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT, err
    assert f"database file is empty (0 bytes): {db}" in err
    assert "a failed copy?" in err and "restore the backup" in err
    assert "Traceback" not in err
    assert db.stat().st_size == 0  # left as it was: no schema written into it
    assert feed_server.hits("/news.xml") == 0  # nothing polled, nothing posted


def test_file_that_is_not_sqlite_is_refused_and_left_alone(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, feed_server)
    db = tmp_path / "sw.db"
    content = b"id,title\n1,exported alerts, not a database\n" * 20
    db.write_bytes(content)
    code, _ = run_cli(["run", "--once", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT
    assert f"not an SQLite database: {db}" in err and "hint:" in err
    assert db.read_bytes() == content
    assert feed_server.hits("/news.xml") == 0


def test_short_file_with_sqlite_magic_missing_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "sw.db"
    db.write_bytes(b"SQLite")  # a copy cut off inside the header
    with pytest.raises(StoreError, match="not an SQLite database"):
        Store(db)


def test_new_database_only_where_no_file_exists(tmp_path: Path) -> None:
    db = tmp_path / "data" / "sw.db"
    store = Store(db)
    store.sync_feeds([("News", "http://x/a")])
    store.close()
    assert db.read_bytes()[: len(SQLITE_HEADER)] == SQLITE_HEADER
    assert sorted(p.name for p in db.parent.iterdir()) == ["sw.db"]  # no temp files left
    again = Store(db)  # an existing database with schema opens and keeps its rows
    assert [f["name"] for f in again.feeds()] == ["News"]
    again.close()


def test_open_database_with_wal_and_shm_beside_it_opens_again(tmp_path: Path) -> None:
    db = tmp_path / "sw.db"
    first = Store(db)
    first.sync_feeds([("News", "http://x/a")])  # committed to the WAL, not checkpointed
    assert (tmp_path / "sw.db-wal").stat().st_size > 0
    second = Store(db)
    assert [f["name"] for f in second.feeds()] == ["News"]
    code, out = run_cli(["status", "--config", str(write_config(tmp_path, []))])
    assert code == 0 and "alerts pending delivery: 0" in out
    second.close()
    first.close()


def test_dangling_symlink_is_not_turned_into_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "sw.db"
    db.symlink_to(tmp_path / "unmounted" / "sw.db")
    with pytest.raises(StoreError, match="symlink to a missing file"):
        Store(db)
    assert not (tmp_path / "unmounted").exists()


# ---- damaged page: quick_check at run/serve start ------------------------------------------
def _corrupt_index_page(db: Path) -> int:
    """Overwrite one leaf page of the link_key index with random bytes; return its number."""
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    leaves = [
        r[0]
        for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            [INDEX],
        )
    ]
    conn.close()
    assert len(leaves) > 3, "the index must span several pages"
    page = leaves[len(leaves) // 2]
    with open(db, "r+b") as fh:
        fh.seek((page - 1) * page_size)
        fh.write(random.Random(page).randbytes(page_size))
    return page


def test_run_refuses_a_database_with_a_damaged_page(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, feed_server)
    db = tmp_path / "sw.db"
    _fill(db)
    page = _corrupt_index_page(db)
    Store(db).close()  # opening alone does not notice: that is why run checks
    code, _ = run_cli(["status", "--config", str(cfg)])
    assert code in (0, 1)  # commands that do not start the poller skip the costly check
    capsys.readouterr()

    code, _ = run_cli(["run", "--once", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT, err
    assert f"database failed SQLite's quick_check: {db}" in err
    assert f"Page {page}" in err  # SQLite's own first message
    assert "bot.py backup" in err and "-wal" in err
    assert feed_server.hits("/news.xml") == 0


def test_serve_refuses_a_database_with_a_damaged_page(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = _config(tmp_path, feed_server)
    db = tmp_path / "sw.db"
    _fill(db)
    _corrupt_index_page(db)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    code, out = run_cli(["serve", "--port", "0", "--host", "127.0.0.1", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT, err
    assert "quick_check" in err and str(db) in err
    assert "serving Slack requests" not in out
    assert feed_server.hits("/news.xml") == 0


def test_intact_database_passes_the_startup_check(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, feed_server)
    _fill(tmp_path / "sw.db")
    code, out = run_cli(["run", "--once", "--config", str(cfg)])
    assert code == 0, capsys.readouterr().err
    assert feed_server.hits("/news.xml") == 1


# ---- read-only file and folder ------------------------------------------------------------
def _make_unwritable(path: Path, request: pytest.FixtureRequest) -> None:
    """Really unwritable for this process. Root ignores permission bits, so as root the
    immutable flag (chattr +i, ext4/xfs/btrfs) is used; otherwise chmod. Skips where
    neither can be made to hold; the probe below proves the write really fails."""
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("running as root without chattr: cannot make a file unwritable")
        done = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"chattr +i not supported here: {done.stderr.decode().strip()}")
        request.addfinalizer(lambda: subprocess.run([chattr, "-i", str(path)], check=False))
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        request.addfinalizer(lambda: path.chmod(mode))
    probe = path / "probe" if path.is_dir() else path
    with pytest.raises(OSError):
        with open(probe, "ab"):
            pass


def test_read_only_database_file_is_a_clear_error(
    tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, [])
    db = tmp_path / "sw.db"
    _fill(db, rows=10)
    _make_unwritable(db, request)
    for command in (["status"], ["run", "--once"]):
        code, _ = run_cli([*command, "--config", str(cfg)])
        err = capsys.readouterr().err
        assert code == DB_ERROR_EXIT, err
        assert f"error: database file is read-only: {db}" in err
        assert "make it writable by the user running sanctionwatch" in err
        assert "Traceback" not in err


def test_read_only_folder_is_a_clear_error(
    tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "sw.db"
    _fill(db, rows=10)  # closed: no -wal/-shm left, SQLite would have to create them
    cfg = tmp_path / "sanctionwatch.toml"
    cfg.write_text('database = "data/sw.db"\n', encoding="utf-8")
    _make_unwritable(folder, request)
    code, _ = run_cli(["status", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT, err
    assert (
        f"folder is not writable: {folder} (SQLite needs to create sw.db-wal and sw.db-shm"
        " beside the database)"
    ) in err
    assert "restore" not in err  # nothing is wrong with the file itself
    assert "Traceback" not in err


def test_read_only_error_from_sqlite_itself_is_mapped(tmp_path: Path) -> None:
    """The fallback for what the checks cannot see in advance: SQLite's own error."""
    db = tmp_path / "sw.db"
    _fill(db, rows=1)
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as info:
        conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    conn.close()
    error = describe_sqlite_error(db, info.value)
    assert error.message.startswith(f"database file is read-only: {db}")
    assert "writable" in error.hint and error.exit_code == DB_ERROR_EXIT


# ---- the run lock on the real path ----------------------------------------------------------
def test_second_poller_through_a_symlink_exits_3(
    tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub
) -> None:
    feed_server.add("/news.xml", body=rss(ALERTING[:1]))
    feeds = [("News", feed_server.url("/news.xml"))]
    cfg = write_config(tmp_path, feeds)
    # the same database under other names: a symlink to the file, and a link to that link
    for name, target in (("b", tmp_path / "sw.db"), ("c", tmp_path / "b" / "sw.db")):
        (tmp_path / name).mkdir()
        write_config(tmp_path / name, feeds)
        (tmp_path / name / "sw.db").symlink_to(target)
    first = start_bot(cfg, slack_api)
    try:
        wait_running(lambda: polled(tmp_path / "sw.db", "News"), first)
        for name in ("b", "c"):
            second = start_bot(tmp_path / name / "sanctionwatch.toml", slack_api, "--once")
            _, err = second.communicate(timeout=WAIT_S)
            assert second.returncode == LOCK_EXIT_CODE, err
            assert f"pid {first.pid}" in err
            assert f"real path {tmp_path / 'sw.db'}" in err
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=WAIT_S)
    assert first.returncode == 0
    assert len(slack_api.messages) == 1  # the alert went out once


# ---- backup ---------------------------------------------------------------------------------
WRITER = """
import sys, time
from pathlib import Path
from sanctionwatch.storage.lock import RunLock
from sanctionwatch.storage.db import Store
db, stop = Path(sys.argv[1]), Path(sys.argv[2])
with RunLock(db):  # as a running poller does: backup must not need this lock
    store = Store(db)
    n = 0
    while not stop.exists():
        with store.transaction() as tx:
            tx.conn.executemany(
                "INSERT INTO items (item_id, feed, link_key, title, first_seen_at)"
                " VALUES (?, 'News', ?, 'busy', '2026-11-28T10:00:00+00:00')",
                [(f"w:{n}:{k}", f"https://example.org/w/{n}/{k}") for k in range(50)],
            )
        n += 1
        if n == 1:
            print("writing", flush=True)
    print(n, flush=True)
"""


def test_backup_while_a_run_writes_is_consistent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, [])
    db = tmp_path / "sw.db"
    _fill(db)
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(stop)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing", writer.stderr
        copies = []
        for n in range(3):
            target = tmp_path / f"backup-{n}.db"
            code, out = run_cli(["backup", str(target), "--config", str(cfg)])
            assert code == 0, capsys.readouterr().err
            assert str(target) in out and f"{target.stat().st_size} bytes" in out
            copies.append(target)
            time.sleep(0.1)
    finally:
        stop.touch()
        rest, err = writer.communicate(timeout=WAIT_S)
    assert writer.returncode == 0, err
    assert int(rest.strip()) > 1  # the writer kept committing during the backups
    counts = []
    for copy in copies:
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        counts.append(conn.execute("SELECT count(*) FROM items").fetchone()[0])
        conn.close()
        assert not Path(f"{copy}-wal").exists()  # one self-contained file
        restored = Store(copy)  # and it opens as a Store
        restored.quick_check()
        restored.close()
    assert all(c >= ROWS_SPANNING_PAGES and (c - ROWS_SPANNING_PAGES) % 50 == 0 for c in counts)
    assert counts == sorted(counts)  # each copy is a committed state, later ones later


def test_backup_refuses_to_overwrite_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, [])
    _fill(tmp_path / "sw.db", rows=5)
    target = tmp_path / "backup.db"
    target.write_bytes(b"yesterday's backup")
    code, _ = run_cli(["backup", str(target), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT
    assert f"backup target already exists: {target}" in err and "--force" in err
    assert target.read_bytes() == b"yesterday's backup"

    code, out = run_cli(["backup", str(target), "--force", "--config", str(cfg)])
    assert code == 0, capsys.readouterr().err
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 5
    conn.close()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_backup_refuses_stdout_itself_and_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, [])
    code, _ = run_cli(["backup", str(tmp_path / "b.db"), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT and f"no database to back up at {tmp_path / 'sw.db'}" in err
    assert not (tmp_path / "sw.db").exists()  # backup never creates the database

    _fill(tmp_path / "sw.db", rows=1)
    code, _ = run_cli(["backup", "-", "--config", str(cfg)])
    assert code == DB_ERROR_EXIT and "not -" in capsys.readouterr().err
    code, _ = run_cli(["backup", str(tmp_path / "sw.db"), "--force", "--config", str(cfg)])
    assert code == DB_ERROR_EXIT and "the database itself" in capsys.readouterr().err
    Store(tmp_path / "sw.db").close()  # untouched and intact


def test_backup_of_a_damaged_database_fails_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, [])
    _fill(tmp_path / "sw.db")
    _corrupt_index_page(tmp_path / "sw.db")
    target = tmp_path / "backup.db"
    code, _ = run_cli(["backup", str(target), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == DB_ERROR_EXIT and "failed SQLite's quick_check" in err
    assert not target.exists()


def test_opening_a_second_store_keeps_this_process_sqlite_locks(tmp_path: Path) -> None:
    """The header check must not open/close a file SQLite holds open here: a close drops the
    process's POSIX locks, and another process's last close would then delete the WAL that
    our open connection still uses."""
    db = tmp_path / "sw.db"
    first = Store(db)
    first.sync_feeds([("News", "http://x/a")])
    wal = tmp_path / "sw.db-wal"
    assert wal.exists()
    second = Store(db)  # what serve does: one Store per thread
    other = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        " c.execute('SELECT 1 FROM meta'); c.close()"
    )
    subprocess.run([sys.executable, "-c", other, str(db)], check=True, timeout=WAIT_S)
    assert wal.exists(), "another process checkpointed and deleted the WAL we still use"
    assert [f["name"] for f in second.feeds()] == ["News"]
    second.close()
    first.close()
