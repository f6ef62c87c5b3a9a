"""``python -m sanctionwatch.slackapp.healthcheck [--port N]``: the container's health probe.

``serve`` answers ``GET /healthz`` on its port in both modes (in Socket Mode the port serves
only the health endpoint and ``/metrics``), so one probe fits both. Exit 0 when the answer is
200, 1 otherwise (503: the poller is dead, stale, or alerts failed; or nothing listens). The
reason is printed, so ``docker inspect`` shows why a container is unhealthy. Standard library
only: the probe must not import the app.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

DEFAULT_PORT = 3000  # serve's default port (slackapp.server.DEFAULT_PORT)
# Docker kills a probe after its --timeout (5 s in deploy/Dockerfile): answer before that.
PROBE_TIMEOUT_S = 4.0


def probe(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> tuple[int, str]:
    """(exit code, one line saying why) for the health endpoint at ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - our URL
            body = response.read().decode("utf-8", "replace")
            return (0 if response.status == 200 else 1), f"{response.status} {body.strip()}"
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        try:
            problems = json.loads(body).get("problems", [])
        except (ValueError, AttributeError):
            problems = [body.strip()]
        return 1, f"{exc.code} unhealthy: {'; '.join(map(str, problems))}"
    except (OSError, ValueError) as exc:
        return 1, f"no answer from {url}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sanctionwatch.slackapp.healthcheck")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="serve's --port")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    code, why = probe(f"http://{args.host}:{args.port}/healthz")
    print(why)
    return code


if __name__ == "__main__":
    sys.exit(main())
