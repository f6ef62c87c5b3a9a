"""Lemma dictionaries: a built trie gives the stream's answers, a damaged one is read past,
and ``bot.py lemmas`` shows and builds them (``matching/lemmadicts``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from simplemma import Lemmatizer
from simplemma.strategies import DefaultStrategy, StreamDictionaryFactory

from sanctionwatch.matching import lemmadicts
from sanctionwatch.matching.lemmadicts import Dictionaries, build_tries, trie_path
from tests.support.pipeline import run_cli

# Indonesian and Italian: the two smallest dictionaries of the lemmatised languages.
WORDS = {
    "id": ["senjata", "dikirim", "mengirimkan", "sanksi", "Rusia", "rudal", "zzqx", "Korea"],
    "it": ["armando", "armi", "missili", "sanzioni", "consegnato", "Russia", "zzqx"],
}


def _lemmas(factory: object, lang: str) -> list[str | None]:
    lem = Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=factory))  # type: ignore[arg-type]
    return [lem.lemmatize(w, lang) for w in WORDS[lang]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tries")
    built = build_tries(["id"], path)
    assert [b.built for b in built] == [True] and built[0].size > 0
    return path


def test_a_trie_gives_the_streams_answers(folder: Path) -> None:
    ours = Dictionaries(folder)
    stream = StreamDictionaryFactory(cache_max_size=4)
    for lang in ("id", "it"):
        assert _lemmas(ours, lang) == _lemmas(stream, lang)
    assert ours.kind("id") == "trie"  # built above
    assert ours.kind("it") == "stream"  # no trie: read as before
    # the lemmas are real ones, not None for everything
    assert _lemmas(ours, "it")[0] == "armare"


def test_building_again_keeps_the_file(folder: Path) -> None:
    before = trie_path(folder, "id").stat().st_mtime_ns
    again = build_tries(["id"], folder)
    assert [b.built for b in again] == [False]
    assert trie_path(folder, "id").stat().st_mtime_ns == before


def test_a_damaged_trie_is_read_past_and_never_rebuilt_while_matching(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = trie_path(tmp_path, "id")
    bad.write_bytes(b"not a trie at all")
    ours = Dictionaries(tmp_path)
    with caplog.at_level(logging.WARNING, logger=lemmadicts.__name__):
        got = _lemmas(ours, "id")
    assert got == _lemmas(StreamDictionaryFactory(cache_max_size=1), "id")
    assert ours.kind("id") == "stream"
    assert bad.read_bytes() == b"not a trie at all"  # left for `lemmas --build` to judge
    assert any(
        "lemma trie unreadable" in r.getMessage() and str(bad) in r.getMessage()
        for r in caplog.records
    )


def test_the_lemmas_command_shows_and_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lemmadicts.LEMMA_DIR_ENV, str(tmp_path / "tries"))
    code, out = run_cli(["lemmas", "--lang", "id", "--json"])
    assert code == 0
    doc = json.loads(out)
    assert doc["folder"] == str(tmp_path / "tries")
    assert [(r["lang"], r["trie"]) for r in doc["languages"]] == [("id", False)]
    code, out = run_cli(["lemmas", "--build", "--lang", "id", "--json"])
    row = json.loads(out)["languages"][0]
    assert code == 0 and row["trie"] and row["built_now"] and row["size_mb"] >= 0
    assert Path(row["path"]).is_file()
    code, out = run_cli(["lemmas", "--lang", "id"])
    assert code == 0 and "id" in out and "trie" in out and "built now" not in out
    code, out = run_cli(["lemmas"])  # every language listed; the missing ones counted
    assert code == 0 and "pl" in out and "without a trie" in out


def test_the_lemmas_command_names_a_wrong_language(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out = run_cli(["lemmas", "--lang", "xx"])
    assert code != 0
    err = capsys.readouterr().err
    assert "--lang" in err and "xx" in err and "pl" in err
