"""The domain's exceptions: raised anywhere, rendered as problem+json by web.problems."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A failure the client can act on; `status` and `title` say which."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


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


class NotAcceptable(DomainError):
    """No representation the client accepts."""

    status = 406
    title = "Not Acceptable"

    def __init__(self, available: Sequence[str]) -> None:
        super().__init__("This resource is available as: " + ", ".join(available) + ".")


class PayloadTooLarge(DomainError):
    """The body is larger than the service stores."""

    status = 413
    title = "Content Too Large"


class UnsupportedMediaType(DomainError):
    """The body's media type is not one the operation accepts."""

    status = 415
    title = "Unsupported Media Type"

    def __init__(self, media_type: str, accepted: Sequence[str]) -> None:
        shown = media_type or "no Content-Type"
        super().__init__(
            f"{shown} is not accepted here; send one of: {', '.join(accepted)}.",
            headers={"Accept-Post": ", ".join(accepted)},
        )


class Conflict(DomainError):
    """The request conflicts with what is stored."""

    status = 409
    title = "Conflict"


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

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed authentications; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
