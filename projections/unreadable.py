"""The cases that cannot be read, or hold values that cannot be used.

``rm_unreadable``: a case whose events are in the log but do not decrypt, or whose key is gone
though it was never disposed of, or whose rows no read model can compute.  Damage, for the
audit officer to look into; every other read model leaves such a case out, and the lists name
it from here.

``rm_flawed``: a value kept by an earlier version that the door refuses today (a date of
9999-12-31, a NUL in a title).  The case is listed as usual, its deadlines and retention never
count from the value, and the lists name it from here with the door's sentence.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from approvals.domain.flaws import Flaws
from approvals.readmodel import CaseSubject, Following, ReadModel, Rows

__all__ = ["MODEL", "flawed", "unreadable"]

metadata = MetaData()
unreadable = Table(
    "rm_unreadable",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("code", String(32), nullable=False),  # the CaseUnreadable code: why it cannot be read
)
flawed = Table(
    "rm_flawed",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("position", Integer, primary_key=True),  # the flaw's order in the case
    Column("field", String(64), nullable=False),
    Column("en", Text, nullable=False),  # what the door says of it, in English
    Column("ja", Text, nullable=False),  # and in Japanese
)


class UnreadableCases(ReadModel):
    """Each case that cannot be read, with why; each value kept that is refused today."""

    name = "unreadable"
    version = 2
    metadata = metadata
    case_tables = (unreadable, flawed)

    def __init__(self) -> None:
        # each case's flaws as its last batch left them: the next takes in its new events
        self._flaws: Following[Flaws] = Following()

    def for_case(self, subject: CaseSubject) -> Rows:
        if subject.unreadable:
            return {unreadable: [{"reference": subject.reference, "code": subject.unreadable}]}
        if subject.case is None or subject.workflow is None:
            return {}
        case, workflow = subject.case, subject.workflow
        known = self._flaws.get(subject.reference)
        if known is None or not known.follows(case, workflow):
            known = Flaws(case, workflow)
            self._flaws.keep(subject.reference, known)
        found = known.now()
        if not found:
            return {}
        return {
            flawed: [
                {
                    "reference": subject.reference,
                    "position": position,
                    "field": flaw.field[:64],
                    "en": flaw.reason.en,
                    "ja": flaw.reason.ja,
                }
                for position, flaw in enumerate(found, start=1)
            ]
        }


MODEL = UnreadableCases()
