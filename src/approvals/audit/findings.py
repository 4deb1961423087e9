"""What a verification finds wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from approvals.errors import Label

if TYPE_CHECKING:
    from approvals.audit.checkpoint import Checkpoint

__all__ = ["Finding", "signed_by_keys_not_given", "unreplayable"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with the log."""

    code: str
    position: int | None
    subject: str
    message: Label


def signed_by_keys_not_given(checkpoints: Iterable[Checkpoint]) -> list[Finding]:
    """A finding for each of ``checkpoints``, which the caller found signed by a key that is
    not one of the keys given (pinned): whoever holds that key may have made it."""
    return [
        Finding(
            "checkpoint_key",
            None,
            c.path,
            Label(
                f"{c.path} is signed by key {c.key_id}, which is not one of the keys given",
                f"{c.path} は指定されていない鍵 {c.key_id} で署名されています",
            ),
        )
        for c in checkpoints
    ]


def unreplayable(subject: str) -> Finding:
    """The finding that ``subject`` (a case, the roster, the links between cases) cannot be
    replayed from the log, so its rules cannot be judged."""
    return Finding(
        "unreadable",
        None,
        subject,
        Label(f"{subject} cannot be replayed from the log", f"{subject} をログから再生できません"),
    )
