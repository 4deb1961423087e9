"""The read models' fast paths give what the plain computations give.

Business days are counted from the day alone and remembered; the deadlines and the flaws of a
case are followed as its history grows, taking in only its new entries; each check of a value
is remembered by the value.  Each is compared here with the computation done the plain way
(day by day, over the whole history, every value checked again)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from approvals import JST
from approvals.calendar import JapaneseCalendar
from approvals.domain.case import Attachment, Case, Entry
from approvals.domain.clocks import Episodes, Holiday, add, episodes, usable_moment, weekends
from approvals.domain.flaws import Flaw, Flaws, flaws
from approvals.domain.guards import DOCUMENT_LIMIT, TITLE_LIMIT, check_text, normalise_value
from approvals.domain.roster import DEPARTMENT, PERSON, check_name
from approvals.domain.workflow import Deadline, Duration, FieldSpec, Workflow
from approvals.errors import InvalidValue, Label

NATIONAL = JapaneseCalendar()
CALENDARS: list[Holiday] = [weekends, NATIONAL]
STATES = ("draft", "open", "waiting", "closed")
TRIGGERS = ("file", "send", "inspect", "report", "close")
DATES = (
    "2026-04-28",
    "2026-05-06",
    "2026-12-31",
    "9999-12-31",
    "not a date",
    "",
    "2026-05-01T09:30",
    "2027-01-04T00:00",
)

moments = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(JST)
)
field_values = st.one_of(st.none(), st.sampled_from(DATES), st.booleans(), st.integers(-3, 3))
entries = st.builds(
    lambda at, trigger, dest, fields: Entry(
        0, at, "someone", "staff", trigger, "", dest, "", fields, (), ()
    ),
    moments,
    st.sampled_from(TRIGGERS),
    st.sampled_from(STATES),
    st.dictionaries(
        st.sampled_from(("noticed", "done", "kind", "inspected")), field_values, max_size=3
    ),
)


def _deadline(name: str, within: Duration, **rest: Any) -> Deadline:
    return Deadline(name=name, label=Label(name, name), within=within, **rest)


DEADLINES = (
    _deadline("reply", Duration(5, "business_days"), states=("open", "waiting")),
    _deadline(
        "notice",
        Duration(3, "civil_days"),
        states=("open",),
        from_fields=("noticed",),
        until_field="done",
    ),
    _deadline(
        "inspection",
        Duration(1, "years"),
        states=("waiting",),
        restart_on=("inspect",),
        from_fields=("inspected",),
    ),
    _deadline(
        "yearly",
        Duration(2, "business_days"),
        states=("waiting", "closed"),
        periodic=True,
        restart_on=("report",),
        when={"kind": True},
    ),
    _deadline("hours", Duration(30, "hours"), states=("open",), unless={"kind": False}),
)


def _plain_business_days(start: datetime, amount: int, holiday: Holiday) -> datetime:
    moment = start.astimezone(JST)
    while amount:
        moment += timedelta(days=1)
        if not holiday(moment.date()):
            amount -= 1
    return moment


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2030, 12, 31),
        timezones=st.sampled_from([JST, UTC]),
    ),
    st.integers(0, 70),
    st.sampled_from(CALENDARS),
)
def test_business_days_remembered_by_the_day_are_counted_day_by_day(
    start: datetime, amount: int, holiday: Holiday
) -> None:
    assert add(start, Duration(amount, "business_days"), holiday) == _plain_business_days(
        start, amount, holiday
    )


def _shape(runs: Any) -> list[tuple[Any, ...]]:
    return [(r.deadline.name, r.started_at, r.due_at, r.stopped_at) for r in runs]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(entries, max_size=14),
    st.lists(st.integers(0, 14), max_size=4),
    st.sampled_from(CALENDARS),
)
def test_the_deadlines_followed_as_a_history_grows_are_those_of_the_whole_history(
    history: list[Entry], cuts: list[int], holiday: Holiday
) -> None:
    growing: list[Entry] = []
    followed = Episodes(growing, DEADLINES, holiday)
    for cut in [*sorted(cuts), len(history)]:
        growing.extend(history[len(growing) : max(cut, len(growing))])
        assert followed.follows(growing, DEADLINES, holiday)
        assert _shape(followed.now()) == _shape(episodes(growing, DEADLINES, holiday))
    assert not followed.follows(list(growing), DEADLINES, holiday)  # another list: not followed


def test_a_history_whose_entries_were_replaced_is_not_followed() -> None:
    history = [
        Entry(
            0, datetime(2026, 5, 1, 9, tzinfo=JST), "a", "staff", "file", "", "open", "", {}, (), ()
        )
    ]
    followed = Episodes(history, DEADLINES, weekends)
    followed.now()
    history[0] = Entry(
        0, datetime(2026, 5, 2, 9, tzinfo=JST), "a", "staff", "file", "", "open", "", {}, (), ()
    )
    assert not followed.follows(history, DEADLINES, weekends)


def test_a_moment_remembered_is_the_moment_parsed() -> None:
    for value in (*DATES, None, 3, True, date(2026, 5, 1)):
        assert usable_moment(value) == usable_moment(value)
    assert usable_moment(None) is None
    assert usable_moment("2026-05-01T09:30") == datetime(2026, 5, 1, 9, 30, tzinfo=JST)


# -- flaws --------------------------------------------------------------------------------------

SPECS = {
    "count": FieldSpec("count", Label("Count", "数"), kind="int"),
    "when": FieldSpec("when", Label("When", "日付"), kind="date"),
    "flag": FieldSpec("flag", Label("Flag", "旗"), kind="bool"),
    "note": FieldSpec("note", Label("Note", "備考"), kind="text"),
    "pick": FieldSpec("pick", Label("Pick", "選択"), kind="choice", choices=("a", "b")),
}
WORKFLOW = Workflow.__new__(Workflow)
object.__setattr__(WORKFLOW, "fields", SPECS)
TEXTS = ("sato", " sato", "佐藤 花子", "a\x00b", "line\nbreak", "", "x" * 300, "\ud800", "a", "b")
VALUES = st.one_of(
    st.sampled_from(TEXTS),
    st.sampled_from(DATES),
    st.booleans(),
    st.integers(-2, 2),
    st.just(10**20),
    st.none(),
    st.lists(st.integers(0, 2), max_size=2),
)
case_entries = st.builds(
    lambda actor, comment, documents, fields: Entry(
        0,
        datetime(2026, 5, 1, tzinfo=JST),
        actor,
        "staff",
        "t",
        "",
        "s",
        comment,
        fields,
        (),
        tuple(Attachment(name, "0" * 64, 1) for name in documents),
    ),
    st.sampled_from(TEXTS),
    st.sampled_from(TEXTS),
    st.lists(st.sampled_from(TEXTS), max_size=2),
    st.dictionaries(st.sampled_from([*SPECS, "unknown"]), VALUES, max_size=3),
)


def _plain_flaws(case: Case, workflow: Workflow) -> tuple[Flaw, ...]:
    """The flaws as first written: every value checked again, over the whole history."""
    found: dict[tuple[str, str], Flaw] = {}

    def check(name: str, value: Any, refuse: Any) -> None:
        try:
            refuse(value)
        except InvalidValue as error:
            key = (name, repr(value))
            if key not in found:
                found[key] = Flaw(name, Label(error.render("en"), error.render("ja")))

    check(
        "title",
        case.title,
        lambda v: check_name(v.strip(), Label("The title", "件名"), TITLE_LIMIT),
    )
    check("department", case.department, lambda v: check_name(v, DEPARTMENT))
    check("filer", case.filer, lambda v: check_name(v, PERSON))
    for entry in case.history:
        check("actor", entry.actor, lambda v: check_name(v, PERSON))
        if entry.comment:
            check(
                "comment", entry.comment, lambda v: check_text(v, Label("The comment", "コメント"))
            )
        for document in entry.attachments:
            check(
                "document",
                document.name,
                lambda v: check_name(v, Label("The document's name", "文書名"), DOCUMENT_LIMIT),
            )
        for name, value in entry.fields.items():
            spec = workflow.fields.get(name)
            if spec is not None:
                check(name, value, partial(normalise_value, spec))
    return tuple(found.values())


def _case(title: str, department: str, filer: str, history: list[Entry]) -> Case:
    case = SimpleNamespace(title=title, department=department, filer=filer, history=history)
    return cast("Case", case)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(TEXTS),
    st.sampled_from(TEXTS),
    st.sampled_from(TEXTS),
    st.lists(case_entries, max_size=8),
    st.lists(st.integers(0, 8), max_size=3),
)
def test_the_flaws_followed_and_remembered_are_those_checked_the_plain_way(
    title: str, department: str, filer: str, history: list[Entry], cuts: list[int]
) -> None:
    growing: list[Entry] = []
    case = _case(title, department, filer, growing)
    followed = Flaws(case, WORKFLOW)
    for cut in [*sorted(cuts), len(history)]:
        growing.extend(history[len(growing) : max(cut, len(growing))])
        assert followed.follows(case, WORKFLOW)
        assert followed.now() == _plain_flaws(case, WORKFLOW) == flaws(case, WORKFLOW)
    case.title = f"{title} (renamed)"
    assert not followed.follows(case, WORKFLOW)


def test_true_and_one_are_remembered_apart() -> None:
    spec = SPECS["count"]
    for value in (1, True, 1, True):
        case = _case(
            "t",
            "sales",
            "sato",
            [
                Entry(
                    0,
                    datetime(2026, 5, 1, tzinfo=JST),
                    "sato",
                    "staff",
                    "t",
                    "",
                    "s",
                    "",
                    {"count": value},
                    (),
                    (),
                )
            ],
        )
        assert [f.field for f in flaws(case, WORKFLOW)] == ([] if value is not True else ["count"])
    assert spec.kind == "int"
