"""A regular (non-editable) install carries its defaults: the wheel is built from a copy of
the checkout, installed into a fresh venv, the copy removed, and the console script run from
an empty folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What a clean clone does not have: caches, build output, databases.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "*.db*"
)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SANCTIONWATCH"))}
    env.pop("PYTHONPATH", None)  # the installed package only, never the checkout
    env["HOME"] = str(tmp)
    return env


@pytest.mark.slow
def test_wheel_installs_with_defaults_and_runs_from_an_empty_folder(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(REPO, clone, ignore=NOT_IN_A_CLONE)
    wheels = tmp_path / "wheels"
    env = _env(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q"]
        + ["-w", str(wheels), str(clone)],
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    (wheel,) = wheels.glob("sanctionwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sanctionwatch/defaults/watchlists/dprk.yaml" in names
    assert "sanctionwatch/defaults/rules/dprk_russia_arms.yaml" in names
    assert "sanctionwatch/defaults/demo_feed.xml" in names
    # single source: the repository holds no second copy of the data inside the package
    assert not (REPO / "sanctionwatch" / "defaults" / "watchlists").exists()

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
        env=env,
        timeout=120,
    )
    shutil.rmtree(clone)  # the checkout is gone: only the installed package is left
    empty = tmp_path / "empty"
    empty.mkdir()
    script = env_dir / "bin" / "sanctionwatch"
    check = subprocess.run(
        [str(script), "check"], cwd=empty, env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stderr + check.stdout
    assert str(env_dir) in check.stdout  # the watchlists came from the installed package
    assert "rule examples: " in check.stdout
    run = subprocess.run(
        [str(script), "run", "--once"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "dprk-russia-arms-transfer" in run.stdout
    assert "North Korea has shipped millions of artillery shells" in run.stdout
    assert (empty / "sanctionwatch.db").is_file()
