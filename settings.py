"""The service's settings: one typed object, read from the environment once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEVELOPMENT_ADMIN_PASSWORD = "secret"  # noqa: S105 (the tutorial's development default)


class SettingsError(ValueError):
    """A setting in the environment is missing or malformed."""


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the service."""

    database_url: str = "sqlite:///./data/app.db"
    host: str = "127.0.0.1"
    port: int = 8080
    log_file: str = "app.log"
    debug: bool = False
    admin_username: str = "admin"
    admin_password: str = DEVELOPMENT_ADMIN_PASSWORD
    max_message_bytes: int = 10 * 1024 * 1024
    token_ttl_seconds: int = 3600
    validate_responses: bool = False
    # Argon2id cost, RFC 9106's low-memory profile by default; tune to the hardware.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536

    @property
    def log_level(self) -> str:
        """DEBUG in debug mode, INFO otherwise."""
        return "DEBUG" if self.debug else "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables, with the defaults above."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            database_url=env.get("DATABASE_URL") or defaults.database_url,
            host=env.get("HOST") or defaults.host,
            port=_integer(env, "PORT", defaults.port),
            log_file=env.get("LOG_FILE") or defaults.log_file,
            debug=_flag(env.get("DEBUG", "")),
            admin_username=env.get("ADMIN_USERNAME") or defaults.admin_username,
            admin_password=env.get("ADMIN_PASSWORD") or defaults.admin_password,
            max_message_bytes=_integer(env, "MAX_MESSAGE_BYTES", defaults.max_message_bytes),
            token_ttl_seconds=_integer(env, "TOKEN_TTL_SECONDS", defaults.token_ttl_seconds),
            validate_responses=_flag(env.get("VALIDATE_RESPONSES", "")),
            password_hash_time_cost=_integer(
                env, "PASSWORD_HASH_TIME_COST", defaults.password_hash_time_cost
            ),
            password_hash_memory_kib=_integer(
                env, "PASSWORD_HASH_MEMORY_KIB", defaults.password_hash_memory_kib
            ),
        )
