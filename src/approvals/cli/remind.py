"""``approvals remind``: what is due soon and what is overdue, person by person."""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby

import click

from approvals.cli.output import emit_json, name_left_out, table
from approvals.cli.session import Session, pass_session
from approvals.cli.text import moment, say

__all__ = ["remind"]


@click.command("remind", short_help="What is due soon or overdue, by person.")
@click.option(
    "--days",
    type=click.IntRange(min=0, max=36_600),  # a century: every date stays computable
    default=3,
    show_default=True,
    help="Due within this many days from now (overdue ones are always listed).",
)
@click.option(
    "--all",
    "everyone",
    is_flag=True,
    help="Everyone's, not only mine (the chief, the audit officer, the representative).",
)
@pass_session
def remind(session: Session, days: int, everyone: bool) -> None:
    """What is overdue, and what is due within --days, for me or (--all) for everyone: each
    deadline with the case, when it is due and the steps that meet it.  With --json, one
    document a mailer can send from: {"people": [{"person", "overdue", "due_soon", "items"}]}."""
    app = session.reader()
    found = app.reminders(actor=session.actor, within=timedelta(days=days), everyone=everyone)
    name_left_out(app.registers().notices(refresh=False), session.lang)
    people = [(person, list(items)) for person, items in groupby(found, key=lambda r: r.person)]
    lang = session.lang
    if session.as_json:
        emit_json(
            {
                "generated_at": app.now(),
                "until": app.now() + timedelta(days=days),
                "people": [
                    {
                        "person": person,
                        "overdue": sum(1 for item in items if item.overdue),
                        "due_soon": sum(1 for item in items if not item.overdue),
                        "items": items,
                    }
                    for person, items in people
                ],
            },
            lang,
        )
        return
    if not people:
        click.echo(say("remind.none", lang, days=days))
        return
    mark = say("overdue", lang)
    for index, (person, items) in enumerate(people):
        if index:
            click.echo()
        overdue = sum(1 for item in items if item.overdue)
        click.echo(say("remind.person", lang, person=person, overdue=overdue,
                       soon=len(items) - overdue))  # fmt: skip
        rows = [
            [item.reference, item.title, item.label.get(lang), moment(item.due_at),
             mark if item.overdue else "", " / ".join(step.get(lang) for step in item.steps)]
            for item in items
        ]  # fmt: skip
        keys = ("reference", "title", "deadline", "due", "status", "steps")
        table([say(f"h.{key}", lang) for key in keys], rows, fit={1: "clip"})  # whole in `show`
