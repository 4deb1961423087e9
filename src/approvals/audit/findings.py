"""What a verification finds wrong."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.errors import Label

__all__ = ["Finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with the log."""

    code: str
    position: int | None
    subject: str
    message: Label
