"""``bot.py lemmas [--build] [--lang CODE]``: the lemma dictionaries and their tries.

Lists, for every language the matcher lemmatises (and English, for the inflection guard),
whether a trie is built (fast look-ups, a few MB) or the stream is read (slow look-ups on
unseen words); ``--build`` builds the missing tries (once: 5-15 s and up to 750 MB each).
See ``matching/lemmadicts.py``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from sanctionwatch.cli.common import print_json
from sanctionwatch.errors import CommandError
from sanctionwatch.matching.lemmadicts import LEMMA_DIR_ENV, build_tries, trie_dir, trie_path
from sanctionwatch.matching.lemmas import lemma_codes

HELP = (
    "show or build the lemma dictionaries' tries (fast look-ups of unseen words;"
    f" folder: ${LEMMA_DIR_ENV} or simplemma's cache)"
)


def cmd_lemmas(args: argparse.Namespace, out: TextIO) -> int:
    folder = trie_dir()
    known = lemma_codes()
    codes = known
    if args.lang:
        wrong = sorted(set(args.lang) - set(known))
        if wrong:
            raise CommandError(
                f"--lang: not a lemmatised language: {', '.join(wrong)}",
                hint=f"one of: {' '.join(known)}",
            )
        codes = [c for c in known if c in args.lang]
    built = {b.code: b for b in build_tries(codes, folder)} if args.build else {}
    rows = []
    for code in codes:
        path = trie_path(folder, code)
        b = built.get(code)
        rows.append(
            {
                "lang": code,
                "trie": path.is_file(),
                "path": str(path),
                "size_mb": round(path.stat().st_size / 1e6, 1) if path.is_file() else 0.0,
                "built_now": bool(b and b.built),
                "build_s": round(b.seconds, 1) if b else 0.0,
            }
        )
    if args.json:
        print_json({"folder": str(folder), "languages": rows}, out)
        return 0
    print(f"lemma tries in {folder}", file=out)
    for r in rows:
        state = (
            f"trie {r['size_mb']:.1f} MB" if r["trie"] else "stream (no trie: slow on new words)"
        )
        extra = f", built now in {r['build_s']:.1f}s" if r["built_now"] else ""
        print(f"  {r['lang']:<4} {state}{extra}", file=out)
    missing = sum(1 for r in rows if not r["trie"])
    if missing:
        print(f"{missing} without a trie: `python bot.py lemmas --build` builds them", file=out)
    return 0


def add_lemmas_command(
    command: Callable[[str, Callable[..., int], str], argparse.ArgumentParser],
) -> None:
    p = command("lemmas", cmd_lemmas, HELP)
    p.add_argument("--build", action="store_true", help="build the missing tries")
    p.add_argument(
        "--lang",
        action="append",
        metavar="CODE",
        help="only this simplemma language code (repeatable; default: all lemmatised ones)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document")
