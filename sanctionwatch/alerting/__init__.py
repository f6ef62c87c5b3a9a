"""alerting: see docs/architecture.md."""
