"""The library's loggers, and the structlog set-up of the command line.

The library logs like a library and configures nothing: when structlog is configured (by the
host, or by the command line through :func:`configure`) its events go through structlog as
configured; otherwise they go to the standard ``logging`` logger of the module, under
``approvals``, so that the host's levels, handlers and formatters apply.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.contextvars import merge_contextvars
from structlog.processors import LogfmtRenderer
from structlog.stdlib import filter_by_level
from structlog.typing import EventDict

__all__ = ["LibraryLogger", "configure", "get_logger"]

# What libraries customarily do: a host that set up no logging at all sees nothing from here.
logging.getLogger("approvals").addHandler(logging.NullHandler())

# ``extra`` may not overwrite a LogRecord's own attributes: such a field stays in the message.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Frames from the stdlib logger's method up to the library's call: structlog's two
# ``_proxy_to_logger``, its ``BoundLogger`` method, then ``LibraryLogger``'s. With them skipped,
# a record names the library's own file, function and line.
_CALLER = 5
_FIELDS = LogfmtRenderer(bool_as_flag=False)


def _record(_: logging.Logger, __: str, event_dict: EventDict) -> tuple[tuple[str], dict[str, Any]]:
    """Render the event and its fields as a record's message, and pass the fields as ``extra``."""
    event = event_dict.pop("event")
    message = " ".join(part for part in (str(event), _FIELDS(None, "", event_dict)) if part)
    extra = {key: value for key, value in event_dict.items() if key not in _RECORD_ATTRIBUTES}
    return (message,), {"extra": {"event": event, **extra}, "stacklevel": _CALLER}


class LibraryLogger:
    """A module's logger, which decides at each call where its event goes: to structlog when
    structlog is configured, else to the standard ``logging`` logger of the same name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._structlog: Any = structlog.get_logger(name)
        self._stdlib = structlog.stdlib.BoundLogger(
            logging.getLogger(name),
            processors=(filter_by_level, merge_contextvars, _record),
            context={},
        )

    def _logger(self) -> Any:
        return self._structlog if structlog.is_configured() else self._stdlib

    def debug(self, event: str, **fields: Any) -> None:
        """Log ``event`` with its fields at the DEBUG level."""
        self._logger().debug(event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log ``event`` with its fields at the INFO level."""
        self._logger().info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log ``event`` with its fields at the WARNING level."""
        self._logger().warning(event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log ``event`` with its fields at the ERROR level."""
        self._logger().error(event, **fields)


def get_logger(name: str) -> LibraryLogger:
    """Return the library's logger ``name`` (a module's ``__name__``, under ``approvals``)."""
    return LibraryLogger(name)


def configure(*, verbose: bool = False) -> None:
    """Send one structured line per command to stderr (warnings only unless ``verbose``)."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if verbose else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
