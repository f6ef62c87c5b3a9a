"""A real `serve` (health, metrics, the poller) in this process, for tests of health and docs."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sanctionwatch.config.settings import load_settings
from sanctionwatch.slackapp.server import serve
from tests.support.slack_api import TEST_TOKEN, SlackApiStub
from tests.support.slack_signing import TEST_SIGNING_SECRET

ALERT_TEXT = "North Korea has shipped millions of artillery shells to Russia, officials say."
APP_TOKEN = "xapp-test-app-token"


def serve_config(tmp: Path) -> Path:
    (tmp / "feed.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Local</title>"
        "<link>https://example.org/</link><description>t</description>"
        f"<item><guid isPermaLink='false'>a1</guid><title>Arms</title>"
        f"<description>{ALERT_TEXT}</description></item></channel></rss>",
        encoding="utf-8",
    )
    config = tmp / "sanctionwatch.toml"
    config.write_text(
        'database = "sw.db"\nexports_dir = "exports"\n[slack]\nadmins = ["U0ADMIN001"]\n'
        '[[feeds]]\nname = "Local"\nurl = "feed.xml"\ninterval_minutes = 5\n',
        encoding="utf-8",
    )
    return config


def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@contextmanager
def running_serve(
    tmp: Path, slack_api: SlackApiStub, socket_mode: bool = False
) -> Iterator[tuple[str, io.StringIO]]:
    env = {
        "SLACK_BOT_TOKEN": TEST_TOKEN,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": slack_api.base_url,
        "SLACK_APP_TOKEN": APP_TOKEN,
    }
    settings = load_settings(str(serve_config(tmp)), env=env, cwd=tmp)
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=serve,
        args=(settings, out),
        kwargs={"host": "127.0.0.1", "port": 0, "socket_mode": socket_mode, "stop": stop},
        daemon=True,
    )
    thread.start()
    try:
        found = wait_until(lambda: re.search(r"http://127\.0\.0\.1:(\d+)", out.getvalue()))
        yield f"http://127.0.0.1:{found.group(1)}", out
    finally:
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive()
