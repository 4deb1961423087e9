"""The read models, one module each in the project's ``projections/`` folder.

In an installed wheel the modules sit beside this file; in a source checkout they are read
from ``projections/`` at the top of the repository, where people look for them.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from approvals.readmodel import ReadModel

__all__ = ["MODULES", "all_models"]

_CHECKOUT = Path(__file__).resolve().parents[3] / "projections"
if _CHECKOUT.is_dir() and str(_CHECKOUT) not in __path__:
    __path__.append(str(_CHECKOUT))

MODULES = ("cases", "inbox", "deadlines", "vendors", "provisions", "receipts", "retention",
           "unreadable")  # fmt: skip
"""The read models approvals keeps, by module name."""


def all_models() -> tuple[ReadModel, ...]:
    """Return one instance of every read model."""
    return tuple(import_module(f"{__name__}.{name}").MODEL for name in MODULES)
