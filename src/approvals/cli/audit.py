"""The auditor's commands: keys, signed checkpoints, verification of the whole log."""

from __future__ import annotations

import os
from pathlib import Path

import click

from approvals.cli.output import emit_json
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say

__all__ = ["audit"]


def default_key_folder() -> Path:
    """Where `audit keygen` writes keys: the user's approvals configuration folder."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "approvals" / "keys"


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

    private, public, ident = generate_keys(folder or default_key_folder())
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
@pass_session
def verify(session: Session, checkpoints: tuple[Path, ...], keys: tuple[Path, ...]) -> None:
    """Verify every event against what the engine recorded, the log against checkpoints held
    outside the database, and every case against its rules. Exit 1 when anything is wrong."""
    from approvals.audit.checkpoint import load_public_key
    from approvals.audit.service import read_checkpoints, verify_with_keys

    app = session.reader()
    report = verify_with_keys(
        app, read_checkpoints(checkpoints), [load_public_key(key) for key in keys]
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
