"""Place names from CLDR via babel: `cldr:` in watchlist files, filters and collisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.errors import WatchlistError
from sanctionwatch.watchlists import cldr
from sanctionwatch.watchlists.files import load_watchlist_file, load_watchlists

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def default_entries():  # type: ignore[no-untyped-def]
    return {e.name: e for e in load_watchlists(REPO / "watchlists")}


def test_default_states_carry_every_press_languages_name(default_entries) -> None:  # type: ignore[no-untyped-def]
    dprk = default_entries["North Korea"].aliases
    for name in (
        "Kuzey Kore",
        "Severní Korea",
        "Severná Kórea",
        "北朝鮮",
        "朝鲜",
        "קוריאה הצפונית",
        "उत्तर कोरिया",
        "Βόρεια Κορέα",
        "Kore e Veriut",
        "Põhja-Korea",
        "Triều Tiên",
        "Coreia do Norte",
        "Coreea de Nord",
        "Ziemeļkoreja",
        "ჩრდილოეთ კორეა",
    ):
        assert name in dprk, name
    assert "Россия" in default_entries["Russia"].aliases
    assert "俄罗斯" in default_entries["Russia"].aliases
    assert "CLDR" in default_entries["North Korea"].source
    assert cldr.CLDR_SOURCE in default_entries["Iran"].source
    # South Korea's CLDR names stay on the look-alike, never on North Korea
    assert "Güney Kore" in default_entries["South Korea"].aliases
    assert "Güney Kore" not in dprk and "韓国" not in dprk


def test_filters_drop_ambiguous_names(default_entries) -> None:  # type: ignore[no-untyped-def]
    mali = default_entries["Mali"].aliases
    assert "马里" not in mali  # cldr_exclude: inside 马里兰 (Maryland)
    assert "Malí" in mali
    assert "尼日" not in default_entries["Niger"].aliases  # starts 尼日利亚 (Nigeria)
    for code in ("KP", "SY", "ML"):
        for name in cldr.territory_names(code):
            assert "," not in name and "(" not in name
            letters = [c for c in name if c.isalnum()]
            assert len(letters) >= cldr.MIN_CHARS["ideograph"]
    assert "Siri" not in default_entries["Syria"].aliases  # the assistant, a given name
    assert "Rasha" not in default_entries["Russia"].aliases


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "places.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_collision_with_another_entry_drops_the_cldr_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "entries:\n"
        "  - name: Belarus\n    type: country\n    cldr: BY\n"
        "  - name: Our Belarus keyword\n    type: keyword\n    aliases: [Białoruś]\n",
    )
    by_name = {e.name: e for e in load_watchlist_file(path)}
    assert "Białoruś" not in by_name["Belarus"].aliases  # curated elsewhere: dropped
    assert "Bělorusko" in by_name["Belarus"].aliases
    assert by_name["Our Belarus keyword"].aliases == ("Białoruś",)


def test_two_cldr_entries_sharing_a_name_lose_it_both(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "entries:\n"
        "  - name: Russia\n    type: country\n    cldr: RU\n"
        "  - name: Russia again\n    type: country\n    cldr: [RU]\n",
    )
    a, b = load_watchlist_file(path)
    assert "Россия" not in a.aliases and "Россия" not in b.aliases


def test_unknown_territory_code_names_file_and_entry(tmp_path: Path) -> None:
    path = _write(tmp_path, "entries:\n  - name: Atlantis\n    type: country\n    cldr: XQ\n")
    with pytest.raises(WatchlistError) as err:
        load_watchlist_file(path)
    assert "places.yaml" in str(err.value) and "Atlantis" in str(err.value)
    assert "XQ" in str(err.value)


def test_exclude_without_cldr_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "entries:\n  - name: X\n    type: country\n    cldr_exclude: [Y]\n")
    with pytest.raises(WatchlistError, match="cldr_exclude"):
        load_watchlist_file(path)


def test_bad_language_tag_is_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "entries:\n  - name: drone\n    type: weapon\n    aliases_by_lang: {Drone: [drone]}\n",
    )
    with pytest.raises(WatchlistError, match="not a language tag"):
        load_watchlist_file(path)


def test_snapshot_equals_babel_live_names() -> None:
    """The start-up snapshot must say what babel says; regenerate it after a babel upgrade
    with `python -m sanctionwatch.watchlists.cldr`."""
    import json

    doc = json.loads(cldr.SNAPSHOT.read_text(encoding="utf-8"))
    assert doc["source"] == cldr.CLDR_SOURCE, "run python -m sanctionwatch.watchlists.cldr"
    assert {"KP", "RU", "BY", "IR", "KR", "ML", "TR"} <= set(doc["names"])
    for code, names in doc["names"].items():
        assert tuple(names) == cldr.live_territory_names(code), code


def test_codes_outside_the_snapshot_come_from_babel(tmp_path: Path) -> None:
    assert "GE" not in json_codes()
    path = _write(tmp_path, "entries:\n  - name: Georgia\n    type: country\n    cldr: GE\n")
    (entry,) = load_watchlist_file(path)
    assert "Грузия" in entry.aliases and "საქართველო" in entry.aliases


def json_codes() -> set[str]:
    import json

    return set(json.loads(cldr.SNAPSHOT.read_text(encoding="utf-8"))["names"])
