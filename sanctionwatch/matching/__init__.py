"""matching: see docs/architecture.md."""
