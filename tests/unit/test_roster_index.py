"""The roster answers who holds what by an index of each person's terms: after any
appointments and dismissals, at any moment, it answers what searching every term answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import JST, ApprovalsError, open_approvals
from approvals.demo import CHIEF, REPRESENTATIVE, appoint_sample_roster
from approvals.domain.roster import ROSTER_ID, Roster
from approvals.domain.workflow import DEPARTMENT_ROLES
from tests.conftest import FakeClock

PEOPLE = ["ito", "kato", "mori", "ono"]
ROLES = ["staff", "manager", "handler", "auditor"]
DEPARTMENTS = ["sales", "hr"]
changes = st.lists(
    st.tuples(
        st.booleans(), st.sampled_from(PEOPLE), st.sampled_from(ROLES), st.sampled_from(DEPARTMENTS)
    ),
    max_size=12,
)


def searched(roster: Roster, user: str, role: str, department: str, at: datetime) -> bool:
    return any(
        term.user == user
        and term.role == role
        and (role not in DEPARTMENT_ROLES or term.department == department)
        and term.active_at(at)
        for term in roster.terms
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=changes)
def test_who_holds_what_is_what_searching_every_term_answers(steps: Any) -> None:
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals("sqlite://", clock=clock)
    try:
        appoint_sample_roster(app)
        moments = [clock()]
        for appoint, user, role, department in steps:
            clock.advance(days=1)
            try:
                if appoint:
                    app.appoint(actor=CHIEF if role != "auditor" else REPRESENTATIVE, user=user,
                                role=role, department=department if role in DEPARTMENT_ROLES
                                else "")  # fmt: skip
                else:
                    app.dismiss(actor=CHIEF if role != "auditor" else REPRESENTATIVE, user=user,
                                role=role, department=department if role in DEPARTMENT_ROLES
                                else "")  # fmt: skip
            except ApprovalsError:
                pass
            moments.append(clock())
            roster = app.repository.get(ROSTER_ID)
            for at in (*moments, moments[-1] + timedelta(seconds=1)):
                for person in PEOPLE:
                    assert roster.knows(person) == any(t.user == person for t in roster.terms)
                    for role_ in ROLES:
                        for place in DEPARTMENTS:
                            assert roster.holds(person, role_, place, at) == searched(
                                roster, person, role_, place, at
                            )
    finally:
        app.close()
