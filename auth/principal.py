"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from errors import Forbidden, InsufficientScope
from store.users import UserRecord

ARTICLES_WRITE = "articles:write"
USERS_ADMIN = "users:admin"
ROLE_SCOPES = {
    "admin": frozenset({ARTICLES_WRITE, USERS_ADMIN}),
    "user": frozenset({ARTICLES_WRITE}),
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; `scopes` is None for a password, a token's scopes otherwise."""

    user_id: int
    username: str
    role: str
    scopes: frozenset[str] | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the caller manages users and may change anyone's articles."""
        return self.role == "admin"

    @property
    def allowed_scopes(self) -> frozenset[str]:
        """What the caller's role allows."""
        return ROLE_SCOPES.get(self.role, frozenset())

    @property
    def editable_author(self) -> int | None:
        """Whose articles the caller may change: anyone's (None) for an admin, else their own."""
        return None if self.is_admin else self.user_id

    @classmethod
    def of(cls, user: UserRecord, scopes: frozenset[str] | None = None) -> Principal:
        """The principal of a stored user, holding a token with `scopes` or a password."""
        return cls(user_id=user.id, username=user.username, role=user.role, scopes=scopes)

    def as_token_info(self) -> dict[str, Any]:
        """The dict connexion's security layer hands to handlers as `token_info`."""
        scopes = None if self.scopes is None else sorted(self.scopes)
        return {"sub": self.username, "uid": self.user_id, "role": self.role, "scope": scopes}

    @classmethod
    def from_token_info(cls, token_info: dict[str, Any]) -> Principal:
        """The principal behind connexion's `token_info`."""
        scopes = token_info.get("scope")
        return cls(
            user_id=token_info["uid"],
            username=token_info["sub"],
            role=token_info["role"],
            scopes=None if scopes is None else frozenset(scopes),
        )


def require_scope(principal: Principal, scope: str) -> None:
    """Forbidden unless the role allows `scope`; InsufficientScope if the token lacks it."""
    if scope not in principal.allowed_scopes:
        raise Forbidden("Your role does not allow this.")
    if principal.scopes is not None and scope not in principal.scopes:
        raise InsufficientScope(scope)


def require_admin(principal: Principal) -> None:
    """Forbidden unless the caller is an admin (with `users:admin`, when using a token)."""
    if not principal.is_admin:
        raise Forbidden("Only an admin may do this.")
    require_scope(principal, USERS_ADMIN)


def caller(
    token_info: dict[str, Any], *, admin: bool = False, scope: str | None = None
) -> Principal:
    """The caller behind connexion's `token_info`, checked: an admin, when `admin` is set
    (require_admin), and allowed `scope`, when one is named (require_scope)."""
    principal = Principal.from_token_info(token_info)
    if admin:
        require_admin(principal)
    if scope is not None:
        require_scope(principal, scope)
    return principal
