"""The follower killed (SIGKILL) at random moments while cases are filed and decided, then
restarted: in the end its read models equal a rebuild — nothing applied twice, nothing missed.

Every wait here is on a condition (the follower's tracked position moved, it said it is
following, it has caught up), bounded generously, so that a busy machine makes the test
slower, never wrong: a follower can take seconds just to import when the cores are loaded."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from approvals import ApprovalsApplication, ConcurrencyConflict, open_approvals
from approvals.projections import all_models
from approvals.readmodel import Projector, rows_of
from tests.conftest import CHIEF, MANAGER, STAFF, appoint_standard_roster

KILLS = 6
FILING = {"purpose": "p", "data_items": "d", "data_subjects": "s"}
PATIENCE = 120.0  # seconds: far more than an idle machine needs, so only a defect reaches it
FOLLOWING = "Following the log"  # said once its SIGTERM handler is in place (--lang en)


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


class Follower:
    """``projections follow`` in its own process, its stderr going to a file (a pipe nobody
    reads can fill up and stall it; a file can be read while it runs)."""

    def __init__(self, url: str, stderr: Path) -> None:
        self.stderr = stderr
        with stderr.open("wb") as said:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "approvals", "--db", url, "--user", CHIEF, "--lang", "en",
                 "projections", "follow", "--interval", "0.05", "--batch", "7"],
                stdout=subprocess.DEVNULL, stderr=said,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip

    def said(self) -> str:
        return self.stderr.read_text()

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until it holds; fail after PATIENCE, or as soon as the follower
        ends by itself."""
        deadline = time.monotonic() + PATIENCE
        while not condition():
            code = self.process.poll()
            assert code is None, f"the follower ended by itself ({code}): {self.said()}"
            assert time.monotonic() < deadline, f"waited {PATIENCE:.0f} s for {what}"
            time.sleep(0.1)

    def end(self, how: signal.Signals) -> tuple[int, str]:
        """Send ``how`` to the process; return its exit code and what it said on stderr."""
        self.process.send_signal(how)
        code = self.process.wait(timeout=PATIENCE)
        return code, self.said()


@pytest.fixture
def start_follower(backend_url: str, tmp_path: Path) -> Iterator[Callable[[], Follower]]:
    """Start followers on the backend; any a failure left running is killed afterwards."""
    started: list[Follower] = []

    def start() -> Follower:
        started.append(Follower(backend_url, tmp_path / f"follower-{len(started)}.err"))
        return started[-1]

    yield start
    for follower in started:
        if follower.process.poll() is None:
            follower.process.kill()
            follower.process.wait()


def test_a_follower_killed_at_random_moments_ends_equal_to_a_rebuild(
    backend_url: str, start_follower: Callable[[], Follower]
) -> None:
    app: ApprovalsApplication = open_approvals(backend_url)
    appoint_standard_roster(app)
    projector = Projector(app, all_models())
    projector.ensure()  # created once, as `approvals init` would
    stop, written = threading.Event(), []
    writer = threading.Thread(target=write_cases, args=(backend_url, stop, written))
    writer.start()
    luck = random.Random(os.environ.get("APPROVALS_CRASH_SEED", "7"))
    positions = [0]

    def tracked() -> int:
        """The position every read model has taken in (the least of their positions)."""
        return min(s.position for s in projector.status())

    def moved() -> bool:
        assert writer.is_alive(), "the writer stopped early (its error is reported above)"
        return tracked() > positions[-1]

    try:
        for kill in range(KILLS):
            follower = start_follower()
            # It must have committed a batch (so each restart redoes real work), then it is
            # killed a random moment later, as it folds, writes or commits the next ones.
            follower.wait_until(moved, f"follower {kill} to commit past position {positions[-1]}")
            time.sleep(luck.uniform(0.0, 0.8))
            code, said = follower.end(signal.SIGKILL)
            assert code == -signal.SIGKILL, said
            positions.append(tracked())
    finally:
        stop.set()
        writer.join()
    try:
        last = start_follower()  # the last restart, left to finish
        last.wait_until(lambda: FOLLOWING in last.said(), "the last follower to be ready")
        last.wait_until(
            lambda: max(s.lag for s in projector.status()) == 0,
            "the last follower to catch up with the log",
        )
        code, said = last.end(signal.SIGTERM)
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
