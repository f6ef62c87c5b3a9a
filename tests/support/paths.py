"""Where the repository and the test fixtures are, computed once.

Tests live at different depths (tests/<package>/, tests/e2e/), so a test that computed
``Path(__file__).parent.parent`` itself would point somewhere else after a move; every test
takes these instead.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
