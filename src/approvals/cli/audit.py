"""The auditor's commands: keys, signed checkpoints, verification of the whole log."""

from __future__ import annotations

import errno
import os
import sys
from datetime import datetime
from pathlib import Path

import click

from approvals.cli.output import emit_json, name_left_out
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say

__all__ = ["audit"]


def default_key_folder() -> Path:
    """Where `audit keygen` writes keys: the user's approvals configuration folder."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "approvals" / "keys"


def in_existing_folder(folder: Path) -> Path:
    """Return the output folder ``folder``, refusing one whose parent folder does not exist:
    a mistyped path names a folder to make, never a tree of them (one sentence, see
    ``ApprovalsGroup``)."""
    parent = folder.parent
    if not parent.is_dir():
        code = errno.ENOTDIR if parent.exists() else errno.ENOENT
        raise OSError(code, os.strerror(code), str(parent))
    return folder


@click.group(short_help="Verify the log; sign checkpoints; make keys.")
def audit() -> None:
    """The audit trail: prove that nothing was changed or removed (read-only for the log)."""


@audit.command("keygen", short_help="Make an Ed25519 key pair for signing checkpoints.")
@click.option(
    "--dir", "folder", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Where to write the keys (default: ~/.config/approvals/keys).",
)  # fmt: skip
@pass_session
def keygen(session: Session, folder: Path | None) -> None:
    """Make an Ed25519 key pair; keep the private key with the auditor, outside the database."""
    from approvals.audit.checkpoint import generate_keys

    private, public, ident = generate_keys(
        default_key_folder() if folder is None else in_existing_folder(folder)
    )
    if session.as_json:
        emit_json({"key_id": ident, "private_key": str(private), "public_key": str(public)}, "en")
        return
    click.echo(say("audit.keys", session.lang, key_id=ident, private=private, public=public))


@audit.command("checkpoint", short_help="Verify the log, then sign its size and root.")
@click.option(
    "--key", "key_path", required=True, metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The auditor's private key (from `audit keygen`).",
)  # fmt: skip
@click.option(
    "--dir", "folder", type=click.Path(path_type=Path, file_okay=False),
    default=Path("checkpoints"), show_default=True,
    help="The folder of checkpoints, outside the database; the newest becomes the previous one.",
)  # fmt: skip
@pass_session
def checkpoint(session: Session, key_path: Path, folder: Path) -> None:
    """Verify the whole log, then write a signed checkpoint of its size and Merkle root."""
    from approvals.audit.checkpoint import load_private_key
    from approvals.audit.service import create_checkpoint

    app = session.reader()
    in_existing_folder(folder)
    made, path, _report = create_checkpoint(app, load_private_key(key_path), folder)
    if session.as_json:
        made_json = {"path": str(path), "tree_size": made.tree_size, "root": made.root.hex(),
                     "key_id": made.key_id, "previous": made.previous is not None}  # fmt: skip
        emit_json(made_json, session.lang)
        return
    click.echo(say("audit.checkpoint", session.lang, path=path, size=made.tree_size,
                   root=made.root.hex()[:16], key_id=made.key_id))  # fmt: skip


@audit.command("verify", short_help="Walk the whole log and name the first bad event.")
@click.option(
    "--checkpoint", "checkpoints", multiple=True, metavar="FILE|DIR",
    type=click.Path(exists=True, path_type=Path),
    help="Checkpoint files or folders to verify against (repeatable).",
)  # fmt: skip
@click.option(
    "--key", "keys", multiple=True, metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Accept only checkpoints signed by this public key (repeatable).",
)  # fmt: skip
@click.option(
    "--bundle", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Verify an exported bundle instead of the database (no database needed).",
)  # fmt: skip
@pass_session
def verify(
    session: Session, checkpoints: tuple[Path, ...], keys: tuple[Path, ...], bundle: Path | None
) -> None:
    """Verify every event against what the engine recorded, the log against checkpoints held
    outside the database, and every case against its rules. Exit 1 when anything is wrong."""
    from approvals.audit.checkpoint import load_public_key
    from approvals.audit.service import read_checkpoints, verify_with_keys

    if bundle is not None:
        from approvals.audit.bundle import verify_bundle

        report = verify_bundle(bundle)
    else:
        report = verify_with_keys(
            session.reader(), read_checkpoints(checkpoints), [load_public_key(k) for k in keys]
        )
    lang = session.lang
    if session.as_json:
        emit_json({"ok": report.ok, "events": report.events, "root": report.root.hex(),
                   "log": report.log, "first": report.first, "findings": report.findings,
                   "checkpoints": report.checkpoints, "notes": report.notes}, lang)  # fmt: skip
    else:
        click.echo(say("audit.walked", lang, events=report.events, root=report.root.hex()[:16],
                       checkpoints=len(report.checkpoints)))  # fmt: skip
        if report.ok:
            click.echo(say("audit.ok", lang))
        else:
            first = report.findings[0] if report.first is None else report.first
            where = "" if first.position is None else f" @{first.position}"
            click.echo(say("audit.failed", lang, count=len(report.findings), subject=first.subject,
                           where=where, message=first.message.get(lang)))  # fmt: skip
            for finding in report.findings:
                position = "" if finding.position is None else str(finding.position)
                click.echo(f"  {finding.code:<22} {position:>8}  {finding.subject}: "
                           f"{finding.message.get(lang)}")  # fmt: skip
        for note in report.notes:
            click.echo(f"{say('audit.note', lang)}: {note.get(lang)}")
    if not report.ok:
        raise click.exceptions.Exit(1)


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    from approvals.cli.session import parse_moment

    if value is None:
        return None
    moment = parse_moment(value)
    # --from 2026-04-01 means from the start of that day
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) if len(value) == 10 else moment


@audit.command("export", short_help="Export the log: a bundle, JSON Lines or CSV.")
@click.option(
    "--bundle", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
    help="Write a bundle that `audit verify --bundle` checks with no database.",
)  # fmt: skip
@click.option(
    "--format", "kind", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
    help="Without --bundle: the format written to stdout.",
)  # fmt: skip
@click.option("--from", "start", metavar="WHEN", callback=_moment, help="Events from then (JST).")
@click.option("--to", "end", metavar="WHEN", callback=_moment, help="Events before then (JST).")
@click.option(
    "--checkpoint", "checkpoints", multiple=True, metavar="FILE|DIR",
    type=click.Path(exists=True, path_type=Path), help="Checkpoints to put in the bundle.",
)  # fmt: skip
@click.option(
    "--key", "keys", multiple=True, metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Public keys to put in the bundle.",
)  # fmt: skip
@pass_session
def export(
    session: Session,
    bundle: Path | None,
    kind: str,
    start: datetime | None,
    end: datetime | None,
    checkpoints: tuple[Path, ...],
    keys: tuple[Path, ...],
) -> None:
    """Export every case and roster event (JSON Lines or CSV on stdout, --from/--to), or a
    whole bundle for offline verification."""
    app = session.reader()
    if bundle is not None:
        from approvals.audit.bundle import export_bundle

        manifest = export_bundle(app, in_existing_folder(bundle), checkpoints, keys)
        if session.as_json:
            emit_json({"bundle": str(bundle), **manifest}, session.lang)
        else:
            click.echo(say("audit.bundle", session.lang, path=bundle, events=manifest["events"]))
        return
    from approvals.audit.export import export_rows, write_csv, write_jsonl

    rows = export_rows(app, start, end)
    if kind == "csv":
        write_csv(rows, sys.stdout)
    else:
        write_jsonl(rows, sys.stdout)
    name_left_out(app.unreadable(), session.lang)


@audit.command("timeline", short_help="A case's events with their place in the log.")
@click.argument("reference", metavar="CASE")
@pass_session
def timeline_command(session: Session, reference: str) -> None:
    """Show every event of CASE with its position in the log, its leaf hash, and whether it is
    exactly what the engine recorded."""
    from approvals.audit.service import timeline
    from approvals.cli.output import table
    from approvals.cli.text import moment

    lang = session.lang
    entries = timeline(session.reader(), reference)
    if session.as_json:
        emit_json(entries, lang)
        return
    rows = [
        [str(item.position), moment(item.event.at), item.event.actor,
         item.event.role_label.get(lang), item.event.label.get(lang),
         item.event.dest_label.get(lang), (item.leaf_hash or "")[:16],
         "✓" if item.intact else "✗"]
        for item in entries
    ]  # fmt: skip
    keys = ("when", "who", "as", "what", "to")
    headers = [say("h.position", lang), *(say(f"h.{k}", lang) for k in keys), "leaf", "✓"]
    table(headers, rows)


@audit.command("report", short_help="The yearly audit summary (Art.29-30).")
@click.option(
    "--year", type=click.IntRange(1900, 2200), required=True,
    help="The calendar year reported on.",
)  # fmt: skip
@click.option(
    "--format", "kind", type=click.Choice(["md", "html"]), default="md", show_default=True,
    help="Markdown (diagrams as Mermaid) or a self-contained HTML page (diagrams as SVG).",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write to this file instead of stdout.",
)  # fmt: skip
@pass_session
def report(session: Session, year: int, kind: str, out: Path | None) -> None:
    """Cases per workflow and outcome, time to decision, overdue steps, breaches and measures,
    inspections done and missed, roster changes, and whether the log verifies."""
    from approvals.audit.report import build_report, render_html, render_markdown

    made = build_report(session.reader(), year)
    text = (render_html if kind == "html" else render_markdown)(made, session.lang)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(say("audit.report", session.lang, path=out))
