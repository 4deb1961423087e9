"""The benchmarks' store generator (bench/store.py): what it builds verifies with every rule and
signature, holds cases of every reference workflow, and is reused once complete."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from approvals import open_approvals
from approvals.audit.verify import verify_log
from approvals.definitions import load_directory

EVENTS = 2000


def generator() -> ModuleType:
    """bench/store.py, loaded by its path (bench/ is not a package)."""
    path = Path(__file__).parents[2] / "bench" / "store.py"
    spec = importlib.util.spec_from_file_location("bench_store", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_store", module)
    spec.loader.exec_module(module)
    return module


def test_a_generated_store_verifies_with_its_rules_and_holds_every_workflow(
    backend_url: str,
) -> None:
    built = generator().fill(backend_url, EVENTS)
    assert built.events >= EVENTS
    assert not built.reused
    app = open_approvals(backend_url, create=False)
    try:
        report = verify_log(app, rules=True)
        assert report.ok, report
        assert report.events == built.events
        filed = {app.workflow_of(reference).id for reference in app.references()}
        assert filed == set(load_directory())
        assert len(app.references()) == built.cases
        registers = app.registers()
        assert {status.lag for status in registers.status()} == {0}  # brought up to date
        cases = registers.cases(limit=10_000)
        assert len(cases) == built.cases
        assert {"rejected", "withdrawn"} <= {case.state for case in cases}
        assert any(not case.terminal for case in cases)  # some left open: inboxes have items
    finally:
        app.close()


def test_a_complete_store_is_reused_and_a_half_built_one_is_not(tmp_path: Path) -> None:
    store = generator()
    path = store.store_path(EVENTS, tmp_path)
    half = path.with_name(path.name + ".partial")
    half.write_bytes(b"a build that was interrupted")
    built = store.ensure_store(EVENTS, tmp_path)
    assert (built.reused, built.events >= EVENTS, path.exists(), half.exists()) == (
        False, True, True, False,
    )  # fmt: skip
    made = path.stat().st_mtime_ns
    again = store.ensure_store(EVENTS, tmp_path)
    assert (again.reused, again.written, again.url) == (True, 0, built.url)
    assert path.stat().st_mtime_ns == made
