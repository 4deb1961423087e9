"""The library logs like a library: through the host's ``logging`` or structlog set-up, and never
prints on its own. A host that sets up the root logger runs in an interpreter of its own."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import LogCapture

from approvals import ApprovalsApplication
from tests.conftest import STAFF
from tests.unit.test_cases import file_case

# A host: its logging set-up, then the sample roster and one case filed on a fresh store.
HOST = """\
import logging
import sys

{set_up}

from approvals import open_approvals
from approvals.demo import FILINGS, STAFF, appoint_sample_roster

app = open_approvals("sqlite://")
appoint_sample_roster(app)
app.file("purpose", actor=STAFF, title="A purpose case", department="sales",
         fields=FILINGS["purpose"])
app.close()
"""


class Recorder(logging.Handler):
    """A host's handler that keeps the records it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def approvals_logger() -> Iterator[logging.Logger]:
    """The ``approvals`` logger, its level and handlers put back as they were afterwards."""
    logger = logging.getLogger("approvals")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.fixture
def records(approvals_logger: logging.Logger) -> list[logging.LogRecord]:
    """What the host's own handler on the ``approvals`` logger receives at INFO."""
    handler = Recorder()
    approvals_logger.addHandler(handler)
    approvals_logger.setLevel(logging.INFO)
    return handler.records


def filed(records: list[logging.LogRecord]) -> logging.LogRecord:
    (record,) = [record for record in records if record.getMessage().startswith("case.file ")]
    return record


@pytest.mark.parametrize(
    "set_up",
    ["", "logging.basicConfig(level=logging.WARNING, stream=sys.stderr)"],
    ids=["no-logging-set-up", "basic-config-at-warning"],
)
def test_a_host_that_asks_for_no_info_lines_sees_nothing_printed(set_up: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOST.format(set_up=set_up)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING], ids=["info", "warning"])
def test_the_level_and_formatter_the_host_sets_on_the_approvals_logger_apply(
    app: ApprovalsApplication,
    approvals_logger: logging.Logger,
    capsys: pytest.CaptureFixture[str],
    level: int,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("host| %(levelname)s %(name)s %(message)s"))
    approvals_logger.addHandler(handler)
    approvals_logger.setLevel(level)
    reference = file_case(app, "purpose").reference
    line = (
        f"host| INFO approvals.stored case.file outcome=recorded actor={STAFF} workflow=purpose"
        f" case={reference}\n"
    )
    assert stream.getvalue() == (line if level == logging.INFO else "")
    assert capsys.readouterr() == ("", "")


def test_a_record_carries_the_fields_as_attributes_and_names_the_library_code_that_logged(
    app: ApprovalsApplication, records: list[logging.LogRecord]
) -> None:
    reference = file_case(app, "purpose").reference
    record = filed(records)
    assert (record.name, record.levelno) == ("approvals.stored", logging.INFO)
    fields = {key: getattr(record, key, None) for key in ("event", "outcome", "actor", "case")}
    assert fields == {"event": "case.file", "outcome": "recorded", "actor": STAFF,
                      "case": reference}  # fmt: skip
    assert (record.filename, record.funcName) == ("stored.py", "command")


def test_a_refusal_is_one_readable_record_with_its_reason_quoted(
    app: ApprovalsApplication, records: list[logging.LogRecord]
) -> None:
    reference = file_case(app, "purpose").reference
    with pytest.raises(Exception, match="refused"):
        app.act(reference, "approve", actor=STAFF)
    message = records[-1].getMessage()
    assert message.startswith('case.act outcome=refused code=step.not_allowed reason="Step ')
    assert message.endswith(f'" actor={STAFF} case={reference} trigger=approve')


def test_context_the_host_bound_with_structlog_contextvars_reaches_the_stdlib_records(
    app: ApprovalsApplication, records: list[logging.LogRecord]
) -> None:
    with structlog.contextvars.bound_contextvars(request_id="req-7"):
        file_case(app, "purpose")
    record = filed(records)
    assert "request_id=req-7" in record.getMessage()
    assert getattr(record, "request_id", None) == "req-7"


def test_a_host_that_configured_structlog_gets_the_events_with_its_bound_context(
    app: ApprovalsApplication, records: list[logging.LogRecord]
) -> None:
    captured = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, captured])
    with structlog.contextvars.bound_contextvars(request_id="req-8"):
        reference = file_case(app, "purpose").reference
    assert [entry for entry in captured.entries if entry["event"] == "case.file"] == [
        {"request_id": "req-8", "event": "case.file", "outcome": "recorded", "actor": STAFF,
         "workflow": "purpose", "case": reference, "log_level": "info"}
    ]  # fmt: skip
    assert records == []  # structlog's set-up decides where the events go: no second copy
