"""The formats added for issue 14: Canada SEMA XML, OFAC Consolidated XML and CSV, and
OpenSanctions FollowTheMoney JSON lines. Small fixtures cut from the real files (see
tests/fixtures/lists/README.md), plus the real files in /work/shared when present."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from sanctionwatch.errors import ImportFormatError
from sanctionwatch.models import ENTRY_TYPES, Entry
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.imported import import_list, load_imported
from sanctionwatch.watchlists.importers import read_list
from tests.support.pipeline import run_cli, write_config

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "lists"
REAL = Path("/work/shared/data/sanctions")


def by_source_id(entries: list[Entry]) -> dict[str, Entry]:
    return {e.source_id: e for e in entries}


def test_canada_fixture_counts_types_programmes_aliases() -> None:
    parsed = read_list("canada-sema-xml", FIX / "canada" / "sema.xml", "canada-sema")
    entries = by_source_id(parsed.entries)
    assert len(entries) == 7
    assert Counter(e.type for e in entries.values()) == {
        "person": 4,
        "organisation": 2,
        "vessel": 1,
    }
    luka = entries["Belarus/1, Part 1/8"]
    assert luka.name == "Aleksandr Grigoryevich Lukashenko"
    assert luka.id == "canada-sema:sema-belarus-1-part-1-8"
    assert luka.programs == ("SEMA-BELARUS",)
    assert "DOB: 1954-08-30" in luka.notes
    mash = entries["Belarus/1, Part 1/99"]
    # language labels stripped, original script kept, comma list split
    assert "Руслан Хикметович МАШАДИЕВ" in mash.aliases
    assert "Ruslan Khikmetovich MASHADIYEV" in mash.aliases
    assert not any(a.startswith(("Russian", "Belarusian")) for a in mash.aliases)
    ship = entries["Russia/1.1/1"]
    assert ship.type == "vessel" and "IMO: 7612448" in ship.notes
    # the JVCFOR regulation is a programme of its own, distinct from Venezuela's SEMA entry
    maduro = [e for e in entries.values() if e.name == "Nicolás MADURO MOROS"]
    assert sorted(p for e in maduro for p in e.programs) == ["JVCFOR", "SEMA-VENEZUELA"]
    assert len({e.id for e in maduro}) == 2
    assert parsed.version.kind == "DateOfListing" and parsed.version.value == "2025-02-21"


def test_ofac_consolidated_xml_fixture() -> None:
    parsed = read_list(
        "ofac-consolidated-xml", FIX / "ofac_consolidated" / "consolidated.xml", "ofac-cons"
    )
    entries = by_source_id(parsed.entries)
    assert set(entries) == {"9639", "15268", "9647", "30882"}
    haniya = entries["9639"]
    assert haniya.name == "Ismail Abdul Salah HANIYA"
    assert haniya.type == "person" and haniya.source == "OFAC Consolidated"
    assert {"HANIYA, Ismail Abdul Salah", "Ismaeel HANIYYA"} <= set(haniya.aliases)
    bank = entries["15268"]
    assert bank.type == "organisation"
    assert bank.programs == ("561-Related",)
    assert "KARAMAY URBAN CREDIT COOPERATIVES" in bank.aliases
    assert "SWIFT/BIC CKLBCNBJ" in bank.notes and "CKLBCNBJ" not in bank.aliases
    zahhar = entries["9647"]
    assert set(zahhar.programs) == {"SDGT", "NS-PLC"}
    assert parsed.version.kind == "Publish_Date" and parsed.version.value == "2025-03-28"


def test_ofac_consolidated_xml_weak_akas_kept_out_of_names() -> None:
    parsed = read_list(
        "ofac-consolidated-xml", FIX / "ofac_consolidated" / "consolidated.xml", "ofac-cons"
    )
    weak = [e for e in parsed.entries if "Weak a.k.a." in e.notes]
    assert weak, "the fixture holds an entry with a weak aka"
    for entry in weak:
        listed = entry.notes.split("Weak a.k.a.: ")[1].split(";")[0]
        assert listed not in entry.aliases


def test_ofac_consolidated_xml_record_count_mismatch_is_an_error(tmp_path: Path) -> None:
    text = (FIX / "ofac_consolidated" / "consolidated.xml").read_text(encoding="utf-8")
    cut = text[: text.rindex("  <sdnEntry>")] + "</sdnList>\n"
    path = tmp_path / "consolidated.xml"
    path.write_text(cut, encoding="utf-8")
    with pytest.raises(ImportFormatError, match="Record_Count says 4 entries but the file holds 3"):
        read_list("ofac-consolidated-xml", path, "ofac-cons")


def test_ofac_consolidated_xml_html_page_refused(tmp_path: Path) -> None:
    path = tmp_path / "consolidated.xml"
    path.write_text("<html><body>503</body></html>", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="root is <html>"):
        read_list("ofac-consolidated-xml", path, "ofac-cons")


def test_ofac_consolidated_csv_fixture_with_cons_alt() -> None:
    parsed = read_list(
        "ofac-consolidated-csv", FIX / "ofac_consolidated_csv" / "cons_prim.csv", "ofac-cons"
    )
    entries = by_source_id(parsed.entries)
    assert len(entries) == 4
    assert entries["9639"].source == "OFAC Consolidated"
    assert "HANIYYA, Ismaeel" in entries["9639"].aliases  # from cons_alt.csv
    assert "AL-ZAHAR, Mahmoud" in entries["9647"].aliases  # from Remarks
    assert [f.path.rsplit("/", 1)[-1] for f in parsed.files] == ["cons_prim.csv", "cons_alt.csv"]
    assert parsed.version.kind == "max-ent-num" and parsed.version.value == "30882"


def test_ftm_targets_programmes_and_aliases() -> None:
    parsed = read_list("opensanctions-ftm", FIX / "ftm" / "entities.ftm.json", "os")
    entries = by_source_id(parsed.entries)
    # the non-target relative, the Sanction and the Address are not entries
    assert set(entries) == {"NK-vekselberg", "NK-renova", "NK-chongchongang", "NK-epgom"}
    vv = entries["NK-vekselberg"]
    assert vv.name == "Viktor Feliksovich Vekselberg" and vv.type == "person"
    assert "Виктор Феликсович Вексельберг" in vv.aliases
    assert "Vitya" not in vv.aliases and "Weak alias: Vitya" in vv.notes
    assert vv.programs == ("US-RUSSIA-EO13661",)  # from the separate Sanction entity
    assert "sanction" in vv.tags
    assert entries["NK-renova"].programs == ("US-RUSSIA-EO13662",)  # nested sanction
    assert "Renova Holding" in entries["NK-renova"].aliases
    assert entries["NK-epgom"].strict and "aircraft" in entries["NK-epgom"].tags
    assert all(e.type in ENTRY_TYPES for e in entries.values())
    assert parsed.version.kind == "last_seen" and parsed.version.value == "2025-05-01T06:10:03"


def test_ftm_broken_line_names_the_line(tmp_path: Path) -> None:
    lines = (FIX / "ftm" / "entities.ftm.json").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "entities.ftm.json"
    path.write_text("\n".join([*lines[:2], lines[2][:40]]) + "\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="line 3: not JSON"):
        read_list("opensanctions-ftm", path, "os")


@pytest.mark.parametrize(
    ("fmt", "path", "count"),
    [
        ("canada-sema-xml", FIX / "canada" / "sema.xml", 7),
        ("ofac-consolidated-xml", FIX / "ofac_consolidated" / "consolidated.xml", 4),
        ("ofac-consolidated-csv", FIX / "ofac_consolidated_csv" / "cons_prim.csv", 4),
        ("opensanctions-ftm", FIX / "ftm" / "entities.ftm.json", 4),
    ],
)
def test_watchlist_import_accepts_new_formats(
    tmp_path: Path, fmt: str, path: Path, count: int
) -> None:
    store = Store(tmp_path / "sw.db")
    report = import_list(store.db, fmt, path, "listed")
    assert report.total == count and len(report.added) == count
    assert len(load_imported(store.db)) == count
    # a second import of the same file changes nothing
    again = import_list(store.db, fmt, path, "listed")
    assert (len(again.added), len(again.removed), len(again.changed)) == (0, 0, 0)
    store.close()


def test_cli_watchlist_import_format(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[])
    code, out = run_cli(
        [
            "watchlist",
            "import",
            "--config",
            str(config),
            "--format",
            "canada-sema-xml",
            str(FIX / "canada" / "sema.xml"),
        ]
    )
    assert code == 0
    assert "canada-sema: 7 entries" in out


# ---- the real files ----------------------------------------------------------------------


def _real(path: str) -> Path:
    full = REAL / path
    if not full.is_file():
        pytest.skip(f"{full} not present")
    return full


def test_real_canada_file() -> None:
    parsed = read_list("canada-sema-xml", _real("canada/cannada.xml"), "canada-sema")
    assert len(parsed.entries) == 4759  # SOURCES.md: 4,759 records
    counts = Counter(e.programs[0] for e in parsed.entries)
    assert counts["SEMA-RUSSIA"] == 2426
    assert parsed.version.value == "2025-03-20"


def test_real_ofac_consolidated_files(tmp_path: Path) -> None:
    xml = read_list("ofac-consolidated-xml", _real("ofac_consolidated/consolidated.xml"), "c")
    assert len(xml.entries) == 443
    assert Counter(e.type for e in xml.entries) == {"organisation": 363, "person": 80}
    csv_copy = tmp_path / "cons_prim.csv"
    shutil.copy(_real("ofac_consolidated/OFAC.csv"), csv_copy)
    csv = read_list("ofac-consolidated-csv", csv_copy, "c")
    assert len(csv.entries) == 443
    # both publications name the same designations by the same ids
    assert {e.source_id for e in csv.entries} == {e.source_id for e in xml.entries}
