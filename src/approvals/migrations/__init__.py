"""The migrations of approvals' own tables between releases (Alembic revisions).

Run only by ``approvals upgrade`` (:mod:`approvals.upgrade`), through Alembic's programmatic
API: no ``alembic.ini``, no ``env.py``; the version table is ``approvals_schema_version``
(:mod:`approvals.schema`).  Each file of ``versions/`` is one revision, named for the release
that brings it, and holds the DDL as that release wrote it (never the current code's tables:
a revision must do the same thing for every store it ever meets).

To change a table in a release: add ``versions/vXYZ_what.py`` with ``revision``,
``down_revision`` (the previous head), ``branch_labels = None``, ``depends_on = None`` and an
``upgrade()`` using ``alembic.op``; add the revision to :data:`approvals.schema.REVISIONS`;
change the table where a new store is made (:func:`approvals.store.ensure_schema`) the same
way (tests/integration/test_upgrade.py compares an upgraded store with a new one).  There is
no ``downgrade()``: a store is never downgraded.  On SQLite, a change Alembic makes by copying
a table (``batch_alter_table``) drops the table's triggers; ``approvals upgrade`` makes the
append-only triggers again after the revisions and checks that every one is there.
"""
