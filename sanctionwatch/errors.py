"""Error types. Every error carries a hint telling the user what to fix."""

from __future__ import annotations


class SanctionwatchError(Exception):
    """Base error: a message plus a hint for the user. The CLI prints both."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


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


class DeliveryError(SanctionwatchError):
    """Slack refused or failed a call; the alert stays pending in the outbox."""

    retryable: bool = True  # False when retrying cannot help (channel_not_found, invalid_auth)


class LockError(SanctionwatchError):
    """Another process holds the run lock on this database."""

    exit_code = 3


class SlackCommandError(SanctionwatchError):
    """A /watchlist command or review action was invalid; the text is shown to the user."""
