"""watchlists: see docs/architecture.md."""
