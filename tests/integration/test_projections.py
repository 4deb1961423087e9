"""Read models: each one a function of the log — live, caught up in any batches, after a crash
or rebuilt, the rows are the same, and they answer what replaying the cases answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import JST, ApprovalsApplication, ApprovalsError, open_approvals
from approvals.demo import run_demo
from approvals.projections import all_models
from approvals.readmodel import Projector, ReadModel, rows_of
from tests.conftest import (
    CHIEF,
    HANDLER,
    MANAGER,
    OTHER_STAFF,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.integration.test_linked_cases import (
    DAY,
    consult_and_approve,
    end_entrustment,
    entrustment,
    file_subcontract,
    give_written_approval,
    provision_in_effect,
    record_provision,
    stopped_provision,
)
from tests.oracles import ORACLES, comparisons
from tests.scenarios import happened
from tests.unit.test_properties import WORKFLOWS, commands, run

SEVEN_YEARS_AND_A_MONTH = 7 * 366 + 31
NEVER = 10**12
"""A catch-up this long is never folded in worker processes."""


def live_rows(projector: Projector) -> dict[str, dict[str, set[tuple[Any, ...]]]]:
    return {model.name: rows_of(projector.engine, model) for model in projector.models}


def test_every_read_model_the_projector_keeps_has_an_oracle() -> None:
    assert sorted(ORACLES) == sorted(model.name for model in all_models())


# -- random command sequences ------------------------------------------------------------------

catch_ups = st.tuples(st.just("catch_up"), st.integers(min_value=1, max_value=7), st.booleans())
disposals = st.tuples(st.just("dispose"), st.integers(min_value=0, max_value=5))
with_reads = st.lists(
    st.tuples(commands, st.lists(catch_ups | disposals, max_size=3)), min_size=1, max_size=3
).map(lambda parts: [c for sequence, extra in parts for c in (*sequence, *extra)])


def dispose(app: ApprovalsApplication, clock: FakeClock, index: int) -> None:
    references = app.references()
    if not references:
        return
    clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
    reference = references[index % len(references)]
    app.retention().approve(reference, actor=CHIEF)
    app.retention().dispose(reference, actor=HANDLER)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sequence=with_reads)
def test_after_any_command_sequence_each_rebuilt_model_equals_the_live_one(
    fresh_store: Callable[[], str], sequence: list[tuple[Any, ...]]
) -> None:
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(fresh_store(), clock=clock, workflows=WORKFLOWS)
    try:
        appoint_standard_roster(app)
        live = Projector(app, all_models(), batch=3)
        references: list[str] = []
        for command in sequence:
            try:
                if command[0] == "catch_up":  # in batches of 1 to 7, folded here or in workers
                    live.batch = command[1]
                    live.shared_from = 0 if command[2] else NEVER
                    live.catch_up()
                elif command[0] == "dispose":
                    dispose(app, clock, command[1])
                else:
                    run(app, command, references)
            except ApprovalsError:
                pass
        live.catch_up()
        # The rows the batches left, against what replaying each case says they should be.
        for what, expected, actual in comparisons(app, all_models()):
            assert actual == expected, what
        assert live.check() == ()
        fresh = Projector(app, all_models())
        fresh.rebuild()
        assert live_rows(fresh) == live_rows(live)
        shared = Projector(app, all_models(), batch=5, shared_from=0)
        shared.rebuild()  # folded by worker processes, a share of the cases each
        assert live_rows(shared) == live_rows(fresh)
    finally:
        app.close()


# -- on the real backends ----------------------------------------------------------------------


@pytest.fixture
def demo(backend_url: str) -> Iterator[tuple[ApprovalsApplication, FakeClock, Any]]:
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    done = run_demo(app, clock)
    yield app, clock, done
    app.close()


def test_the_registers_show_what_the_demo_did(demo: Any) -> None:
    app, clock, done = demo
    registers = app.registers()
    cases = {entry.reference: entry for entry in registers.cases()}
    assert len(cases) == 7
    rejected = cases[done.rejected]
    assert (rejected.state, rejected.decision, rejected.effective_at) == (
        "rejected",
        "reject",
        None,
    )
    assert rejected.ended_at == rejected.decided_at
    entrustment = cases["ENT-2026-0001"]
    assert entrustment.decided_at < entrustment.effective_at < entrustment.ended_at
    assert str(entrustment.retention_until) == "2033-04-26"
    (vendor, waiting) = registers.vendors()
    assert (vendor.vendor, vendor.inspections, vendor.breaches, vendor.open_breaches) == (
        "Shred & Scan Ltd.", 1, 1, 0,
    )  # fmt: skip
    assert str(vendor.individual_contract_end_date) == "2026-04-26"
    assert (waiting.state, waiting.approved_at) == ("notified", None)
    (joint,) = registers.provisions()
    assert (joint.kind, joint.reference) == ("joint_use", "JU-2026-0001")
    assert joint.responsible_party
    # the demo ended its entrustment with no return or erasure case: that duty is overdue
    (owed,) = registers.overdue()
    assert (owed.reference, owed.deadline) == ("ENT-2026-0001", "return_or_erasure")
    clock.advance(days=60)
    overdue = registers.overdue()
    assert {e.reference for e in overdue} == {"ENT-2026-0001", "ENT-2026-0002", "JU-2026-0002"}
    assert all(e.done_at is None and e.late_by_days > 30 for e in overdue)
    schedule = registers.retention()
    assert len(schedule) == 5  # the two cases still running have no deadline yet
    assert [e.retained_until for e in schedule] == sorted(e.retained_until for e in schedule)
    (running,) = registers.retention(reference="ent-2026-0002")
    assert (running.retained_until, running.due) == (None, False)
    assert registers.retention(due=True) == ()


def test_catching_up_reads_only_what_is_new(demo: Any) -> None:
    app, _clock, _done = demo
    registers = app.registers()
    registers.refresh()
    assert registers.refresh() == 0
    assert all(s.lag == 0 and s.position == s.head for s in registers.status())
    investigation = {
        "interview_date": "2026-05-06", "site_survey_date": "2026-05-07",
        "security_equal_or_higher": True, "financially_sound": True,
        "work_places": "Payroll office, Tokyo", "storage_places": "Tokyo data centre",
    }  # fmt: skip
    happened(app, "entrustment", investigation)
    app.act("ENT-2026-0002", "record_investigation", actor=MANAGER, fields=investigation)
    assert {s.lag for s in registers.status()} == {1}
    assert registers.refresh() == 1
    assert registers.projector.check() == ()


def test_a_met_deadline_that_was_late_stays_on_the_overdue_list(demo: Any) -> None:
    app, clock, _done = demo
    clock.advance(days=30)
    app.act("JU-2026-0002", "return", actor=CHIEF, comment="Too late, and incomplete.")
    late = [e for e in app.registers().overdue() if e.reference == "JU-2026-0002"]
    assert [(e.deadline, e.done_at is not None) for e in late] == [("decision", True)]
    assert late[0].late_by_days == (late[0].done_at - late[0].due_at).days > 20
    running = {(e.reference, e.deadline) for e in app.registers().overdue(running=True)}
    assert ("JU-2026-0002", "decision") not in running


def test_read_models_are_disposable(demo: Any) -> None:
    app, _clock, _done = demo
    projector = app.registers().projector
    projector.catch_up()
    before = live_rows(projector)
    with app.engine.begin() as connection:
        for model in projector.models:
            for table in model.tables:
                connection.execute(sa.delete(table))
    differences = projector.check(["inbox"])
    assert differences
    assert {d.side for d in differences} == {"rebuilt"}
    projector.rebuild()
    assert live_rows(projector) == before


def test_a_model_whose_code_changed_is_rebuilt(demo: Any) -> None:
    app, _clock, _done = demo
    projector = app.registers().projector
    projector.catch_up()
    inbox = projector.model("inbox")
    with app.engine.begin() as connection:
        connection.execute(sa.delete(inbox.tables[0]))  # the old code's rows, say
        connection.execute(
            sa.update(projector.tracking).where(projector.tracking.c.name == "inbox")
            .values(version=0)
        )  # fmt: skip
    fresh = Projector(app, all_models())
    fresh.catch_up()
    assert rows_of(app.engine, inbox)["rm_inbox"]
    assert fresh.check() == ()


def test_disposal_removes_the_case_from_every_model_but_its_records(demo: Any) -> None:
    app, clock, done = demo
    registers = app.registers()
    registers.refresh()
    clock.advance(days=SEVEN_YEARS_AND_A_MONTH)
    reference = done.rejected
    assert next(e.reference for e in registers.retention(due=True)) == "NP-2026-0001"
    app.retention().approve(reference, actor=CHIEF)
    app.retention().dispose(reference, actor=HANDLER, method="shredded")
    (entry,) = [e for e in registers.cases() if e.reference == reference]
    assert (entry.state, entry.title, entry.filer, entry.workflow) == (
        "disposed", "", "", "provision",
    )  # fmt: skip
    (record,) = [e for e in registers.retention() if e.reference == reference]
    assert (record.disposed_by, record.disposal_method) == (HANDLER, "shredded")
    assert reference not in {e.reference for e in registers.overdue()}
    assert registers.projector.check() == ()
    other = open_approvals(str(app.engine.url.render_as_string(hide_password=False)))
    try:
        other.registers().projector.rebuild()
        assert live_rows(other.registers().projector) == live_rows(registers.projector)
    finally:
        other.close()


def test_two_projectors_catching_up_at_once_apply_each_batch_once(backend_url: str) -> None:
    import threading

    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    try:
        appoint_standard_roster(app)
        for number in range(30):
            app.file("purpose", actor=STAFF, title=f"case {number}", department="sales",
                     fields={"purpose": "p", "data_items": "d", "data_subjects": "s"})  # fmt: skip
        first, second = (Projector(app, all_models(), batch=4) for _ in range(2))
        errors: list[BaseException] = []

        def catch_up(projector: Projector) -> None:
            try:
                projector.catch_up()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=catch_up, args=(p,)) for p in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert {s.position for s in first.status()} == {first.head()}
        assert first.check() == ()
        assert len(app.registers().cases()) == 30
    finally:
        app.close()


class Broken(ReadModel):
    """A model that fails on one case: nothing of the batch may be kept."""

    name = "cases"
    version = 1

    def __init__(self, model: ReadModel, reference: str) -> None:
        self.inner = model
        self.metadata = model.metadata  # type: ignore[misc]
        self.case_tables = model.case_tables  # type: ignore[misc]
        self.reference = reference

    def for_case(self, subject: Any) -> Any:
        if subject.reference == self.reference:
            raise RuntimeError("the model failed")
        return self.inner.for_case(subject)


def test_a_failing_batch_keeps_neither_rows_nor_position(demo: Any) -> None:
    app, _clock, _done = demo
    cases = next(m for m in all_models() if m.name == "cases")
    broken = Projector(app, [Broken(cases, "JU-2026-0002")], batch=1000)
    with pytest.raises(RuntimeError):
        broken.catch_up()
    (status,) = broken.status()
    assert status.position == 0
    assert rows_of(app.engine, cases)["rm_cases"] == set()
    assert Projector(app, [cases]).catch_up() == status.head
    assert len(rows_of(app.engine, cases)["rm_cases"]) == 7


def test_the_clock_does_not_change_the_rows(demo: Any) -> None:
    """Overdue is decided when asked, not stored: a rebuild years later gives the same rows."""
    app, clock, _done = demo
    projector = app.registers().projector
    projector.catch_up()
    before = live_rows(projector)
    clock.advance(days=400)
    projector.rebuild()
    assert live_rows(projector) == before


def test_every_model_answers_what_replaying_the_demo_answers(demo: Any) -> None:
    app, clock, _done = demo
    for _ in range(2):  # and once more when entrustments' duties and retention have run out
        for what, expected, actual in comparisons(app, all_models()):
            assert actual == expected, what
        clock.advance(days=SEVEN_YEARS_AND_A_MONTH)


def test_every_model_answers_what_replaying_linked_cases_answers(backend_url: str) -> None:
    """What random sequences seldom reach: subcontracts approved and ended, an entrustment
    ended and its erasure closed late, a refusal of provision and provisions naming subjects —
    each checked on the rows small batches leave."""
    clock = FakeClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock, workflows=WORKFLOWS)
    try:
        appoint_standard_roster(app)
        live = Projector(app, all_models(), batch=2)

        def agree() -> None:
            live.catch_up()
            for what, expected, actual in comparisons(app, all_models()):
                assert actual == expected, what

        entrusted = entrustment(app)
        ended, running = (file_subcontract(app, entrusted, subcontractor=n) for n in "AB")
        for sub in (ended, running):
            consult_and_approve(app, sub)
            give_written_approval(app, sub)
        agree()
        app.act(ended, "end", actor=MANAGER, fields={"end_date": DAY})
        agree()
        end_entrustment(app, entrusted)
        clock.advance(days=3)
        agree()
        erasure = app.file(
            "erasure", actor=STAFF, title="Erasure", department="sales",
            fields={"entrustment": entrusted, "work_ended_on": DAY, "instructed_method": "erasure"},
        ).reference  # fmt: skip
        app.act(erasure, "record_erasure", actor=OTHER_STAFF, checklist=["copies_included"],
                fields={"erased_on": DAY, "data_name": "files", "count": "1",
                        "method": "erasure"})  # fmt: skip
        app.act(erasure, "receive_certificate", actor=OTHER_STAFF,
                fields={"certificate_date": DAY}, checklist=["certificate_received"])  # fmt: skip
        app.act(erasure, "confirm", actor=MANAGER, checklist=["identifiable", "as_instructed"])
        agree()
        stopped_provision(app, "Yamada Taro")
        provision = provision_in_effect(app)
        today = app.now().astimezone(JST).date().isoformat()
        record_provision(app, provision, "Sato Hanako、Suzuki Ichiro", provision_date=today)
        record_provision(app, provision, "sato  hanako", provision_date=today,
                         contract_as_record=True)  # fmt: skip
        agree()
        assert live.check() == ()
    finally:
        app.close()
