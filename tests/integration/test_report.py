"""The yearly audit summary (Art.29-30), as Markdown and as an HTML page."""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner

from approvals import JST, open_approvals
from approvals.audit.report import build_report, render_html, render_markdown
from approvals.cli import cli
from approvals.demo import AUDITOR, SimulatedClock, run_demo


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.seen.append(tag)


def test_the_yearly_report_counts_what_happened_that_year(backend_url: str, tmp_path: Path) -> None:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    try:
        run = run_demo(app, clock)
        clock.advance(days=30)
        report = build_report(app, 2026)
        assert report.verified
        assert sum(sum(c.values()) for c in report.outcomes.values()) == 7
        assert report.outcomes["provision"] == {"rejected": 1}
        assert {miss[0] for miss in report.overdue} == set(run.open_cases)
        assert [kind for _, kind, _, _ in report.breaches] == ["breach", "measures"]
        assert len(report.inspections) == 1
        assert build_report(app, 2025).outcomes == {}

        markdown = render_markdown(report, "en")
        assert "# Personal information protection audit, 2026 (Art.29-30)" in markdown
        assert "| Provision to a third party | rejected | 1 |" in markdown
        assert markdown.count("```mermaid") == len(app.workflows)
        japanese = render_markdown(report, "ja")
        assert "| 個人情報の第三者への提供 | 却下 | 1 |" in japanese

        page = render_html(report, "ja")
        tags = Tags()
        tags.feed(page)
        assert tags.seen.count("svg") == len(app.workflows)
        assert "table" in tags.seen
        assert "ログの検証: 合格" in page
    finally:
        app.close()


def test_the_report_command_writes_a_page(backend_url: str, tmp_path: Path) -> None:
    clock = SimulatedClock(datetime(2026, 4, 1, 9, tzinfo=JST))
    app = open_approvals(backend_url, clock=clock)
    run_demo(app, clock)
    app.close()
    out = tmp_path / "audit-2026.html"
    auditor = ["--db", backend_url, "--user", AUDITOR, "audit", "report", "--year", "2026"]
    result = CliRunner().invoke(cli, [*auditor, "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    markdown = CliRunner().invoke(cli, auditor)
    assert "## Steps after their deadline" in markdown.stdout
