"""The follower killed (SIGKILL) at random moments while cases are filed and decided, then
restarted: in the end its read models equal a rebuild — nothing applied twice, nothing missed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

from approvals import ApprovalsApplication, ConcurrencyConflict, open_approvals
from approvals.projections import all_models
from approvals.readmodel import Projector, rows_of
from tests.conftest import CHIEF, MANAGER, STAFF, appoint_standard_roster

KILLS = 6
FILING = {"purpose": "p", "data_items": "d", "data_subjects": "s"}


def write_cases(url: str, stop: threading.Event, written: list[str]) -> None:
    """File cases and take their first steps until told to stop."""
    app = open_approvals(url)
    try:
        while not stop.is_set():
            reference = app.file("purpose", actor=STAFF, title="t", department="sales",
                                 fields=FILING).reference  # fmt: skip
            written.append(reference)
            try:
                app.act(reference, "consult", actor=MANAGER)
                if len(written) % 3 == 0:
                    app.act(reference, "approve", actor=CHIEF)
            except ConcurrencyConflict:
                continue
    finally:
        app.close()


def follower(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "approvals", "--db", url, "--user", CHIEF, "projections",
         "follow", "--interval", "0.05", "--batch", "7"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def end(process: subprocess.Popen[bytes], how: signal.Signals) -> tuple[int, str]:
    """Send ``how`` to the process; return its exit code and what it said on stderr."""
    process.send_signal(how)
    code = process.wait(timeout=30)
    assert process.stderr is not None
    with process.stderr:
        return code, process.stderr.read().decode()


def test_a_follower_killed_at_random_moments_ends_equal_to_a_rebuild(backend_url: str) -> None:
    app: ApprovalsApplication = open_approvals(backend_url)
    appoint_standard_roster(app)
    Projector(app, all_models()).ensure()  # created once, as `approvals init` would
    stop, written = threading.Event(), []
    writer = threading.Thread(target=write_cases, args=(backend_url, stop, written))
    writer.start()
    luck = random.Random(os.environ.get("APPROVALS_CRASH_SEED", "7"))
    positions = []
    try:
        for _ in range(KILLS):
            process = follower(backend_url)
            time.sleep(luck.uniform(0.5, 2.0))
            code, said = end(process, signal.SIGKILL)
            assert code == -signal.SIGKILL, said
            live = Projector(app, all_models())
            positions.append(min(s.position for s in live.status()))
    finally:
        stop.set()
        writer.join()
    try:
        assert positions[-1] > 0, "the follower never committed a batch"
        process = follower(backend_url)  # the last restart, left to finish
        projector = Projector(app, all_models())
        deadline = time.monotonic() + 120
        while min(s.lag for s in projector.status()) > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        code, said = end(process, signal.SIGTERM)
        assert code == 0, said
        assert "Stopped" in said
        assert max(s.lag for s in projector.status()) == 0
        live = {m.name: rows_of(app.engine, m) for m in projector.models}
        assert projector.check() == ()
        cases = live["cases"]["rm_cases"]
        assert len(cases) == len(written)
        assert {row[0] for row in cases} == set(written)
    finally:
        app.close()
