"""The service's settings: one typed object, read from the environment once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from auth.throttle import Policy

DEVELOPMENT_ADMIN_PASSWORD = "secret"  # noqa: S105 (the tutorial's development default)
PRODUCTION_MIN_PASSWORD = 12
PRODUCTION_MIN_DISTINCT = 8
PROFILES = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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


def _positive(env: Mapping[str, str], name: str) -> int | None:
    """An optional whole number of at least 1."""
    if not env.get(name):
        return None
    value = _integer(env, name, 0)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _at_least_one(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of at least 1, `default` when unset."""
    value = _integer(env, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds (a fraction is fine)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise SettingsError(f"{name} must be more than 0 seconds, got {raw!r}")
    return value


def _seconds_or_zero(env: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds, 0 included (turns the feature off)."""
    if env.get(name, "").strip() in ("0", "0.0"):
        return 0.0
    return _seconds(env, name, default)


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A failed-login limit such as `5/minute` (auth.throttle.Policy)."""
    rate = env.get(name) or default
    try:
        Policy.parse(name, rate)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None
    return rate


def _choice(
    env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None
) -> str | None:
    raw = env.get(name)
    if not raw:
        return default
    value = raw.upper() if name == "LOG_LEVEL" else raw.lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def weak_password(password: str) -> str | None:
    """Why a password is too weak for a production admin, or None.

    Length alone lets `secretsecret` or twelve spaces through: also refused are passwords with
    whitespace at either end (a copy-and-paste slip), fewer than PRODUCTION_MIN_DISTINCT
    different characters, or one string repeated.
    """
    if len(password) < PRODUCTION_MIN_PASSWORD:
        return f"at least {PRODUCTION_MIN_PASSWORD} characters"
    if password != password.strip():
        return "no whitespace at either end"
    if len(set(password)) < PRODUCTION_MIN_DISTINCT:
        return f"at least {PRODUCTION_MIN_DISTINCT} different characters"
    if password in (password + password)[1:-1]:  # a shorter string repeated
        return "not one string repeated"
    if DEVELOPMENT_ADMIN_PASSWORD in password.lower():
        return "not containing the development default"
    return None


def _admin_password(env: Mapping[str, str], profile: str) -> str:
    """ADMIN_PASSWORD_FILE's first line or ADMIN_PASSWORD; production refuses weak ones."""
    path = env.get("ADMIN_PASSWORD_FILE")
    if path:
        try:
            password = Path(path).read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError, UnicodeDecodeError) as error:
            raise SettingsError(f"ADMIN_PASSWORD_FILE {path!r} cannot be read: {error}") from None
    else:
        password = env.get("ADMIN_PASSWORD", "")
    weakness = weak_password(password) if profile == "production" else None
    if weakness is not None:
        raise SettingsError(
            f"APP_ENV=production needs ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) of {weakness}"
        )
    return password or DEVELOPMENT_ADMIN_PASSWORD


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the service."""

    app_env: str = "development"
    database_url: str = "sqlite:///./data/app.db"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    log_file: str = "app.log"
    log_format: str = "text"
    log_level_name: str | None = None
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5
    debug: bool = False
    workers: int = 2
    # Threads per worker process that run handlers doing I/O; None: by database (request_threads).
    threads: int | None = None
    cors_origins: tuple[str, ...] = ()
    admin_username: str = "admin"
    admin_password: str = DEVELOPMENT_ADMIN_PASSWORD
    max_message_bytes: int = 10 * 1024 * 1024
    # A request's head (request line and header lines): at most this many bytes (nginx's
    # large_client_header_buffers 4 x 8k and Cloudflare's total), received within this many
    # seconds of its first byte (of the connection's opening, for its first request).
    max_header_bytes: int = 32 * 1024
    header_timeout: float = 10.0
    # A request's body: at least this many bytes a second once its first body_timeout seconds
    # are used (Apache's mod_reqtimeout default, body=20,MinRate=500).
    body_timeout: float = 20.0
    body_min_rate: int = 500
    # After SIGTERM: how long what is under way may take before it is cancelled and the process
    # exits (uvicorn's timeout_graceful_shutdown; under gunicorn, its graceful_timeout is 5 s more).
    shutdown_timeout: float = 30.0
    # Behind a reverse proxy, its addresses (uvicorn's forwarded_allow_ips): only then is
    # X-Forwarded-For read for the client's address.
    forwarded_allow_ips: str = ""
    auth_failure_limit: str = "5/minute"
    # Four times the address's: one address alone never reaches it (auth.throttle).
    auth_account_failure_limit: str = "20/minute"
    auth_cache_seconds: float = 60.0
    # How long a response is kept for retries with the same Idempotency-Key.
    idempotency_key_seconds: float = 86400.0
    validate_responses: bool = False
    # How long a request waits for the database and for Redis before it gets a 503.
    database_timeout: float = 5.0
    redis_timeout: float = 2.0
    # Argon2id cost, RFC 9106's low-memory profile by default; tune to the hardware.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    # Argon2id computations at once (each holds password_hash_memory_kib); None: one per core.
    password_hash_concurrency: int | None = None
    # Under gunicorn (deploy/gunicorn.conf.py): the directory where prometheus_client records every
    # worker's metrics, for /metrics to add up. None: one process, reporting its own.
    prometheus_multiproc_dir: str | None = None
    # For `make bench-patches` only: web.patches optimisations to leave off (PATCHES_OFF, names
    # from web.patches.SWITCHES, comma-separated), to measure what each buys.
    patches_off: frozenset[str] = frozenset()

    @property
    def log_level(self) -> str:
        """LOG_LEVEL when set; otherwise DEBUG in debug mode, INFO outside it."""
        return self.log_level_name or ("DEBUG" if self.debug else "INFO")

    @property
    def request_threads(self) -> int:
        """THREADS when set; otherwise 2 on SQLite and 4 on a database server.

        SQLite runs in the process and takes one writer at a time: a second thread keeps the
        core busy while the first waits for its turn, more only share the GIL. A database
        server's round trips leave a thread waiting, so a few more overlap them.
        """
        if self.threads is not None:
            return self.threads
        return 2 if self.database_url.startswith("sqlite") else 4

    @property
    def password_hashes_at_once(self) -> int:
        """PASSWORD_HASH_CONCURRENCY when set; otherwise one per core."""
        return self.password_hash_concurrency or os.cpu_count() or 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables, with the defaults above."""
        env = os.environ if env is None else env
        defaults = cls()
        profile = env.get("APP_ENV") or defaults.app_env
        if profile not in PROFILES:
            raise SettingsError(f"APP_ENV must be one of {', '.join(PROFILES)}, got {profile!r}")
        debug = _flag(env.get("DEBUG", ""))
        if profile == "production" and debug:
            raise SettingsError(
                "APP_ENV=production refuses DEBUG (it shows tracebacks in 500 responses)"
            )
        return cls(
            app_env=profile,
            database_url=env.get("DATABASE_URL") or defaults.database_url,
            redis_url=env.get("REDIS_URL") or None,
            host=env.get("HOST") or defaults.host,
            port=_integer(env, "PORT", defaults.port),
            log_file=env.get("LOG_FILE") or defaults.log_file,
            log_format=_choice(env, "LOG_FORMAT", ("text", "json"), None) or defaults.log_format,
            log_level_name=_choice(env, "LOG_LEVEL", LOG_LEVELS, None),
            log_max_bytes=_integer(env, "LOG_MAX_BYTES", defaults.log_max_bytes),
            log_backups=_integer(env, "LOG_BACKUPS", defaults.log_backups),
            debug=debug,
            workers=_integer(env, "WORKERS", defaults.workers),
            threads=_positive(env, "THREADS"),
            cors_origins=tuple(
                origin.strip()
                for origin in env.get("CORS_ORIGINS", "").split(",")
                if origin.strip()
            ),
            admin_username=env.get("ADMIN_USERNAME") or defaults.admin_username,
            admin_password=_admin_password(env, profile),
            max_message_bytes=_integer(env, "MAX_MESSAGE_BYTES", defaults.max_message_bytes),
            max_header_bytes=_at_least_one(env, "MAX_HEADER_BYTES", defaults.max_header_bytes),
            header_timeout=_seconds(env, "HEADER_TIMEOUT", defaults.header_timeout),
            body_timeout=_seconds(env, "BODY_TIMEOUT", defaults.body_timeout),
            body_min_rate=_at_least_one(env, "BODY_MIN_RATE", defaults.body_min_rate),
            shutdown_timeout=_seconds(env, "SHUTDOWN_TIMEOUT", defaults.shutdown_timeout),
            forwarded_allow_ips=env.get("FORWARDED_ALLOW_IPS", "").strip(),
            auth_failure_limit=_rate(env, "AUTH_FAILURE_LIMIT", defaults.auth_failure_limit),
            auth_account_failure_limit=_rate(
                env, "AUTH_ACCOUNT_FAILURE_LIMIT", defaults.auth_account_failure_limit
            ),
            auth_cache_seconds=_seconds_or_zero(
                env, "AUTH_CACHE_SECONDS", defaults.auth_cache_seconds
            ),
            idempotency_key_seconds=_seconds(
                env, "IDEMPOTENCY_KEY_SECONDS", defaults.idempotency_key_seconds
            ),
            validate_responses=_flag(env.get("VALIDATE_RESPONSES", "")),
            database_timeout=_seconds(env, "DATABASE_TIMEOUT", defaults.database_timeout),
            redis_timeout=_seconds(env, "REDIS_TIMEOUT", defaults.redis_timeout),
            password_hash_time_cost=_integer(
                env, "PASSWORD_HASH_TIME_COST", defaults.password_hash_time_cost
            ),
            password_hash_memory_kib=_integer(
                env, "PASSWORD_HASH_MEMORY_KIB", defaults.password_hash_memory_kib
            ),
            password_hash_concurrency=_positive(env, "PASSWORD_HASH_CONCURRENCY"),
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
            patches_off=frozenset(
                name.strip() for name in env.get("PATCHES_OFF", "").split(",") if name.strip()
            ),
        )
