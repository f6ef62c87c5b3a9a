"""bench/quality.py on an invented fixture whose counts are known.

The fixture has its own watchlist and rule (tests/fixtures/quality/), so the figures do not
move when the shipped defaults improve: 4 items in 2 languages (one hit, one quiet, one miss,
one false alert) and 5 name cases (2 found, 1 missed, 1 trap taken, 1 trap avoided).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import quality
from tests.support.paths import FIXTURES, REPO

ROOT = REPO
FIXTURE = FIXTURES / "quality"
CONFIG = ["--config", str(FIXTURE / "sanctionwatch.toml")]
FILES = [str(FIXTURE / "items.jsonl"), str(FIXTURE / "names.jsonl")]


def bench(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = quality.main([*CONFIG, *args], out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    code, out = bench("--json", *FILES)
    assert code == 0
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_item_figures_overall_and_per_language(report: dict[str, Any]) -> None:
    items = report["items"]
    assert items["overall"] == {
        "n": 4, "tp": 1, "fp": 1, "fn": 1, "tn": 1,
        "precision": 0.5, "recall": 0.5, "f1": 0.5,
    }  # fmt: skip
    assert list(items["by_lang"]) == ["de", "en"]
    assert items["by_lang"]["en"]["recall"] == 1.0 and items["by_lang"]["en"]["tn"] == 1
    de = items["by_lang"]["de"]
    assert (de["tp"], de["fp"], de["fn"], de["tn"]) == (0, 1, 1, 0)
    assert (de["precision"], de["recall"], de["f1"]) == (0.0, 0.0, 0.0)


def test_miss_lists_matched_entities_and_the_quiet_rule(report: dict[str, Any]) -> None:
    [miss] = report["items"]["misses"]
    assert miss["id"] == "de-miss" and miss["lang"] == "de"
    assert [(m["entity"], m["text"]) for m in miss["matched"]] == [("Ruritania", "Ruritanien")]
    [reason] = miss["closest_rules"]
    assert reason["rule"] == "ruritania-arms"
    assert "all[2] {tags: weapon} not met" in reason["reason"]


def test_false_alert_lists_the_rule_and_its_words(report: dict[str, Any]) -> None:
    [fa] = report["items"]["false_alerts"]
    assert fa["id"] == "de-false"
    [fired] = fa["fired"]
    assert fired["rule"] == "ruritania-arms"
    assert {w["text"] for w in fired["words"]} == {"Haubitzen", "Ruritanien"}


def test_name_recall_and_traps(report: dict[str, Any]) -> None:
    names = report["names"]
    assert (names["found"], names["expected"], names["recall"]) == (2, 3, 0.6667)
    assert (names["traps_taken"], names["forbidden"]) == (1, 2)
    assert [(m["id"], m["found"]) for m in names["missed"]] == [("n-miss", [])]
    [trap] = names["traps"]
    assert trap["id"] == "n-trap" and trap["found"][0]["entity"] == "Orion Group"


def test_text_output_from_the_script() -> None:
    """The real command line, from another directory: table, miss and trap are printed."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "quality.py"), *CONFIG, *FILES],
        capture_output=True, text=True, check=False, cwd=FIXTURE, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Items: 4 (2 alert, 2 quiet)  precision 0.50  recall 0.50  F1 0.50" in out
    assert "de       2   0   1   1   0   0.00   0.00   0.00" in out
    assert "all      4   1   1   1   1   0.50   0.50   0.50" in out
    assert "- de-miss [de] Panzer aus Ruritanien rollen über die Grenze" in out
    assert "rule ruritania-arms: all[2] {tags: weapon} not met: no match" in out
    assert "fired ruritania-arms on 'Haubitzen' (howitzers, title)" in out
    assert "Names: recall 2/3 (0.67)" in out and "traps taken 1/2" in out
    assert "- n-miss: 'Zorblat Trading' as Zorblat Trading; found there: nothing" in out
    assert "- n-trap: 'Orion' taken for Orion Group" in out


def test_output_is_deterministic() -> None:
    assert bench(*FILES) == bench(*FILES)


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        (["--min-f1", "0.5"], 0),
        (["--min-f1", "0.6"], 1),
        (["--min-name-recall", "0.6"], 0),
        (["--min-name-recall", "0.7"], 1),
    ],
)
def test_thresholds_gate_the_exit_code(flags: list[str], code: int) -> None:
    got, out = bench("--json", *flags, *FILES)
    assert got == code
    assert bool(json.loads(out)["gate"]["failures"]) == bool(code)


def test_bad_json_line_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    good = (FIXTURE / "items.jsonl").read_text(encoding="utf-8").splitlines()[0]
    bad.write_text(good + '\n{"id": "x", "label": \n', encoding="utf-8")
    code, _out = bench(str(bad))
    assert code == 2
    assert f"{bad}: line 2: not valid JSON" in capsys.readouterr().err


def test_missing_file_and_bad_span_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out = bench(str(tmp_path / "absent.jsonl"))
    assert code == 2
    assert f"{tmp_path / 'absent.jsonl'}: file not found" in capsys.readouterr().err
    span = tmp_path / "span.jsonl"
    span.write_text(
        json.dumps({"id": "s", "text": "abc", "expect": [{"span": "xyz", "entity": "X"}]}) + "\n",
        encoding="utf-8",
    )
    code, _out = bench(str(span))
    assert code == 2
    assert "span.jsonl:1: expect[1]: span 'xyz' does not occur" in capsys.readouterr().err
