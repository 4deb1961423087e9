"""The workflow definition parser: from TOML tables to a validated :class:`Workflow`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from transitions import Machine

from approvals.definitions.graph import check_graph
from approvals.definitions.keys import (
    CHECKLIST_KEYS,
    DEADLINE_KEYS,
    FIELD_KEYS,
    FILE_KEYS,
    RETENTION_KEYS,
    STATE_KEYS,
    STEP_KEYS,
    TOP_KEYS,
)
from approvals.definitions.reader import TableReader
from approvals.domain.guards import normalise_value
from approvals.domain.workflow import (
    ACTING_ROLES,
    DURATION_UNITS,
    FIELD_KINDS,
    TERMS,
    ChecklistItem,
    Deadline,
    Duration,
    FieldSpec,
    Retention,
    State,
    Step,
    Workflow,
)
from approvals.errors import InvalidValue

__all__ = ["WorkflowParser"]

_MOMENT_KINDS = ("date", "datetime")


class WorkflowParser(TableReader):
    """Reads one definition file into a Workflow, or refuses it."""

    def workflow(self, data: dict[str, Any], source: str) -> Workflow:
        top = self.table(data, "", TOP_KEYS)
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
        deadlines = self.deadlines(top.get("deadlines", []), states, steps, fields)
        check_graph(self, initial, states, steps)
        retention = self.retention(self.required(top, "retention", ""), states, fields)
        date_order = self.date_order(top.get("date_order", []), fields)
        self.moments_named(fields, steps)

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
            date_order=date_order,
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
            body = self.table(spec, key, FIELD_KEYS)
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
            linked = body.get("workflow", "")
            if (kind == "case") != bool(linked):
                raise self.fail(
                    f"{key}.workflow",
                    "is needed for kind 'case' and only for it: the workflow the case runs on",
                    "種類 case にだけ必要です(参照する案件のワークフロー)",
                )
            fields[name] = FieldSpec(
                name,
                self.label(self.required(body, "label", key), f"{key}.label"),
                kind,
                choices,
                self.name(linked, f"{key}.workflow") if linked else "",
                self.boolean(body.get("items", False), f"{key}.items"),
                self.boolean(body.get("past", False), f"{key}.past"),
                self.names(body.get("not_before", []), f"{key}.not_before"),
                any_of=self.names(body.get("any_of", []), f"{key}.any_of"),
            )
            dated = kind in ("date", "datetime")
            if (fields[name].past or fields[name].not_before) and not dated:
                raise self.fail(
                    f"{key}.past" if fields[name].past else f"{key}.not_before",
                    "is only for a date or a date and time",
                    "日付または日時にだけ指定できます",
                )
            if fields[name].items and kind != "text":
                raise self.fail(
                    f"{key}.items",
                    "is only for kind 'text': a list of items written as text",
                    "種類 text にだけ指定できます(文字列で書いた項目の並び)",
                )
        self.derived(fields)
        return fields

    def derived(self, fields: Mapping[str, FieldSpec]) -> None:
        """A field derived with ``any_of`` is a bool made of declared bool fields that are
        not derived themselves."""
        for name, spec in fields.items():
            if not spec.any_of:
                continue
            key = f"fields.{name}.any_of"
            if spec.kind != "bool":
                raise self.fail(key, "is only for kind 'bool'", "種類 bool にだけ指定できます")
            for other in spec.any_of:
                if other not in fields or fields[other].kind != "bool" or fields[other].any_of:
                    raise self.fail(
                        key,
                        f"'{other}' is not a declared bool field that is typed, not derived",
                        f"'{other}' は宣言された(導出でない)bool の項目ではありません",
                    )

    def checklist(self, value: Any) -> dict[str, ChecklistItem]:
        table = self.table(value, "checklist", value if isinstance(value, dict) else ())
        items: dict[str, ChecklistItem] = {}
        for raw_name, spec in table.items():
            key = f"checklist.{raw_name}"
            body = self.table(spec, key, CHECKLIST_KEYS)
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
            body = self.table(spec, key, STATE_KEYS)
            states[self.name(raw_name, key)] = State(
                raw_name,
                self.label(self.required(body, "label", key), f"{key}.label"),
                self.boolean(body.get("terminal", False), f"{key}.terminal"),
            )
        return states

    def filing(self, value: Any, fields: Mapping[str, FieldSpec]) -> tuple[str, tuple[str, ...]]:
        body = self.table(value, "file", FILE_KEYS)
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
        steps: dict[tuple[str, str], Step] = {}
        for index, raw in enumerate(value):
            key = f"steps[{index}]"
            body = self.table(raw, key, STEP_KEYS)
            trigger = self.name(self.required(body, "trigger", key), f"{key}.trigger")
            key = f"steps[{index}] ({trigger})"
            if "role" not in body:
                raise self.fail(
                    f"{key}.role",
                    "is missing: every step needs a role",
                    "必須の項目がありません: 手順には役割が必要です",
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
            fresh = self.names(body.get("fresh", []), f"{key}.fresh")
            for name in fresh:
                if name not in step_fields and name not in items:
                    raise self.fail(
                        f"{key}.fresh",
                        f"names '{name}', which is none of the step's fields or checklist items",
                        f"'{name}' を指していますが、手順の項目(fields)にも確認項目にもありません",
                    )
            expect = self.expect(body.get("expect", {}), f"{key}.expect", fields)
            approves = self.approves(body.get("approves", []), f"{key}.approves", role, fields)
            fields_if = self.fields_if(body.get("fields_if", {}), f"{key}.fields_if", fields)
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
                    fresh=fresh,
                    checklist=items,
                    comment_required=self.boolean(
                        body.get("comment_required", False), f"{key}.comment_required"
                    ),
                    filer_only=self.boolean(body.get("filer_only", False), f"{key}.filer_only"),
                    expect=expect,
                    articles=self.articles(body.get("articles", []), f"{key}.articles"),
                    approves=approves,
                    fields_if=fields_if,
                )
        return steps

    def moments_named(
        self, fields: Mapping[str, FieldSpec], steps: Mapping[tuple[str, str], Step]
    ) -> None:
        """Refuse a ``not_before`` naming neither a step nor a date or datetime field."""
        triggers = {trigger for _, trigger in steps}
        for name, spec in fields.items():
            for moment in spec.not_before:
                other = fields.get(moment)
                if moment in triggers or (other and other.kind in ("date", "datetime")):
                    continue
                raise self.fail(
                    f"fields.{name}.not_before",
                    f"names '{moment}', which is neither a step nor a date field",
                    f"'{moment}' を指していますが、手順でも日付の項目でもありません",
                )

    def approves(
        self, value: Any, key: str, role: str, fields: Mapping[str, FieldSpec]
    ) -> tuple[str, ...]:
        approved = self.names(value, key)
        self.declared(approved, fields, key, "field", "項目")
        if approved and role != "chief":
            raise self.fail(
                key,
                f"is for the chief's approval (承認) only; this step is the {role}'s",
                f"個人情報管理責任者の承認の手順にだけ指定できます(この手順の役割は {role})",
            )
        return approved

    def fields_if(
        self, value: Any, key: str, fields: Mapping[str, FieldSpec]
    ) -> dict[str, tuple[str, ...]]:
        """``{ flag = ["field", ...] }``: the fields a step needs too while the bool field
        ``flag`` is recorded true."""
        table = self.table(value, key, fields)
        needs: dict[str, tuple[str, ...]] = {}
        for flag, names in table.items():
            if fields[flag].kind != "bool" or fields[flag].any_of:
                raise self.fail(
                    f"{key}.{flag}",
                    "must name a bool field that is typed (not derived)",
                    "入力される bool の項目を指定してください(導出される項目は使えません)",
                )
            wanted = self.names(names, f"{key}.{flag}")
            self.declared(wanted, fields, f"{key}.{flag}", "field", "項目")
            needs[flag] = wanted
        return needs

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
        self,
        value: Any,
        states: Mapping[str, State],
        steps: Mapping[tuple[str, str], Step],
        fields: Mapping[str, FieldSpec],
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
            body = self.table(raw, key, DEADLINE_KEYS)
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
            within = self.within(self.required(body, "within", key), f"{key}.within")
            periodic = self.boolean(body.get("periodic", False), f"{key}.periodic")
            if periodic and (not restart_on or within.term is not None or not within.amount):
                raise self.fail(
                    f"{key}.periodic",
                    "needs restart_on (the step that meets each period) and a span of more "
                    "than zero such as { years = 1 }, not a term",
                    "restart_on(各期を満たす手順)と { years = 1 } のような0より長い期間が"
                    "必要です(語は使えません)",
                )
            deadlines.append(
                Deadline(
                    name=name,
                    label=self.label(self.required(body, "label", key), f"{key}.label"),
                    states=while_in,
                    within=within,
                    periodic=periodic,
                    restart_on=restart_on,
                    articles=self.articles(body.get("articles", []), f"{key}.articles"),
                    from_fields=self.moments(body.get("from", []), f"{key}.from", fields),
                    until_field=next(
                        iter(self.moments(body.get("until", []), f"{key}.until", fields)), ""
                    ),
                    when=self.expect(body.get("when", {}), f"{key}.when", fields),
                    unless=self.expect(body.get("unless", {}), f"{key}.unless", fields),
                )
            )
        return tuple(deadlines)

    def within(self, value: Any, key: str) -> Duration:
        """A span such as ``{ business_days = 5 }`` or one of the terms, ``"immediately"``."""
        if isinstance(value, str):
            if value not in TERMS:
                raise self.fail(
                    key,
                    f"'{value}' is not a term (terms: {', '.join(TERMS)})",
                    f"'{value}' は使える語ではありません(使える語: "
                    f"{'、'.join(f'{t} ({label.ja})' for t, label in TERMS.items())})",
                )
            return Duration(0, value)
        within = self.table(value, key, DURATION_UNITS)
        if len(within) != 1:
            raise self.fail(
                key,
                f"must give exactly one of {', '.join(DURATION_UNITS)}, or a term such as "
                '"immediately"',
                f'{"・".join(DURATION_UNITS)} のいずれか一つ、又は "immediately" などの語が'
                "必要です",
            )
        ((unit, amount),) = within.items()
        return Duration(self.integer(amount, f"{key}.{unit}", minimum=0), unit)

    def moments(self, value: Any, key: str, fields: Mapping[str, FieldSpec]) -> tuple[str, ...]:
        """Names of date or datetime fields a clock starts or stops at."""
        names = self.names(value, key)
        self.declared(names, fields, key, "field", "項目")
        for name in names:
            if fields[name].kind not in _MOMENT_KINDS:
                raise self.fail(
                    key,
                    f"the field '{name}' is of kind '{fields[name].kind}', not a date or datetime",
                    f"項目 '{name}' の種類は '{fields[name].kind}' で、date か datetime では"
                    "ありません",
                )
        return names

    def date_order(
        self, value: Any, fields: Mapping[str, FieldSpec]
    ) -> tuple[tuple[str, ...], ...]:
        if not isinstance(value, list):
            raise self.fail(
                "date_order",
                "must be a list of lists of date fields",
                "日付項目のリストのリストが必要です",
            )
        chains = []
        for index, chain in enumerate(value):
            key = f"date_order[{index}]"
            names = self.names(chain, key)
            for name in names:
                if name not in fields or fields[name].kind != "date":
                    raise self.fail(
                        key,
                        f"'{name}' is not a declared date field",
                        f"'{name}' は宣言された日付の項目ではありません",
                    )
            if len(names) < 2:
                raise self.fail(
                    key,
                    "must name at least two date fields",
                    "日付の項目を二つ以上指定してください",
                )
            chains.append(names)
        return tuple(chains)

    def retention(
        self, value: Any, states: Mapping[str, State], fields: Mapping[str, FieldSpec]
    ) -> Retention:
        body = self.table(value, "retention", RETENTION_KEYS)
        from_field = (
            self.name(body["from_field"], "retention.from_field") if "from_field" in body else ""
        )
        if from_field and (from_field not in fields or fields[from_field].kind != "date"):
            raise self.fail(
                "retention.from_field",
                f"'{from_field}' is not a declared date field",
                f"'{from_field}' は宣言された日付の項目ではありません",
            )
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
            from_field=from_field,
        )
