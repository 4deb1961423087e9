"""Signing at the terminal: each approver's own key, made once and kept 0600, registered by
whoever may appoint them; once signing began, nobody writes without a registered key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from approvals import open_approvals
from approvals.audit.writers import signature_findings
from tests.cli.conftest import Run


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    return tmp_path / "signed.db"


def count(path: Path, table: str) -> int:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        found = connection.execute(select(func.count()).select_from(text(table))).scalar_one()
    engine.dispose()
    return int(found)


def test_approvers_sign_with_their_own_registered_keys(run: Run, empty: Path) -> None:
    db = str(empty)
    made = run("init", "--representative", "daihyo", db=db, user="daihyo")
    assert made.exit_code == 0, made.output
    assert "Signing began with your key" in made.output
    private = empty.parent / "config" / "approvals" / "keys" / "daihyo.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700

    again = run("keys", "new", db=db, user="daihyo")
    assert again.exit_code != 0  # never over a key
    assert "Traceback" not in again.output
    assert "registered on the roster" in run("keys", "show", db=db, user="daihyo").output

    assert run("roster", "appoint", "sato", "chief", db=db, user="daihyo").exit_code == 0

    assert run("keys", "new", db=db, user="sato").exit_code == 0
    before = count(empty, "approvals_events")
    refused = run("roster", "appoint", "suzuki", "manager", "-d", "sales", db=db, user="sato")
    assert refused.exit_code == 1
    assert "is not registered on the roster" in refused.output
    assert "Traceback" not in refused.output
    assert count(empty, "approvals_events") == before  # nothing written

    sato = str(private.with_name("sato.pub"))
    assert run("roster", "register-key", "sato", sato, db=db, user="daihyo").exit_code == 0
    shown = run("keys", "show", db=db, user="sato")
    assert "registered on the roster" in shown.output
    done = run("roster", "appoint", "suzuki", "manager", "-d", "sales", db=db, user="sato")
    assert done.exit_code == 0, done.output

    listed = run("--lang", "ja", "roster", "keys", db=db, user="daihyo")
    assert listed.exit_code == 0, listed.output
    assert "保持者" in listed.output
    assert listed.output.count("daihyo") >= 2

    unsigned = run("roster", "appoint", "kansa", "auditor", db=db, user="daihyo",
                   env={"XDG_CONFIG_HOME": str(empty.parent / "elsewhere")})  # fmt: skip
    assert unsigned.exit_code == 1
    assert "no key was given to sign with" in unsigned.output

    app = open_approvals(f"sqlite:///{empty}", create=False)
    found = signature_findings(app)
    app.close()
    assert found.findings == ()
    assert found.signed_from == 1
    assert count(empty, "approvals_signatures") == count(empty, "approvals_events") - 1


def test_a_lost_key_is_revoked_by_its_holder(run: Run, empty: Path) -> None:
    db = str(empty)
    run("init", "--representative", "daihyo", db=db, user="daihyo")
    keys = empty.parent / "config" / "approvals" / "keys"
    run("roster", "appoint", "sato", "chief", db=db, user="daihyo")
    run("keys", "new", db=db, user="sato")
    registered = run("--json", "roster", "register-key", "sato", str(keys / "sato.pub"),
                     db=db, user="daihyo")  # fmt: skip
    assert registered.exit_code == 0, registered.output
    key_id = registered.output.split('"key_id": "')[1][:16]
    assert run("roster", "revoke-key", key_id, db=db, user="sato").exit_code == 0
    assert "revoked" in run("keys", "show", db=db, user="sato").output
    refused = run("roster", "appoint", "suzuki", "manager", "-d", "sales", db=db, user="sato")
    assert refused.exit_code == 1
    assert "not registered" in refused.output


def test_init_by_someone_else_says_how_signing_begins(run: Run, empty: Path) -> None:
    db = str(empty)
    done = run("init", "--representative", "daihyo", db=db, user="admin")
    assert done.exit_code == 0, done.output
    assert "Events are not signed yet: daihyo begins signing" in done.output
    assert not (empty.parent / "config" / "approvals" / "keys").exists()
    assert count(empty, "approvals_signatures") == 0
    began = run("init", "--representative", "daihyo", db=db, user="daihyo")
    assert "Signing began" in began.output
    assert count(empty, "approvals_signatures") == 1  # the registration of the first key


def test_a_key_others_may_read_is_refused(run: Run, empty: Path) -> None:
    db = str(empty)
    run("init", "--representative", "daihyo", db=db, user="daihyo")
    private = empty.parent / "config" / "approvals" / "keys" / "daihyo.key"
    private.chmod(0o644)
    before = count(empty, "approvals_events")
    refused = run("roster", "appoint", "sato", "chief", db=db, user="daihyo")
    assert refused.exit_code == 1
    assert "chmod 600" in refused.output
    assert "Traceback" not in refused.output
    assert count(empty, "approvals_events") == before


def test_open_with_needs_a_bundle(run: Run, tmp_path: Path) -> None:
    private = tmp_path / "auditor.key"
    private.write_text("not used", encoding="utf-8")
    refused = run("audit", "verify", "--open-with", str(private))
    assert refused.exit_code == 2
    assert "give --bundle DIR too" in refused.output
