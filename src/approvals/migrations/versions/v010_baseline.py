"""Release 0.1.0: the schema its ``ensure_schema`` made, without a version table.

A store made by 0.1.0 is stamped with this revision by ``approvals upgrade`` (its tables are
already there); no store is made from it, so it does nothing itself.
"""

from __future__ import annotations

revision = "v010_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: a 0.1.0 store has these tables; it is only stamped."""
