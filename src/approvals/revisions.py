"""The revisions of approvals' own tables, by name: what a store's ``approvals_schema_version``
holds (see :mod:`approvals.schema`), readable without SQLAlchemy (the quick read path)."""

from __future__ import annotations

__all__ = ["BASELINE", "REVISIONS", "SCHEMA_REVISION", "VERSION_TABLE"]

VERSION_TABLE = "approvals_schema_version"
BASELINE = "v010_baseline"
REVISIONS: dict[str, str] = {BASELINE: "0.1.0", "v020_upgrades": "0.2.0"}
"""Each revision of the schema, oldest first, with the release that brought it (the files of
``approvals/migrations/versions``; a test compares them)."""
SCHEMA_REVISION = list(REVISIONS)[-1]
"""The revision this release works on."""
