"""The intranet example, run for real: uvicorn serving one application to sixteen clients at once.

The example (examples/intranet) is started in a uvicorn subprocess on the store of the backend,
then driven over HTTP by sixteen threads: a hundred filings at once, steps, reads and inboxes by
several people of the sample roster, bad requests, and two decisions racing on the same cases.
Every request must be answered (refusals as 4xx JSON with one message); afterwards, with the
server stopped, a fresh application must read every case and every event back, exactly the
events the successful requests wrote, and the log must verify.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from approvals import JST, open_approvals
from approvals.audit.service import verify_with_keys
from approvals.demo import FILINGS, PATHS, appoint_sample_roster
from tests.conftest import CHIEF, HR_STAFF, MANAGER, OTHER_MANAGER, OTHER_STAFF, STAFF


def dated_today(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with every date set to today in Japan: the host runs on the real clock, and
    a measure is never dated before the approval that allows it."""
    today = datetime.now(JST).date().isoformat()
    return {k: today if re.fullmatch(r"\d{4}-\d\d-\d\d", str(v)) else v for k, v in fields.items()}


T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
USER_HEADER = "X-Intranet-User"  # not the default: the header name is the host's setting
THREADS = 16
FILINGS_AT_ONCE = 100
RACED_CASES = THREADS // 2
START_TIMEOUT = 120.0  # seconds for uvicorn to answer on a busy machine
FILERS = [(STAFF, "sales"), (OTHER_STAFF, "sales"), (HR_STAFF, "hr")]
MANAGERS = {"sales": MANAGER, "hr": OTHER_MANAGER}
WORKFLOWS = ["purpose", "provision"]


@dataclass(frozen=True)
class Answer:
    """One request, what it should have got and what it got."""

    method: str
    path: str
    person: str | None
    expected: tuple[int, ...]
    status: int
    body: Any
    reference: str = ""
    trigger: str = ""

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path} as {self.person}: expected {self.expected}, "
            f"got {self.status} {self.body}"
        )


class Client:
    """One thread's HTTP client, recording every answer."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.answers: list[Answer] = []

    def call(
        self,
        method: str,
        path: str,
        person: str | None,
        *expected: int,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        reference: str = "",
        trigger: str = "",
    ) -> Answer:
        sent = dict(headers or {})
        if person is not None:
            sent[USER_HEADER] = person
        try:
            response = self.http.request(method, path, json=json, content=content, headers=sent)
        except httpx.TransportError as error:  # not answered: status 0, checked with the rest
            status, body = 0, repr(error)
        else:
            status = response.status_code
            try:
                body = response.json()
            except ValueError:
                body = response.text
        answer = Answer(method, path, person, expected, status, body, reference, trigger)
        self.answers.append(answer)
        return answer

    def step(
        self, reference: str, trigger: str, person: str, *expected: int, **body: Any
    ) -> Answer:
        path = f"/cases/{reference}/steps/{trigger}"
        return self.call("POST", path, person, *expected, json=body, reference=reference,
                         trigger=trigger)  # fmt: skip

    def close(self) -> None:
        self.http.close()


@dataclass
class Server:
    """The example under uvicorn in a subprocess."""

    url: str
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> int:
        """Stop the server (SIGTERM, then SIGKILL after 30 s); return its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def errors(self) -> list[str]:
        """The exceptions the server logged, one line each."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]

    def threads(self) -> int:
        """How many threads the server process has now."""
        return len(os.listdir(f"/proc/{self.process.pid}/task"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_answering(server: Server) -> None:
    """Poll until the host answers a known person, for at most START_TIMEOUT seconds."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(base_url=server.base_url, timeout=5) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                pytest.fail(f"uvicorn exited with {server.process.returncode}:\n{server.output()}")
            try:
                if client.get("/inbox", headers={USER_HEADER: CHIEF}).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    pytest.fail(f"uvicorn did not answer within {START_TIMEOUT:.0f} s:\n{server.output()}")


@pytest.fixture
def server(backend_url: str, tmp_path: Path) -> Iterator[tuple[Server, int]]:
    """The example serving ``backend_url``, set up with the sample roster; with the number of
    events the set-up wrote."""
    setup = open_approvals(backend_url)
    try:
        appoint_sample_roster(setup)
        baseline = verify_with_keys(setup, (), ()).events
    finally:
        setup.close()
    port = _free_port()
    env = {**os.environ, "APPROVALS_URL": backend_url, "APPROVALS_USER_HEADER": USER_HEADER}
    log = tmp_path / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "examples.intranet.app:app", "--host",
               "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log"]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    running = Server(backend_url, f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_answering(running)
        yield running, baseline
    finally:
        running.stop()


def _together(base_url: str, work: Callable[[int, Client], T]) -> tuple[list[T], list[Answer]]:
    """Run ``work(n, client)`` on THREADS threads released at one moment; return what each
    returned and every answer, each thread's in the order it sent them."""
    start = threading.Barrier(THREADS)

    def run(n: int) -> tuple[T, list[Answer]]:
        client = Client(base_url)
        try:
            start.wait(timeout=120)
            return work(n, client), client.answers
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        done = list(pool.map(run, range(THREADS)))
    return [result for result, _ in done], [answer for _, found in done for answer in found]


def _file(n: int, client: Client) -> list[str]:
    """File this thread's share of the hundred filings; read each back as its filer."""
    filed = []
    for i in range(n, FILINGS_AT_ONCE, THREADS):
        filer, department = FILERS[i % len(FILERS)]
        workflow = WORKFLOWS[i % len(WORKFLOWS)]
        body = {"workflow": workflow, "title": f"Filing {i}", "department": department,
                "fields": FILINGS[workflow], "comment": f"filed by thread {n}"}  # fmt: skip
        answer = client.call("POST", "/cases", filer, 201, json=body)
        if answer.status == 201:
            reference = answer.body["reference"]
            filed.append(reference)
            client.call("GET", f"/cases/{reference}", filer, 200, reference=reference)
    return filed


def _walk(cases: list[tuple[str, str, str, str]]) -> Callable[[int, Client], None]:
    """Each thread takes every THREADS-th case through its steps, with refusals on the way."""

    def work(n: int, client: Client) -> None:
        for k in range(n, len(cases), THREADS):
            reference, workflow, filer, department = cases[k]
            manager = MANAGERS[department]
            if k % 4 == 0:
                stranger = MANAGERS["hr" if department == "sales" else "sales"]
                client.step(reference, "consult", stranger, 403)  # another department's manager
                client.step(reference, "approve", CHIEF, 409)  # not offered while notified
            client.step(reference, "consult", manager, 200)
            if k % 2 == 0:
                client.step(reference, "approve", CHIEF, 200, comment="Approved over HTTP.")
            if k % 4 == 0:
                client.step(reference, "record_measures", CHIEF, 422)  # no evidence given
                move = PATHS[workflow][2]
                client.step(reference, "record_measures", CHIEF, 200,
                            fields=dated_today(move.fields), checklist=move.checklist)  # fmt: skip
            client.call("GET", f"/cases/{reference}/history", filer, 200, reference=reference)
            client.call("GET", "/inbox", CHIEF if k % 2 else manager, 200)
        # Bad requests, once per thread.
        reference = cases[n][0]
        client.call("GET", "/inbox", None, 401)
        client.call("GET", "/inbox", None, 401, headers={"X-Remote-User": CHIEF})  # not the one
        client.call("GET", "/cases/NP-2026-9999", CHIEF, 404)
        client.call("GET", f"/cases/{reference}", "mallory", 403)  # not on the roster
        client.call("POST", f"/cases/{reference}/steps/consult", CHIEF, 400, content=b"{oops")
        client.call("GET", "/cases/NP-2026-9999", CHIEF, 404, headers={"Accept-Language": "ja"})

    return work


def _race(pending: list[str]) -> Callable[[int, Client], None]:
    """Two threads approve each of ``pending`` at the same moment: one wins, one is refused."""

    def work(n: int, client: Client) -> None:
        client.step(pending[n // 2], "approve", CHIEF, 200, 409)

    return work


def _refusal_is_one_message(answer: Answer) -> bool:
    body = answer.body
    return (
        400 <= answer.status < 500
        and isinstance(body, dict)
        and set(body) == {"error", "message"}
        and isinstance(body["message"], str)
        and bool(body["message"].strip())
        and "\n" not in body["message"]
        and "Traceback" not in body["message"]
    )


def test_the_intranet_host_serves_sixteen_clients_at_once_and_loses_nothing(
    server: tuple[Server, int],
) -> None:
    host, baseline = server

    # A hundred filings at once: a hundred cases, none refused.
    filed, answers = _together(host.base_url, _file)
    references = [reference for mine in filed for reference in mine]
    refused = [str(a) for a in answers if a.status != 201 and a.method == "POST"]
    assert refused == [], f"{len(refused)} filings refused, first: {refused[:3]}"
    assert len(set(references)) == FILINGS_AT_ONCE

    # Steps, reads and inboxes by several people, with refusals on the way.
    cases = []
    for answer in answers:
        if answer.method == "POST" and answer.status == 201:
            case = answer.body
            cases.append((case["reference"], case["workflow"], case["filer"], case["department"]))
    cases.sort()
    _, walked = _together(host.base_url, _walk(cases))
    answers += walked
    threads = host.threads() if Path("/proc/self/task").is_dir() else THREADS

    # Two decisions at once on cases waiting for the chief.
    decided = {a.reference for a in walked if a.trigger == "approve" and a.status == 200}
    pending = [reference for reference, *_ in cases if reference not in decided][:RACED_CASES]
    _, raced = _together(host.base_url, _race(pending))
    answers += raced
    chiefs_inbox = httpx.get(f"{host.base_url}/inbox", headers={USER_HEADER: CHIEF}, timeout=60)

    # A graceful stop: the lifespan closed the application (uvicorn then re-raises SIGTERM).
    assert host.stop() in (0, -signal.SIGTERM), host.output()
    assert "Application shutdown complete" in host.output()

    # Every request was answered as it should have been; every refusal is one JSON message.
    wrong = [str(a) for a in answers if a.status not in a.expected]
    assert wrong == [], (
        f"{len(wrong)} of {len(answers)} answers wrong, first: {wrong[:5]}; "
        f"the server logged: {sorted(set(host.errors()))}"
    )
    shapeless = [str(a) for a in answers if a.status >= 400 and not _refusal_is_one_message(a)]
    assert shapeless == [], f"refusals that are not 4xx JSON with one message: {shapeless[:5]}"
    japanese = [a.body["message"] for a in answers if a.status == 404]
    assert any("整理番号" in message for message in japanese)
    for reference in pending:
        won = [a for a in raced if a.reference == reference and a.status == 200]
        assert len(won) == 1, f"{reference}: {len(won)} approvals won the race"
    assert threads >= 1 + THREADS // 4, (
        f"the server ran on {threads} threads: requests did not overlap"
    )

    # What the chief's inbox shows over HTTP: the cases consulted and not yet decided.
    decided |= set(pending)
    waiting = {reference for reference, *_ in cases if reference not in decided}
    assert chiefs_inbox.status_code == 200
    assert {i["reference"] for i in chiefs_inbox.json() if i["trigger"] == "approve"} == waiting

    # A fresh application reads every case and every event back: exactly what was written.
    steps: dict[str, list[tuple[str, str | None]]] = {reference: [] for reference in references}
    for answer in answers:
        if answer.trigger and answer.status == 200:
            steps[answer.reference].append((answer.trigger, answer.person))
    fresh = open_approvals(host.url)
    try:
        assert sorted(fresh.references()) == sorted(references)
        case_events = 0
        for reference in references:
            history = fresh.history(reference)  # decrypts every event of the case
            got = [(entry.trigger, entry.actor) for entry in history]
            assert got[1:] == steps[reference], reference
            assert got[0][0] == "file"
            case_events += len(history)
        assert case_events == FILINGS_AT_ONCE + sum(len(taken) for taken in steps.values())
        report = verify_with_keys(fresh, (), ())
        assert report.ok, [str(finding.message) for finding in report.findings]
        # Besides its case's event, each filing issued one reference (a counter event), and the
        # first filing on each workflow published the definition it runs on.
        assert report.events == baseline + case_events + FILINGS_AT_ONCE + len(WORKFLOWS)
    finally:
        fresh.close()
