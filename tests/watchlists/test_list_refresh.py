"""[[lists]] refreshed over real HTTP on 127.0.0.1: fetched, imported with the file-import
guards, 304 when unchanged, failures shown in status and told to the ops channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanctionwatch.config.settings import load_settings
from sanctionwatch.storage.db import Store
from tests.support.feedserver import FeedServer
from tests.support.pipeline import run_cli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "lists"
ETAG = '"sdn-2024-05-03"'


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SANCTIONWATCH_CONFIG", raising=False)


def _config(tmp_path: Path, server: FeedServer, extra: str = "") -> Path:
    path = tmp_path / "c.toml"
    path.write_text(
        'database = "sw.db"\n'
        "[slack]\n"
        'ops_channel = "#ops"\n'
        "[fetch]\n"
        "allow_private = false\n"
        "[[lists]]\n"
        'name = "ofac-sdn"\n'
        'format = "ofac-sdn"\n'
        f'url = "{server.url("/sdn.csv")}"\n'
        f'aliases_url = "{server.url("/alt.csv")}"\n'
        "refresh_hours = 6\n"
        "max_age_days = 3\n" + extra,
        encoding="utf-8",
    )
    return path


def _serve(server: FeedServer, folder: str, etag: str = ETAG) -> None:
    server.add(
        "/sdn.csv",
        body=(FIX / folder / "sdn.csv").read_bytes(),
        content_type="text/csv",
        etag=etag,
    )
    server.add(
        "/alt.csv",
        body=(FIX / folder / "alt.csv").read_bytes(),
        content_type="text/csv",
        etag=etag + "-alt",
    )


def _match(cfg: Path, tmp_path: Path, text: str) -> set[str]:
    src = tmp_path / "t.txt"
    src.write_text(text, encoding="utf-8")
    code, out = run_cli(["match", str(src), "--json", "--config", str(cfg)])
    assert code == 0
    return {m["entity"] for m in json.loads(out)["matches"]}


def test_refresh_fetches_imports_then_304(
    env: None, tmp_path: Path, feed_server: FeedServer
) -> None:
    _serve(feed_server, "ofac")
    cfg = _config(tmp_path, feed_server)
    text = "The cargo ship Asia Bridge was seen loading shells at Nampo."
    assert "ASIA BRIDGE" not in _match(cfg, tmp_path, text)

    code, out = run_cli(["watchlist", "refresh", "--config", str(cfg)])
    assert code == 0, out
    assert "ofac-sdn: imported: ofac-sdn: 15 entries" in out
    assert "ASIA BRIDGE" in _match(cfg, tmp_path, text)
    # aliases from the alt.csv download are matched too
    assert "Yong Chol KIM" in _match(cfg, tmp_path, "Talks with Young-Chol Kim resumed.")

    store = Store(tmp_path / "sw.db")
    version = store.db.execute("SELECT version FROM imported_lists").fetchone()[0]
    audits = store.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    store.close()

    code, out = run_cli(["watchlist", "refresh", "ofac-sdn", "--config", str(cfg)])
    assert code == 0
    assert "ofac-sdn: unchanged: not modified (HTTP 304)" in out
    last = feed_server.requests[-1]
    assert last.headers.get("if-none-match") == ETAG + "-alt"
    store = Store(tmp_path / "sw.db")
    assert store.db.execute("SELECT version FROM imported_lists").fetchone()[0] == version
    assert store.db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits
    row = store.db.execute("SELECT source_file, files FROM imported_lists").fetchone()
    assert row[0] == feed_server.url("/sdn.csv")
    assert feed_server.url("/alt.csv") in row[1]  # the files read are named by URL
    store.close()

    code, out = run_cli(["status", "--config", str(cfg)])
    assert "lists: 1 current, 0 failing or stale" in out


def test_refreshed_list_guards_hold_and_failure_shows_in_status(
    env: None, tmp_path: Path, feed_server: FeedServer
) -> None:
    _serve(feed_server, "ofac")
    cfg = _config(tmp_path, feed_server)
    assert run_cli(["watchlist", "refresh", "--config", str(cfg)])[0] == 0
    # the publisher now serves a version that delists two entries of fifteen (13 %): the
    # default max_delist_fraction (5 %) refuses it; --force is never implied
    _serve(feed_server, "ofac_prev", etag='"sdn-2024-05-02"')
    code, out = run_cli(["watchlist", "refresh", "--config", str(cfg)])
    assert code == 1
    assert "ofac-sdn: refused:" in out
    store = Store(tmp_path / "sw.db")
    names = {r[0] for r in store.db.execute("SELECT name FROM imported_entries")}
    assert "WUHAN GLOBAL SENSOR TECHNOLOGY CO., LTD." in names  # the stored version stays
    refused = store.db.execute(
        "SELECT count(*) FROM audit_log WHERE action LIKE '%refused%'"
    ).fetchone()[0]
    assert refused == 1
    outbox = [r[0] for r in store.db.execute("SELECT text FROM outbox WHERE channel = '#ops'")]
    store.close()
    assert any("ofac-sdn" in t and "refresh failed" in t for t in outbox)

    code, out = run_cli(["status", "--config", str(cfg)])
    assert code == 1
    assert "list 'ofac-sdn': refresh failed: refused:" in out
    # asked again: refused again (no stored validators let it through as a 304)
    code, out = run_cli(["watchlist", "refresh", "--config", str(cfg)])
    assert code == 1 and "refused" in out
    store = Store(tmp_path / "sw.db")
    ops = store.db.execute("SELECT count(*) FROM outbox WHERE channel = '#ops'").fetchone()[0]
    store.close()
    assert ops == 1  # told once per problem, not once per attempt


def test_truncated_download_fails_and_keeps_the_list(
    env: None, tmp_path: Path, feed_server: FeedServer
) -> None:
    _serve(feed_server, "ofac")
    cfg = _config(tmp_path, feed_server)
    assert run_cli(["watchlist", "refresh", "--config", str(cfg)])[0] == 0
    feed_server.add("/sdn.csv", body=b"<html><body>502 Bad Gateway</body></html>", etag='"x"')
    code, out = run_cli(["watchlist", "refresh", "--config", str(cfg)])
    assert code == 1
    # the error names the URL, not a temporary file
    assert f"ofac-sdn: failed: {feed_server.url('/sdn.csv')}: not an OFAC sdn.csv CSV" in out
    code, out = run_cli(["status", "--config", str(cfg)])
    assert code == 1 and "refresh failed" in out


def test_http_error_is_a_failure(env: None, tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/sdn.csv", status=503, body=b"down")
    feed_server.add("/alt.csv", body=b"")
    cfg = _config(tmp_path, feed_server)
    code, out = run_cli(["watchlist", "refresh", "--config", str(cfg)])
    assert code == 1 and "ofac-sdn: failed:" in out and "503" in out


def test_scheduled_refresh_in_run_once(env: None, tmp_path: Path, feed_server: FeedServer) -> None:
    _serve(feed_server, "ofac")
    feed_server.add(
        "/feed.xml",
        body=b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Asia Bridge loads artillery shells</title><link>https://e.test/1</link>"
        b"<description>The cargo ship Asia Bridge was loading artillery shells.</description>"
        b"</item></channel></rss>",
    )
    cfg = _config(tmp_path, feed_server)
    with cfg.open("a", encoding="utf-8") as fh:
        fh.write(f'[[feeds]]\nname = "News"\nurl = "{feed_server.url("/feed.xml")}"\n')
    settings = load_settings(str(cfg))
    assert settings.lists[0].refresh_hours == 6
    code, out = run_cli(["run", "--once", "--config", str(cfg)])
    assert code == 0
    assert feed_server.hits("/sdn.csv") == 1
    store = Store(tmp_path / "sw.db")
    rules = {r[0] for r in store.db.execute("SELECT rule FROM alerts")}
    store.close()
    assert "listed-entity-arms-activity" in rules  # the refreshed name matched the same cycle
    # not due again within refresh_hours
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    assert feed_server.hits("/sdn.csv") == 1


def test_lists_config_errors(env: None, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[[lists]]\nname = "x"\nformat = "ofac-sdn"\nurl = "sdn.csv"\nrefresh_hours = 0\n',
        encoding="utf-8",
    )
    code, _ = run_cli(["check", "--config", str(path)])
    assert code == 2
    path.write_text('[[lists]]\nname = "x"\nformat = "nope"\nurl = "sdn.csv"\n', encoding="utf-8")
    code, out = run_cli(["watchlist", "refresh", "--config", str(path)])
    assert code == 2


def test_local_path_list_refresh(env: None, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    src = FIX / "canada" / "sema.xml"
    path.write_text(
        f'database = "sw.db"\n[[lists]]\nname = "canada"\nformat = "canada-sema-xml"\n'
        f'url = "{src}"\n',
        encoding="utf-8",
    )
    code, out = run_cli(["watchlist", "refresh", "--config", str(path)])
    assert code == 0 and "canada: imported: canada: 7 entries" in out
    code, out = run_cli(["watchlist", "refresh", "canada", "--config", str(path)])
    assert code == 0 and "unchanged" in out
    code, out = run_cli(["watchlist", "refresh", "nope", "--config", str(path)])
    assert code != 0


def test_healthz_reports_failing_list(env: None, tmp_path: Path, feed_server: FeedServer) -> None:
    from sanctionwatch.slackapp.monitor import Monitor
    from sanctionwatch.slackapp.server import HttpServer

    feed_server.add("/sdn.csv", status=500, body=b"boom")
    feed_server.add("/alt.csv", body=b"")
    cfg = _config(tmp_path, feed_server)
    assert run_cli(["watchlist", "refresh", "--config", str(cfg)])[0] == 1
    settings = load_settings(str(cfg))
    store = Store(settings.database)

    import httpx

    monitor = Monitor(settings, lambda: store)
    server = HttpServer(monitor.wrap(), "127.0.0.1", 0)
    server.start()
    try:
        answer = httpx.get(server.url.replace("/slack/events", "/healthz"), timeout=5)
    finally:
        server.stop()
        store.close()
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["warnings"][0].startswith("list 'ofac-sdn': refresh failed:")
