"""`python bot.py run` as a real child process, for tests of signals, locks and faults."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.support.paths import REPO
from tests.support.pipeline import TOKEN
from tests.support.slack_api import SlackApiStub

WAIT_S = 30.0
LOCK_EXIT_CODE = 3


def bot_env(stub: SlackApiStub) -> dict[str, str]:
    return {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": stub.base_url,
            "SANCTIONWATCH_CONFIG": ""}  # fmt: skip


def start_bot(cfg: Path, stub: SlackApiStub, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "bot.py"), "run", *args, "--config", str(cfg)],
        cwd=cfg.parent, env=bot_env(stub), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def polled(db: Path, feed: str) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT last_fetch_at FROM feeds WHERE name = ?", [feed]).fetchone()
    except sqlite3.OperationalError:
        return False
    return bool(row and row[0])


def wait_running(cond: object, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        if callable(cond) and cond():
            return
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("timed out; stderr: " + proc.communicate()[1][-2000:])
