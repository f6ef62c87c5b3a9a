#!/usr/bin/env python3
"""Entry point: ``python bot.py run --once``. All logic lives in the sanctionwatch package."""

import sys

from sanctionwatch.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
