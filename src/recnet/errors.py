"""Errors as RFC 9457 problem details, rendered in one place.

Services raise ``ProblemError`` subclasses; framework errors (unknown route, wrong method,
validation) and database outages are translated here. Nothing internal — no stack trace, no SQL,
no submitted value — reaches the client: the log has it, under the request id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from recnet.logs import request_id_var

log = logging.getLogger("recnet.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:recnet:problem:"


class FieldError(BaseModel):
    """One failing field of a request."""

    location: str = Field(description="Where the field is: body, query, path, header or cookie.")
    field: str = Field(
        description="Dotted path of the field inside its location ('' for the whole)."
    )
    pointer: str = Field(description="JSON Pointer (RFC 6901) of the field inside its location.")
    code: str = Field(description="Stable error code.")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Stable URI of the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The request path that met the problem.")
    request_id: str = Field(description="Quote this id when reporting the problem.")
    errors: list[FieldError] | None = Field(
        default=None, description="For validation problems: every failing field."
    )


class ProblemError(Exception):
    """An error the client can act on. Subclasses fix the status, type and title."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status or self.status
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(ProblemError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(ProblemError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(ProblemError):
    status, slug, title = 428, "precondition-required", "Precondition required"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationProblem(ProblemError):
    status, slug, title = 422, "validation", "Invalid request"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Forbidden"


class TooManyRequests(ProblemError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "unavailable", "Service unavailable"


class InternalError(ProblemError):
    status, slug, title = 500, "internal", "Internal server error"


# Statuses Starlette raises by itself (routing, method checks), mapped to our problem kinds.
_HTTP_PROBLEMS: dict[int, type[ProblemError]] = {
    400: ProblemError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationProblem,
    428: PreconditionRequired,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def problem_body(request_path: str, error: ProblemError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + error.slug,
        "title": error.title,
        "status": error.status_code,
        "detail": error.detail,
        "instance": request_path,
        "request_id": request_id_var.get(),
    }
    if error.errors is not None:
        body["errors"] = [e.model_dump() for e in error.errors]
    body.update(error.extra)
    return body


def problem_response(request_path: str, error: ProblemError) -> Response:
    body = Problem.model_validate(problem_body(request_path, error))
    return Response(
        content=body.model_dump_json(exclude_none=True),
        status_code=error.status_code,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def _pointer(parts: Sequence[str | int]) -> str:
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + "/".join(escaped) if parts else ""


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    """Pydantic/FastAPI error entries as field errors, without echoing the submitted input."""
    result = []
    for error in errors:
        loc = list(error.get("loc", ()))
        location = str(loc[0]) if loc else "body"
        path = [p for p in loc[1:] if isinstance(p, str | int)]
        result.append(
            FieldError(
                location=location,
                field=".".join(str(p) for p in path),
                pointer=_pointer(path),
                code=str(error.get("type", "invalid")),
                message=str(error.get("msg", "invalid value")),
            )
        )
    return result


def validation_problem(errors: Sequence[Any]) -> ValidationProblem:
    found = field_errors(errors)
    plural = "s" if len(found) != 1 else ""
    return ValidationProblem(f"{len(found)} field{plural} failed validation", errors=found)


def moment_in_utc(moment: datetime, parameter: str) -> datetime:
    """A moment a client gave, in UTC: one without a zone (a date alone included) is taken as
    UTC, as every moment the API gives is; one that UTC cannot hold is refused, naming
    ``parameter`` (the database's UTC columns would fail on it)."""
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        error = FieldError(
            location="query",
            field=parameter,
            pointer=f"/{parameter}",
            code="out_of_range",
            message="a moment between the years 1 and 9999 in UTC",
        )
        raise ValidationProblem(
            f"{parameter} is out of range once in UTC.", errors=[error]
        ) from None


def is_database_unavailable(exc: BaseException) -> bool:
    """Errors that mean 'the database cannot be reached or is busy', not 'the query is wrong'."""
    return isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
    ) or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)


def database_unavailable(retry_after: int) -> ServiceUnavailable:
    return ServiceUnavailable(
        "The database is unavailable; retry later.",
        headers={"Retry-After": str(retry_after)},
    )


def install_handlers(app: FastAPI, retry_after: int) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(request.url.path, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = _HTTP_PROBLEMS.get(exc.status_code, ProblemError)
        detail = exc.detail if isinstance(exc.detail, str) else kind.title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No resource at {request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        problem = kind(detail, headers=exc.headers, status=exc.status_code)
        return problem_response(request.url.path, problem)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request.url.path, validation_problem(exc.errors()))

    async def on_database(request: Request, exc: Exception) -> Response:
        if not is_database_unavailable(exc):
            raise exc
        log.warning("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
        return problem_response(request.url.path, database_unavailable(retry_after))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(sa_exc.SQLAlchemyError, on_database)
