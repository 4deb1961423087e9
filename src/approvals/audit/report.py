"""The yearly audit summary (Art.29-30), as Markdown and as a self-contained HTML page.

Cases filed in the year per workflow and outcome, time from notice to decision, steps done
after their deadline (or still overdue at the year's end), breaches of entrustment contracts
and the measures taken, inspections done and missed, roster changes, and whether the log
verifies.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING

from approvals.audit.diagram import mermaid, svg_diagram
from approvals.audit.verify import verify_log
from approvals.domain.case import Entry
from approvals.domain.clocks import JST, Holiday, episodes
from approvals.domain.workflow import Workflow
from approvals.errors import Label
from approvals.views import history_entries
from approvals.zones import company_zone, zone_called

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.results import HistoryEntry

__all__ = ["YearReport", "build_report", "render_html", "render_markdown"]


@dataclass
class YearReport:
    """What the audit officer reports for one year."""

    year: int
    made_at: datetime
    workflows: dict[str, Workflow]
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    decision_days: dict[str, list[float]] = field(default_factory=dict)
    overdue: list[tuple[str, str, Label, datetime, datetime | None]] = field(default_factory=list)
    breaches: list[tuple[str, str, datetime, str]] = field(default_factory=list)
    inspections: list[tuple[str, datetime, str]] = field(default_factory=list)
    missed_inspections: list[tuple[str, datetime]] = field(default_factory=list)
    roster_changes: list[tuple[datetime, str, str, str, str]] = field(default_factory=list)
    verified: bool = False
    events: int = 0
    findings: int = 0
    zone: tzinfo = field(default_factory=company_zone)
    """The zone its times are shown in (the year is Japan's calendar year whatever it is)."""


def _within(moment: datetime, year: int) -> bool:
    return moment.astimezone(JST).year == year


def _deadline_misses(
    reference: str,
    history: Sequence[Entry],
    workflow: Workflow,
    cutoff: datetime,
    holiday: Holiday,
) -> list[tuple[str, str, Label, datetime, datetime | None]]:
    """Each deadline run that ran out: (case, deadline, label, due, done or None) — counted
    as the overdue register counts them, on the application's calendar."""
    return [
        (reference, run.deadline.name, run.deadline.label, run.due_at, run.stopped_at)
        for run in episodes(history, workflow.deadlines, holiday)
        if (run.stopped_at is not None and run.stopped_at > run.due_at)
        or (run.stopped_at is None and run.due_at < cutoff)
    ]  # fmt: skip


def _vendor_events(report: YearReport, reference: str, history: Sequence[HistoryEntry]) -> None:
    """Note the year's breaches, measures and inspections of an entrustment."""
    for entry in history:
        if not _within(entry.at, report.year):
            continue
        if entry.trigger == "report_breach":
            report.breaches.append((reference, "breach", entry.at, str(entry.fields)))
        elif entry.trigger == "record_measures" and entry.source == "breach_consulting":
            report.breaches.append((reference, "measures", entry.at, str(entry.fields)))
        elif entry.trigger == "inspect":
            report.inspections.append((reference, entry.at, entry.actor))


def build_report(app: ApprovalsApplication, year: int, *, zone: tzinfo | None = None) -> YearReport:
    """Gather the year's figures from the log; its times to be shown in ``zone`` (default: the
    company's, see :mod:`approvals.zones`)."""
    year_end = datetime.combine(date(year, 12, 31), time.max, tzinfo=JST)
    report = YearReport(year=year, made_at=app.now(), workflows=dict(app.workflows))
    if zone is not None:
        report.zone = zone
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    decisions: dict[str, list[float]] = defaultdict(list)
    cutoff = min(year_end, app.now())  # a report made during the year: overdue by now
    for case in app.cases(as_of=cutoff):
        lived = app.case_aggregate(case.reference)
        workflow = app.definition_of(lived)
        history = history_entries(lived, workflow)
        report.workflows.setdefault(workflow.id, workflow)
        if _within(case.filed_at, year):
            outcomes[workflow.id][case.state] += 1
            decided = next((e for e in history if e.trigger in ("approve", "reject")), None)
            if decided is not None:
                decisions[workflow.id].append((decided.at - case.filed_at).total_seconds() / 86400)
        misses = _deadline_misses(case.reference, lived.history, workflow, cutoff, app.holiday)
        for miss in misses:
            if _within(miss[3], year):
                report.overdue.append(miss)
        _vendor_events(report, case.reference, history)
    report.missed_inspections = [
        (miss[0], miss[3]) for miss in report.overdue if miss[1] == "inspection"
    ]
    report.outcomes = dict(outcomes)
    report.decision_days = dict(decisions)
    roster = app.roster_aggregate()
    if roster is not None:
        for term in roster.terms:
            if _within(term.start, year):
                report.roster_changes.append(
                    (term.start, "appointed", term.user, term.role, term.department)
                )
            if term.end is not None and _within(term.end, year):
                report.roster_changes.append(
                    (term.end, "dismissed", term.user, term.role, term.department)
                )
        report.roster_changes.sort()
    verification = verify_log(app)
    report.verified, report.events, report.findings = (
        verification.ok, verification.events, len(verification.findings))  # fmt: skip
    return report


def _moment(moment: datetime | None, zone: tzinfo) -> str:
    """``moment`` to the minute in ``zone``, with its offset."""
    return "" if moment is None else moment.astimezone(zone).isoformat(sep=" ", timespec="minutes")


def _sections(report: YearReport, lang: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report's tables: (title, headers, rows), the same for Markdown and HTML."""

    def t(en: str, ja: str) -> str:
        return Label(en, ja).get(lang)

    def _day(moment: datetime | None) -> str:
        return _moment(moment, report.zone)

    tables: list[tuple[str, list[str], list[list[str]]]] = []
    rows = [
        [report.workflows[w].title.get(lang), report.workflows[w].state(state).label.get(lang), str(n)]
        for w, states in sorted(report.outcomes.items()) for state, n in sorted(states.items())
    ]  # fmt: skip
    tables.append((t("Cases filed, by workflow and outcome", "届け出件数(ワークフロー・結果別)"),
                   [t("workflow", "ワークフロー"), t("state now", "現在の状態"), t("cases", "件数")], rows))  # fmt: skip
    rows = [
        [report.workflows[w].title.get(lang) if w in report.workflows else w, str(len(days)),
         f"{statistics.median(days):.1f}", f"{max(days):.1f}"]
        for w, days in sorted(report.decision_days.items())
    ]  # fmt: skip
    tables.append((t("Time from notice to decision (days)", "届け出から判断までの日数"),
                   [t("workflow", "ワークフロー"), t("decided", "判断件数"), t("median", "中央値"), t("longest", "最長")], rows))  # fmt: skip
    rows = [[ref, label.get(lang), _day(due), _day(done) or t("still open", "未対応")]
            for ref, _, label, due, done in sorted(report.overdue, key=lambda m: m[3])]  # fmt: skip
    tables.append((t("Steps after their deadline", "期限を過ぎた手順"),
                   [t("case", "整理番号"), t("deadline", "期限"), t("due", "期日"), t("done", "対応日時")], rows))  # fmt: skip
    rows = [[ref, kind, _day(at), what] for ref, kind, at, what in report.breaches]
    tables.append((t("Breaches of entrustment contracts and measures (Art.15-4, 15-5)", "預託契約の抵触と措置(第15条第4項・第5項)"),
                   [t("case", "整理番号"), t("what", "内容"), t("when", "日時"), t("recorded", "記録")], rows))  # fmt: skip
    rows = [[ref, _day(at), who] for ref, at, who in report.inspections]
    rows += [[ref, _day(due), t("MISSED", "未実施")] for ref, due in report.missed_inspections]
    tables.append((t("Inspections of vendors, done and missed (Art.15-6)", "預託先の定期調査(実施・未実施)(第15条第6項)"),
                   [t("case", "整理番号"), t("when / due", "日時・期日"), t("by", "実施者")], rows))  # fmt: skip
    rows = [
        [_day(at), what, user, role, dept] for at, what, user, role, dept in report.roster_changes
    ]
    tables.append((t("Roster changes", "役割の選任・解任"),
                   [t("when", "日時"), t("what", "内容"), t("person", "氏名"), t("role", "役割"), t("department", "部")], rows))  # fmt: skip
    return tables


def _summary(report: YearReport, lang: str) -> list[str]:
    ok = Label(
        f"the log verifies ({report.events} events)", f"ログの検証: 合格({report.events} 件)"
    )
    bad = Label(f"the log does NOT verify: {report.findings} findings (run `approvals audit verify`)",
                f"ログの検証: 不合格、指摘 {report.findings} 件(`approvals audit verify` を実行)")  # fmt: skip
    made, zone = _moment(report.made_at, report.zone), zone_called(report.zone)
    return [
        Label(f"Made {made}; times in {zone}.", f"作成日時 {made}(時刻は {zone})").get(lang),
        (ok if report.verified else bad).get(lang),
    ]


def render_markdown(report: YearReport, lang: str = "en") -> str:
    """Return the report as Markdown (workflow diagrams as Mermaid)."""
    title = Label(f"Personal information protection audit, {report.year} (Art.29-30)",
                  f"個人情報保護監査報告 {report.year} 年(第29条・第30条)").get(lang)  # fmt: skip
    lines = [f"# {title}", "", *(f"- {line}" for line in _summary(report, lang)), ""]
    for heading, headers, rows in _sections(report, lang):
        lines += [f"## {heading}", ""]
        if not rows:
            lines += [Label("None.", "なし。").get(lang), ""]
            continue
        lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows
        ]
        lines.append("")
    lines += [f"## {Label('Workflows', 'ワークフロー').get(lang)}", ""]
    for workflow in report.workflows.values():
        lines += [f"### {workflow.title.get(lang)} ({workflow.id} v{workflow.version})", "",
                  "```mermaid", mermaid(workflow, lang), "```", ""]  # fmt: skip
    return "\n".join(lines)


_STYLE = """
body{font-family:system-ui,'Hiragino Sans','Noto Sans JP',sans-serif;margin:2rem auto;max-width:72rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}
th{background:#f3f3f3}.ok{color:#17692b;font-weight:bold}.bad{color:#a11;font-weight:bold}
figure{margin:1rem 0;overflow-x:auto}figcaption{font-weight:bold;margin-bottom:.3rem}
"""


def render_html(report: YearReport, lang: str = "en") -> str:
    """Return the report as one self-contained HTML page with the workflow diagrams as SVG."""
    title = Label(f"Personal information protection audit, {report.year}",
                  f"個人情報保護監査報告 {report.year} 年").get(lang)  # fmt: skip
    summary = _summary(report, lang)
    state = "ok" if report.verified else "bad"
    parts = [f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>",
             f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>{html.escape(summary[0])}</p>",
             f"<p class='{state}'>{html.escape(summary[1])}</p>"]  # fmt: skip
    for heading, headers, rows in _sections(report, lang):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if not rows:
            parts.append(f"<p>{Label('None.', 'なし。').get(lang)}</p>")
            continue
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in rows
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append(f"<h2>{Label('Workflows', 'ワークフロー').get(lang)}</h2>")
    for workflow in report.workflows.values():
        caption = html.escape(f"{workflow.title.get(lang)} ({workflow.id} v{workflow.version})")
        parts.append(
            f"<figure><figcaption>{caption}</figcaption>{svg_diagram(workflow, lang)}</figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
