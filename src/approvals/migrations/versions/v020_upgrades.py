"""Release 0.2.0: the table of upgrades, append-only as the log.

One row for each ``approvals upgrade`` that changed anything: when, by whom, from which
release and schema revision to which, the read models it rebuilt and the roles it granted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v020_upgrades"
down_revision = "v010_baseline"
branch_labels = None
depends_on = None

TABLE = "approvals_upgrades"

_SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END""",
]
# approvals_refuse_change() is 0.1.0's: every 0.1.0 store on PostgreSQL has it.
_POSTGRES = [
    f"""CREATE OR REPLACE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION approvals_refuse_change()""",
    f"""CREATE OR REPLACE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_refuse_change()""",
]


def upgrade() -> None:
    """Make the table of upgrades and its append-only triggers."""
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("upgraded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("upgraded_by", sa.String(200), nullable=False),
        sa.Column("database_user", sa.String(200), nullable=True),
        sa.Column("from_release", sa.String(32), nullable=False),
        sa.Column("to_release", sa.String(32), nullable=False),
        sa.Column("from_revision", sa.String(32), nullable=True),
        sa.Column("to_revision", sa.String(32), nullable=False),
        sa.Column("rebuilt", sa.Text, nullable=False),
        sa.Column("granted", sa.Text, nullable=False),
    )
    for statement in _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRES:
        op.execute(statement)
