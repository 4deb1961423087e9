"""The targets each benchmark measured, gathered in one file for ``bench/run.py`` to print.

A benchmark given ``--summary FILE`` appends one JSON line per target it measured: what, the
figure, the goal, whether higher or lower is better, and the peak resident memory where it
was measured.  Without ``--summary`` nothing is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Target:
    """One target and what was measured against it."""

    bench: str
    what: str
    measured: float
    goal: float
    unit: str
    higher_is_better: bool = True
    peak_mb: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        """Measured over goal when higher is better, goal over measured when lower is."""
        if self.higher_is_better:
            return self.measured / self.goal if self.goal else 0.0
        return self.goal / self.measured if self.measured else 0.0

    @property
    def met(self) -> bool:
        """Whether the goal was reached."""
        if self.higher_is_better:
            return self.measured >= self.goal
        return self.measured <= self.goal


def record(path: str | Path | None, target: Target) -> None:
    """Append ``target`` to the summary file at ``path`` (nothing when None)."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(asdict(target)) + "\n")
        file.flush()
        os.fsync(file.fileno())


def read(path: str | Path) -> list[Target]:
    """Every target recorded in the file at ``path``, in the order recorded."""
    found = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            found.append(Target(**json.loads(line)))
    return found


def _figure(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.2f} {unit}"


def table(targets: list[Target]) -> str:
    """The targets as a plain-text table: each with its figure, goal, ratio and peak memory."""
    lines = [f"{'target':<58}{'measured':>16}{'goal':>18}{'ratio':>7}{'peak MB':>9}"]
    for t in targets:
        goal = ("≥ " if t.higher_is_better else "< ") + _figure(t.goal, t.unit)
        peak = "" if t.peak_mb is None else f"{t.peak_mb:,.0f}"
        note = f"  ({t.note})" if t.note else ""
        lines.append(
            f"{t.what[:57]:<58}{_figure(t.measured, t.unit):>16}{goal:>18}{t.ratio:>7.2f}"
            f"{peak:>9}  {'met' if t.met else 'MISSED'}{note}"
        )
    return "\n".join(lines)
