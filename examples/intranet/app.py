"""An intranet backend that embeds one approvals application and answers in JSON.

Run it behind the intranet's reverse proxy, which authenticates people and passes the user name
in a header (``X-Remote-User`` unless ``APPROVALS_USER_HEADER`` names another)::

    APPROVALS_URL=sqlite:///approvals.db uvicorn examples.intranet.app:app

The application is opened once at start-up and shared by every request.  Its calls block (the
database is reached through SQLAlchemy), so each runs on Starlette's thread pool: concurrent
requests run on several threads at once, all on the one application.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from approvals import (
    ApprovalsApplication,
    ApprovalsError,
    ConcurrencyConflict,
    Label,
    NotAuthorized,
    NotFound,
    Refused,
    StepNotAllowed,
    StorageError,
    UnknownPerson,
    open_approvals,
)

__all__ = ["Settings", "app", "create_app"]

T = TypeVar("T")

log = logging.getLogger("examples.intranet")

DEFAULT_USER_HEADER = "X-Remote-User"

# The first class a refusal is an instance of gives its HTTP status; anything else is a 500.
STATUS: tuple[tuple[type[ApprovalsError], int], ...] = (
    (UnknownPerson, 403),  # the authenticated person holds no role: refused, not "missing"
    (NotFound, 404),  # no such case or workflow
    (NotAuthorized, 403),  # wrong role, department, or separation of duties
    (StepNotAllowed, 409),  # the case's current state does not offer the step
    (Refused, 422),  # evidence missing, a value not allowed, another rule
    (ConcurrencyConflict, 409),  # someone changed the case first: read it again and retry
    (StorageError, 503),  # the database cannot be reached
)

# Host-level refusals (Starlette's HTTPException) by status: their error codes.
HTTP_CODES = {
    400: "request.malformed",
    401: "person.unauthenticated",
    404: "route.not_found",
    405: "method.not_allowed",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the store is and which header carries the authenticated user."""

    url: str
    user_header: str = DEFAULT_USER_HEADER

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read ``APPROVALS_URL`` (required) and ``APPROVALS_USER_HEADER``."""
        url = environ.get("APPROVALS_URL", "").strip()
        if not url:
            raise RuntimeError(
                "Set APPROVALS_URL to the approvals store (sqlite:///approvals.db or "
                "postgresql+psycopg://user@host/db); the intranet host does not guess it."
            )
        header = environ.get("APPROVALS_USER_HEADER", "").strip() or DEFAULT_USER_HEADER
        return cls(url=url, user_header=header)


def plain(value: Any, lang: str) -> Any:
    """Return a result as JSON data: labels in ``lang``, moments in ISO 8601 with offset."""
    if isinstance(value, Label):
        return value.get(lang)
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name), lang) for field in fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item, lang) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item, lang) for item in value]
    plain_json = value is None or isinstance(value, str | int | float | bool)
    return value if plain_json else str(value)  # a Decimal, a UUID: shown as written


def language(request: Request) -> str:
    """Return "ja" when Accept-Language prefers Japanese to English, else "en"."""
    best, best_q = "en", 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if primary in ("en", "ja") and q > best_q:
            best, best_q = primary, q
    return best


async def json_body(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Return the request's JSON object (``{}`` for no body); refuse anything else with 400."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8
        raise HTTPException(400, "The request body is not JSON; send a JSON object.") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "The request body must be a JSON object.")
    unknown = ", ".join(sorted(set(body) - set(allowed)))
    if unknown:
        raise HTTPException(400, f"Unknown keys in the request body: {unknown}; allowed: "
                                 f"{', '.join(allowed)}.")  # fmt: skip
    return body


def text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    """Return ``body[key]`` as a string ("" when absent and not required)."""
    if required and key not in body:
        raise HTTPException(400, f"'{key}' is required in the request body.")
    value = body.get(key, "")
    if not isinstance(value, str):
        raise HTTPException(400, f"'{key}' must be a string in the request body.")
    return value


def mapping(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return ``body[key]`` as a JSON object ({} when absent)."""
    value = body.get(key, {})
    if not isinstance(value, dict):
        raise HTTPException(400, f"'{key}' must be a JSON object in the request body.")
    return value


def strings(body: Mapping[str, Any], key: str) -> list[str]:
    """Return ``body[key]`` as a list of strings ([] when absent)."""
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise HTTPException(400, f"'{key}' must be a list of strings in the request body.")
    return value


class Failure(Exception):
    """An approvals call failed unexpectedly: the log has its traceback, the client a 500."""


class Intranet:
    """The routes of one host process around its one approvals application."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._approvals: ApprovalsApplication | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Open the application at start-up (the store must exist), close it at shutdown."""
        if self._settings is None:
            self._settings = Settings.from_environ(os.environ)
        url = self._settings.url
        self._approvals = await run_in_threadpool(lambda: open_approvals(url, create=False))
        try:
            yield
        finally:
            approvals, self._approvals = self._approvals, None
            await run_in_threadpool(approvals.close)

    @property
    def approvals(self) -> ApprovalsApplication:
        """The one application of this process."""
        if self._approvals is None:
            raise RuntimeError("the intranet host is not started (its lifespan did not run)")
        return self._approvals

    def person(self, request: Request) -> str:
        """Return the user the reverse proxy authenticated; refuse a request without one."""
        header = self._settings.user_header if self._settings else DEFAULT_USER_HEADER
        person = request.headers.get(header, "").strip()
        if not person:
            raise HTTPException(401, f"No authenticated user: the request has no {header} "
                                     "header; come in through the intranet.")  # fmt: skip
        return person

    async def run(self, call: Callable[[ApprovalsApplication], T]) -> T:
        """Run a blocking call on the application on the thread pool."""
        approvals = self.approvals
        try:
            return await run_in_threadpool(call, approvals)
        except ApprovalsError:
            raise
        except Exception as error:
            # Answered here rather than by Starlette's last resort, which re-raises to the server:
            # uvicorn would then close the connection under the client's next request.
            log.exception("an approvals call failed")
            raise Failure from error

    async def reading(self, person: str, call: Callable[[ApprovalsApplication], T]) -> T:
        """Run a read for ``person``, who must hold a role: personal data is for the roster."""

        def read(approvals: ApprovalsApplication) -> T:
            approvals.identify(person)
            return call(approvals)

        return await self.run(read)

    # -- the routes ----------------------------------------------------------------------------

    async def file(self, request: Request) -> Response:
        """POST /cases: file a notice as the authenticated person."""
        person = self.person(request)
        body = await json_body(request, ("workflow", "title", "department", "fields", "comment"))
        workflow, title = text(body, "workflow", required=True), text(body, "title", required=True)
        department, comment = text(body, "department", required=True), text(body, "comment")
        case_fields = mapping(body, "fields")
        case = await self.run(
            lambda a: a.file(workflow, actor=person, title=title, department=department,
                             fields=case_fields, comment=comment)
        )  # fmt: skip
        return JSONResponse(
            plain(case, language(request)),
            status_code=201,
            headers={"Location": f"/cases/{case.reference}"},
        )

    async def act(self, request: Request) -> Response:
        """POST /cases/{reference}/steps/{trigger}: take one step as the authenticated person."""
        person = self.person(request)
        reference, trigger = request.path_params["reference"], request.path_params["trigger"]
        body = await json_body(request, ("comment", "fields", "checklist"))
        comment, step_fields = text(body, "comment"), mapping(body, "fields")
        checklist = strings(body, "checklist")
        case = await self.run(
            lambda a: a.act(reference, trigger, actor=person, comment=comment,
                            fields=step_fields, checklist=checklist)
        )  # fmt: skip
        return JSONResponse(plain(case, language(request)))

    async def case(self, request: Request) -> Response:
        """GET /cases/{reference}: the case, what may happen next and who may do it."""
        reference = request.path_params["reference"]
        case = await self.reading(self.person(request), lambda a: a.case(reference))
        return JSONResponse(plain(case, language(request)))

    async def history(self, request: Request) -> Response:
        """GET /cases/{reference}/history: every event of the case, oldest first."""
        reference = request.path_params["reference"]
        entries = await self.reading(self.person(request), lambda a: a.history(reference))
        return JSONResponse(plain(entries, language(request)))

    async def inbox(self, request: Request) -> Response:
        """GET /inbox: the steps that wait for the authenticated person, oldest first."""
        person = self.person(request)
        items = await self.reading(person, lambda a: a.inbox(person))
        return JSONResponse(plain(items, language(request)))


async def refusal(request: Request, error: Exception) -> Response:
    """Answer an approvals refusal: its status, code and one sentence in the asked language."""
    if not isinstance(error, ApprovalsError):  # pragma: no cover - registered for these only
        raise error
    status = next((code for kind, code in STATUS if isinstance(error, kind)), 500)
    message = error.render(language(request))
    return JSONResponse({"error": error.code, "message": message}, status_code=status)


async def http_refusal(request: Request, error: Exception) -> Response:
    """Answer a refusal of the host itself (no user, a malformed body, an unknown route)."""
    if not isinstance(error, HTTPException):  # pragma: no cover - registered for these only
        raise error
    message = error.detail
    if error.status_code in (404, 405):  # the router's, whose detail is a bare status phrase
        message = f"{request.method} {request.url.path} is not a route of the approvals host."
    code = HTTP_CODES.get(error.status_code, "http.error")
    return JSONResponse(
        {"error": code, "message": message}, status_code=error.status_code, headers=error.headers
    )


async def server_error(_request: Request, _error: Exception) -> Response:
    """Answer an unexpected failure without its traceback (the server's log has it)."""
    message = "The approvals host failed on this request; it is logged. Try again later."
    return JSONResponse({"error": "server.error", "message": message}, status_code=500)


def create_app(settings: Settings | None = None) -> Starlette:
    """Return the ASGI application; without ``settings`` they are read from the environment at
    start-up."""
    host = Intranet(settings)
    return Starlette(
        routes=[
            Route("/cases", host.file, methods=["POST"]),
            Route("/cases/{reference}", host.case, methods=["GET"]),
            Route("/cases/{reference}/history", host.history, methods=["GET"]),
            Route("/cases/{reference}/steps/{trigger}", host.act, methods=["POST"]),
            Route("/inbox", host.inbox, methods=["GET"]),
        ],
        exception_handlers={
            ApprovalsError: refusal,
            HTTPException: http_refusal,
            Failure: server_error,
            Exception: server_error,
        },
        lifespan=host.lifespan,
    )


app = create_app()
