"""``bot.py story ID [--json]``: why items were joined into one story (or started a new one).

The logic is alerting/storyexplain.py, shared with ``/watchlist story``; this prints it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from sanctionwatch.alerting.storyexplain import USAGE, explain_story
from sanctionwatch.alerting.storyview import render_text
from sanctionwatch.cli.common import print_json, settings_from_args
from sanctionwatch.errors import CommandError
from sanctionwatch.runtime import open_store

HELP = (
    "explain a story: its items (outlet, title, link, language, when), which one posted, and"
    " why each was joined (text similarity, shared entities, thresholds, window)"
)


def cmd_story(args: argparse.Namespace, out: TextIO) -> int:
    settings = settings_from_args(args)
    if not settings.database.exists():
        raise CommandError(f"no database at {settings.database}", hint="run `bot.py run` first")
    store = open_store(settings)
    try:
        expl = explain_story(store, args.id, settings.story_window_hours)
    finally:
        store.close()
    if args.json:
        print_json(expl.to_json(), out)
    else:
        print(render_text(expl), file=out)
    return 0


def add_story_command(
    command: Callable[[str, Callable[..., int], str], argparse.ArgumentParser],
) -> None:
    p = command("story", cmd_story, HELP)
    p.add_argument("id", metavar="ID", help=USAGE)
    p.add_argument("--json", action="store_true", help="one JSON document")
