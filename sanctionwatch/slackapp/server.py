"""``python bot.py serve``: the Slack app over HTTP (waitress) or Socket Mode, plus polling.

One process is a complete deployment: the bolt app answers ``POST /slack/events`` (slash
commands and interactivity) behind waitress, a production WSGI server, while the polling
schedule (``jobs.run_forever``) runs in a background thread with its own SQLite connection.
SIGTERM/SIGINT stop both gracefully: the HTTP server stops accepting, running requests, the
work already acked to Slack and the current poll finish, then the process exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any, TextIO

import waitress
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from sanctionwatch.alerting.health import PollerState
from sanctionwatch.alerting.jobs import run_forever
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import ConfigError
from sanctionwatch.runtime import engine_getter, make_poster, open_store
from sanctionwatch.slackapp.app import ThreadStores, build_app, web_client
from sanctionwatch.slackapp.monitor import Monitor
from sanctionwatch.slackapp.work import AfterAck
from sanctionwatch.storage.lock import RunLock

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEFAULT_PORT = 3000  # bolt's conventional port
DEFAULT_HOST = "0.0.0.0"  # noqa: S104 - a server; put it behind TLS (see deploy/README.md)
# Worker threads answering Slack: requests are short (one SQLite transaction), so a few
# threads absorb a burst of clicks without holding many connections.
HTTP_THREADS = 8
# Seconds to let running HTTP requests and the current poll finish on shutdown.
SHUTDOWN_GRACE_S = 10.0


def wsgi_app(app: App, monitor: Monitor) -> Callable[..., Any]:
    """The bolt app at ``EVENTS_PATH`` with ``/healthz`` and ``/metrics`` in front."""
    return monitor.wrap(SlackRequestHandler(app, path=EVENTS_PATH))


class HttpServer:
    """waitress serving a WSGI app in a thread; ``stop`` closes it from any thread."""

    def __init__(
        self, application: Callable[..., Any], host: str, port: int, threads: int = HTTP_THREADS
    ) -> None:
        self.server: Any = waitress.create_server(
            application, host=host, port=port, threads=threads, ident="sanctionwatch"
        )
        self.host = host
        self.port = int(self.server.effective_port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}{EVENTS_PATH}"

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self.server.run, name="http", daemon=True)
        self._thread.start()
        log.info("http listening host=%s port=%d path=%s", self.host, self.port, EVENTS_PATH)
        return self

    def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop accepting, let running requests finish (up to ``grace_s``), end the loop."""
        server = self.server

        def close_all() -> None:  # runs inside the server's event loop thread
            for channel in list(server._map.values()):
                channel.close()

        try:
            server.trigger.pull_trigger(close_all)
        except OSError as exc:
            # The loop's wake-up pipe is already closed (the loop saw it fail): nothing can
            # ask the loop to close its channels, so they are closed from here; the loop
            # finds them gone at its next turn (within a second) and ends.
            log.warning("http loop could not be woken port=%d error=%s", self.port, exc)
            close_all()
        if self._thread is not None:
            self._thread.join(timeout=grace_s)
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=grace_s)
        log.info("http stopped port=%d", self.port)


def _poller(
    settings: Settings, out: TextIO, stop: threading.Event, state: PollerState
) -> threading.Thread:
    """The polling schedule in a background thread with its own Store; holds the run lock.
    If it dies, the Slack app keeps serving and ``/healthz`` answers 503."""
    lock = RunLock(settings.database)
    lock.acquire()  # fails now, in the foreground, if `run` already polls this database

    def work() -> None:
        try:
            store = open_store(settings)
            engine_for = engine_getter(settings, store)
            run_forever(settings, store, engine_for, make_poster(settings, out), stop, state)
        except Exception:
            log.exception("poller crashed; the Slack app keeps serving, /healthz answers 503")
        finally:
            lock.release()

    thread = threading.Thread(target=work, name="poller", daemon=True)
    thread.start()
    return thread


def serve(
    settings: Settings,
    out: TextIO,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    socket_mode: bool = False,
    poll: bool = True,
    stop: threading.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop`` is set). Returns the exit code."""
    slack = settings.slack
    if not slack.token:
        raise ConfigError(
            "serve needs SLACK_BOT_TOKEN (the bot token, xoxb-…)",
            hint="see deploy/README.md, 'Connect to Slack'",
        )
    if socket_mode and not slack.app_token:
        raise ConfigError(
            "serve --socket-mode needs SLACK_APP_TOKEN (an app-level token, xapp-…)",
            hint="create one under Basic Information → App-Level Tokens with connections:write",
        )
    if not socket_mode and not slack.signing_secret:
        raise ConfigError(
            "serve needs SLACK_SIGNING_SECRET to verify that requests come from Slack",
            hint="copy it from the app's Basic Information page",
        )
    if not slack.admins:
        log.warning("no [slack] admins configured: nobody can add or remove watchlist entries")
    stop = stop or threading.Event()
    stores = ThreadStores(settings.database)
    try:
        stores.get().quick_check()  # open, migrate and check the database before any request
    except BaseException:
        stores.close()
        raise
    client = web_client(settings)
    work = AfterAck()
    app = build_app(
        settings,
        stores,
        make_poster(settings, out),
        client,
        signing_secret=None if socket_mode else slack.signing_secret,
        work=work,
    )
    state = PollerState()
    poller = _poller(settings, out, stop, state) if poll else None
    monitor = Monitor(settings, stores.get, state if poll else None, poller)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal received signum=%d; stopping", signum)
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if socket_mode:
            _socket_mode(app, slack.app_token or "", monitor, host, port, out, stop)
        else:
            http = HttpServer(wsgi_app(app, monitor), host, port).start()
            print(f"serving Slack requests at {http.url}", file=out, flush=True)
            stop.wait()
            http.stop()
    finally:
        stop.set()
        work.shutdown()  # requests acked to Slack are applied before we exit
        if poller is not None:
            poller.join(timeout=SHUTDOWN_GRACE_S)
        stores.close()
        for sig, handler_fn in previous.items():
            signal.signal(sig, handler_fn)
    log.info("serve stopped")
    return 0


def _socket_mode(
    app: App,
    app_token: str,
    monitor: Monitor,
    host: str,
    port: int,
    out: TextIO,
    stop: threading.Event,
) -> None:
    """Connect out to Slack; serve ``/healthz`` and ``/metrics`` on ``port`` meanwhile.

    slack-sdk's ``connect`` logs and swallows a failed connection (and reconnects in the
    background), so whether it worked is read back from the client, and logged as it is."""

    handler = SocketModeHandler(app, app_token)
    monitor.facts["socket_mode"] = lambda: {"connected": handler.client.is_connected()}
    http = HttpServer(monitor.wrap(), host, port).start()
    print(f"health and metrics at http://{host}:{http.port}/healthz", file=out, flush=True)
    try:
        handler.connect()  # type: ignore[no-untyped-call]  # slack-bolt leaves it untyped
        if handler.client.is_connected():
            log.info("socket mode connected session=%s", handler.client.session_id())
        else:
            log.error("socket mode connection failed; retrying in the background")
        stop.wait()
        handler.close()  # type: ignore[no-untyped-call]
    finally:
        http.stop()
