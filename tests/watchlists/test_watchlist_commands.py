"""watchlists/commands.py: the one implementation of add/remove/list/show both Slack and the
terminal render; results are data, refusals carry the reason, nothing is formatted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.config.settings import DEFAULT_WATCHLISTS
from sanctionwatch.errors import CommandError, EditError, ReviewError, SanctionwatchError
from sanctionwatch.models import Entry
from sanctionwatch.slackapp.commands import render
from sanctionwatch.storage.audit import Actor, audit_rows
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists import commands
from sanctionwatch.watchlists.commands import (
    Added,
    AddRequest,
    Holders,
    ListEntries,
    Lists,
    Refused,
    Removed,
)
from sanctionwatch.watchlists.overlay import baseline_entries

CAROL = Actor("carol", "carol", "cli")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "sw.db")


@pytest.fixture
def baseline(store: Store) -> list[Entry]:
    return baseline_entries(DEFAULT_WATCHLISTS, store.db)


def test_parse_add_reads_options_aliases_and_refuses_with_usage() -> None:
    parsed = commands.parse_add("Brokers type=PERSON tags=DPRK, Jon Q Example | J. Q. Example |")
    assert parsed == AddRequest("Brokers", "Jon Q Example", ("J. Q. Example",), "person", ("dprk",))
    assert commands.parse_add("vessels") == Refused(usage=commands.ADD_USAGE)
    assert commands.parse_add("vessels type=vessel |") == Refused(
        "Which name?", usage=commands.ADD_NAME_USAGE
    )
    assert commands.split_remove("vessels Sky Aries") == ("vessels", "Sky Aries")
    assert commands.split_remove("vessels") == Refused(usage=commands.REMOVE_USAGE)


def test_add_list_show_remove_return_data(store: Store, baseline: list[Entry]) -> None:
    added = commands.add(store, baseline, CAROL, AddRequest("vessels", "Sky Aries", (), None, None))
    assert isinstance(added, Added) and not added.created_list
    assert added.entry.type == "vessel" and added.entry.added_by == "carol"

    entries = commands.current_entries(store, baseline)
    summary = commands.lists(entries)
    assert isinstance(summary, Lists)
    vessels = next(c for c in summary.lists if c.name == "vessels")
    assert (vessels.entries, vessels.from_slack) == (4, 1)
    assert [c.name for c in summary.lists] == sorted(c.name for c in summary.lists)

    listed = commands.list_entries(entries, "VESSELS")
    assert isinstance(listed, ListEntries) and listed.new_type == "vessel"
    assert "Sky Aries" in [e.name for e in listed.entries]
    shown = commands.show(entries, "  sky   aries ")
    assert isinstance(shown, Holders) and shown.name == "sky aries"
    assert [e.list for e in shown.entries] == ["vessels"]
    assert commands.show(entries, "Nobody Here At All") == Holders("Nobody Here At All", ())

    removed = commands.remove(store, baseline, CAROL, "vessels", "sky aries")
    assert isinstance(removed, Removed) and removed.entry.name == "Sky Aries"
    assert [r["action"] for r in audit_rows(store.db)] == ["watchlist.add", "watchlist.remove"]


def test_refusals_carry_the_reason_and_change_nothing(store: Store, baseline: list[Entry]) -> None:
    duplicate = commands.add(
        store, baseline, CAROL, AddRequest("vessels", "angara", (), None, None)
    )
    assert isinstance(duplicate, Refused) and "already in list 'vessels'" in duplicate.reason
    from_file = commands.remove(store, baseline, CAROL, "vessels", "Angara")
    assert isinstance(from_file, Refused) and "pull request" in from_file.reason
    missing = commands.list_entries(commands.current_entries(store, baseline), "nolist")
    assert isinstance(missing, Refused) and missing.reason.startswith("There is no list 'nolist'")
    assert "`vessels`" in missing.reason
    assert commands.show([], "   ") == Refused(usage=commands.SHOW_USAGE)
    assert audit_rows(store.db) == []


def test_slack_rendering_escapes_reason_and_names_the_command() -> None:
    assert render(Refused("<!channel> & co", usage="show <name>")) == (
        ":warning: &lt;!channel&gt; &amp; co Usage: `/watchlist show &lt;name&gt;`"
    )


def test_cut_keeps_what_fits_and_counts_the_rest() -> None:
    assert commands.cut(["a", "b", "c"], max_lines=2) == (["a", "b"], 1)
    assert commands.cut(["aaaa", "bbbb"], max_lines=10, max_chars=6) == (["aaaa"], 1)
    assert commands.cut(["a"], max_lines=1) == (["a"], 0)


def test_command_errors_are_one_family_under_the_root() -> None:
    for cls in (EditError, ReviewError):
        assert issubclass(cls, CommandError) and issubclass(cls, SanctionwatchError)
    assert EditError("x").exit_code == 1
