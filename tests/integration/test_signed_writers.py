"""Every event after signing began is signed by a key the roster registered for its writer.

The insider of the audit: with the application's database role alone, "daihyo appoints
mallory chief" was appended with a correct ledger row, and `audit verify` passed.  Here the
same append (the engine's own code, its signing switched off, or a key nobody registered) is
named by the signature walk; the engine itself refuses to write unsigned once signing began.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from approvals import JST, ApprovalsApplication, open_approvals
from approvals.audit.signing import WriterKey, signature_is_valid, statement
from approvals.audit.writers import signature_findings
from approvals.errors import RosterRefused, SigningRefused
from tests.conftest import (
    AUDITOR,
    CHIEF,
    MANAGER,
    OTHER_MANAGER,
    REPRESENTATIVE,
    STAFF,
    FakeClock,
    drop_triggers,
)
from tests.unit.test_cases import file_case


def key(holder: str, *, service: bool = False) -> WriterKey:
    return WriterKey(holder, Ed25519PrivateKey.generate(), service)


REP = key(REPRESENTATIVE)
HOST = key("intranet", service=True)


CLOCKS: dict[str, FakeClock] = {}


def opened(url: str, signer: WriterKey | None, **kwargs: Any) -> ApprovalsApplication:
    """The store at ``url`` with its own clock, which goes on where it stood (never back)."""
    clock = CLOCKS.setdefault(url, FakeClock(datetime(2026, 4, 1, 9, 0, tzinfo=JST)))
    return open_approvals(url, clock=clock, signer=signer, **kwargs)


def begin_signing(url: str) -> ApprovalsApplication:
    """Have the representative establish the roster and begin signing, and register the
    host's service key; return the host's application, signing with that key."""
    app = opened(url, REP)
    app.establish_roster(REPRESENTATIVE)
    app.register_key(actor=REPRESENTATIVE, holder=REPRESENTATIVE, public_key=REP.public_key)
    app.register_key(
        actor=REPRESENTATIVE, holder="intranet", public_key=HOST.public_key, service=True
    )
    app.close()
    return opened(url, HOST)


def event_count(app: ApprovalsApplication) -> int:
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(ledger)).scalar_one())


@pytest.fixture
def signed(backend_url: str) -> Iterator[str]:
    """A store whose representative began signing, and whose host signs with a service key."""
    host = begin_signing(backend_url)
    host.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    host.appoint(actor=REPRESENTATIVE, user=AUDITOR, role="auditor")
    host.appoint(actor=CHIEF, user=MANAGER, role="manager", department="sales")
    host.appoint(actor=CHIEF, user=OTHER_MANAGER, role="manager", department="hr")
    host.appoint(actor=MANAGER, user=STAFF, role="staff", department="sales")
    file_case(host, "purpose")
    host.close()
    return backend_url  # type: ignore[return-value]


def test_a_signed_store_verifies_and_says_from_where_it_is_signed(signed: str) -> None:
    app = opened(signed, None)
    found = signature_findings(app)
    assert found.findings == ()
    assert found.signed_from == 1  # position 0 is the roster's establishment, the log's identity
    assert "signed from position 1" in found.note.get("en")
    app.close()


def test_every_signature_is_ed25519_over_the_documented_statement(signed: str) -> None:
    app = opened(signed, None)
    ledger = app.recorder.ledger  # type: ignore[attr-defined]
    signatures = app.recorder.signatures  # type: ignore[attr-defined]
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(ledger.c.position, ledger.c.leaf_hash, signatures.c.writer,
                   signatures.c.key_id, signatures.c.signature)
            .join(signatures, signatures.c.position == ledger.c.position)
            .order_by(ledger.c.position)
        ).all()  # fmt: skip
    assert [r.position for r in rows] == list(range(1, event_count(app)))
    public = {REP.key_id: REP.public_key, HOST.key_id: HOST.public_key}
    for row in rows:
        leaf = bytes.fromhex(row.leaf_hash)
        assert signature_is_valid(public[row.key_id], row.position, leaf, row.writer,
                                  row.signature)  # fmt: skip
        assert (
            statement(row.position, leaf, row.writer)
            == (
                f'{{"leaf_hash":"{row.leaf_hash}","position":{row.position},'
                f'"writer":"{row.writer}"}}'
            ).encode()
        )
    assert {r.writer for r in rows} >= {REPRESENTATIVE, CHIEF, MANAGER, STAFF}
    app.close()


def test_the_engine_refuses_to_write_unsigned_once_signing_began(signed: str) -> None:
    app = opened(signed, None)
    before = event_count(app)
    with pytest.raises(SigningRefused, match="no key was given"):
        app.appoint(actor=MANAGER, user="mallory", role="staff", department="sales")
    stranger = opened(signed, key("mallory", service=True))
    with pytest.raises(SigningRefused, match="not registered"):
        stranger.appoint(actor=MANAGER, user="mallory", role="staff", department="sales")
    stranger.close()
    assert event_count(app) == before
    app.close()


def test_a_persons_key_signs_for_that_person_only(signed: str) -> None:
    chief = key(CHIEF)
    host = opened(signed, HOST)
    host.register_key(actor=REPRESENTATIVE, holder=CHIEF, public_key=chief.public_key)
    host.close()
    app = opened(signed, chief)
    app.appoint(actor=CHIEF, user="yamada", role="manager", department="legal")
    with pytest.raises(SigningRefused, match=f"is {CHIEF}'s own"):
        app.appoint(actor=MANAGER, user="mallory", role="staff", department="sales")
    assert signature_findings(app).findings == ()
    app.close()


def insider_append(url: str, signer: WriterKey | None, *, create: bool = True) -> int:
    """Append "daihyo appoints mallory chief" as the engine's own code would, ledger row and
    all, but signed by ``signer`` whatever the roster says (or unsigned): what anyone with the
    database's credentials and a copy of approvals can do.  Return its position."""
    app = opened(url, signer, create=create)
    app.signing_for = lambda aggregates, writer: (  # type: ignore[method-assign]
        None if signer is None else (signer, writer)
    )
    app.appoint(actor=REPRESENTATIVE, user="mallory", role="chief")
    position = event_count(app) - 1
    app.close()
    return position


@pytest.mark.parametrize("signer", [None, key("mallory"), key(REPRESENTATIVE)])
def test_an_appointment_appended_with_database_credentials_alone_is_named(
    signed: str, signer: WriterKey | None
) -> None:
    position = insider_append(signed, signer)
    app = opened(signed, None)
    found = signature_findings(app).findings
    assert [(f.code, f.position) for f in found] == [
        ("unsigned" if signer is None else "signature_key", position)
    ]
    app.close()


def test_an_event_signed_for_someone_else_by_a_persons_key_is_named(signed: str) -> None:
    chief = key(CHIEF)
    host = opened(signed, HOST)
    host.register_key(actor=REPRESENTATIVE, holder=CHIEF, public_key=chief.public_key)
    host.close()
    app = opened(signed, chief)
    app.signing_for = lambda aggregates, writer: (chief, writer)  # type: ignore[method-assign]
    app.appoint(actor=MANAGER, user="mallory", role="staff", department="sales")
    position = event_count(app) - 1
    assert [(f.code, f.position) for f in signature_findings(app).findings] == [
        ("signature_writer", position)
    ]
    app.close()


def test_a_forged_or_removed_signature_is_named(signed: str) -> None:
    drop_triggers(signed, ["approvals_signatures"])
    engine = sqlalchemy.create_engine(signed)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE approvals_signatures SET writer = :w WHERE position = 3"), {"w": CHIEF}
        )
        connection.execute(text("DELETE FROM approvals_signatures WHERE position = 4"))
        connection.execute(
            text("INSERT INTO approvals_signatures VALUES (99999, 'x', 'abc', 'ff')")
        )
    engine.dispose()
    app = opened(signed, None)
    found = [(f.code, f.position) for f in signature_findings(app).findings]
    assert found == [("signature", 3), ("unsigned", 4), ("signature_orphan", 99999)]
    app.close()


def test_a_revoked_key_signs_nothing_after_its_revocation(signed: str) -> None:
    host = opened(signed, HOST)
    chief = key(CHIEF)
    record = host.register_key(actor=REPRESENTATIVE, holder=CHIEF, public_key=chief.public_key)
    host.revoke_key(actor=CHIEF, key_id=record.key_id)
    assert [k.end is not None for k in host.writer_keys() if k.holder == CHIEF] == [True]
    host.close()
    revoked = opened(signed, chief)
    with pytest.raises(SigningRefused, match="not registered"):
        revoked.appoint(actor=CHIEF, user="y", role="manager", department="x")
    revoked.close()
    position = insider_append(signed, chief)
    app = opened(signed, None)
    assert [(f.code, f.position) for f in signature_findings(app).findings] == [
        ("signature_key", position)
    ]
    app.close()


def test_who_may_register_whose_key(signed: str) -> None:
    host = opened(signed, HOST)
    staff = key(STAFF)
    with pytest.raises(RosterRefused, match="cannot register their own key"):
        host.register_key(actor=STAFF, holder=STAFF, public_key=staff.public_key)
    with pytest.raises(RosterRefused, match="only"):
        host.register_key(actor=OTHER_MANAGER, holder=STAFF, public_key=staff.public_key)
    with pytest.raises(RosterRefused, match="holds no role"):
        host.register_key(actor=CHIEF, holder="nobody", public_key=staff.public_key)
    with pytest.raises(RosterRefused, match="only"):
        host.register_key(actor=MANAGER, holder="other-host", public_key=staff.public_key,
                          service=True)  # fmt: skip
    with pytest.raises(RosterRefused, match="not an Ed25519 public key"):
        host.register_key(actor=MANAGER, holder=STAFF, public_key="00ff")
    host.register_key(actor=MANAGER, holder=STAFF, public_key=staff.public_key)
    with pytest.raises(RosterRefused, match="already registered"):
        host.register_key(actor=CHIEF, holder=STAFF, public_key=staff.public_key)
    assert signature_findings(host).findings == ()
    host.close()


def test_a_store_written_before_signing_says_so_and_is_signed_from_the_first_key(
    backend_url: str,
) -> None:
    app = opened(backend_url, None)
    app.establish_roster(REPRESENTATIVE)
    app.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    unsigned = signature_findings(app)
    assert (unsigned.findings, unsigned.signed_from) == ((), None)
    assert "not signed" in unsigned.note.get("en")
    app.close()
    other = opened(backend_url, key("mallory"))
    with pytest.raises(SigningRefused, match="not registered"):  # another key cannot begin
        other.register_key(actor=REPRESENTATIVE, holder=REPRESENTATIVE, public_key=REP.public_key)
    other.close()
    app = opened(backend_url, REP)
    app.register_key(actor=REPRESENTATIVE, holder=REPRESENTATIVE, public_key=REP.public_key)
    app.appoint(actor=REPRESENTATIVE, user=AUDITOR, role="auditor")
    found = signature_findings(app)
    assert (found.findings, found.signed_from) == ((), 2)
    assert "the 2 before it were written before signing began" in found.note.get("en")
    app.close()


def test_a_first_key_registered_by_someone_else_than_the_representative_is_named(
    backend_url: str,
) -> None:
    app = opened(backend_url, None)
    app.establish_roster(REPRESENTATIVE)
    app.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    app.close()
    mallory = key(CHIEF)
    app = opened(backend_url, mallory)
    with pytest.raises(RosterRefused, match="cannot register their own key"):
        app.register_key(actor=CHIEF, holder=CHIEF, public_key=mallory.public_key)
    # the same registration written behind the rules
    from approvals import application

    original = application.check_key_registration
    application.check_key_registration = lambda roster, **_: "chief"  # type: ignore[assignment]
    try:
        app.register_key(actor=CHIEF, holder=CHIEF, public_key=mallory.public_key)
    finally:
        application.check_key_registration = original
    assert [(f.code, f.position) for f in signature_findings(app).findings] == [
        ("key_registration", 2)
    ]
    app.close()


def test_the_least_privilege_role_cannot_append_unseen(postgres_url: str) -> None:
    """The audit's insider exactly: the application's PostgreSQL role, which may INSERT."""
    from approvals.store import grant_least_privilege

    app = opened(postgres_url, REP)
    app.establish_roster(REPRESENTATIVE)
    app.register_key(actor=REPRESENTATIVE, holder=REPRESENTATIVE, public_key=REP.public_key)
    app.appoint(actor=REPRESENTATIVE, user=CHIEF, role="chief")
    role = f"approvals_app_{uuid.uuid4().hex[:8]}"
    with app.engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    try:
        grant_least_privilege(app.engine, role)
        as_role = (
            sqlalchemy.make_url(postgres_url)
            .set(username=role)
            .render_as_string(hide_password=False)
        )
        position = insider_append(as_role, None, create=False)
        assert [(f.code, f.position) for f in signature_findings(app).findings] == [
            ("unsigned", position)
        ]
    finally:
        app.close()
        admin = sqlalchemy.create_engine(postgres_url)
        with admin.begin() as connection:
            connection.execute(text(f"DROP OWNED BY {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def test_verify_and_a_bundle_carry_the_signatures(signed: str, tmp_path: Path) -> None:
    from approvals.audit.bundle import export_bundle, verify_bundle
    from approvals.audit.verify import verify_log

    app = opened(signed, None)
    report = verify_log(app)
    assert report.ok, report.findings
    assert any("signed from position 1" in note.get("en") for note in report.notes)
    export_bundle(app, tmp_path / "bundle")
    app.close()
    carried = verify_bundle(tmp_path / "bundle")
    assert carried.ok, carried.findings
    assert any("signed from position 1" in note.get("en") for note in carried.notes)

    position = insider_append(signed, None)
    app = opened(signed, None)
    assert [(f.code, f.position) for f in verify_log(app).findings] == [("unsigned", position)]
    export_bundle(app, tmp_path / "forged")
    app.close()
    forged = verify_bundle(tmp_path / "forged")
    assert [(f.code, f.position) for f in forged.findings] == [("unsigned", position)]


def test_an_approval_written_under_the_chiefs_name_with_another_persons_key_is_named(
    signed: str,
) -> None:
    """tanaka holds his own key and the database's credentials: he appends "sato approved"."""
    tanaka = key(STAFF)
    host = opened(signed, HOST)
    host.register_key(actor=MANAGER, holder=STAFF, public_key=tanaka.public_key)
    (reference,) = host.references()
    host.act(reference, "consult", actor=MANAGER)
    host.close()
    app = opened(signed, tanaka)
    app.signing_for = lambda aggregates, writer: (tanaka, STAFF)  # type: ignore[method-assign]
    app.act(reference, "approve", actor=CHIEF)
    position = event_count(app) - 1
    from approvals.audit.verify import verify_log

    assert signature_findings(app).findings == ()  # the key is tanaka's, signing for tanaka
    assert [(f.code, f.position) for f in verify_log(app).findings] == [
        ("signature_writer", position)
    ]
    app.close()


def test_a_key_revoked_while_a_write_waits_for_its_turn_does_not_sign_it(signed: str) -> None:
    """The signing key is chosen before the writers' turn; a revocation landing in between
    makes the write decide again (and be refused), never land signed by a revoked key — also
    for a write that does not touch the roster itself (a filing)."""
    tanaka = key(STAFF)
    host = opened(signed, HOST)
    record = host.register_key(actor=MANAGER, holder=STAFF, public_key=tanaka.public_key)
    app = opened(signed, tanaka)
    decide = app.signing_for
    revoked: list[bool] = []

    def racing(aggregates: Any, writer: str | None) -> Any:
        chosen = decide(aggregates, writer)
        if not revoked:  # another writer revokes the key between the choice and the write
            host.revoke_key(actor=MANAGER, key_id=record.key_id)
            revoked.append(True)
        return chosen

    app.signing_for = racing  # type: ignore[method-assign]
    before = event_count(app)
    with pytest.raises(SigningRefused, match="not registered"):
        file_case(app, "purpose")
    assert event_count(app) == before + 1  # the revocation only
    assert signature_findings(app).findings == ()
    app.close()
    host.close()
