"""The domain's exceptions: raised anywhere, rendered as problem+json by web.problems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    """A failure the client can act on; `status` and `title` say which."""

    status = 400
    title = "Bad Request"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions or {}  # RFC 9457 extension members of the problem


class BadRequest(DomainError):
    """The request breaks a rule the spec cannot express."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    """No such resource."""

    status = 404
    title = "Not Found"


class PayloadTooLarge(DomainError):
    """The body is larger than the service stores."""

    status = 413
    title = "Content Too Large"


# Where the server (web.patches.uvicorn_limits) puts, in an ASGI scope's "extensions", the
# exception (BodyTooSlow, TrailersTooLarge) that refuses the rest of a request whose body it
# stopped reading: the app's next read of the body raises it (web.request_context), and
# web.problems answers it as it answers any other.
REFUSED_KEY = "articles.refused"


class BodyTooSlow(DomainError):
    """The request's body arrived slower than the server reads (RFC 9110 15.5.9: 408); the rest
    of it is never read, so the connection ends with the answer."""

    status = 408
    title = "Request Timeout"

    def __init__(self, min_rate: float, timeout: float) -> None:
        super().__init__(
            f"The request body arrived slower than {min_rate:g} bytes a second after a grace of "
            f"{timeout:g} s; nothing was stored.",
            headers={"Connection": "close"},
        )


class TrailersTooLarge(DomainError):
    """A chunked body's trailer fields (or its chunk framing) are over the head's size limit
    (RFC 6585 5: 431); the rest is never read, so the connection ends with the answer."""

    status = 431
    title = "Request Header Fields Too Large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            f"The trailer fields after the body are larger than {max_bytes} bytes, the most "
            "this server reads; nothing was stored.",
            headers={"Connection": "close"},
        )


# The header that lists what a method accepts (RFC 9110 15.5.16: Accept-Post, RFC 5789:
# Accept-Patch); a PUT has none.
ACCEPT_HEADERS = {"POST": "Accept-Post", "PATCH": "Accept-Patch"}


class UnsupportedMediaType(DomainError):
    """The body's media type is not one the operation accepts: the only place a 415 is worded,
    whoever finds it (web.guards, web.bodies, connexion's validation through web.problems)."""

    status = 415
    title = "Unsupported Media Type"

    def __init__(self, media_type: str, accepted: Sequence[str], *, method: str) -> None:
        shown = media_type or "no Content-Type"
        header = ACCEPT_HEADERS.get(method.upper())
        super().__init__(
            f"{shown} is not accepted here; send one of: {', '.join(accepted)}.",
            headers={header: ", ".join(accepted)} if header else {},
        )


class Conflict(DomainError):
    """The request conflicts with what is stored."""

    status = 409
    title = "Conflict"


class UnprocessableContent(DomainError):
    """The request is well formed but cannot be carried out as sent (RFC 9110's 422)."""

    status = 422
    title = "Unprocessable Content"


class PreconditionFailed(DomainError):
    """`If-Match` names a version that is no longer current."""

    status = 412
    title = "Precondition Failed"


class PreconditionRequired(DomainError):
    """A change was sent without `If-Match`."""

    status = 428
    title = "Precondition Required"


class InsufficientScope(DomainError):
    """A valid token without the scope an operation needs (RFC 6750)."""

    status = 403
    title = "Forbidden"

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"This token lacks the {scope} scope; issue one that has it.",
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="Example", error="insufficient_scope", scope="{scope}"'
                )
            },
        )


class TooManyRequests(DomainError):
    """Too many failed authentications; wait before trying again."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, retry_after: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            f"Too many failed authentications; try again in {retry_after} seconds.",
            headers={**(headers or {}), "Retry-After": str(retry_after)},
        )


class Unavailable(DomainError):
    """The service cannot answer now, through no fault of the request; nothing was changed."""

    status = 503
    title = "Service Unavailable"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class DependencyUnavailable(Unavailable):
    """A service this one depends on (the database, Redis) did not answer in time or refused."""

    def __init__(self, dependency: str, cause: str, *, retry_after: int = 5) -> None:
        super().__init__(
            f"{dependency} cannot be reached; nothing was changed. Try again shortly.",
            retry_after=retry_after,
        )
        self.dependency = dependency
        self.cause = cause  # the exception's type name, for the log (never its text)


class InsufficientStorage(DomainError):
    """The database has no room left for a write (RFC 4918's 507); nothing was changed."""

    status = 507
    title = "Insufficient Storage"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "The database has no room left; nothing was stored. Try again later.",
            headers={"Retry-After": str(retry_after)},
        )


class NotReady(Unavailable):
    """A dependency fails its readiness check; `checks` says which, and how."""

    def __init__(self, checks: dict[str, str]) -> None:
        failing = ", ".join(f"{name} is {state}" for name, state in checks.items() if state != "ok")
        super().__init__(f"Not ready: {failing}.", retry_after=5)
        self.extensions = {"checks": checks}
