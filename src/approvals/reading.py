"""The quick read path: the inbox and the case register straight from the read-model tables.

A command that only reads the read models (``approvals inbox``, ``list``, ``register cases``)
need not build the application when the models are current: their tracked positions equal the
log's last position, each under the version its code writes and on the calendar the command
counts on (one query says so).  Then :class:`ReadModels` answers with SQLAlchemy Core alone —
no eventsourcing, no cryptography, no persistence set-up — and reads only the workflow files
whose labels the answer shows.  Whenever it is not sure it would give the full path's answer
(a model behind or of another version, another calendar, a person not on the roster's table,
a definition version the file no longer holds, a value the tables keep altered, a store it
cannot read), it raises :class:`NotCurrent` and the caller takes the full path, which catches
up and answers or refuses as always.

With a folder of the company's own workflows (``--workflows DIR``), the definitions are loaded
and checked as the full path loads them (the built-ins and the company's files, each refused
as there), and the labels of a workflow version they hold come from them: a company's
workflow is shown with its own labels, never a built-in file's.  A case of a company's
workflow read without the folder is left to the full path, which reads its definition from
the log.

The table shapes and model versions here are those of ``projections/``; a test compares them,
and compares this path's answers with the full path's on the same store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from approvals.domain.workflow import ROLES
from approvals.errors import ApprovalsError, CaseUnreadable, FlawedValue, Label
from approvals.labels import Labels as _Labels
from approvals.labels import NotCurrent, read_labels, workflows_dir
from approvals.results import CaseEntry, InboxItem
from approvals.schema import SCHEMA_REVISION, VERSION_TABLE

if TYPE_CHECKING:
    from approvals.domain.clocks import Holiday
    from approvals.domain.workflow import Workflow

__all__ = ["CALENDAR_MODELS", "MODELS", "NotCurrent", "ReadModels"]

T = TypeVar("T")

MODELS: dict[str, int] = {
    "cases": 3, "inbox": 2, "deadlines": 2, "vendors": 6, "provisions": 4, "receipts": 1,
    "retention": 3, "unreadable": 2,
}  # fmt: skip
"""Each read model, with the version of its rows this path reads (that of ``projections/``)."""

CALENDAR_MODELS = frozenset({"deadlines", "inbox", "vendors"})
"""The models whose rows hold due dates, and so depend on the calendar."""

DISPOSED = Label("disposed", "廃棄済み")

_tracking = sa.table(
    "approvals_projections", sa.column("name"), sa.column("version"), sa.column("position"),
    sa.column("calendar"),
)  # fmt: skip
_events = sa.table("approvals_events", sa.column("id"))
_revision = sa.table(VERSION_TABLE, sa.column("version_num"))
_inbox = sa.table(
    "rm_inbox", *map(sa.column, (
        "reference", "trigger", "role", "department", "filer", "workflow", "workflow_version",
        "title", "case_department", "state", "since", "due_at")),
    sa.column("filer_only", sa.Boolean), sa.column("not_filer", sa.Boolean),
)  # fmt: skip
_roster = sa.table("rm_roster", sa.column("user"), sa.column("role"), sa.column("department"))
_CASE_COLUMNS = (
    "reference", "workflow", "workflow_version", "title", "department", "filer", "state",
    "terminal", "events", "filed_at", "updated_at", "decision", "decided_at", "effective_date",
    "effective_at", "ended_at", "retention_until", "disposed_at",
)  # fmt: skip
_CASE_TYPES: dict[str, Any] = {
    "terminal": sa.Boolean(),
    "effective_date": sa.Date(),
    "retention_until": sa.Date(),
}
_cases = sa.table(
    "rm_cases", *(sa.column(name, _CASE_TYPES.get(name)) for name in (*_CASE_COLUMNS, "listed_at"))
)
_MOMENTS = frozenset({"filed_at", "updated_at", "decided_at", "effective_at", "ended_at",
                      "disposed_at"})  # fmt: skip
_unreadable = sa.table("rm_unreadable", sa.column("reference"), sa.column("code"))
_flawed = sa.table(
    "rm_flawed", sa.column("reference"), sa.column("position"), sa.column("en"), sa.column("ja")
)
# The widths of the columns a filter compares with: a longer value is kept shortened there.
_WIDTHS = {"user": 200, "workflow": 64, "state": 64, "department": 200}


def _moment(value: Any) -> datetime | None:
    """A moment as the read models keep it (UTC, ISO text on SQLite), timezone-aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    moment: datetime = value.replace(tzinfo=UTC)
    return moment


def _stored(value: str, column: str) -> str:
    """``value`` as a filter compares it with the column; a value the tables would keep
    altered (a NUL, a lone surrogate, longer than the column) is left to the full path."""
    if (
        "\x00" in value
        or len(value) > _WIDTHS[column]
        or any("\ud800" <= c <= "\udfff" for c in value)
    ):
        raise NotCurrent(column)
    return value


class ReadModels:
    """The read-model tables of one store, read while they are current.

    ``holiday`` is the calendar the command counts on (the models holding due dates must have
    been computed on it); ``clock`` gives now (for what is overdue); ``workflows`` the folder
    of the built-in workflow files (default: the installed ones), ``company`` that of the
    company's own (``--workflows``), when the command names one."""

    def __init__(
        self,
        url: str,
        *,
        holiday: Holiday,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        workflows: Path | None = None,
        company: Path | None = None,
    ) -> None:
        self.url = url
        self._holiday = holiday
        self._clock = clock
        self._folder = workflows or workflows_dir()
        self._company = company
        self._loaded: dict[str, tuple[int, _Labels]] | None = None
        self._labels: dict[tuple[str, int], _Labels] = {}
        self._engine: sa.Engine | None = None
        self._connection: sa.Connection | None = None

    def __enter__(self) -> ReadModels:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the database."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _rows(self, query: sa.Select[Any]) -> Sequence[Any]:
        """Run ``query`` on the one connection this reader holds (opened on first use)."""
        if self._connection is None:
            parsed = sa.make_url(self.url)
            options: dict[str, Any] = {"poolclass": sa.NullPool}
            if parsed.get_backend_name() == "sqlite":
                file = parsed.database
                # Nothing is made here: a missing file is the full path's to refuse.
                if not file or file == ":memory:" or not Path(file).expanduser().is_file():
                    raise NotCurrent("no store file")
                options["connect_args"] = {"timeout": 30}
            elif parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            self._engine = sa.create_engine(parsed, **options)
            self._connection = self._engine.connect()
        return self._connection.execute(query).all()

    def check(self) -> None:
        """Refuse (:class:`NotCurrent`) read models that are not all at the log's last position,
        under the versions read here, on the command's calendar, in a store of this release's
        schema (another's is the full path's to refuse)."""
        head = sa.select(sa.func.max(_events.c.id)).scalar_subquery()
        revision = sa.select(sa.func.max(_revision.c.version_num)).scalar_subquery()
        query = sa.select(_tracking.c.name, _tracking.c.version, _tracking.c.position,
                          _tracking.c.calendar, head.label("head"),
                          revision.label("revision"))  # fmt: skip
        rows = self._rows(query)
        found = {row.name: row for row in rows}
        if set(MODELS) - set(found):
            raise NotCurrent("models")
        if any(row.revision != SCHEMA_REVISION for row in rows):
            raise NotCurrent("schema")
        fingerprint: str | None = None
        for name, version in MODELS.items():
            row = found[name]
            if row.version != version or row.position != (row.head or 0):
                raise NotCurrent(name)
            if name in CALENDAR_MODELS:
                fingerprint = fingerprint or _fingerprint(self._holiday)
                if row.calendar != fingerprint:
                    raise NotCurrent(name)
            elif row.calendar is not None:
                raise NotCurrent(name)

    def inbox(self, person: str) -> tuple[InboxItem, ...]:
        """Return the steps that wait for ``person``, oldest first, as
        :meth:`approvals.registers.Registers.inbox` does; someone the roster's table does not
        hold is left to the full path (which refuses them)."""
        inbox, roster = _inbox, _roster
        user = _stored(person, "user")
        if not self._rows(sa.select(roster.c.role).where(roster.c.user == user).limit(1)):
            raise NotCurrent("person")
        query = (
            sa.select(*(inbox.c[name] for name in (
                "reference", "trigger", "role", "workflow", "workflow_version", "title",
                "case_department", "state", "since", "due_at")))
            .distinct()
            .join(roster, sa.and_(
                roster.c.role == inbox.c.role,
                sa.or_(inbox.c.department == "", roster.c.department == inbox.c.department)))
            .where(
                sa.not_(sa.and_(inbox.c.filer_only, inbox.c.filer != roster.c.user)),
                sa.not_(sa.and_(inbox.c.not_filer, inbox.c.filer == roster.c.user)),
                roster.c.user == user,
            )
            .order_by(inbox.c.since, inbox.c.reference, inbox.c.trigger)
        )  # fmt: skip
        now = self._clock()
        items = []
        for row in self._rows(query):
            labels = self._labels_of(row.workflow, row.workflow_version)
            due = _moment(row.due_at)
            items.append(
                InboxItem(
                    reference=row.reference,
                    workflow=row.workflow,
                    workflow_title=labels.title,
                    title=row.title,
                    department=row.case_department,
                    state=row.state,
                    state_label=self._state(labels, row.state),
                    trigger=row.trigger,
                    label=labels.step(row.state, row.trigger),
                    role=row.role,
                    role_label=ROLES.get(row.role) or Label(row.role, row.role),
                    since=_moment(row.since) or now,  # NOT NULL in the table
                    due_at=due,
                    overdue=due is not None and now > due,
                )
            )
        return tuple(items)

    def cases(
        self,
        *,
        workflow: str | None = None,
        state: str | None = None,
        department: str | None = None,
        limit: int | None = None,
    ) -> tuple[CaseEntry, ...]:
        """Return the case register in the order filed, filtered, as
        :meth:`approvals.registers.Registers.cases` does; an unknown ``workflow`` is left to
        the full path (which refuses it)."""
        table = _cases
        if workflow is not None and not (
            workflow.replace("_", "").isalnum()
            and workflow.isascii()
            and (
                workflow in self._company_labels() or (self._folder / f"{workflow}.toml").is_file()
            )
        ):
            raise NotCurrent("workflow")
        query = sa.select(*(table.c[name] for name in _CASE_COLUMNS)).order_by(
            table.c.listed_at, table.c.reference
        )
        for name, value in (("workflow", workflow), ("state", state), ("department", department)):
            if value is not None:
                query = query.where(table.c[name] == _stored(value, name))
        if limit:
            query = query.limit(limit)
        entries = []
        for row in self._rows(query):
            values: dict[str, Any] = {
                name: _moment(value) if name in _MOMENTS else value
                for name, value in row._mapping.items()
            }
            version = values.pop("workflow_version")
            if values["state"] == "disposed":
                title, shown = Label(values["workflow"], values["workflow"]), DISPOSED
            else:
                labels = self._labels_of(values["workflow"], version)
                title, shown = labels.title, self._state(labels, values["state"])
            entries.append(CaseEntry(**values, workflow_title=title, state_label=shown))
        return tuple(entries)

    def notices(self) -> tuple[ApprovalsError, ...]:
        """What every list says beside itself: the cases left out because they cannot be read,
        then the values kept that are refused today (as ``Registers.notices``)."""
        unreadable = self._rows(
            sa.select(_unreadable.c.reference, _unreadable.c.code).order_by(_unreadable.c.reference)
        )
        flawed = self._rows(
            sa.select(_flawed.c.reference, _flawed.c.en, _flawed.c.ja).order_by(
                _flawed.c.reference, _flawed.c.position
            )
        )
        return (
            *(CaseUnreadable(row.code, reference=row.reference) for row in unreadable),
            *(FlawedValue(reference=row.reference, reason=Label(row.en, row.ja)) for row in flawed),
        )

    def _labels_of(self, workflow: str, version: int) -> _Labels:
        key = (workflow, version)
        found = self._labels.get(key)
        if found is None:
            loaded = self._company_labels().get(workflow)
            if loaded is not None and loaded[0] == version:
                found = self._labels[key] = loaded[1]
            else:
                found = self._labels[key] = read_labels(self._folder, workflow, version)
        return found

    def load_company(self) -> None:
        """Load the company's workflow folder, when the command names one, as the full path
        loads it; refuse it (:class:`~approvals.errors.DefinitionError`) when it is broken."""
        self._company_labels()

    def _company_labels(self) -> dict[str, tuple[int, _Labels]]:
        """The version and labels of each workflow new cases are filed on, when the command
        names a folder of the company's own (loaded once, as the full path loads them)."""
        if self._company is None:
            return {}
        if self._loaded is None:
            from approvals.definitions import load_workflows  # noqa: PLC0415 - only with a folder

            self._loaded = {
                workflow.id: (workflow.version, _labels_of_workflow(workflow))
                for workflow in load_workflows(self._company).values()
            }
        return self._loaded

    @staticmethod
    def _state(labels: _Labels, state: str) -> Label:
        found = labels.states.get(state)
        if found is None:
            raise NotCurrent(state)
        return found


def _labels_of_workflow(workflow: Workflow) -> _Labels:
    """What the lists show of a loaded definition (as :func:`read_labels` reads a file)."""
    steps: dict[tuple[str, str], Label] = {}
    for (source, trigger), step in workflow.steps.items():
        steps.setdefault((source, trigger), step.label)
    states = {name: state.label for name, state in workflow.states.items()}
    return _Labels(workflow.title, states, steps)


def _fingerprint(holiday: Holiday) -> str:
    """Name the calendar due dates are computed on (as ``readmodel.calendar_fingerprint``)."""
    fingerprint = getattr(holiday, "fingerprint", None)
    if callable(fingerprint):
        return str(fingerprint())
    return f"{getattr(holiday, '__module__', '')}.{getattr(holiday, '__qualname__', holiday)}"[:64]


def answer(
    url: str,
    holiday: Holiday,
    question: Callable[[ReadModels], T],
    *,
    workflows: Path | None = None,
) -> T | None:
    """Answer ``question`` from the read models of the store at ``url`` when they are current;
    None when the full path must answer (the models are behind, or anything is unsure).
    ``workflows`` is the folder of the company's own workflow files, as the command names it."""
    try:
        with ReadModels(url, holiday=holiday, company=workflows) as models:
            models.check()
            models.load_company()  # a broken file: the full path refuses it, naming the file
            return question(models)
    except (NotCurrent, sa.exc.SQLAlchemyError, ImportError, ValueError):
        return None
