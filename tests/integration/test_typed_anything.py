"""Whatever is typed, through the library and the command line, on every backend: random values
of every field kind, random Unicode (surrogates and control characters among it) and random
bytes (as the command line gets them from an argv that is not UTF-8).

No traceback ever; a refused call (an ApprovalsError in the library, an exit code other than 0
on the command line) leaves every table of the store and every file it was given byte for byte
as it was; after an accepted one every read still works.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import ApprovalsApplication, ApprovalsError, Document, open_approvals
from approvals.cli import cli
from approvals.logging import configure
from tests.cli.conftest import HERMETIC_ENV
from tests.conftest import (
    AUDITOR,
    CHIEF,
    HANDLER,
    HR_STAFF,
    MANAGER,
    OTHER_MANAGER,
    REPRESENTATIVE,
    STAFF,
    FakeClock,
    appoint_standard_roster,
)
from tests.scenarios import FILINGS, INVESTIGATION

# -- the tables of a store, as Python values ---------------------------------------------------

Snapshot = dict[str, list[tuple[Any, ...]]]


class Tables:
    """Every table of the store at ``url`` (a SQLite file, or the PostgreSQL schema its
    search_path names), each row as Python values (bytes for bytea), rows in a fixed order."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.schema = url.rsplit("%3D", 1)[1] if url.startswith("postgresql") else None

    def snapshot(self) -> Snapshot:
        with self.engine.connect() as connection:
            if self.schema is None:
                names = connection.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type = 'table'")
                ).scalars()
                qualified = {name: f'"{name}"' for name in names}
            else:
                names = connection.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :schema AND table_type = 'BASE TABLE'"
                    ),
                    {"schema": self.schema},
                ).scalars()
                qualified = {name: f'"{self.schema}"."{name}"' for name in names}
            return {
                name: sorted(
                    (
                        tuple(_plain(value) for value in row)
                        for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
                    ),
                    key=repr,
                )
                for name, table in sorted(qualified.items())
            }

    def close(self) -> None:
        self.engine.dispose()


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def shown(value: Any) -> str:
    """``repr(value)``, cut short; a whole number too long to write in decimal by its size."""
    try:
        return repr(value)[:300]
    except ValueError:
        return f"<a whole number of {value.bit_length()} bits>"


def unchanged(before: Snapshot, after: Snapshot, what: str) -> None:
    """Assert ``after`` is ``before``, naming the tables that changed and how."""
    if after == before:
        return
    changed = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            added = [row for row in new or [] if row not in (old or [])]
            removed = [row for row in old or [] if row not in (new or [])]
            changed.append(f"{name}: +{added[:3]!r} -{removed[:3]!r}")
    raise AssertionError(f"{what} was refused, yet the store changed: " + "; ".join(changed))


# -- what is typed -----------------------------------------------------------------------------

ANY_UNICODE = st.text(st.characters(exclude_categories=()), max_size=40)
"""Any code point: control characters, lone surrogates, NUL, private use, unassigned."""

ARGV_BYTES = st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape"))
"""What Python makes of an argv that is not UTF-8."""

LONG = st.sampled_from(["x" * 101, "x" * 201, "x" * 256, "é" * 10_001, "あ" * 100, "a\n" * 50])

TRICKY = st.text(
    st.sampled_from(list("a5-=/.\n\r\t\x00\x0b\x1b\x7f\x85\u2028\u200b\ufeff\ud800\udcff é日")),
    max_size=12,
)
"""Short text made mostly of what breaks lines, terminals and encoders."""

ANY_TEXT = ANY_UNICODE | ARGV_BYTES | TRICKY | LONG

WHOLE = (
    st.integers().map(str)
    | st.integers(min_value=-(10**40), max_value=10**40).map(str)
    | st.floats().map(str)
    | st.sampled_from(
        [
            "²", "٣²", "٣", "１２", "--5", "+5", "-0", "007", "1e3", "1.5", "-1.0", "inf", "nan",
            " 42 ", "1_000", "0x10", "5" * 5000, "-" + "9" * 5000, "1000000000000",
            "1000000000001", "-1000000000000", "-1000000000001", "", "-", "0\x00", "١٢٣",
        ]
    )
)  # fmt: skip
"""Numbers written every way: superscripts, Arabic-Indic digits, 5000 digits, floats."""

OFFSETS = st.none() | st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
).map(timezone)
MOMENTS = st.datetimes(timezones=OFFSETS)
SPECS = st.sampled_from(["minutes", "seconds", "microseconds", "auto", "hours"])
DAYS = (
    st.dates().map(date.isoformat)
    | st.dates(date(1899, 12, 25), date(2201, 1, 5)).map(date.isoformat)
    | st.sampled_from(
        [
            "2026-02-30", "2026-13-01", "20260401", "2026-W14-3", "2026-4-1", "0000-01-01",
            "٢٠٢٦-٠٤-٠١", "2026-04-01\x00", "9999-12-31", "1900-01-01", "2200-12-31",
            "1899-12-31", "2201-01-01", "-2026-04-01", "2026-04-01T09:00",
        ]
    )
)  # fmt: skip
"""Dates in and out of 1900-2200, in other digits, and malformed."""

WHEN = (
    st.tuples(MOMENTS, SPECS).map(lambda pair: pair[0].isoformat(timespec=pair[1]))
    | st.sampled_from(
        [
            "9999-12-31T23:59-23:59", "0001-01-01T00:00+23:59", "2026-04-01T25:00",
            "2026-04-01T09:30Z", "2026-04-01T09:30+25:00", "2026-04-01 09:30",
            "2026-04-01T09:30:00.123456789", "2200-12-31T23:59-12:00", "1900-01-01T00:00+14:00",
            "2026-04-01", "2026-04-01T09:30\n", "２０２６-04-01T09:30",
        ]
    )
)  # fmt: skip
"""Moments in and out of range, with odd offsets and precisions, malformed."""

YESNO = st.sampled_from(
    [
        "yes", "no", "YES", "Yes", "はい", "いいえ", "ＹＥＳ", "İ", "ı", "true\x00", "on", "OFF",
        "1", "0", "２", "ja", " y ", "nO", "yes\u200b", "",
    ]
)  # fmt: skip
"""Booleans as odd strings."""

REFERENCES = st.sampled_from(
    [
        "ENT-2026-0001", "ent-2026-0001 ", "ENT-٢٠٢٦-0001", "ENT-2026-", "ENT-²-1", "X-1-1",
        "ENT-2026-00000000000000000000001", "A-0-0", "ENT--", "PUR-2026-0001", "ENT-2026-9999",
        "E" * 101, "ENT-2026-0001\x00", "-", "ENT_2026_0001",
    ]
) | st.from_regex(r"[A-Za-z]{0,4}-[0-9]{0,6}-[0-9]{0,6}", fullmatch=True)  # fmt: skip
"""Case references that name no case, a case of another workflow, or nothing at all."""

CHOICES = st.sampled_from(["disclosure", "Disclosure", " disclosure ", "in_writing", "x"])

VALUES: dict[str, st.SearchStrategy[str]] = {
    "text": ANY_TEXT,
    "int": WHOLE | ANY_TEXT,
    "date": DAYS | ANY_TEXT,
    "datetime": WHEN | ANY_TEXT,
    "bool": YESNO | ANY_TEXT,
    "choice": CHOICES | ANY_TEXT,
    "case": REFERENCES | ANY_TEXT,
    "name": ANY_TEXT | st.sampled_from(["佐藤 花子", " sato", "sato ", "sales", "---", "--help"]),
}

PYTHON_VALUES = st.one_of(
    st.integers(),
    st.just(10**5000),
    st.just(-(10**5000)),
    st.floats(),
    st.booleans(),
    st.none(),
    st.binary(max_size=10),
    st.dates(),
    MOMENTS,
    st.lists(st.integers(), max_size=2),
)
"""What a library caller may hand over that is not a string at all."""

REQUEST = {
    "kind": "disclosure",
    "data_subject": "Hanako Yamada",
    "received_on": "2026-04-24",
    "request_details": "Everything the company holds on her",
    "wished_method": "in_writing",
}
INCIDENT = {"known_at": "2026-03-31T10:00", "description": "A laptop was lost", "at_vendor": "no"}
PEOPLE = (STAFF, MANAGER, CHIEF, HR_STAFF, OTHER_MANAGER, HANDLER, AUDITOR, REPRESENTATIVE)

# -- the library -------------------------------------------------------------------------------


@dataclass
class Store:
    app: ApprovalsApplication
    tables: Tables
    entrustment: str
    touched: set[str] = field(default_factory=set)


def reads(app: ApprovalsApplication, references: Iterable[str]) -> None:
    """Every read a user makes works: inboxes, registers, reminders, the cases and histories."""
    for person in PEOPLE:
        app.inbox(person)
    registers = app.registers()
    registers.cases()
    registers.overdue()
    registers.vendors()
    registers.provisions()
    registers.retention()
    app.reminders(actor=CHIEF, everyone=True)
    for reference in references:
        app.case(reference)
        app.history(reference)


Call = Callable[[Store, Any], Any]


def _file(workflow: str, base: dict[str, Any], **changes: Any) -> Call:
    def call(store: Store, value: Any) -> Any:
        arguments: dict[str, Any] = {"title": "t", "department": "sales", "fields": dict(base)}
        for key, where in changes.items():
            if key == "fields":
                arguments["fields"][where] = value
            else:
                arguments[key] = value
        return store.app.file(workflow, actor=STAFF, **arguments)

    return call


def _fresh(store: Store, workflow: str, fields: dict[str, Any]) -> str:
    reference = store.app.file(
        workflow, actor=STAFF, title="t", department="sales", fields=fields
    ).reference
    store.touched.add(reference)
    return reference


def _investigate(name: str) -> Call:
    def call(store: Store, value: Any) -> Any:
        reference = store.app.file(
            "entrustment",
            actor=STAFF,
            title="t",
            department="sales",
            fields=FILINGS["entrustment"],
        ).reference
        store.touched.add(reference)
        return lambda: store.app.act(
            reference, "record_investigation", actor=MANAGER, fields={**INVESTIGATION, name: value}
        )

    return call


def _consult_comment(store: Store, value: Any) -> Any:
    reference = _fresh(store, "purpose", FILINGS["purpose"])
    return lambda: store.app.act(reference, "consult", actor=MANAGER, comment=value)


def _trigger(store: Store, value: Any) -> Any:
    reference = _fresh(store, "purpose", FILINGS["purpose"])
    return lambda: store.app.act(reference, value, actor=MANAGER)


def _field_name(store: Store, value: Any) -> Any:
    fields = {**FILINGS["purpose"], value: "x"}
    return store.app.file("purpose", actor=STAFF, title="t", department="sales", fields=fields)


def _attachment(store: Store, value: Any) -> Any:
    name, content = value
    return store.app.file(
        "purpose",
        actor=STAFF,
        title="t",
        department="sales",
        fields=FILINGS["purpose"],
        attachments=[Document.of(name, content)],
    )


LIBRARY: dict[str, tuple[st.SearchStrategy[Any], Call]] = {
    "title": (VALUES["name"], _file("purpose", FILINGS["purpose"], title=1)),
    "department": (VALUES["name"], _file("purpose", FILINGS["purpose"], department=1)),
    "comment": (VALUES["text"], _file("purpose", FILINGS["purpose"], comment=1)),
    "text": (VALUES["text"], _file("purpose", FILINGS["purpose"], fields="purpose")),
    "int": (VALUES["int"], _file("incident", INCIDENT, fields="individuals_count")),
    "datetime": (VALUES["datetime"], _file("incident", INCIDENT, fields="known_at")),
    "bool": (VALUES["bool"], _file("incident", INCIDENT, fields="at_vendor")),
    "case": (VALUES["case"], _file("incident", INCIDENT, fields="entrustment")),
    "date": (VALUES["date"], _file("request", REQUEST, fields="received_on")),
    "choice": (VALUES["choice"], _file("request", REQUEST, fields="kind")),
    "object": (PYTHON_VALUES, _file("incident", INCIDENT, fields="individuals_count")),
    "object-date": (PYTHON_VALUES, _file("request", REQUEST, fields="received_on")),
    "object-moment": (PYTHON_VALUES, _file("incident", INCIDENT, fields="known_at")),
    "object-text": (PYTHON_VALUES, _file("purpose", FILINGS["purpose"], fields="purpose")),
    "field-name": (VALUES["text"], _field_name),
    "attachment": (st.tuples(VALUES["name"], st.binary(max_size=64)), _attachment),
    "step-date": (VALUES["date"], _investigate("interview_date")),
    "step-bool": (VALUES["bool"], _investigate("security_equal_or_higher")),
    "step-text": (VALUES["text"], _investigate("work_places")),
    "step-comment": (VALUES["text"], _consult_comment),
    "trigger": (VALUES["text"], _trigger),
    "appoint-user": (
        VALUES["name"],
        lambda store, value: store.app.appoint(
            actor=MANAGER, user=value, role="staff", department="sales"
        ),
    ),
    "appoint-department": (
        VALUES["name"],
        lambda store, value: store.app.appoint(
            actor=CHIEF, user="newcomer", role="manager", department=value
        ),
    ),
    "actor": (VALUES["name"], lambda store, value: store.app.inbox(value)),
    "show": (VALUES["case"], lambda store, value: store.app.case(value)),
    "history": (VALUES["case"], lambda store, value: store.app.history(value)),
}

LIBRARY_TYPED = st.lists(
    st.one_of(*(st.tuples(st.just(slot), values) for slot, (values, _call) in LIBRARY.items())),
    min_size=1,
    max_size=4,
)

HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@pytest.fixture
def library_store(backend_url: str, clock: FakeClock, workflows: Any) -> Iterator[Store]:
    """One store for all the examples of a test: each example compares the tables before and
    after each call rather than expecting an empty store."""
    app = open_approvals(backend_url, clock=clock, workflows=workflows)
    tables = Tables(backend_url)
    try:
        appoint_standard_roster(app)
        entrustment = _fresh_entrustment(app)
        yield Store(app, tables, entrustment, {entrustment})
    finally:
        app.close()
        tables.close()


def _fresh_entrustment(app: ApprovalsApplication) -> str:
    return app.file(
        "entrustment",
        actor=STAFF,
        title="Scanning",
        department="sales",
        fields=FILINGS["entrustment"],
    ).reference


def _examples(backend_url: str, sqlite: int, postgres: int) -> int:
    return sqlite if backend_url.startswith("sqlite") else postgres


def test_anything_given_to_the_library_is_kept_and_readable_or_refused_with_nothing_written(
    library_store: Store, backend_url: str
) -> None:
    store = library_store

    @given(typed=LIBRARY_TYPED)
    @settings(HYPOTHESIS, max_examples=_examples(backend_url, sqlite=60, postgres=30))
    def example(typed: list[tuple[str, Any]]) -> None:
        touched = {store.entrustment}
        for slot, value in typed:
            call = LIBRARY[slot][1]
            if slot.startswith(("step-", "trigger")):
                run = call(store, value)  # the case is filed first, then the step is tried
            else:
                run = lambda call=call, value=value: call(store, value)  # noqa: E731
            before = store.tables.snapshot()
            try:
                done = run()
            except ApprovalsError as error:
                sentences = [error.render(lang) for lang in ("en", "ja")]
                assert all(sentences), slot
                unchanged(before, store.tables.snapshot(), f"{slot}={shown(value)}")
                continue
            reference = getattr(done, "reference", None)
            touched |= {reference} if isinstance(reference, str) else set()
            reads(store.app, ())
        reads(store.app, touched | store.touched)
        store.touched.clear()

    example()


# -- the command line --------------------------------------------------------------------------


@dataclass
class Shell:
    """The store at ``url`` seen through the command line, and the library for setting up."""

    url: str
    app: ApprovalsApplication
    tables: Tables
    files: Path
    entrustment: str
    touched: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    def run(self, *args: str, user: str = STAFF) -> Result:
        result = CliRunner().invoke(
            cli, ["--db", self.url, "--user", user, *args], env=HERMETIC_ENV, prog_name="approvals"
        )
        configure(verbose=False)  # the run's stderr is gone: no library line may go there
        return result


def describe(result: Result, argv: list[str] | None = None, user: str = "") -> str:
    import traceback

    shown = f"approvals {argv!r} as {user!r}\n" if argv is not None else ""
    shown += f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    if result.exc_info and not isinstance(result.exception, SystemExit):
        shown += "\n" + "".join(traceback.format_exception(*result.exc_info))
    return shown


def well_ended(result: Result, argv: list[str], user: str) -> None:
    """No traceback; exit 0, 1 or 2; a refusal is one line, a usage error one Error: line."""
    said = describe(result, argv, user)
    assert result.exception is None or isinstance(result.exception, SystemExit), said
    assert "Traceback" not in result.output, said
    assert result.exit_code in (0, 1, 2), said
    lines = result.stderr.removesuffix("\n").split("\n")  # what a terminal breaks lines at
    if result.exit_code == 1:
        assert len(lines) == 1, said
        assert lines[0].strip(), said
        assert "\r" not in lines[0], said
    if result.exit_code == 2:
        assert len([line for line in lines if line.startswith("Error:")]) == 1, said
        assert lines[-1].startswith("Error:"), said


def sets(fields: dict[str, str]) -> list[str]:
    return [arg for key, value in fields.items() for arg in ("--set", f"{key}={value}")]


Argv = tuple[list[str], str]  # the arguments, who runs them


def _cli_file(workflow: str, base: dict[str, str], what: str) -> Callable[[Shell, str], Argv]:
    def argv(_shell: Shell, value: str) -> Argv:
        title, department, comment, fields = "t", "sales", "", dict(base)
        if what == "title":
            title = value
        elif what == "department":
            department = value
        elif what == "comment":
            comment = value
        else:
            fields[what] = value
        return [
            "file", workflow, "--title", title, "--department", department,
            "--comment", comment, *sets(fields),
        ], STAFF  # fmt: skip

    return argv


def _cli_investigate(name: str) -> Callable[[Shell, str], Argv]:
    def argv(shell: Shell, value: str) -> Argv:
        reference = _fresh_entrustment(shell.app)
        shell.touched.add(reference)
        fields = {**INVESTIGATION, name: value}
        return ["act", reference, "record_investigation", *sets(fields)], MANAGER

    return argv


def _cli_field_name(_shell: Shell, value: str) -> Argv:
    argv = ["file", "purpose", "--title", "t", "--department", "sales"]
    return [*argv, *sets(FILINGS["purpose"]), "--set", f"{value}=x"], STAFF


def _cli_purpose(shell: Shell) -> str:
    reference = shell.app.file(
        "purpose", actor=STAFF, title="t", department="sales", fields=FILINGS["purpose"]
    ).reference
    shell.touched.add(reference)
    return reference


CLI: dict[str, tuple[st.SearchStrategy[str], Callable[[Shell, str], Argv]]] = {
    "title": (VALUES["name"], _cli_file("purpose", FILINGS["purpose"], "title")),
    "department": (VALUES["name"], _cli_file("purpose", FILINGS["purpose"], "department")),
    "comment": (VALUES["text"], _cli_file("purpose", FILINGS["purpose"], "comment")),
    "text": (VALUES["text"], _cli_file("purpose", FILINGS["purpose"], "purpose")),
    "int": (VALUES["int"], _cli_file("incident", INCIDENT, "individuals_count")),
    "datetime": (VALUES["datetime"], _cli_file("incident", INCIDENT, "known_at")),
    "bool": (VALUES["bool"], _cli_file("incident", INCIDENT, "at_vendor")),
    "case": (VALUES["case"], _cli_file("incident", INCIDENT, "entrustment")),
    "date": (VALUES["date"], _cli_file("request", REQUEST, "received_on")),
    "choice": (VALUES["choice"], _cli_file("request", REQUEST, "wished_method")),
    "field-name": (VALUES["text"], _cli_field_name),
    "step-date": (VALUES["date"], _cli_investigate("interview_date")),
    "step-bool": (VALUES["bool"], _cli_investigate("financially_sound")),
    "step-text": (VALUES["text"], _cli_investigate("storage_places")),
    "step-comment": (
        VALUES["text"],
        lambda shell, value: (["act", _cli_purpose(shell), "consult", "--comment", value], MANAGER),
    ),
    "shortcut-comment": (
        VALUES["text"],
        lambda shell, value: (["consult", _cli_purpose(shell), "-m", value], MANAGER),
    ),
    "trigger": (
        VALUES["text"],
        lambda shell, value: (["act", _cli_purpose(shell), value], MANAGER),
    ),
    "appoint-user": (
        VALUES["name"],
        lambda _shell, value: (["roster", "appoint", value, "staff", "-d", "sales"], MANAGER),
    ),
    "appoint-department": (
        VALUES["name"],
        lambda _shell, value: (["roster", "appoint", "newcomer", "manager", "-d", value], CHIEF),
    ),
    "user": (VALUES["name"], lambda _shell, value: (["inbox"], value)),
    "show": (VALUES["case"], lambda _shell, value: (["show", value], STAFF)),
    "history": (VALUES["case"], lambda _shell, value: (["history", value], STAFF)),
    "list": (VALUES["name"], lambda _shell, value: (["list", "--department", value], STAFF)),
}


def _raw(name: str) -> bytes:
    """The bytes of a file name: as Python reads them from the file system, else as they are."""
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:  # a surrogate the file system could not have given
        return name.encode("utf-8", "surrogatepass")


FILE_NAMES = (VALUES["name"] | ARGV_BYTES).map(_raw).filter(
    lambda raw: 0 < len(raw) <= 255 and b"/" not in raw and b"\0" not in raw
    and raw not in (b".", b"..")
)  # fmt: skip
"""File names the file system allows: any bytes but / and NUL, at most 255 of them."""

ATTACHED = st.tuples(FILE_NAMES, st.binary(max_size=64))
CLI_TYPED = st.lists(
    st.sampled_from(["attach", "attach", *CLI]).flatmap(
        lambda slot: st.tuples(st.just(slot), ATTACHED if slot == "attach" else CLI[slot][0])
    ),
    min_size=1,
    max_size=3,
)
"""Which command, with which value; an attachment with a hostile name twice as often."""


@pytest.fixture
def shell(backend_url: str, tmp_path: Path) -> Iterator[Shell]:
    """A store with the sample roster and an entrustment, on the system clock as the command
    line runs; one for all the examples of a test."""
    url = backend_url
    app = open_approvals(url)
    tables = Tables(url)
    try:
        appoint_standard_roster(app)
        entrustment = _fresh_entrustment(app)
        files = tmp_path / "given"
        files.mkdir()
        yield Shell(url, app, tables, files, entrustment, {entrustment}, {entrustment})
    finally:
        app.close()
        tables.close()


def _attach(shell: Shell, value: tuple[bytes, bytes], number: int) -> tuple[Argv, Path]:
    name, content = value
    folder = shell.files / str(number)
    folder.mkdir()
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + name))
    path.write_bytes(content)
    argv = [
        "file", "purpose", "--title", "t", "--department", "sales",
        *sets(FILINGS["purpose"]), "--attach", str(path),
    ]  # fmt: skip
    return (argv, STAFF), folder


def cli_reads(shell: Shell, references: set[str]) -> None:
    """Every read command works: inboxes, the list, the registers, reminders, each case."""
    commands: list[tuple[list[str], str]] = [(["inbox"], person) for person in PEOPLE[:3]]
    commands += [(["list"], CHIEF), (["remind", "--all"], CHIEF)]
    commands += [
        (["register", name], CHIEF)
        for name in ("cases", "overdue", "vendors", "provisions", "retention")
    ]
    for reference in sorted(references):
        commands += [(["show", reference], STAFF), (["history", reference], STAFF)]
    for argv, user in commands:
        result = shell.run(*argv, user=user)
        assert result.exit_code == 0, (argv, describe(result))
        assert "Traceback" not in result.output, describe(result)


def test_anything_typed_at_the_command_line_is_kept_and_readable_or_refused_with_nothing_written(
    shell: Shell, backend_url: str
) -> None:
    @given(typed=CLI_TYPED)
    @settings(HYPOTHESIS, max_examples=_examples(backend_url, sqlite=20, postgres=12))
    def example(typed: list[tuple[str, Any]]) -> None:
        for slot, value in typed:
            given_files: dict[Path, bytes] = {}
            if slot == "attach":
                (argv, user), folder = _attach(shell, value, len(list(shell.files.iterdir())))
                given_files = {path: path.read_bytes() for path in folder.iterdir()}
            else:
                argv, user = CLI[slot][1](shell, value)
            before = shell.tables.snapshot()
            result = shell.run(*argv, user=user)
            well_ended(result, argv, user)
            for path, content in given_files.items():
                assert path.read_bytes() == content, f"{path} changed"
            if result.exit_code != 0:
                unchanged(before, shell.tables.snapshot(), f"approvals {argv!r} (as {user!r})")
                continue
            shell.touched |= set(shell.app.references()) - shell.seen
        cli_reads(shell, shell.touched)
        shell.touched = {shell.entrustment}
        shell.seen = set(shell.app.references())

    example()
