"""Where the bundled defaults live: the demo feed, the default watchlists and rules.

The top-level ``watchlists/`` and ``rules/`` folders of the repository are the single source.
A wheel carries a copy of them inside the package, as ``sanctionwatch/defaults/watchlists``
and ``sanctionwatch/defaults/rules`` (``setup.py``'s build step puts them there), so an
installed ``sanctionwatch`` works from any folder. Run from a checkout (``PYTHONPATH`` or an
editable install) there is no such copy and the checkout's own folders are used.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PACKAGE_DIR.parent
# Name of the folder inside the package that holds the bundled data in a wheel.
BUNDLE = "defaults"


def bundled(name: str) -> Path:
    """The bundled folder or file ``name``: the installed package data, else the checkout's.

    ``importlib.resources`` answers for the package as imported (a wheel is installed
    unpacked, so the answer is a real path); a checkout has only the top-level folder.
    """
    resource = files("sanctionwatch") / BUNDLE / name
    if isinstance(resource, Path) and resource.exists():
        return resource
    return REPO_ROOT / name


DEFAULT_WATCHLISTS = bundled("watchlists")
DEFAULT_RULES = bundled("rules")
DEMO_FEED = PACKAGE_DIR / BUNDLE / "demo_feed.xml"
