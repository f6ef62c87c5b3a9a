"""Shared pytest fixtures. Support servers live in tests/support/ and are registered here."""
