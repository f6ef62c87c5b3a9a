"""Every error a user or operator can meet, in one hierarchy. Each carries a hint: what to fix.

``SanctionwatchError(message, hint)`` is the root: the CLI catches it alone, prints the message
and the hint, and exits with ``exit_code``; the Slack app shows ``message`` of a
``CommandError`` to the user who typed the command or clicked the button. One subclass per
area, so a caller catches exactly the failures of the stage it called::

    SanctionwatchError
    ├── ConfigError            the TOML config or the environment (exit 2)
    ├── WatchlistError         a watchlist file (exit 2)
    ├── RuleError              a rule file (exit 2)
    ├── FeedError              a feed could not be fetched or parsed (never fatal)
    ├── ImportFormatError      an official list file (exit 2)
    │   └── ImportRefused      a parseable list refused against the stored one (--force)
    ├── StoreError             the database cannot be used (exit 2)
    │   └── DatabaseFileError  the database file: missing, empty, read-only, damaged
    ├── LockError              another process holds the run lock (exit 3)
    ├── DeliveryError          Slack refused or failed a call; the alert stays pending
    │   ├── SlackDeliveryError a Slack Web API answer, with its error code
    │   └── InvalidMessageError a message Slack would refuse; never retried
    └── CommandError           a command's input was refused; the text is shown to the user
        ├── EditError          a watchlist edit (add/remove) was refused
        └── ReviewError        a review click could not be recorded
            └── ReviewRefused  the user may not review alerts

Not here, on purpose: exceptions that are control flow inside one stage and never reach a
user as themselves. They are plain ``Exception`` subclasses beside the code that raises and
catches them, so ``except SanctionwatchError`` can never swallow one:

- ``storage.replay.DuplicateRequest``: "this Slack request was applied already"; the handler
  stops quietly (no reply, no error).
- ``ingest.netguard.AddressRefused``: raised inside httpcore's connect (a third-party call
  stack) and turned by ``ingest.fetch`` into the feed's failure text (a FeedError message).
- ``ingest.fetch._FetchFailed`` and ``alerting.workers.PoolUnavailable``: private signals
  ("end this fetch with this message", "analyse in-thread instead").
"""

from __future__ import annotations

from typing import Generic, TypeVar

CheckT = TypeVar("CheckT")


class SanctionwatchError(Exception):
    """Base error: a message plus a hint for the user. The CLI prints both."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


# ---- configuration and input files ---------------------------------------------------------
class ConfigError(SanctionwatchError):
    """The TOML config or the environment is wrong (names the file and key)."""

    exit_code = 2


class WatchlistError(SanctionwatchError):
    """A watchlist file is wrong (names the file and entry)."""

    exit_code = 2


class RuleError(SanctionwatchError):
    """A rule file is wrong (names the file and key)."""

    exit_code = 2


class FeedError(SanctionwatchError):
    """A feed could not be fetched or parsed. Recorded against the feed, never fatal."""


class ImportFormatError(SanctionwatchError):
    """An official list file is empty, truncated or not the declared format."""

    exit_code = 2


class ImportRefused(ImportFormatError, Generic[CheckT]):
    """A parseable list refused against the stored one; carries the counts for the audit.

    ``check`` is what the import was judged by (``watchlists.guard.ImportCheck``); the class
    is generic in it so this bottom module needs nothing from the watchlists stage.
    """

    def __init__(self, message: str, hint: str, check: CheckT, reasons: list[str]) -> None:
        super().__init__(message, hint)
        self.check = check
        self.reasons = reasons


# ---- storage -------------------------------------------------------------------------------
class StoreError(SanctionwatchError):
    """The database cannot be used."""

    exit_code = 2


class DatabaseFileError(StoreError):
    """The database file is missing, empty, not SQLite, read-only or damaged."""


class LockError(SanctionwatchError):
    """Another process holds the run lock on this database."""

    exit_code = 3


# ---- delivery to Slack ---------------------------------------------------------------------
class DeliveryError(SanctionwatchError):
    """Slack refused or failed a call; the alert stays pending in the outbox."""

    retryable: bool = True  # False when retrying cannot help (channel_not_found, invalid_auth)


class SlackDeliveryError(DeliveryError):
    """``DeliveryError`` with ``retryable`` (try again later?) and the Slack error code."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        retryable: bool,
        error: str = "",
        retry_after_s: float | None = None,
        unknown: bool = False,
    ) -> None:
        super().__init__(message, hint)
        self.retryable = retryable
        self.error = error
        self.retry_after_s = retry_after_s
        # The request may have reached Slack (answer lost): look before posting again.
        self.unknown = unknown


class InvalidMessageError(DeliveryError):
    """A message Slack would refuse (``invalid_blocks`` / ``msg_too_long`` / ``no_text``)."""

    retryable = False

    def __init__(self, message: str, hint: str = "", *, error: str = "invalid_blocks") -> None:
        super().__init__(message, hint)
        self.error = error


# ---- commands (Slack or terminal) ----------------------------------------------------------
class CommandError(SanctionwatchError):
    """A command's input was refused. ``message`` is written for the person who typed it
    (Slack shows it escaped, the terminal prints it); nothing was changed."""


class EditError(CommandError):
    """A watchlist edit was refused; the message is shown to the user as it stands."""


class ReviewError(CommandError):
    """A review click could not be recorded; the message is shown to the clicking user."""


class ReviewRefused(ReviewError):
    """The user may not set dispositions (not in ``[slack] reviewers``)."""
