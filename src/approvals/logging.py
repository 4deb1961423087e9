"""structlog set-up for the command line; a host application configures its own."""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure"]


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
