"""The library's loggers, and the structlog set-up of the command line.

The library logs like a library and configures nothing: when structlog is configured (by the
host, or by the command line through :func:`configure`) its events go through structlog as
configured; otherwise they go to the standard ``logging`` logger of the module, under
``approvals``, so that the host's levels, handlers and formatters apply.

structlog itself is imported when the first logger is made: a command that only reads the
read models (which log nothing) starts without it.
"""

from __future__ import annotations

import logging
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

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

_PENDING: list[bool] = []
"""The command line's set-up (its ``verbose``), asked for before structlog was imported: the
command line's one thread sets it, the first logger made applies it."""


def _structlog() -> ModuleType:
    """Return structlog, with the command line's set-up applied if it is still pending."""
    import structlog  # noqa: PLC0415 - imported when first needed (see the module's docstring)

    if _PENDING:
        _apply(structlog, verbose=_PENDING.pop())
    return structlog


@cache
def _fields() -> Any:
    from structlog.processors import LogfmtRenderer  # noqa: PLC0415 - see _structlog

    return LogfmtRenderer(bool_as_flag=False)


def _record(_: logging.Logger, __: str, event_dict: EventDict) -> tuple[tuple[str], dict[str, Any]]:
    """Render the event and its fields as a record's message, and pass the fields as ``extra``."""
    event = event_dict.pop("event")
    message = " ".join(part for part in (str(event), _fields()(None, "", event_dict)) if part)
    extra = {key: value for key, value in event_dict.items() if key not in _RECORD_ATTRIBUTES}
    return (message,), {"extra": {"event": event, **extra}, "stacklevel": _CALLER}


class LibraryLogger:
    """A module's logger, which decides at each call where its event goes: to structlog when
    structlog is configured, else to the standard ``logging`` logger of the same name."""

    def __init__(self, name: str) -> None:
        structlog = _structlog()
        self.name = name
        self._is_configured = structlog.is_configured
        self._structlog: Any = structlog.get_logger(name)
        self._stdlib = structlog.stdlib.BoundLogger(
            logging.getLogger(name),
            processors=(
                structlog.stdlib.filter_by_level,
                structlog.contextvars.merge_contextvars,
                _record,
            ),
            context={},
        )

    def _logger(self) -> Any:
        return self._structlog if self._is_configured() else self._stdlib

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
    """Send one structured line per command to stderr (warnings only unless ``verbose``).

    Until structlog is imported (by the first logger made), the set-up waits: a command that
    makes no logger never imports it."""
    _PENDING.clear()
    if "structlog" in sys.modules:
        _apply(sys.modules["structlog"], verbose=verbose)
    else:
        _PENDING.append(verbose)


def _apply(structlog: ModuleType, *, verbose: bool) -> None:
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
