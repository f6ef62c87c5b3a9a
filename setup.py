"""Build hook: copy the top-level ``watchlists/`` and ``rules/`` folders into the wheel.

They stay the single source in the repository (analysts edit them there, pull requests
diff them there); the wheel gets them as package data under ``sanctionwatch/defaults/``,
where ``sanctionwatch.config.defaults`` finds them with ``importlib.resources``. An editable
install needs no copy: the code falls back to the checkout's folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# Top-level folders shipped as package data, and the file kinds in them that are read.
BUNDLED_FOLDERS = ("watchlists", "rules")
BUNDLED_SUFFIXES = (".yaml", ".yml", ".md")


class BuildWithDefaults(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's folders are used directly
        for name in BUNDLED_FOLDERS:
            source = HERE / name
            target = Path(self.build_lib) / "sanctionwatch" / "defaults" / name
            if target.exists():
                shutil.rmtree(target)
            for path in sorted(source.rglob("*")):
                if path.is_file() and path.suffix in BUNDLED_SUFFIXES:
                    dest = target / path.relative_to(source)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, dest)


setup(cmdclass={"build_py": BuildWithDefaults})
