"""slackapp: see docs/architecture.md."""
