"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from errors import Forbidden
from store.users import UserRecord


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    user_id: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Whether the caller manages users and may change anyone's articles."""
        return self.role == "admin"

    @classmethod
    def of(cls, user: UserRecord) -> Principal:
        """The principal of a stored user."""
        return cls(user_id=user.id, username=user.username, role=user.role)

    def as_token_info(self) -> dict[str, Any]:
        """The dict connexion's security layer hands to handlers as `token_info`."""
        return {"sub": self.username, "uid": self.user_id, "role": self.role}

    @classmethod
    def from_token_info(cls, token_info: dict[str, Any]) -> Principal:
        """The principal behind connexion's `token_info`."""
        return cls(user_id=token_info["uid"], username=token_info["sub"], role=token_info["role"])


def require_admin(principal: Principal) -> None:
    """Forbidden unless the caller is an admin."""
    if not principal.is_admin:
        raise Forbidden("Only an admin may do this.")


def editable_author(principal: Principal) -> int | None:
    """Whose articles the caller may change: anyone's (None) for an admin, else their own."""
    return None if principal.is_admin else principal.user_id
