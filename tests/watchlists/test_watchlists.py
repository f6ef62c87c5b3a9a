"""Watchlist YAML loading, validation errors, and dump round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.errors import WatchlistError
from sanctionwatch.models import ENTRY_TYPES
from sanctionwatch.watchlists.files import (
    dump_watchlist,
    load_watchlist_file,
    load_watchlists,
    slugify,
)
from tests.support.paths import FIXTURES, REPO

BAD = FIXTURES / "watchlists_bad"

# (bad file, words the error message must contain: the file, the entry, the key/problem)
BAD_CASES = [
    ("unknown_type.yaml", ["unknown_type.yaml", "entry 2", "Kim Jong Un", "unknown type 'persn'"]),
    ("unknown_key.yaml", ["unknown_key.yaml", "entry 1", "KOMID", "unknown key 'alias'"]),
    ("missing_name.yaml", ["missing_name.yaml", "entry 1", "missing 'name'"]),
    ("empty_aliases.yaml", ["empty_aliases.yaml", "Rostec", "'aliases' is empty"]),
    (
        "wrong_type_aliases.yaml",
        ["wrong_type_aliases.yaml", "Rosoboronexport", "'aliases' must be a list"],
    ),
    ("bool_alias.yaml", ["bool_alias.yaml", "Norway", "aliases[1] must be text", "bool"]),
    (
        "duplicate_names.yaml",
        ["duplicate_names.yaml", "entry 3", "Kim Jong-Un", "entry 1", "Kim Jong Un"],
    ),
    ("bad_syntax.yaml", ["bad_syntax.yaml", "YAML syntax error at line"]),
    ("strict_not_bool.yaml", ["strict_not_bool.yaml", "shells", "'strict' must be true or false"]),
    ("not_a_mapping.yaml", ["not_a_mapping.yaml", "expected a mapping"]),
]


@pytest.mark.parametrize(("filename", "needles"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_watchlist_files_name_file_entry_and_key(filename: str, needles: list[str]) -> None:
    with pytest.raises(WatchlistError) as info:
        load_watchlist_file(BAD / filename)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} missing from: {message}"
    assert info.value.hint, "every error carries a hint"


def test_every_bad_fixture_is_covered() -> None:
    assert {p.name for p in BAD.glob("*.yaml")} == {name for name, _ in BAD_CASES}


def test_unknown_type_hint_lists_valid_types() -> None:
    with pytest.raises(WatchlistError) as info:
        load_watchlist_file(BAD / "unknown_type.yaml")
    assert all(t in info.value.hint for t in ENTRY_TYPES)


def test_syntax_error_reports_the_right_line() -> None:
    with pytest.raises(WatchlistError) as info:
        load_watchlist_file(BAD / "bad_syntax.yaml")
    # the unclosed flow sequence opens on line 4 and breaks at line 5
    assert "line 5" in info.value.message or "line 4" in info.value.message


def test_entry_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("entries:\n  - name: A\n    type: person\n\n  - name: B\n    type: boat\n")
    with pytest.raises(WatchlistError, match=r"entry 2, line 5 \('B'\)"):
        load_watchlist_file(path)


def test_loads_fields_defaults_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "Test-List.yaml"
    path.write_text(
        "source: OFAC SDN\n"
        "entries:\n"
        "  - name: Kim Jong Un\n"
        "    type: person\n"
        "    aliases: [김정은, Ким Чен Ын, Kim Jong Un]\n"
        "    tags: [DPRK, Leader]\n"
        "    source_id: 20157\n"
        "    programs: [DPRK3]\n"
        "  - name: shells\n"
        "    type: weapon\n"
        "    source: editorial\n"
        "    strict: true\n"
    )
    kim, shells = load_watchlist_file(path)
    assert kim.id == "test-list:kim-jong-un"
    assert kim.list == "test-list"
    assert kim.aliases == ("김정은", "Ким Чен Ын")  # the canonical name is not repeated
    assert kim.tags == ("dprk", "leader")
    assert kim.source == "OFAC SDN" and kim.source_id == "20157"
    assert kim.programs == ("DPRK3",)
    assert kim.strict is False
    assert shells.source == "editorial" and shells.strict is True


def test_list_key_overrides_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "whatever.yml"
    path.write_text("list: dprk\nentries:\n  - {name: KOMID, type: organisation}\n")
    (entry,) = load_watchlist_file(path)
    assert entry.list == "dprk" and entry.id == "dprk:komid"


def test_same_list_in_two_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "list: dprk\nentries:\n  - {name: KOMID, type: organisation}\n"
    )
    (tmp_path / "b.yaml").write_text("list: dprk\nentries:\n  - {name: Rason, type: keyword}\n")
    with pytest.raises(
        WatchlistError, match=r"b\.yaml: list 'dprk' is already defined by .*a\.yaml"
    ):
        load_watchlists(tmp_path)


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="does not exist"):
        load_watchlists(tmp_path / "nope")


def test_slugs_are_stable_ascii() -> None:
    assert slugify("Korean People's Army") == "korean-peoples-army"
    assert slugify("Ким Чен Ын") == slugify("Ким Чен Ын")
    assert slugify("Ким Чен Ын").isascii()
    assert slugify("Maia-1") == "maia-1"


def test_dump_round_trips(tmp_path: Path) -> None:
    entries = load_watchlist_file(REPO / "watchlists" / "dprk.yaml")
    text = dump_watchlist(entries, "dprk")
    path = tmp_path / "dprk.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_watchlist_file(path) == entries
    assert "북한" in text  # unicode kept readable, not escaped


def test_dump_round_trips_mixed_sources(tmp_path: Path) -> None:
    entries = load_watchlists(REPO / "watchlists")
    russia = [e for e in entries if e.list == "russia"]
    assert len({e.source for e in russia}) > 1
    path = tmp_path / "russia.yaml"
    path.write_text(dump_watchlist(russia, "russia"), encoding="utf-8")
    assert load_watchlist_file(path) == russia


# ---------------------------------------------------------------- the shipped default lists


@pytest.fixture(scope="module")
def default_entries() -> list:
    return load_watchlists(REPO / "watchlists")


def test_default_watchlists_load_with_unique_ids(default_entries: list) -> None:
    ids = [e.id for e in default_entries]
    assert len(ids) == len(set(ids))
    assert {e.list for e in default_entries} >= {
        "dprk", "russia", "wagner", "iran", "belarus", "brokers", "weapons", "evasion",
        "transfers", "lookalikes",
    }  # fmt: skip


def _names(entries: list, entity: str) -> set[str]:
    (entry,) = [e for e in entries if e.name == entity]
    return set(entry.names)


@pytest.mark.parametrize(
    ("entity", "forms"),
    [
        ("North Korea", ["DPRK", "КНДР", "Північна Корея", "북한", "Nordkorea", "Corée du Nord",
                         "Corea del Norte", "Corea del Nord", "Korea Północna", "كوريا الشمالية"]),
        ("Russia", ["Россия", "Росія", "러시아", "Russland", "Russie", "Rusia", "Rosja", "روسيا"]),
        ("Belarus", ["Беларусь", "Білорусь", "Weißrussland", "Biélorussie", "Białoruś"]),
        ("Kim Jong Un", ["Ким Чен Ын", "김정은", "Kim Jong-un"]),
        ("Wagner Group", ["ЧВК Вагнер", "Группа Вагнера", "바그너 그룹", "Wagner-Gruppe", "groupe Wagner"]),
        ("artillery shells", ["снаряды", "снарядів", "포탄", "Granaten", "obus", "proyectiles",
                              "pociski", "قذائف"]),
        ("KN-23", ["Hwasong-11", "화성-11"]),
        ("Shahed-136", ["Geran-2", "Герань-2"]),
        ("multiple rocket launchers", ["РСЗО", "MLRS"]),
        ("ballistic missiles", ["баллистические ракеты", "탄도미사일"]),
        ("Rason", ["라선", "Расон", "나진", "Раджин"]),
    ],
)  # fmt: skip
def test_default_lists_cover_required_languages(
    default_entries: list, entity: str, forms: list[str]
) -> None:
    names = _names(default_entries, entity)
    missing = [f for f in forms if f not in names]
    assert not missing, f"{entity}: missing {missing}"


def test_default_entries_cite_sources(default_entries: list) -> None:
    komid = next(e for e in default_entries if "KOMID" in e.aliases)
    assert komid.source_id == "KPe.001" and "UN 1718" in komid.source
    mid = next(e for e in default_entries if e.name == "Munitions Industry Department")
    assert mid.source_id == "KPe.028"
    listed = [e for e in default_entries if e.source.startswith(("OFAC", "UN", "Canada"))]
    assert len(listed) >= 25
    for entry in listed:
        assert entry.source_id, f"{entry.id} cites {entry.source} without a source_id"
