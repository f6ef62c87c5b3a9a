"""Progress lines for long commands (imports, list refreshes, backtests, exports).

Written to stderr, and only when stderr is a terminal: under cron, systemd, a pipe or a test
capture nothing is written, so logs stay clean and ``--json`` output on stdout is never mixed
with progress. One line is rewritten in place with ``\\r`` (padded with spaces so a shorter
line leaves nothing behind), at most every ``MIN_INTERVAL_S``, and ended with a newline by
``finish``. A small helper of our own rather than a library: a line that counts is all the
commands need, and no dependency is worth that.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# A terminal redraw costs little, but thousands a second make the bar flicker and slow the work
# it reports on; ten a second reads as live.
MIN_INTERVAL_S = 0.1


class Progress:
    """``label: done/total note`` on one terminal line; a no-op when the stream is no tty.

    The stream is looked up when the Progress is made (default ``sys.stderr``), so a caller
    that redirects stderr gets its progress there."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream)
        self._clock = clock
        self._last_at: float | None = None
        self._width = 0
        self._done = 0
        self._note = ""
        self._open = False

    def update(
        self, done: int | None = None, note: str | None = None, *, total: int | None = None
    ) -> None:
        """Record progress; redraw unless the last redraw was under MIN_INTERVAL_S ago (the
        last step, ``done == total``, is always drawn)."""
        if total is not None:
            self.total = total
        if done is not None:
            self._done = done
        if note is not None:
            self._note = note
        if not self.enabled:
            return
        now = self._clock()
        finished = self.total is not None and self._done >= self.total
        if self._last_at is not None and now - self._last_at < MIN_INTERVAL_S and not finished:
            return
        self._last_at = now
        self._draw()

    def step(self, note: str, done: int | None = None) -> None:
        """A new phase (``parsing file.xml``): always drawn, phases are few."""
        self._note = note
        if done is not None:
            self._done = done
        if self.enabled:
            self._last_at = self._clock()
            self._draw()

    def finish(self, note: str | None = None) -> None:
        """Draw the final state and end the line; nothing when nothing was drawn."""
        if note is not None:
            self._note = note
        if not self.enabled or not self._open:
            return
        self._draw()
        self.stream.write("\n")
        self.stream.flush()
        self._open = False

    def counter(self) -> Callable[[int], None]:
        """``update`` as a plain callback for lower layers that only count."""
        return lambda done: self.update(done)

    def of_total(self) -> Callable[[int, int], None]:
        """``update`` as a ``(done, total)`` callback, for work whose size is learnt late."""
        return lambda done, total: self.update(done, total=total)

    def text(self) -> str:
        count = ""
        if self.total is not None:
            count = f"{self._done:,}/{self.total:,}"
        elif self._done:
            count = f"{self._done:,}"
        if count and self.unit:
            count += f" {self.unit}"
        return ": ".join(
            p for p in (self.label, " ".join(x for x in (count, self._note) if x)) if p
        )

    def _draw(self) -> None:
        line = self.text()
        pad = max(self._width - len(line), 0)
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._open = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or foreign stream is no terminal
        return False
