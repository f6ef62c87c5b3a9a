"""The index's entities and name tokens as columns: rows read back as they were filed, one
object per row and per token value, the same after a pickle round trip (how a cached engine
is loaded), and a loaded matcher finds what the built one found."""

from __future__ import annotations

import pickle

import pytest

from sanctionwatch.matching.matcher import Matcher
from sanctionwatch.matching.nametable import (
    EntityRef,
    EntityTable,
    NameTokens,
    pack_strings,
    unpack_strings,
)
from sanctionwatch.matching.normalize import analyse_text, astuple
from sanctionwatch.models import Entry


def _programs() -> tuple[str, ...]:
    return tuple(["RUSSIA-EO14024"])  # a new, equal tuple each time (as parsed lists give)


REFS = [
    EntityRef("a", "Alpha One", "ofac", "person", ("x",), False, _programs(), False),
    EntityRef("b", "Beta", "curated", "state", (), True),
    EntityRef("c", "Gamma Three", "ofac", "person", ("x",), False, _programs(), False),
]
NAMES = ["Kim Jong Un", "Kim Yo Jong", "Путин", "Kim Jong Un"]


def _entities() -> EntityTable:
    table = EntityTable()
    for ref in REFS:
        table.append(ref)
    table.seal()
    return table


def _tokens() -> NameTokens:
    table = NameTokens()
    for name in NAMES:
        table.append(tuple(analyse_text(name).infos))
    table.seal()
    return table


def _values(table: NameTokens) -> list[list[tuple[object, ...]]]:
    return [[astuple(a) for a in table[i]] for i in range(len(table))]


def test_entity_rows_and_columns_read_back() -> None:
    table = _entities()
    assert len(table) == 3
    assert list(table) == REFS
    assert table[2] is table[2]  # built once
    assert table.strict == [False, True, False]
    assert table.curated == [False, True, False]
    with pytest.raises(IndexError):
        table[3]
    with pytest.raises(IndexError):
        table[-1]


def test_entity_table_round_trip_shares_repeated_values() -> None:
    loaded = pickle.loads(pickle.dumps(_entities(), protocol=pickle.HIGHEST_PROTOCOL))
    assert list(loaded) == REFS
    assert loaded[0].programs is loaded[2].programs  # written once, shared again
    loaded.append(EntityRef("d", "Delta", "un", "vessel", (), False))
    assert loaded[3].name == "Delta" and len(loaded) == 4


def test_name_tokens_read_back_with_one_object_per_token_value() -> None:
    table = _tokens()
    expected = [[astuple(a) for a in analyse_text(n).infos] for n in NAMES]
    assert _values(table) == expected
    assert list(table.sizes) == [3, 3, 1, 3]
    assert table[0] is table[0]
    assert table[0][0] is table[1][0]  # "Kim" in two names: one object
    assert table[0] == table[3]  # the same name filed twice
    with pytest.raises(IndexError):
        table[4]


def test_name_tokens_round_trip_and_append_after_loading() -> None:
    original = _tokens()
    loaded = pickle.loads(pickle.dumps(original, protocol=pickle.HIGHEST_PROTOCOL))
    assert _values(loaded) == _values(original)
    assert loaded[1][0] is loaded[0][0]
    assert list(loaded) == [loaded[i] for i in range(len(loaded))]
    # appending after a load: a token read from the table keeps its number
    jong, putin = loaded[0][1], loaded[2][0]
    loaded.append((jong, putin))
    assert loaded[4] == (jong, putin) and loaded.sizes[4] == 2
    assert len(pickle.loads(pickle.dumps(loaded))[4]) == 2
    assert loaded.__getstate__()[0][0] == original.__getstate__()[0][0]  # no token added
    loaded.append(tuple(analyse_text("Jong Il").infos))
    assert [astuple(a) for a in loaded[5]] == [astuple(a) for a in analyse_text("Jong Il").infos]


def test_loaded_matcher_finds_what_the_built_one_finds(tmp_path: object) -> None:
    entries = [
        Entry("t:kju", "Kim Jong Un", "person", "dprk", ("Kim Jong-un", "Ким Чен Ын")),
        Entry("t:ros", "Rosoboronexport", "organisation", "russia"),
        Entry("t:ru", "Russia", "state", "russia", ("Россия",)),
    ]
    built = Matcher.build(entries)
    path = f"{tmp_path}/m.pickle"
    built.save(path)
    loaded = Matcher.load(path)
    text = "Ким Чен Ын встретился с Путиным; Kim Jong-un and Rosoboronexprot in Россия."
    got = [m.__dict__ for m in loaded.find(text)]
    assert got == [m.__dict__ for m in built.find(text)]
    assert {m["entity_id"] for m in got} == {"t:kju", "t:ros", "t:ru"}


@pytest.mark.parametrize(
    "strings",
    [["Kim Jong Un", "", "Путин", "金正恩"], [], [""], ["a\x00b", "c"], ["x"] * 3],
)
def test_string_columns_pack_and_unpack_to_the_same_list(strings: list[str]) -> None:
    packed = pack_strings(strings)
    assert unpack_strings(pickle.loads(pickle.dumps(packed))) == strings
    # one string only when the separator cannot be mistaken for a boundary
    assert isinstance(packed, str) == (bool(strings) and not any("\x00" in s for s in strings))
