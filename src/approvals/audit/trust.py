"""What a verification of a bundle trusts, and what it can say without the case keys.

Only the checkpoint files given by the verifier (``--checkpoint``) and the bundle's checkpoints
signed by a public key the verifier pins (``--key``) are compared with the bundle's log. The
bundle's own keys and its other checkpoints are information, never trust: whoever made the
bundle may have made them too, so without a pinned key the result shows internal consistency
only, and the report says so.

Without the case keys (a bundle not sealed to the auditor, or verified without
``--open-with``) the cases whose keys were held at export cannot be decrypted: that is by
design, not damage, so what the walk says of them beyond the integrity of their stored bytes
becomes one note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from approvals.audit.findings import Finding, signed_by_keys_not_given
from approvals.audit.verify import Report, verify_log
from approvals.domain.case import case_id
from approvals.errors import Label

if TYPE_CHECKING:
    from approvals.application import ApprovalsApplication
    from approvals.audit.checkpoint import Checkpoint

__all__ = ["INTEGRITY", "pinned_report", "without_case_keys"]

INTEGRITY = frozenset({
    "altered", "chain", "case_gap", "case_chain", "deleted", "unrecorded", "truncated",
    "rewritten", "checkpoint_signature", "checkpoint_log", "checkpoint_consistency",
    "checkpoint_key", "bundle",
})  # fmt: skip
"""What is found of the stored bytes, the ledger and the checkpoints: readable or not."""


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def pinned_report(
    app: ApprovalsApplication,
    given: Sequence[Checkpoint],
    carried: Sequence[Checkpoint],
    keys: Sequence[Ed25519PublicKey],
) -> Report:
    """Verify the loaded log against the checkpoints given, and those of the bundle signed by a
    pinned key; name the rest."""
    pinned = {_raw(key) for key in keys}
    seen = {c.signature for c in given}
    carried = [c for c in carried if c.signature not in seen]  # the given ones, copied in
    notes: list[Label] = []
    if pinned:
        strangers = sorted({c.key_id for c in carried if c.public_key not in pinned})
        if strangers:
            notes.append(Label(
                "The bundle carries checkpoints signed by keys not given: not trusted "
                f"({', '.join(strangers)}).",
                f"バンドルには指定されていない鍵で署名されたチェックポイントがあります: 信頼しません"
                f"({'、'.join(strangers)})。"))  # fmt: skip
        carried = [c for c in carried if c.public_key in pinned]
    compared = [*given, *carried]
    report = verify_log(app, compared)
    findings = signed_by_keys_not_given(c for c in given if pinned and c.public_key not in pinned)
    if not any(c.public_key in pinned for c in compared):
        why = (
            ("No public key was pinned (--key)", "公開鍵が指定されていません(--key)")
            if not pinned
            else ("No checkpoint signed by a key given was found",
                  "指定された鍵で署名されたチェックポイントがありません")
        )  # fmt: skip
        notes.append(Label(
            f"{why[0]}: this result shows internal consistency only. Whoever made the bundle can "
            "have made its checkpoints and keys too; verify it with the auditor's public key "
            "(--key) and the checkpoints kept outside the database (--checkpoint).",
            f"{why[1]}: この結果はバンドル内部の整合性を示すだけです。バンドルを作った人はその"
            "チェックポイントと鍵も作れます。監査責任者の公開鍵(--key)とデータベースの外に保管"
            "したチェックポイント(--checkpoint)で検証してください。"))  # fmt: skip
    return replace(
        report,
        findings=(*report.findings, *findings),
        notes=(*report.notes, *notes),
    )


def without_case_keys(report: Report, held: set[str], positions: dict[int, str]) -> Report:
    """Drop what the walk says of the cases whose keys were held but are not in the bundle:
    that they cannot be read is by design, not damage; say so once."""
    if not held:
        return report

    def about(finding: Finding) -> str | None:
        if finding.position is not None and finding.position in positions:
            return positions[finding.position]
        return str(case_id(finding.subject))

    kept = tuple(f for f in report.findings if f.code in INTEGRITY or about(f) not in held)
    cases = len(held & set(positions.values()))
    note = Label(
        f"{cases} cases were verified without their keys: their events' hashes, chains and "
        "place in the Merkle root are checked, but the rules could not be replayed on them (rule "
        "replay of encrypted cases is not possible without keys; export with --seal-to the "
        "auditor's public key and verify with --open-with the auditor's private key).",
        f"{cases} 件の案件は鍵なしで検証しました: イベントのハッシュ、連鎖、マークルルートは確認"
        "しましたが、規則に照らした再生はできませんでした(暗号化された案件の再生には鍵が必要です。"
        "--seal-to に監査責任者の公開鍵を指定してエクスポートし、--open-with に監査責任者の秘密鍵を"
        "指定して検証してください)。",
    )
    return replace(report, findings=kept, notes=(*report.notes, note))
