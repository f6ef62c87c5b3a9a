"""``watchlist import --format FORMAT -`` reads the list from stdin (issue 13: ``-`` means
stdin); the audit names the file ``-`` with the SHA-256 of the bytes that came in. OFAC's
legacy CSVs need alt.csv beside them and are refused from stdin with a hint."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.cli import main as cli
from tests.support.paths import FIXTURES

UN = FIXTURES / "lists" / "un" / "UN.xml"
OFAC_SDN = FIXTURES / "lists" / "ofac" / "sdn.csv"


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SANCTIONWATCH_CONFIG", raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "carol")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text('database = "sw.db"\n', encoding="utf-8")
    return path


def stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def run(cfg: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main([*argv, "--config", str(cfg)], out=out)
    return code, out.getvalue()


def imports(cfg: Path) -> list[dict[str, Any]]:
    code, out = run(cfg, "watchlist", "log", "--json")
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    return [r for r in rows if r["action"].startswith("list.")]


def test_un_xml_from_stdin_is_imported_and_audited_as_dash(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = UN.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    stdin(monkeypatch, data)
    code, out = run(cfg, "watchlist", "import", "--format", "un-xml", "-", "--no-announce")
    assert code == 0, out
    assert "un: 7 entries (+7 added" in out
    assert f"read - sha256 {digest}" in out
    (row,) = imports(cfg)
    assert row["action"] == "list.import" and row["actor_name"] == "carol"
    assert row["target"] == "-"
    assert row["after"]["files"] == [{"path": "-", "sha256": digest}]
    assert "sanctionwatch-stdin" not in json.dumps(row)  # no temporary path leaks
    # the names are matched like those of a file import
    code, out = run(cfg, "watchlist", "show", "--json", "Kim", "Yong-Chol")
    assert code == 0 and any(e["list"] == "un" for e in json.loads(out)["entries"]), out


def test_same_bytes_from_stdin_and_file_are_one_unchanged_list(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _ = run(cfg, "watchlist", "import", "--format", "un-xml", str(UN), "--no-announce")
    assert code == 0
    stdin(monkeypatch, UN.read_bytes())
    code, out = run(cfg, "watchlist", "import", "--format", "un-xml", "-", "--no-announce")
    assert code == 0, out
    assert "(+0 added, -0 removed, ~0 changed)" in out
    first, second = imports(cfg)
    assert first["after"]["files"][0]["sha256"] == second["after"]["files"][0]["sha256"]
    assert (first["target"], second["target"]) == (str(UN), "-")


def test_broken_stdin_is_refused_naming_stdin_and_nothing_is_stored(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin(monkeypatch, UN.read_bytes()[:300])  # a cut-off download
    code, _ = run(cfg, "watchlist", "import", "--format", "un-xml", "-", "--no-announce")
    err = capsys.readouterr().err
    assert code == 2
    assert "error: -: " in err and "sanctionwatch-stdin" not in err
    assert imports(cfg) == []


def test_empty_stdin_is_an_error(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin(monkeypatch, b"")
    code, _ = run(cfg, "watchlist", "import", "--format", "un-xml", "-")
    assert code == 2
    assert "stdin is empty" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["ofac-sdn", "ofac-consolidated-csv"])
def test_ofac_csv_from_stdin_is_refused_because_alt_csv_cannot_follow(
    fmt: str, cfg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin(monkeypatch, OFAC_SDN.read_bytes())
    code, _ = run(cfg, "watchlist", "import", "--format", fmt, "-")
    err = capsys.readouterr().err
    assert code == 1
    assert f"--format {fmt} cannot be read from stdin (-)" in err
    assert "alt.csv" in err and "give the path" in err
    assert imports(cfg) == []


def test_help_says_dash_is_stdin_and_why_not_for_ofac_csv(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["watchlist", "import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "or - to read it from stdin" in text
    assert "ofac-sdn, ofac-consolidated-csv" in text and "alt.csv" in text
