"""The auditor's commands: keys, signed checkpoints, verification of the whole log."""

from __future__ import annotations

import errno
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from approvals.cli.output import emit_json, name_left_out
from approvals.cli.progress import progress
from approvals.cli.session import Session, pass_session
from approvals.cli.text import say
from approvals.errors import Label, fill
from approvals.messages import MESSAGES

if TYPE_CHECKING:
    from approvals.audit.incremental import Since
    from approvals.audit.verify import Report

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
    with progress(session, "progress.verify") as shown:
        made, path, _report = create_checkpoint(
            app, load_private_key(key_path), folder, progress=shown
        )
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
@click.option(
    "--open-with", "opener", metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --bundle: the auditor's private key, to open the case keys sealed to it and "
    "replay the cases against their rules.",
)  # fmt: skip
@click.option(
    "--since-checkpoint", "since_path", metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Re-hash the whole log against this checkpoint (signed by a key given with --key, "
    "made by `audit checkpoint`), but check signatures and rules only for what came after it.",
)  # fmt: skip
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True,
    help="Show at most this many findings (0: all); --json always holds them all.",
)  # fmt: skip
@pass_session
def verify(
    session: Session,
    checkpoints: tuple[Path, ...],
    keys: tuple[Path, ...],
    bundle: Path | None,
    opener: Path | None,
    since_path: Path | None,
    limit: int,
) -> None:
    """Verify every event against what the engine recorded, the log against checkpoints held
    outside the database, and every case against its rules: integrity first, then decoding,
    then the rules; whatever was altered is reported, never a crash.

    Open to anyone who can read the database, on the roster or not: it writes nothing and
    shows nothing a reader of the tables does not hold already, and it must run on a log whose
    roster was altered or wiped (--user is not checked).

    With --since-checkpoint FILE (a checkpoint `audit checkpoint` made, signed by a key given
    with --key; refused otherwise), every event is still re-hashed and the log's root at the
    checkpoint's size compared with the one it signed, but the writers' signatures, decoding
    and the rules are checked only for the events after it and the cases they belong to; what
    came before is vouched for by the checkpoint's clean verification.

    Prints the first bad event, the findings by kind and at most --limit of them.
    Exit codes: 0 sound, and checked against at least one checkpoint signed by a key given
    with --key; 1 findings (or a refusal); 3 no finding, but no checkpoint signed by a given
    key was checked (no --key, or none of the checkpoints signed by it): internal consistency
    only.
    """
    from approvals.audit.checkpoint import load_public_key
    from approvals.audit.service import read_checkpoints, verify_with_keys

    if since_path is not None and (bundle is not None or opener is not None):
        raise click.UsageError(MESSAGES["audit.since_bundle"][session.lang])
    if since_path is not None:
        from approvals.audit.checkpoint import load_checkpoint
        from approvals.audit.service import trusted_since, verify_since

        since = load_checkpoint(since_path)
        pins = [load_public_key(k) for k in keys]
        trusted_since(since, pins)  # refused before the database is opened
        with progress(session, "progress.verify") as shown:
            report = verify_since(
                session.app(), since, read_checkpoints(checkpoints), pins, progress=shown
            )
    elif bundle is not None:
        from approvals.audit.bundle import verify_bundle
        from approvals.audit.checkpoint import load_private_key

        report = verify_bundle(
            bundle, [load_public_key(k) for k in keys], read_checkpoints(checkpoints),
            None if opener is None else load_private_key(opener),
        )  # fmt: skip
    elif opener is not None:
        raise click.UsageError(say("audit.open_without_bundle", session.lang))
    else:
        with progress(session, "progress.verify") as shown:
            report = verify_with_keys(
                session.app(), read_checkpoints(checkpoints), [load_public_key(k) for k in keys],
                progress=shown,
            )  # fmt: skip
    lang = session.lang
    pinned = _pinned(report, checkpoints, keys)
    notes = list(report.notes)
    if report.ok and not pinned:
        notes.append(Label(MESSAGES["audit.unpinned"]["en"], MESSAGES["audit.unpinned"]["ja"]))
    if session.as_json:
        emit_json({"ok": report.ok, "pinned": pinned, "events": report.events,
                   "root": report.root.hex(), "log": report.log, "first": report.first,
                   "counts": report.counts, "findings": report.findings,
                   "checkpoints": report.checkpoints, "notes": notes,
                   "since": _since_json(report)}, lang)  # fmt: skip
    else:
        _summary(report, lang, limit)
        for note in notes:
            click.echo(f"{say('audit.note', lang)}: {note.get(lang)}")
    if not report.ok:
        raise click.exceptions.Exit(1)
    if not pinned:
        raise click.exceptions.Exit(3)


def _since_json(report: Report) -> dict[str, object] | None:
    """What an incremental verification checked, for --json (None for a full one)."""
    since = report.since
    if since is None:
        return None
    return {"position": since.position, "signed": since.signed,
            "checkpoint": since.path, "events": since.events, "cases": since.cases,
            "aggregates": since.aggregates}  # fmt: skip


def _since_line(since: Since, lang: str) -> str:
    """The sentence saying how much an incremental verification checked."""
    from approvals.cli.text import moment

    return fill(MESSAGES["audit.since"][lang], lang, {
        "position": since.position, "signed": moment(since.signed, offset=True),
        "events": since.events, "cases": since.cases,
    })  # fmt: skip


def _summary(report: Report, lang: str, limit: int) -> None:
    """Print the first bad event, the findings by kind, then at most ``limit`` (0: all)."""
    click.echo(say("audit.walked", lang, events=report.events, root=report.root.hex()[:16],
                   checkpoints=len(report.checkpoints)))  # fmt: skip
    if report.since is not None:  # before the verdict, which is about what was checked
        click.echo(_since_line(report.since, lang))
    if report.ok:
        click.echo(say("audit.ok", lang))
        return
    first = report.findings[0] if report.first is None else report.first
    where = "" if first.position is None else f" @{first.position}"
    click.echo(say("audit.failed", lang, count=len(report.findings), subject=first.subject,
                   where=where, message=first.message.get(lang)))  # fmt: skip
    counts = ", ".join(f"{code} {count}" for code, count in report.counts.items())
    click.echo(MESSAGES["audit.counts"][lang].format(counts=counts))
    shown = report.findings if limit == 0 else report.findings[:limit]
    for finding in shown:
        position = "" if finding.position is None else str(finding.position)
        click.echo(f"  {finding.code:<22} {position:>8}  {finding.subject}: "
                   f"{finding.message.get(lang)}")  # fmt: skip
    if len(shown) < len(report.findings):
        left = len(report.findings) - len(shown)
        click.echo(fill(MESSAGES["audit.left_out"][lang], lang, {
            "shown": len(shown), "count": len(report.findings), "left": left}))  # fmt: skip


def _pinned(report: Report, checkpoints: tuple[Path, ...], keys: tuple[Path, ...]) -> int:
    """How many of the checkpoints ``report`` was checked against (those given, and in a bundle
    its own) are validly signed by a key given with --key: a checkpoint's own key is no proof
    of who signed it."""
    if not keys:
        return 0
    from cryptography.hazmat.primitives import serialization

    from approvals.audit.checkpoint import load_checkpoint, load_public_key
    from approvals.errors import InvalidValue

    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    given = {load_public_key(k).public_bytes(*raw) for k in keys}
    count = 0
    del checkpoints  # those given are among the report's when they were checked
    for path in set(report.checkpoints):
        try:
            checkpoint = load_checkpoint(Path(path))
        except (InvalidValue, OSError):
            continue
        if checkpoint.public_key in given and checkpoint.signature_is_valid():
            count += 1
    return count


def _moment(_ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    from approvals.cli.session import parse_moment

    # --from 2026-04-01 is the start of that day, --to 2026-04-01 its end
    return None if value is None else parse_moment(value, end=param.name == "end")


@audit.command("export", short_help="Export the log: a bundle, JSON Lines or CSV.")
@click.option(
    "--bundle", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
    help="Write a bundle that `audit verify --bundle` checks with no database.",
)  # fmt: skip
@click.option(
    "--format", "kind", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
    help="Without --bundle: the format written to stdout.",
)  # fmt: skip
@click.option(
    "--from", "start", metavar="WHEN", callback=_moment,
    help="Events from then on: 2026-04-30 (from the start of that day) or 2026-04-30T17:00.",
)  # fmt: skip
@click.option(
    "--to", "end", metavar="WHEN", callback=_moment,
    help="Events until then: 2026-04-30 (to the end of that day) or 2026-04-30T17:00; both in "
    "the zone (--zone) unless an offset is given.",
)  # fmt: skip
@click.option(
    "--checkpoint", "checkpoints", multiple=True, metavar="FILE|DIR",
    type=click.Path(exists=True, path_type=Path), help="Checkpoints to put in the bundle.",
)  # fmt: skip
@click.option(
    "--key", "keys", multiple=True, metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Public keys to put in the bundle.",
)  # fmt: skip
@click.option(
    "--seal-to", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The auditor's public key: seal the case keys to it, for a replay of the cases "
    "(without it the bundle holds no case key).",
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
    seal_to: Path | None,
) -> None:
    """Export every event of the log, each with its kind (JSON Lines or CSV on stdout,
    --from/--to, times in the zone), or a whole bundle for offline verification:
    integrity-only, with no case key, unless --seal-to seals the case keys to the auditor's
    public key."""
    app = session.reader()
    if bundle is not None:
        from approvals.audit.bundle import export_bundle

        with progress(session, "progress.bundle") as shown:
            manifest = export_bundle(
                app, in_existing_folder(bundle), checkpoints, keys, seal_to, progress=shown
            )
        if session.as_json:
            emit_json({"bundle": str(bundle), **manifest}, session.lang)
        else:
            click.echo(say("audit.bundle", session.lang, path=bundle, events=manifest["events"]))
        return
    from approvals.audit.export import export_rows, write_csv, write_jsonl
    from approvals.cli.session import shown_zone

    with progress(session, "progress.export") as shown:
        rows = export_rows(app, start, end, zone=shown_zone(), progress=shown)
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
    table(headers, rows, fit={6: "clip"})  # the leaf hash (its first 16): whole in --json


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
    from approvals.cli.session import shown_zone

    made = build_report(session.reader(), year, zone=shown_zone())
    text = (render_html if kind == "html" else render_markdown)(made, session.lang)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(say("audit.report", session.lang, path=out))


@audit.command("prove", short_help="Prove events are in the log: RFC 9162 inclusion proofs.")
@click.argument("target", metavar="CASE|POSITION")
@click.option(
    "--checkpoint", "checkpoint_path", metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Prove against this checkpoint's tree size and root (refused when the log's root at "
    "that size is not the one it signed).",
)  # fmt: skip
@pass_session
def prove(session: Session, target: str, checkpoint_path: Path | None) -> None:
    """Print, as JSON in the terms of RFC 9162 §2.1.3, the inclusion proof of the event at
    POSITION (0, 1, 2… as `audit timeline` shows), or of every event of CASE, oldest first:
    each leaf_index, leaf_hash and inclusion_path (hex), with the tree_size and root_hash they
    verify against — the whole log now, or the checkpoint given (a case's events after it are
    left out). Any RFC 9162 verifier checks them. Open to anyone who can read the database,
    like `audit verify`: it writes nothing and shows only hashes."""
    from approvals.audit.checkpoint import load_checkpoint
    from approvals.audit.service import prove_inclusion

    signed = None if checkpoint_path is None else load_checkpoint(checkpoint_path)
    what: int | str = int(target) if target.isascii() and target.isdigit() else target
    made = prove_inclusion(session.app(), what, signed)
    emit_json(
        {
            "hash_algorithm": "SHA-256",
            "tree_size": made.tree_size,
            "root_hash": made.root_hash.hex(),
            "checkpoint": made.checkpoint,
            "case": made.reference,
            "inclusions": [
                {
                    "leaf_index": item.leaf_index,
                    "leaf_hash": item.leaf_hash.hex(),
                    "inclusion_path": [node.hex() for node in item.inclusion_path],
                    "originator_id": item.originator_id,
                    "originator_version": item.originator_version,
                }
                for item in made.inclusions
            ],
        },
        session.lang,
    )
