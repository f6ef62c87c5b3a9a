"""Parsing official sanctions lists (OFAC SDN CSV, UN XML, OpenSanctions CSV) into entries."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sanctionwatch.errors import ImportFormatError
from sanctionwatch.models import ENTRY_TYPES, Entry
from sanctionwatch.watchlists.importers import FORMATS, ImportReport, parse_list
from tests.support.paths import FIXTURES

FIX = FIXTURES / "lists"
REAL = Path("/work/shared/data/sanctions")


def by_source_id(entries: list[Entry]) -> dict[str, Entry]:
    return {e.source_id: e for e in entries}


# ---- OFAC SDN -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ofac() -> dict[str, Entry]:
    return by_source_id(parse_list("ofac-sdn", FIX / "ofac" / "sdn.csv", "ofac-sdn"))


def test_ofac_counts_ids_and_source(ofac: dict[str, Entry]) -> None:
    # 15 rows in sdn.csv; alt.csv also holds ent_num 4642, which must not become an entry
    assert len(ofac) == 15
    assert "4642" not in ofac
    kim = ofac["12211"]
    assert kim.id == "ofac-sdn:12211"
    assert kim.list == "ofac-sdn"
    assert kim.source == "OFAC SDN"
    assert all(e.type in ENTRY_TYPES for e in ofac.values())


def test_ofac_individual_natural_order_with_inverted_alias(ofac: dict[str, Entry]) -> None:
    kim = ofac["12211"]
    assert kim.name == "Yong Chol KIM"
    assert kim.type == "person"
    assert kim.aliases[0] == "KIM, Yong Chol"
    # alt.csv aliases come in both orders
    assert {"KIM, Young-Chol", "Young-Chol KIM", "Young-Chul KIM"} <= set(kim.aliases)
    assert ofac["20157"].name == "Jong Un KIM"
    assert ofac["20157"].tags == ("dprk3", "person")
    assert ofac["20157"].programs == ("DPRK3",)
    assert "Chairman of the Workers' Party of Korea" in ofac["20157"].notes


def test_ofac_name_suffix_goes_last(ofac: dict[str, Entry]) -> None:
    delos = ofac["10851"]
    assert delos.name == "Feliciano Semborio DELOS REYES Jr."
    assert "DELOS REYES, Feliciano Semborio, Jr." in delos.aliases


def test_ofac_remarks_aka_aliases(ofac: dict[str, Entry]) -> None:
    assert ofac["306"].aliases == ("NATIONAL BANK OF CUBA", "BNC")
    # an inverted a.k.a. of an individual is also put in natural order
    assert {"Ivan Oleksandrovich MASLOV", "MASLOV, Ivan Oleksandrovich"} <= set(
        ofac["40969"].aliases
    )
    rodriguez = ofac["4108"].aliases
    assert "DOCTOR M.R.O." in rodriguez  # dots inside the quotes survive
    assert "PAT" in rodriguez and "MIKE" in rodriguez
    flight = ofac["43113"].aliases
    assert {"224TH FLIGHT UNIT", "224 FU JSC", "OAO 224 LO", "LYOTNY OTRYAD 224"} <= set(flight)


def test_ofac_latin1_bytes_decode(ofac: dict[str, Entry]) -> None:
    # the fixture holds the Latin-1 byte \xd1 (Ñ); it must not be mangled or rejected
    assert "EL SEÑOR" in ofac["4108"].aliases


def test_ofac_programs_split_and_lowercase_tags(ofac: dict[str, Entry]) -> None:
    wagner = ofac["22543"]
    assert wagner.programs == ("TCO", "UKRAINE-EO13660", "CAR", "RUSSIA-EO14024")
    assert wagner.tags == ("tco", "ukraine-eo13660", "car", "russia-eo14024", "organisation")
    assert wagner.type == "organisation"
    assert "WAGNER GROUP" in wagner.aliases and "PMC WAGNER" in wagner.aliases
    assert ofac["15771"].programs == ("NPWMD", "DPRK2")


def test_ofac_vessels_and_aircraft(ofac: dict[str, Entry]) -> None:
    ship = ofac["17069"]
    assert (ship.name, ship.type, ship.tags) == ("CHONG CHON GANG", "vessel", ("dprk", "vessel"))
    assert "IMO 7937317" in ship.notes
    assert "Vessel type: General Cargo" in ship.notes
    assert "Flag: Democratic People's Republic of Korea" in ship.notes
    assert not ship.strict
    assert ofac["27408"].aliases == ("ASIA BRIDGE 2",)  # an fka from alt.csv
    plane = ofac["15431"]
    assert (plane.type, plane.tags, plane.strict) == ("vessel", ("sdgt", "aircraft"), True)


def test_ofac_null_marker_never_leaks(ofac: dict[str, Entry]) -> None:
    for e in ofac.values():
        assert "-0-" not in e.notes
        assert all("-0-" not in n for n in e.names)
        assert e.name == e.name.strip() and e.name


def test_ofac_without_alt_csv_uses_remarks_only(tmp_path: Path) -> None:
    shutil.copy(FIX / "ofac" / "sdn.csv", tmp_path / "sdn.csv")
    entries = by_source_id(parse_list("ofac-sdn", tmp_path / "sdn.csv", "x"))
    assert entries["306"].aliases == ("BNC",)
    assert entries["12211"].aliases == ("KIM, Yong Chol",)
    assert entries["306"].id == "x:306"


def test_ofac_header_row_is_tolerated(tmp_path: Path) -> None:
    header = b"ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks\r\n"
    (tmp_path / "sdn.csv").write_bytes(header + (FIX / "ofac" / "sdn.csv").read_bytes())
    assert len(parse_list("ofac-sdn", tmp_path / "sdn.csv", "x")) == 15


# ---- UN -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def un() -> dict[str, Entry]:
    return by_source_id(parse_list("un-xml", FIX / "un" / "UN.xml", "un"))


def test_un_records(un: dict[str, Entry]) -> None:
    assert sorted(un) == sorted(
        ["TAi.005", "KPi.024", "KPi.033", "KPi.035", "QDe.004", "QDe.131", "KPe.001"]
    )
    ri = un["KPi.033"]
    assert (ri.id, ri.name, ri.type, ri.source) == ("un:KPi.033", "RI WON HO", "person", "UN")
    assert ri.programs == ("DPRK",)
    assert ri.tags == ("dprk", "person")
    assert ri.aliases == ()  # the record's alias element is empty
    assert "DPRK Ministry of State Security Official" in ri.notes
    assert "1964-07-17" in ri.notes
    komid = un["KPe.001"]
    assert komid.type == "organisation"
    assert komid.tags == ("dprk", "organisation")
    assert "KOMID" in komid.aliases  # published as "KOMID" with quotes
    assert "CHANGGWANG SINYONG CORPORATION" in komid.aliases


def test_un_original_script_and_alias_quality(un: dict[str, Entry]) -> None:
    anwari = un["TAi.005"]
    assert anwari.name == "MUHAMMAD TAHER ANWARI"
    assert "محمد طاهر أنوري" in anwari.aliases
    assert "Muhammad Tahir Anwari" in anwari.aliases
    # UN "Low" quality alias: kept for the analyst, never matched
    assert "Haji Mudir" not in anwari.aliases
    assert "Low-quality a.k.a.: Haji Mudir" in anwari.notes
    assert "Эмират Кавказ" in un["QDe.131"].aliases
    # "Jin Tiesan (金铁三)" yields both the romanised and the original-script name
    assert {"Jin Tiesan", "金铁三"} <= set(un["KPi.035"].aliases)
    assert "القاعدة" in un["QDe.004"].aliases
    assert un["QDe.004"].programs == ("Al-Qaida",)


# ---- OpenSanctions --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def osx() -> dict[str, Entry]:
    return by_source_id(
        parse_list("opensanctions-csv", FIX / "opensanctions" / "targets.simple.csv", "os")
    )


def test_opensanctions_types_aliases_programs(osx: dict[str, Entry]) -> None:
    assert len(osx) == 8
    kim = osx["Q56226"]
    assert (kim.id, kim.name, kim.type, kim.source) == (
        "os:Q56226",
        "Kim Jong Un",
        "person",
        "OpenSanctions",
    )
    assert {"김정은", "Ким Чен Ын", "Kim Jong-un"} <= set(kim.aliases)
    assert "KIM Jong Un" not in kim.aliases  # same as the name, ignoring case
    assert kim.programs == ("US-DPRK3", "EU-PRK")
    assert kim.tags == ("us-dprk3", "eu-prk", "person")
    assert "DOB: 1984-01-08" in kim.notes
    types = {sid: (e.type, e.tags[-1], e.strict) for sid, e in osx.items()}
    assert types["NK-wagner1"] == ("organisation", "organisation", False)
    assert types["NK-komid"] == ("organisation", "organisation", False)
    assert types["NK-legal1"] == ("organisation", "organisation", False)
    assert types["NK-vessel1"] == ("vessel", "vessel", False)
    assert types["NK-plane1"] == ("vessel", "aircraft", True)
    assert types["NK-other1"] == ("organisation", "organisation", False)
    assert "IMO 7937317" in osx["NK-vessel1"].notes
    # no program_ids: fall back to the sanctions column; neither: no programmes
    assert osx["NK-other1"].programs == ("Council Regulation (EU) 269/2014",)
    assert osx["NK-legal1"].programs == ()


# ---- errors ---------------------------------------------------------------------------------


def expect_error(fmt: str, path: Path, *needles: str) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as info:
        parse_list(fmt, path, "x")
    message = str(info.value)
    assert str(path) in message
    assert fmt in message
    for needle in needles:
        assert needle in message
    return info.value


def test_empty_files(tmp_path: Path) -> None:
    expect_error("ofac-sdn", FIX / "ofac_empty" / "sdn.csv", "empty file")
    (tmp_path / "eof_only.csv").write_bytes(b"\r\n\x1a")
    expect_error("ofac-sdn", tmp_path / "eof_only.csv", "empty file")
    (tmp_path / "UN.xml").write_bytes(b"")
    expect_error("un-xml", tmp_path / "UN.xml", "empty file")
    (tmp_path / "t.csv").write_text("")
    err = expect_error("opensanctions-csv", tmp_path / "t.csv", "empty file")
    assert "previous version" in err.hint


def test_missing_file(tmp_path: Path) -> None:
    expect_error("un-xml", tmp_path / "nope.xml", "file not found")


def test_ofac_truncated(tmp_path: Path) -> None:
    expect_error(
        "ofac-sdn",
        FIX / "ofac_truncated" / "sdn.csv",
        "line 9: expected 12 columns, got 5 (truncated download?)",
    )
    # cut inside a quoted Remarks field
    data = (FIX / "ofac" / "sdn.csv").read_bytes()
    cut = data.index(b"Secondary sanctions risk")
    (tmp_path / "sdn.csv").write_bytes(data[:cut])
    expect_error("ofac-sdn", tmp_path / "sdn.csv", "malformed CSV", "truncated download?")


def test_ofac_broken_alt_csv_is_an_error(tmp_path: Path) -> None:
    shutil.copy(FIX / "ofac" / "sdn.csv", tmp_path / "sdn.csv")
    (tmp_path / "alt.csv").write_bytes(b'306,220,"aka","NATIONAL BANK OF CUBA",-0- \r\n306,221\r\n')
    with pytest.raises(ImportFormatError) as info:
        parse_list("ofac-sdn", tmp_path / "sdn.csv", "x")
    assert f"{tmp_path / 'alt.csv'}: line 2: expected 5 columns, got 2" in str(info.value)


def test_ofac_wrong_format_inputs(tmp_path: Path) -> None:
    expect_error("ofac-sdn", FIX / "un" / "UN.xml", "XML/HTML")
    expect_error("ofac-sdn", FIX / "bad" / "error_page.html", "XML/HTML")
    expect_error(
        "ofac-sdn", FIX / "opensanctions" / "targets.simple.csv", "line 1: expected 12 columns"
    )
    rows = (FIX / "ofac" / "sdn.csv").read_bytes().split(b"\r\n")
    (tmp_path / "dup.csv").write_bytes(b"\r\n".join([rows[0], rows[1], rows[0]]))
    expect_error("ofac-sdn", tmp_path / "dup.csv", "line 3: duplicate ent_num 306")
    (tmp_path / "alpha.csv").write_bytes(rows[0].replace(b"306,", b"abc,", 1))
    expect_error("ofac-sdn", tmp_path / "alpha.csv", "ent_num 'abc' is not a number")


def test_un_corrupted_copy(tmp_path: Path) -> None:
    expect_error("un-xml", FIX / "bad" / "un_corrupted.xml", "not well-formed XML at line 53")
    expect_error("un-xml", FIX / "bad" / "un_truncated.xml", "not well-formed XML")
    expect_error("un-xml", FIX / "bad" / "error_page.html", "root is <html>")
    expect_error("un-xml", FIX / "ofac" / "sdn.csv", "not well-formed XML")
    (tmp_path / "doc.xml").write_text("<!DOCTYPE html>\n<html><body>error</body></html>")
    expect_error("un-xml", tmp_path / "doc.xml", "DOCTYPE")


def test_un_refuses_entity_expansion(tmp_path: Path) -> None:
    # a "billion laughs"-style file must be refused, never expanded
    (tmp_path / "bomb.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE CONSOLIDATED_LIST [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&b;</FIRST_NAME>"
        "<REFERENCE_NUMBER>X.1</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(ImportFormatError):
        parse_list("un-xml", tmp_path / "bomb.xml", "x")


def test_zero_entries_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "UN.xml").write_text(
        "<CONSOLIDATED_LIST><INDIVIDUALS/><ENTITIES/></CONSOLIDATED_LIST>"
    )
    expect_error("un-xml", tmp_path / "UN.xml", "no list entries")
    (tmp_path / "t.csv").write_text("id,schema,name,aliases\n")
    expect_error("opensanctions-csv", tmp_path / "t.csv", "no list entries")


def test_opensanctions_errors(tmp_path: Path) -> None:
    expect_error(
        "opensanctions-csv", FIX / "ofac" / "sdn.csv", "not an OpenSanctions targets.simple.csv"
    )
    lines = (FIX / "opensanctions" / "targets.simple.csv").read_text("utf-8").splitlines()
    (tmp_path / "short.csv").write_text("\n".join([*lines[:4], "NK-9,Person,Someone\n"]))
    expect_error(
        "opensanctions-csv",
        tmp_path / "short.csv",
        "line 5: expected 16 columns, got 3 (truncated download?)",
    )
    text = "\n".join(lines)
    (tmp_path / "cut.csv").write_text(text[: text.index("UN Libya panel")])
    expect_error("opensanctions-csv", tmp_path / "cut.csv", "malformed CSV")
    (tmp_path / "dup.csv").write_text("\n".join([lines[0], lines[1], lines[1]]))
    expect_error("opensanctions-csv", tmp_path / "dup.csv", "line 3: duplicate id Q56226")


def test_unknown_format() -> None:
    with pytest.raises(ImportFormatError) as info:
        parse_list("eu-xml", FIX / "un" / "UN.xml", "x")
    assert "eu-xml" in str(info.value)
    assert all(f in info.value.hint for f in FORMATS)


def test_report_summary() -> None:
    e = Entry(id="a:1", name="A", type="person", list="a")
    report = ImportReport(
        list_name="ofac",
        fmt="ofac-sdn",
        source_file="sdn.csv",
        total=12345,
        added=[e] * 12,
        removed=[e] * 3,
        changed=[(e, e)] * 7,
        imported_at=datetime(2024, 5, 3, tzinfo=UTC),
    )
    assert report.summary() == "ofac: 12,345 entries (+12 added, -3 removed, ~7 changed)"


# ---- real files (quick: about a second together) --------------------------------------------


@pytest.mark.skipif(not REAL.is_dir(), reason="real sanctions data not present")
def test_real_lists_smoke() -> None:
    ofac = parse_list("ofac-sdn", REAL / "ofac" / "sdn.csv", "ofac-sdn")
    assert len(ofac) == 14965  # SOURCES.md: 14,965 data rows
    assert sum(e.type == "person" for e in ofac) == 6854
    assert sum("aircraft" in e.tags for e in ofac) == 376
    un = parse_list("un-xml", REAL / "un" / "UN.xml", "un")
    assert len(un) == 684 + 193
    assert sum(e.programs == ("DPRK",) for e in un) == 155
    with pytest.raises(ImportFormatError, match="line 53"):
        parse_list("un-xml", REAL / "un" / "corrupted_copy" / "consolidated.xml", "un")
