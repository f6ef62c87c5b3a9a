"""The engine file's header: staleness is read from it without loading the engine, and a copy
of the file is trusted only when its own header names the wanted engine (the poller hands
its workers such a copy instead of pickling the engine again)."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from sanctionwatch.alerting.enginefile import EngineFiles
from sanctionwatch.matching import enginestore
from sanctionwatch.matching.engine import Engine
from sanctionwatch.matching.enginestore import copy_engine, load_engine, save_engine
from sanctionwatch.matching.matcher import Matcher
from sanctionwatch.models import Entry

ENTRIES = (Entry("t:kju", "Kim Jong Un", "person", "dprk", ("Ким Чен Ын",)),)
TEXT = "Ким Чен Ын met Putin"


def _engine(fp: str = "fp-1") -> Engine:
    return Engine(Matcher.build(ENTRIES), (), ENTRIES, fp)


def _stored(tmp_path: Path, fp: str = "fp-1") -> Path:
    path = tmp_path / "sw.db.engine"
    assert save_engine(path, _engine(fp))
    return path


def test_a_stale_file_is_known_from_its_header_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _stored(tmp_path)
    data = path.read_bytes()
    header_len = len(pickle.dumps(pickle.loads(data)))  # the first of the two pickles
    path.write_bytes(data[:header_len] + b"\x00garbage, never read")
    with caplog.at_level(logging.INFO, logger="sanctionwatch.matching.enginestore"):
        assert load_engine(path, "fp-2") is None
    assert "engine cache stale" in caplog.text and "unreadable" not in caplog.text
    with caplog.at_level(logging.INFO, logger="sanctionwatch.matching.enginestore"):
        assert load_engine(path, "fp-1") is None  # the right header, a damaged engine
    assert "engine cache unreadable" in caplog.text


def test_a_file_of_another_layout_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "sw.db.engine"
    engine = _engine()
    # the layout before the header: one pickle of (code, fingerprint, engine)
    path.write_bytes(pickle.dumps((enginestore.code_fingerprint(), "fp-1", engine)))
    assert load_engine(path, "fp-1") is None
    assert not copy_engine(path, tmp_path / "copy", "fp-1")


def test_copy_engine_copies_only_the_engine_asked_for(tmp_path: Path) -> None:
    source = _stored(tmp_path)
    target = tmp_path / "private" / "engine.pickle"
    assert not copy_engine(source, target, "fp-2")  # another engine
    assert not copy_engine(tmp_path / "missing.engine", target, "fp-1")
    damaged = tmp_path / "damaged.engine"
    damaged.write_bytes(b"not a pickle at all")
    assert not copy_engine(damaged, target, "fp-1")
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir()] == []  # no temporary file left
    assert copy_engine(source, target, "fp-1")
    assert target.read_bytes() == source.read_bytes()
    loaded = load_engine(target, "fp-1")
    assert loaded is not None and [m.entity_id for m in loaded.match("", TEXT)] == ["t:kju"]


def test_engine_files_copy_the_stored_engine_or_pickle_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _stored(tmp_path)
    files = EngineFiles()
    try:
        with caplog.at_level(logging.INFO, logger="sanctionwatch.alerting.enginefile"):
            copied = files.publish(_engine("fp-1"), source)
            assert copied.read_bytes() == source.read_bytes()
            pickled = files.publish(_engine("fp-2"), source)  # the file holds fp-1
            alone = files.publish(_engine("fp-3"))
        published = [r for r in caplog.records if r.name == "sanctionwatch.alerting.enginefile"]
        assert [r.getMessage().rsplit("how=", 1)[1] for r in published] == [
            "copied",
            "pickled",
            "pickled",
        ]
        for path, fp in ((pickled, "fp-2"), (alone, "fp-3")):
            engine = load_engine(path, fp)
            assert engine is not None and engine.fingerprint == fp
        assert not copied.exists()  # only the newest and the one before are kept
    finally:
        files.close()
