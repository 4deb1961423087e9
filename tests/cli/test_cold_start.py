"""The command line starts without the database stack: `approvals --help` (and any command's
help, and --version) imports no SQLAlchemy, eventsourcing, cryptography, structlog or
application.  (tests/cli/test_quick_read.py checks that a read of current read models loads no
eventsourcing either.)

Each check runs in a fresh interpreter and looks at its ``sys.modules``; nothing is timed here
(bench/cold_start.py measures).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "eventsourcing", "eventsourcing_sqlalchemy", "cryptography")
APPLICATION = ("approvals.application", "approvals.factory", "approvals.store")

CHILD = """
import json, sys
import approvals.cli
args = json.loads(sys.argv[1])
if args:
    try:
        approvals.cli.cli.main(args, prog_name="approvals")
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_by(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after `import approvals.cli` and ``args``."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(list(args))],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    modules: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return set(modules)


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in APPLICATION)


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--help",),
        ("--version",),
        ("inbox", "--help"),
        ("audit", "verify", "--help"),
        ("projections", "--help"),
        ("workflows", "--help"),
    ],
    ids=lambda args: " ".join(args) or "import",
)
def test_the_command_line_starts_without_the_database_stack(args: tuple[str, ...]) -> None:
    modules = loaded_by(*args)
    assert "approvals.cli" in modules
    assert heavy(modules) == []
    assert "structlog" not in modules  # the logging set-up waits for the first logger


def test_the_check_sees_the_database_stack_when_a_command_opens_the_store(
    tmp_path: object,
) -> None:
    """The check can fail: a command that opens the store does load it."""
    modules = loaded_by("--db", f"{tmp_path}/none.db", "--user", "x", "inbox")
    assert "sqlalchemy" in heavy(modules)
