"""The quick read path: the inbox and the case register straight from the read-model tables.

A command that only reads the read models (``approvals inbox``, ``list``, ``register cases``)
need not build the application when the models are current: their tracked positions equal the
log's last position, each under the version its code writes and on the calendar the command
counts on (one query says so).  Then :class:`ReadModels` answers with plain SQL — the
stdlib's ``sqlite3`` for a SQLite file, SQLAlchemy Core for another database; no
eventsourcing, no cryptography, no persistence set-up — and reads only the workflow files
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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from approvals.domain.workflow import ROLES
from approvals.errors import ApprovalsError, CaseUnreadable, FlawedValue, Label
from approvals.labels import Labels as _Labels
from approvals.labels import NotCurrent, read_labels, workflows_dir
from approvals.offers import WAITING, open_tables
from approvals.results import CaseEntry, InboxItem
from approvals.revisions import SCHEMA_REVISION, VERSION_TABLE

if TYPE_CHECKING:
    from approvals.domain.clocks import Holiday
    from approvals.domain.workflow import Workflow

__all__ = ["CALENDAR_MODELS", "MODELS", "NotCurrent", "ReadModels"]

T = TypeVar("T")

MODELS: dict[str, int] = {
    "cases": 3, "inbox": 2, "deadlines": 2, "vendors": 7, "provisions": 4, "receipts": 1,
    "retention": 3, "unreadable": 2,
}  # fmt: skip
"""Each read model, with the version of its rows this path reads (that of ``projections/``)."""

CALENDAR_MODELS = frozenset({"deadlines", "inbox", "vendors"})
"""The models whose rows hold due dates, and so depend on the calendar."""

DISPOSED = Label("disposed", "廃棄済み")

_CHECK = f"""
SELECT name, version, position, calendar,
       (SELECT max(id) FROM approvals_events) AS head,
       (SELECT max(version_num) FROM {VERSION_TABLE}) AS revision
FROM approvals_projections
"""
_INBOX_COLUMNS = (
    "reference", "trigger", "role", "workflow", "workflow_version", "title", "case_department",
    "state", "since", "due_at",
)  # fmt: skip
_INBOX_SELECT = ", ".join(f'i."{name}"' for name in _INBOX_COLUMNS)
_INBOX = f"SELECT DISTINCT {_INBOX_SELECT} {WAITING}"
_CASE_COLUMNS = (
    "reference", "workflow", "workflow_version", "title", "department", "filer", "state",
    "terminal", "events", "filed_at", "updated_at", "decision", "decided_at", "effective_date",
    "effective_at", "ended_at", "retention_until", "disposed_at",
)  # fmt: skip
_CASES = "SELECT " + ", ".join(f'"{name}"' for name in _CASE_COLUMNS) + " FROM rm_cases"
_MOMENTS = frozenset({"filed_at", "updated_at", "decided_at", "effective_at", "ended_at",
                      "disposed_at"})  # fmt: skip
_DAYS = frozenset({"effective_date", "retention_until"})
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


def _day(value: Any) -> date | None:
    """A date as the read models keep it (ISO text on SQLite)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


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
        self._tables: Any = None

    def __enter__(self) -> ReadModels:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the database."""
        if self._tables is not None:
            self._tables.close()
            self._tables = None

    def _rows(self, sql: str, **params: Any) -> Sequence[Sequence[Any]]:
        """Run ``sql`` (``:name`` parameters) on the one connection this reader holds, opened
        on first use (a missing SQLite file is the full path's to refuse: nothing is made)."""
        if self._tables is None:
            self._tables = open_tables(self.url)
        rows: Sequence[Sequence[Any]] = self._tables.rows(sql, **params)
        return rows

    def check(self) -> None:
        """Refuse (:class:`NotCurrent`) read models that are not all at the log's last position,
        under the versions read here, on the command's calendar, in a store of this release's
        schema (another's is the full path's to refuse)."""
        rows = self._rows(_CHECK)
        found = {row[0]: row for row in rows}
        if set(MODELS) - set(found):
            raise NotCurrent("models")
        if any(row[5] != SCHEMA_REVISION for row in rows):
            raise NotCurrent("schema")
        fingerprint: str | None = None
        for name, version in MODELS.items():
            _, found_version, position, calendar, head, _ = found[name]
            if found_version != version or position != (head or 0):
                raise NotCurrent(name)
            if name in CALENDAR_MODELS:
                fingerprint = fingerprint or _fingerprint(self._holiday)
                if calendar != fingerprint:
                    raise NotCurrent(name)
            elif calendar is not None:
                raise NotCurrent(name)

    def inbox(self, person: str) -> tuple[InboxItem, ...]:
        """Return the steps that wait for ``person``, oldest first, as
        :meth:`approvals.registers.Registers.inbox` does; someone the roster's table does not
        hold is left to the full path (which refuses them)."""
        user = self._on_roster(person)
        now = self._clock()
        items = []
        for found in self._rows(_INBOX, person=user):
            row = dict(zip(_INBOX_COLUMNS, found, strict=True))
            workflow, state, trigger, role = (
                row["workflow"],
                row["state"],
                row["trigger"],
                row["role"],
            )
            labels = self._labels_of(workflow, int(row["workflow_version"]))
            due = _moment(row["due_at"])
            items.append(
                InboxItem(
                    reference=row["reference"],
                    workflow=workflow,
                    workflow_title=labels.title,
                    title=row["title"],
                    department=row["case_department"],
                    state=state,
                    state_label=self._state(labels, state),
                    trigger=trigger,
                    label=labels.step(state, trigger),
                    role=role,
                    role_label=ROLES.get(role) or Label(role, role),
                    since=_moment(row["since"]) or now,  # NOT NULL in the table
                    due_at=due,
                    overdue=due is not None and now > due,
                )
            )
        return tuple(items)

    def _on_roster(self, person: str) -> str:
        """``person`` as the roster's table keeps it; someone it does not hold is left to the
        full path, which refuses them (every read is for someone on the roster)."""
        user = _stored(person, "user")
        if not self._rows('SELECT "role" FROM rm_roster WHERE "user" = :user LIMIT 1', user=user):
            raise NotCurrent("person")
        return user

    def cases(
        self,
        person: str,
        *,
        workflow: str | None = None,
        state: str | None = None,
        department: str | None = None,
        limit: int | None = None,
    ) -> tuple[CaseEntry, ...]:
        """Return the case register in the order filed, filtered, as
        :meth:`approvals.registers.Registers.cases` does; an unknown ``workflow`` is left to
        the full path (which refuses it), as is someone not on the roster."""
        self._on_roster(person)
        if workflow is not None and not (
            workflow.replace("_", "").isalnum()
            and workflow.isascii()
            and (
                workflow in self._company_labels() or (self._folder / f"{workflow}.toml").is_file()
            )
        ):
            raise NotCurrent("workflow")
        where: dict[str, str] = {}
        for name, value in (("workflow", workflow), ("state", state), ("department", department)):
            if value is not None:
                where[name] = _stored(value, name)
        query = _CASES
        if where:
            query += " WHERE " + " AND ".join(f'"{name}" = :{name}' for name in where)
        query += ' ORDER BY "listed_at", "reference"'
        if limit:
            query += f" LIMIT {int(limit)}"
        entries = []
        for row in self._rows(query, **where):
            values: dict[str, Any] = dict(zip(_CASE_COLUMNS, row, strict=True))
            for name in _MOMENTS:
                values[name] = _moment(values[name])
            for name in _DAYS:
                values[name] = _day(values[name])
            values["terminal"] = bool(values["terminal"])  # 0 or 1 on SQLite
            version = int(values.pop("workflow_version"))
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
        unreadable = self._rows("SELECT reference, code FROM rm_unreadable ORDER BY reference")
        flawed = self._rows(
            'SELECT reference, en, ja FROM rm_flawed ORDER BY reference, "position"'
        )
        return (
            *(CaseUnreadable(code, reference=reference) for reference, code in unreadable),
            *(
                FlawedValue(reference=reference, reason=Label(en, ja))
                for reference, en, ja in flawed
            ),
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
    except (NotCurrent, ImportError, ValueError):
        return None
