"""The cases that cannot be read: their events are in the log but do not decrypt, or their key
is gone though they were never disposed of.  Damage, for the audit officer to look into; every
other read model leaves such a case out, and the lists name it from here."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table

from approvals.readmodel import CaseSubject, ReadModel, Rows

__all__ = ["MODEL", "unreadable"]

metadata = MetaData()
unreadable = Table(
    "rm_unreadable",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("code", String(32), nullable=False),  # the CaseUnreadable code: why it cannot be read
)


class UnreadableCases(ReadModel):
    """Each case that cannot be read, with why."""

    name = "unreadable"
    version = 1
    metadata = metadata
    case_tables = (unreadable,)

    def for_case(self, subject: CaseSubject) -> Rows:
        if not subject.unreadable:
            return {}
        return {unreadable: [{"reference": subject.reference, "code": subject.unreadable}]}


MODEL = UnreadableCases()
