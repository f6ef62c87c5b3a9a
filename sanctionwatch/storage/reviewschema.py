"""Schema ``_v6``: a decision carries the reason typed into the review modal.

Its own module because schema.py is at its size limit; schema.MIGRATIONS lists it last.
``alert_dispositions.reason`` keeps the reason with the decision it explains (the history);
``alerts.disposition_reason`` (added in ``_v4``) is the latest decision's, read by the CSV.
"""

from __future__ import annotations

import sqlite_utils

DISPOSITIONS_TABLE = "alert_dispositions"  # as schema.DISPOSITIONS_TABLE (imported by it)


def v6_reasons(db: sqlite_utils.Database) -> None:
    """``alert_dispositions.reason``: the optional reason of each decision."""
    if "reason" not in db.table(DISPOSITIONS_TABLE).columns_dict:
        db.execute(f"ALTER TABLE {DISPOSITIONS_TABLE} ADD COLUMN reason TEXT")
