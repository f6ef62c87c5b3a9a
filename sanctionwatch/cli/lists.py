"""``watchlist refresh [NAME]``: download and import the configured ``[[lists]]`` now, and
the list lines of ``status``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from sanctionwatch.cli.common import settings_from_args
from sanctionwatch.cli.progress import Progress
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.runtime import make_poster, open_store
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store


def cmd_refresh(args: argparse.Namespace, out: TextIO) -> int:
    """Every configured list (due or not), or the one named; exit 1 when any failed or was
    refused (the stored version stays in use)."""
    import getpass

    from sanctionwatch.alerting.listjobs import refresh_lists
    from sanctionwatch.watchlists.refresh import check_list_configs

    settings = settings_from_args(args)
    check_list_configs(settings)
    lists = list(settings.lists)
    if args.name:
        lists = [cfg for cfg in lists if cfg.name == args.name]
        if not lists:
            configured = ", ".join(c.name for c in settings.lists) or "none"
            raise SanctionwatchError(
                f"no [[lists]] entry named {args.name!r} in the config",
                hint=f"configured lists: {configured}",
            )
    if not lists:
        print("No lists configured ([[lists]] in the config).", file=out)
        return 0
    store = open_store(settings)
    user = getpass.getuser()
    with Progress("watchlist refresh", len(lists), unit="lists") as progress:
        outcomes = refresh_lists(
            settings,
            store,
            make_poster(settings, out),
            lists,
            actor=Actor(user, user, "cli"),
            progress=lambda done, name: progress.step(f"{name}: downloading and importing", done),
        )
        progress.step("done", len(lists))
    for outcome in outcomes:
        print(f"{outcome.name}: {outcome.status}: {outcome.message}", file=out)
    return 0 if all(o.ok for o in outcomes) else 1


def status_lines(settings: Any, store: Store) -> tuple[list[str], bool]:
    """``lists: …`` lines for ``status``; True when a list failed or is stale."""
    from sanctionwatch.watchlists.refresh import list_health

    if not settings.lists:
        return [], False
    health = list_health(store.db, settings)
    bad = [h for h in health if h.problem]
    lines = [f"lists: {len(health) - len(bad)} current, {len(bad)} failing or stale"]
    lines += [f"  list {h.name!r}: {h.problem}" for h in bad]
    return lines, bool(bad)


def add_list_commands(
    action: Callable[[str, Callable[..., int], str], argparse.ArgumentParser],
) -> None:
    """Called by the ``watchlist`` group with its ``action`` helper."""
    p = action(
        "refresh",
        cmd_refresh,
        "download and import the configured [[lists]] now (all, due or not, or NAME); "
        "the import guards apply, --force never does",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="one [[lists]] name")
