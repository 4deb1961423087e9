"""A process keeps the case keys it used last, not every key it ever read: a server running
for years, or a walk of the whole log, holds a bounded number of them and reads any other
again when it needs it."""

from __future__ import annotations

from datetime import datetime

import pytest

from approvals import JST, open_approvals
from approvals.audit import keys
from approvals.audit.verify import verify_log
from tests.conftest import STAFF, FakeClock, appoint_standard_roster


def test_only_the_keys_used_last_are_kept_and_every_case_still_reads(
    backend_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "KEYS_KEPT", 3)
    app = open_approvals(backend_url, clock=FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST)))
    try:
        appoint_standard_roster(app)
        filed = [
            app.file("purpose", actor=STAFF, title=f"case {number}", department="sales",
                     fields={"purpose": "p", "data_items": "d", "data_subjects": "s"}).reference
            for number in range(8)
        ]  # fmt: skip
        assert len(app.case_keys._known) <= 3
        for _ in range(2):  # the first ones again, after the others pushed them out
            for reference in filed:
                assert app.case(reference).title == f"case {filed.index(reference)}"
                assert len(app.case_keys._known) <= 3
        assert verify_log(app).findings == ()
        assert len(app.case_keys._known) <= 3
    finally:
        app.close()
