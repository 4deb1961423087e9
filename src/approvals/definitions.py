"""Load workflow definition files (TOML) into validated, frozen :class:`Workflow` values.

A definition is refused with a :class:`DefinitionError` naming the file and the key when it has
an unknown key, an unknown or unreachable state, a non-terminal dead end, a step without a role,
a terminal state with steps out of it, a trigger defined twice from one state, or a field or
checklist item used but not declared.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from transitions import Machine

from approvals.domain.guards import normalise_value
from approvals.domain.workflow import (
    ACTING_ROLES,
    FIELD_KINDS,
    ChecklistItem,
    Deadline,
    Duration,
    FieldSpec,
    Retention,
    State,
    Step,
    Workflow,
)
from approvals.errors import DefinitionError, InvalidValue, Label, WorkflowNotFound

__all__ = [
    "builtin_workflows_dir",
    "find_workflow",
    "load_directory",
    "load_file",
    "parse_definition",
]

_TOP_KEYS = {
    "id",
    "version",
    "prefix",
    "title",
    "articles",
    "initial",
    "file",
    "retention",
    "fields",
    "checklist",
    "states",
    "steps",
    "deadlines",
}
_DURATION_UNITS = {"business_days", "days", "hours"}


def builtin_workflows_dir() -> Path:
    """Return the folder of the reference workflows shipped with approvals."""
    packaged = resources.files("approvals") / "workflows"
    if packaged.is_dir():
        return Path(str(packaged))
    # A development checkout keeps them at the top of the repository.
    return Path(__file__).resolve().parents[2] / "workflows"


def load_directory(directory: Path | None = None) -> dict[str, Workflow]:
    """Load every ``*.toml`` definition in ``directory`` (default: the reference workflows)."""
    folder = directory or builtin_workflows_dir()
    if not folder.is_dir():
        raise DefinitionError(
            file=str(folder),
            key="(folder)",
            problem=Label("no such folder", "フォルダがありません"),
        )
    workflows: dict[str, Workflow] = {}
    for path in sorted(folder.glob("*.toml")):
        workflow = load_file(path)
        if workflow.id in workflows:
            raise DefinitionError(
                file=str(path),
                key="id",
                problem=Label(
                    f"the id {workflow.id} is already used by {workflows[workflow.id].path}",
                    f"id {workflow.id} は {workflows[workflow.id].path} で使われています",
                ),
            )
        workflows[workflow.id] = workflow
    prefixes: dict[str, str] = {}
    for workflow in workflows.values():
        if workflow.prefix in prefixes:
            raise DefinitionError(
                file=workflow.path,
                key="prefix",
                problem=Label(
                    f"the prefix {workflow.prefix} is already used by {prefixes[workflow.prefix]}",
                    f"接頭辞 {workflow.prefix} は {prefixes[workflow.prefix]} で使われています",
                ),
            )
        prefixes[workflow.prefix] = workflow.id
    return workflows


def load_file(path: Path) -> Workflow:
    """Load and validate one definition file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DefinitionError(
            file=str(path),
            key="(file)",
            problem=Label(f"cannot be read ({error.strerror})", "読み込めません"),
        ) from None
    try:
        # Decoded as is (no newline translation), so the hash is the hash of the file's bytes.
        source = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionError(
            file=str(path),
            key="(file)",
            problem=Label("is not UTF-8 text", "UTF-8 のテキストではありません"),
        ) from None
    return parse_definition(source, str(path))


def parse_definition(source: str, file: str = "<definition>") -> Workflow:
    """Validate definition text and return the workflow it defines."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(
            file=file,
            key="(syntax)",
            problem=Label(f"is not valid TOML ({error})", f"TOML として読めません({error})"),
        ) from None
    return _Parser(file).workflow(data, source)


def _problem(en: str, ja: str) -> Label:
    return Label(en, ja)


class _Parser:
    """Reads one file's table; every refusal names the file and the dotted key."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, en: str, ja: str) -> DefinitionError:
        return DefinitionError(file=self.file, key=key, problem=_problem(en, ja))

    # -- typed readers -----------------------------------------------------------------

    def table(self, value: Any, key: str, allowed: Iterable[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table", "テーブルである必要があります")
        allowed_keys = set(allowed)
        for name in value:
            if name not in allowed_keys:
                raise self.fail(
                    f"{key}.{name}" if key else name,
                    f"unknown key (allowed: {', '.join(sorted(allowed_keys))})",
                    f"不明なキーです(使えるキー: {', '.join(sorted(allowed_keys))})",
                )
        return value

    def required(self, table: Mapping[str, Any], name: str, prefix: str) -> Any:
        if name not in table:
            raise self.fail(_join(prefix, name), "is missing", "がありません")
        return table[name]

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string", "空でない文字列が必要です")
        return value

    def name(self, value: Any, key: str) -> str:
        text = self.text(value, key)
        if (
            not text.replace("_", "").isalnum()
            or not text.isascii()
            or not text.islower()
            or text[0].isdigit()
        ):
            raise self.fail(
                key,
                f"'{text}' must be a lower-case identifier such as basic_contract",
                f"'{text}' は basic_contract のような英小文字の識別子にしてください",
            )
        return text

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of names", "名前のリストが必要です")
        return tuple(self.name(item, f"{key}[{index}]") for index, item in enumerate(value))

    def label(self, value: Any, key: str) -> Label:
        table = self.table(value, key, {"en", "ja"})
        return Label(
            en=self.text(self.required(table, "en", key), f"{key}.en"),
            ja=self.text(self.required(table, "ja", key), f"{key}.ja"),
        )

    def integer(self, value: Any, key: str, minimum: int = 1) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(
                key,
                f"must be a whole number of at least {minimum}",
                f"{minimum} 以上の整数が必要です",
            )
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false", "true か false が必要です")
        return value

    # -- the file ----------------------------------------------------------------------

    def workflow(self, data: dict[str, Any], source: str) -> Workflow:
        top = self.table(data, "", _TOP_KEYS)
        workflow_id = self.name(self.required(top, "id", ""), "id")
        version = self.integer(self.required(top, "version", ""), "version")
        prefix = self.text(self.required(top, "prefix", ""), "prefix")
        if not (prefix.isascii() and prefix.isalpha() and prefix.isupper()):
            raise self.fail(
                "prefix",
                "must be upper-case letters such as ENT",
                "ENT のような英大文字にしてください",
            )
        title = self.label(self.required(top, "title", ""), "title")
        articles = self.articles(top.get("articles", []), "articles")

        fields = self.fields(top.get("fields", {}))
        checklist = self.checklist(top.get("checklist", {}))
        states = self.states(self.required(top, "states", ""))
        initial = self.name(self.required(top, "initial", ""), "initial")
        if initial not in states:
            raise self.fail(
                "initial", f"names the unknown state '{initial}'", f"不明な状態 '{initial}' です"
            )
        file_role, file_fields = self.filing(top.get("file", {}), fields)
        steps = self.steps(self.required(top, "steps", ""), states, fields, checklist)
        deadlines = self.deadlines(top.get("deadlines", []), states, steps)
        self.check_graph(initial, states, steps)
        retention = self.retention(self.required(top, "retention", ""), states)

        machine = Machine(
            model=None,
            states=list(states),
            initial=initial,
            transitions=[
                {"trigger": step.trigger, "source": step.source, "dest": step.dest}
                for step in steps.values()
            ],
            auto_transitions=False,
        )
        return Workflow(
            id=workflow_id,
            version=version,
            sha256=hashlib.sha256(source.encode("utf-8")).hexdigest(),
            source=source,
            prefix=prefix,
            title=title,
            articles=articles,
            initial=initial,
            file_role=file_role,
            file_fields=file_fields,
            states=states,
            steps=steps,
            fields=fields,
            checklist=checklist,
            deadlines=deadlines,
            retention=retention,
            machine=machine,
            path=self.file,
        )

    def articles(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of article names", "条文のリストが必要です")
        return tuple(self.text(item, f"{key}[{index}]") for index, item in enumerate(value))

    def fields(self, value: Any) -> dict[str, FieldSpec]:
        table = self.table(value, "fields", value if isinstance(value, dict) else ())
        fields: dict[str, FieldSpec] = {}
        for raw_name, spec in table.items():
            key = f"fields.{raw_name}"
            name = self.name(raw_name, key)
            body = self.table(spec, key, {"label", "kind", "choices"})
            kind = self.text(body.get("kind", "text"), f"{key}.kind")
            if kind not in FIELD_KINDS:
                raise self.fail(
                    f"{key}.kind",
                    f"'{kind}' is not a kind (kinds: {', '.join(sorted(FIELD_KINDS))})",
                    f"'{kind}' は種類ではありません(種類: {', '.join(sorted(FIELD_KINDS))})",
                )
            choices = self.names(body.get("choices", []), f"{key}.choices")
            if (kind == "choice") != bool(choices):
                raise self.fail(
                    f"{key}.choices",
                    "is needed for kind 'choice' and only for it",
                    "種類 choice にだけ必要です",
                )
            fields[name] = FieldSpec(
                name, self.label(self.required(body, "label", key), f"{key}.label"), kind, choices
            )
        return fields

    def checklist(self, value: Any) -> dict[str, ChecklistItem]:
        table = self.table(value, "checklist", value if isinstance(value, dict) else ())
        items: dict[str, ChecklistItem] = {}
        for raw_name, spec in table.items():
            key = f"checklist.{raw_name}"
            body = self.table(spec, key, {"label"})
            items[self.name(raw_name, key)] = ChecklistItem(
                raw_name, self.label(self.required(body, "label", key), f"{key}.label")
            )
        return items

    def states(self, value: Any) -> dict[str, State]:
        table = self.table(value, "states", value if isinstance(value, dict) else ())
        if not table:
            raise self.fail("states", "must define at least one state", "状態が一つ以上必要です")
        states: dict[str, State] = {}
        for raw_name, spec in table.items():
            key = f"states.{raw_name}"
            body = self.table(spec, key, {"label", "terminal"})
            states[self.name(raw_name, key)] = State(
                raw_name,
                self.label(self.required(body, "label", key), f"{key}.label"),
                self.boolean(body.get("terminal", False), f"{key}.terminal"),
            )
        return states

    def filing(self, value: Any, fields: Mapping[str, FieldSpec]) -> tuple[str, tuple[str, ...]]:
        body = self.table(value, "file", {"role", "fields"})
        role = self.role(body.get("role", "staff"), "file.role")
        wanted = self.names(body.get("fields", []), "file.fields")
        self.declared(wanted, fields, "file.fields", "field", "項目")
        return role, wanted

    def role(self, value: Any, key: str) -> str:
        role = self.text(value, key)
        if role not in ACTING_ROLES:
            raise self.fail(
                key,
                f"'{role}' is not a role that may act (roles: {', '.join(sorted(ACTING_ROLES))})",
                f"'{role}' は操作できる役割ではありません(役割: {', '.join(sorted(ACTING_ROLES))})",
            )
        return role

    def declared(
        self,
        names: Iterable[str],
        declared: Mapping[str, object],
        key: str,
        what: str,
        what_ja: str,
    ) -> None:
        for name in names:
            if name not in declared:
                raise self.fail(
                    key,
                    f"uses the {what} '{name}', which is not declared",
                    f"宣言されていない{what_ja} '{name}' を使っています",
                )

    def steps(
        self,
        value: Any,
        states: Mapping[str, State],
        fields: Mapping[str, FieldSpec],
        checklist: Mapping[str, ChecklistItem],
    ) -> dict[tuple[str, str], Step]:
        if not isinstance(value, list) or not value:
            raise self.fail(
                "steps", "must be a list of [[steps]] tables", "[[steps]] のリストが必要です"
            )
        allowed = {
            "trigger", "from", "to", "role", "label", "fields", "checklist",
            "comment_required", "filer_only", "expect", "articles",
        }  # fmt: skip
        steps: dict[tuple[str, str], Step] = {}
        for index, raw in enumerate(value):
            key = f"steps[{index}]"
            body = self.table(raw, key, allowed)
            trigger = self.name(self.required(body, "trigger", key), f"{key}.trigger")
            key = f"steps[{index}] ({trigger})"
            if "role" not in body:
                raise self.fail(
                    f"{key}.role",
                    "is missing: every step needs a role",
                    "がありません: 手順には役割が必要です",
                )
            role = self.role(body["role"], f"{key}.role")
            sources = self.names(self.required(body, "from", key), f"{key}.from")
            if not sources:
                raise self.fail(f"{key}.from", "names no state", "状態が指定されていません")
            dest = self.name(self.required(body, "to", key), f"{key}.to")
            for part, named in (("from", sources), ("to", (dest,))):
                for state in named:
                    if state not in states:
                        raise self.fail(
                            f"{key}.{part}",
                            f"names the unknown state '{state}'",
                            f"不明な状態 '{state}' を指しています",
                        )
            step_fields = self.names(body.get("fields", []), f"{key}.fields")
            self.declared(step_fields, fields, f"{key}.fields", "field", "項目")
            items = self.names(body.get("checklist", []), f"{key}.checklist")
            self.declared(items, checklist, f"{key}.checklist", "checklist item", "確認項目")
            expect = self.expect(body.get("expect", {}), f"{key}.expect", fields)
            for source in sources:
                if states[source].terminal:
                    raise self.fail(
                        f"{key}.from",
                        f"leaves the terminal state '{source}'; a terminal state has no steps out",
                        f"終了状態 '{source}' から出ています。終了状態から出る手順は作れません",
                    )
                if (source, trigger) in steps:
                    raise self.fail(
                        f"{key}.trigger",
                        f"'{trigger}' is defined twice from the state '{source}'",
                        f"'{trigger}' が状態 '{source}' から二度定義されています",
                    )
                steps[(source, trigger)] = Step(
                    trigger=trigger,
                    source=source,
                    dest=dest,
                    role=role,
                    label=self.label(self.required(body, "label", key), f"{key}.label"),
                    fields=step_fields,
                    checklist=items,
                    comment_required=self.boolean(
                        body.get("comment_required", False), f"{key}.comment_required"
                    ),
                    filer_only=self.boolean(body.get("filer_only", False), f"{key}.filer_only"),
                    expect=expect,
                    articles=self.articles(body.get("articles", []), f"{key}.articles"),
                )
        return steps

    def expect(
        self, value: Any, key: str, fields: Mapping[str, FieldSpec]
    ) -> dict[str, str | bool | int]:
        table = self.table(value, key, fields)
        expected: dict[str, str | bool | int] = {}
        for name, wanted in table.items():
            try:
                valid = normalise_value(fields[name], wanted) == wanted
            except InvalidValue:
                valid = False
            if not valid or not isinstance(wanted, str | bool | int):
                raise self.fail(
                    f"{key}.{name}",
                    f"{wanted!r} is not a value of the field's kind '{fields[name].kind}'",
                    f"{wanted!r} は項目の種類 '{fields[name].kind}' の値ではありません",
                )
            expected[name] = wanted
        return expected

    def deadlines(
        self, value: Any, states: Mapping[str, State], steps: Mapping[tuple[str, str], Step]
    ) -> tuple[Deadline, ...]:
        if not isinstance(value, list):
            raise self.fail(
                "deadlines",
                "must be a list of [[deadlines]] tables",
                "[[deadlines]] のリストが必要です",
            )
        triggers = {trigger for _, trigger in steps}
        deadlines: list[Deadline] = []
        for index, raw in enumerate(value):
            key = f"deadlines[{index}]"
            body = self.table(
                raw, key, {"id", "label", "states", "within", "restart_on", "articles"}
            )
            name = self.name(self.required(body, "id", key), f"{key}.id")
            if any(deadline.name == name for deadline in deadlines):
                raise self.fail(
                    f"{key}.id", f"'{name}' is defined twice", f"'{name}' が二度定義されています"
                )
            while_in = self.names(self.required(body, "states", key), f"{key}.states")
            self.declared(while_in, states, f"{key}.states", "state", "状態")
            restart_on = self.names(body.get("restart_on", []), f"{key}.restart_on")
            self.declared(
                restart_on, dict.fromkeys(triggers), f"{key}.restart_on", "trigger", "手順"
            )
            within = self.table(
                self.required(body, "within", key), f"{key}.within", _DURATION_UNITS
            )
            if len(within) != 1:
                raise self.fail(
                    f"{key}.within",
                    "must give exactly one of business_days, days or hours",
                    "business_days・days・hours のいずれか一つが必要です",
                )
            ((unit, amount),) = within.items()
            deadlines.append(
                Deadline(
                    name=name,
                    label=self.label(self.required(body, "label", key), f"{key}.label"),
                    states=while_in,
                    within=Duration(self.integer(amount, f"{key}.within.{unit}"), unit),
                    restart_on=restart_on,
                    articles=self.articles(body.get("articles", []), f"{key}.articles"),
                )
            )
        return tuple(deadlines)

    def retention(self, value: Any, states: Mapping[str, State]) -> Retention:
        body = self.table(value, "retention", {"starts_on", "years", "articles"})
        starts_on = self.names(self.required(body, "starts_on", "retention"), "retention.starts_on")
        self.declared(starts_on, states, "retention.starts_on", "state", "状態")
        if not starts_on or not all(states[name].terminal for name in starts_on):
            raise self.fail(
                "retention.starts_on",
                "must name terminal states: the clock starts when the case is over",
                "終了状態を指定してください: 保存期間は案件の終了から数えます",
            )
        return Retention(
            starts_on=starts_on,
            years=self.integer(self.required(body, "years", "retention"), "retention.years"),
            articles=self.articles(body.get("articles", []), "retention.articles"),
        )

    def check_graph(
        self, initial: str, states: Mapping[str, State], steps: Mapping[tuple[str, str], Step]
    ) -> None:
        out: dict[str, set[str]] = {name: set() for name in states}
        into: dict[str, set[str]] = {name: set() for name in states}
        for (source, _), step in steps.items():
            out[source].add(step.dest)
            into[step.dest].add(source)
        reachable = _closure({initial}, out)
        for name in states:
            if name not in reachable:
                raise self.fail(
                    f"states.{name}",
                    f"cannot be reached from the initial state '{initial}'",
                    f"初期状態 '{initial}' から到達できません",
                )
        for name, state in states.items():
            if not state.terminal and not out[name]:
                raise self.fail(
                    f"states.{name}",
                    "is a dead end: it is not terminal and no step leaves it",
                    "行き止まりです: 終了状態ではないのに出る手順がありません",
                )
        can_finish = _closure({name for name, state in states.items() if state.terminal}, into)
        for name in states:
            if name not in can_finish:
                raise self.fail(
                    f"states.{name}",
                    "can never reach a terminal state",
                    "どの終了状態にも到達できません",
                )


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    frontier = list(start)
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def find_workflow(workflows: Mapping[str, Workflow], workflow_id: str) -> Workflow:
    """Return the workflow called ``workflow_id`` or refuse with the known ids."""
    try:
        return workflows[workflow_id]
    except KeyError:
        raise WorkflowNotFound(workflow=workflow_id, known=tuple(sorted(workflows))) from None
