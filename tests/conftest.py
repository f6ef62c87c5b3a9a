"""Shared pytest fixtures. Support servers live in tests/support/ and are registered here."""

from tests.support.feedserver import feed_server  # noqa: F401
from tests.support.response_urls import response_urls  # noqa: F401
from tests.support.slack_api import slack_api  # noqa: F401
