"""Logging to a rotated log file and stderr, as text or JSON lines, stamped with request ids."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
import typing as t
from contextvars import ContextVar
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, TextIO

from settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
ACCESS_LOGGER = "articles_api.access"

# The id of the request being served, stamped on every log line it causes.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the id of the request it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class Entry(t.NamedTuple):
    """What a line says: a record's parts, or an access line's without a record."""

    created: float  # time.time() when it was made
    level: str
    request_id: str
    name: str  # the logger's
    message: str
    http: dict[str, Any] | None  # the request's fields, on access lines

    @classmethod
    def of(cls, record: logging.LogRecord) -> Entry:
        """A record's entry."""
        return cls(
            record.created,
            record.levelname,
            getattr(record, "request_id", "-"),
            record.name,
            record.getMessage(),
            getattr(record, "http", None),
        )


class _FormatsOnce(logging.Formatter):
    """Each record formatted once: RotatingFile's size check and its write (to the file and to
    stderr) all use the same line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._key = f"_articles_api_line_{id(self)}"  # where a record keeps this formatter's line

    def format(self, record: logging.LogRecord) -> str:
        line: str | None = record.__dict__.get(self._key)
        if line is None:
            line = self.format_once(record)
            record.__dict__[self._key] = line
        return line

    def format_once(self, record: logging.LogRecord) -> str:
        raise NotImplementedError

    def line(self, entry: Entry) -> str:
        """The line of an entry without a traceback: what `format` makes of such a record."""
        raise NotImplementedError

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """logging's formatTime, from the record's `created` alone."""
        return self.time_of(record.created, datefmt)

    def time_of(self, created: float, datefmt: str | None = None) -> str:
        """formatTime of a record made at `created`."""
        stamp = time.strftime(datefmt or self.default_time_format, self.converter(int(created)))
        if datefmt:
            return stamp
        msecs = int((created - int(created)) * 1000)  # as LogRecord computes `msecs`
        return f"{stamp},{msecs:03d}"  # logging's default_msec_format


class TextLines(_FormatsOnce):
    """TEXT_FORMAT lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format_once(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return logging.Formatter.format(self, record)  # logging's, with the traceback
        return self.line(Entry.of(record))

    def line(self, entry: Entry) -> str:
        stamp = self.time_of(entry.created)  # TEXT_FORMAT's fields, in its order:
        return f"{stamp} {entry.level} [{entry.request_id}] {entry.name}: {entry.message}"


class JSONLines(_FormatsOnce):
    """One JSON object per line: time, level, request id, logger, message, and the request's
    method, path, status and duration on access lines."""

    def format_once(self, record: logging.LogRecord) -> str:
        line = self.fields(Entry.of(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)

    def line(self, entry: Entry) -> str:
        return json.dumps(self.fields(entry))

    def fields(self, entry: Entry) -> dict[str, Any]:
        """The members of an entry's line."""
        msecs = int((entry.created - int(entry.created)) * 1000)  # as LogRecord computes `msecs`
        line: dict[str, Any] = {
            "time": self.time_of(entry.created, "%Y-%m-%dT%H:%M:%S") + f".{msecs:03d}",
            "level": entry.level,
            "request_id": entry.request_id,
            "logger": entry.name,
            "message": entry.message,
        }
        line.update(entry.http or {})
        return line


class RotatingFile(RotatingFileHandler):
    """RotatingFileHandler that also echoes each line to a stream (stderr): one handler, so one
    lock, one filter and one format per record. Without RotatingFileHandler's two `stat` calls
    per record: whether the file is a regular one (bpo-45401: nothing else is rotated) is
    checked when it opens. Nor a `seek` per record for the file's size: it is the size last
    looked up plus what this handler wrote since, looked up again when that nears `maxBytes` or
    after a 64th of it, so other processes writing the same file (gunicorn's workers) delay a
    rotation by at most that much each.

    A file that cannot be written (a full disk) is said once on stderr, not in a traceback per
    line, and tried again once a second; the echo still gets every line. A file removed or
    renamed (`rm`, logrotate) is noticed within a second, as WatchedFileHandler does on every
    line, and opened again at its path."""

    regular = True
    _end = -1  # the file's size when last looked up; -1: look it up
    _since = 0  # bytes this handler wrote since
    _opened = (-1, -1)  # the open file's st_dev and st_ino
    _look_at = 0.0  # time.monotonic() when the file is next looked at: moved? writable again?
    _failing = False  # the file could not be written, and stderr was told

    def __init__(self, *args: Any, echo: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.echo = echo

    def _open(self) -> Any:
        stream = super()._open()
        self.regular = os.path.isfile(self.baseFilename)
        self._end, self._since = -1, 0
        opened = os.fstat(stream.fileno())
        self._opened = (opened.st_dev, opened.st_ino)
        return stream

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 (logging's name)
        return self._full(self.format(record))

    def _full(self, line: str) -> bool:
        if self.stream is None:  # opened lazily, or closed by an earlier rollover
            self.stream = self._open()
        if self.maxBytes <= 0 or not self.regular:
            return False
        size = _encoded_length(line) + 1
        if (
            self._end < 0
            or self._end + self._since + size >= self.maxBytes
            or (self._since >= self.maxBytes // 64)
        ):
            self._end, self._since = self.stream.seek(0, os.SEEK_END), 0
        return self._end + self._since + size >= self.maxBytes

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write_line(self.format(record))
        except RecursionError:  # as logging.StreamHandler.emit
            raise
        except Exception:
            self.handleError(record)

    def write_line(self, line: str) -> None:
        """Write a formatted line to the file (rotating it first when it is full) and the echo;
        the caller holds the handler's lock."""
        now = time.monotonic()
        look = now >= self._look_at  # once a second: moved? writable again?
        if look:
            self._look_at = now + 1.0
        if look or not self._failing:
            try:
                if look:
                    self._close_if_moved()
                self._write(line)
            except OSError as error:
                self._fail(error)
        if self.echo is not None:
            try:
                self.echo.write(line + self.terminator)
                self.echo.flush()
            except (OSError, ValueError):  # nowhere left to say it
                pass

    def _write(self, line: str) -> None:
        if self._full(line):
            self.doRollover()
        if self.stream is None:
            self.stream = self._open()
        line += self.terminator
        self.stream.write(line)
        self.stream.flush()
        self._since += _encoded_length(line)
        if self._failing:
            self._failing = False
            self._say(f"articles-api: writing LOG_FILE {self.baseFilename} again")

    def _close_if_moved(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            at_path = os.stat(self.baseFilename)
            if (at_path.st_dev, at_path.st_ino) == self._opened:
                return
        self._drop()

    def _fail(self, error: OSError) -> None:
        self._drop()
        if not self._failing:
            self._failing = True
            self._say(
                f"articles-api: cannot write LOG_FILE {self.baseFilename} "
                f"({error.strerror or error}); log lines go to stderr only until it can"
            )

    def _drop(self) -> None:
        """Close the stream, discarding what it holds: a line it could not write was echoed,
        and would be written late, or twice, at its next flush."""
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError):  # closed even when the flush before it fails
                stream.close()

    def _say(self, message: str) -> None:
        stream = self.echo or sys.stderr
        try:
            stream.write(message + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass


def _encoded_length(line: str) -> int:
    """The length of the line in the log file (UTF-8)."""
    return len(line) if line.isascii() else len(line.encode("utf-8", "backslashreplace"))


class AccessLines:
    """Writes the access line of each request: straight to the handler `configure` installed
    when the record would reach it alone (no other handler, filter or level on its way), the
    same line `logging` would write; through `logging` otherwise (a test's caplog, another
    handler, a logger set up differently). Straight, GET /hello served 1.08x the req/s, p99 the
    same (one worker, 5 interleaved rounds, 2026-12-03: the README's performance section)."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)

    def write(self, method: str, path: str, status: int, elapsed: float) -> None:
        """One request's line, stamped with its request id (REQUEST_ID): `elapsed`
        seconds from its start to its last byte."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        elapsed_ms = elapsed * 1000
        http = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed_ms, 1),
        }
        handler = self._sole_handler()
        if handler is None:
            self.logger.info(
                "%s %s %s %.1fms", method, path, status, elapsed_ms, extra={"http": http}
            )
            return
        message = f"{method} {path} {status} {elapsed_ms:.1f}ms"  # "%s %s %s %.1fms" % (...)
        formatter = t.cast(_FormatsOnce, handler.formatter)
        entry = Entry(time.time(), "INFO", REQUEST_ID.get(), self.logger.name, message, http)
        handler.acquire()  # as Handler.handle: one line at a time
        try:
            handler.write_line(formatter.line(entry))
        except Exception:
            handler.handleError(logging.makeLogRecord({"msg": message}))
        finally:
            handler.release()

    def _sole_handler(self) -> RotatingFile | None:
        """The handler `configure` installed, when an INFO record of ours reaches it alone."""
        logger: logging.Logger | None = self.logger
        while logger is not None:
            if logger.filters or (logger.handlers and logger.parent is not None):
                return None
            if logger.parent is None:  # the root
                break
            if not logger.propagate:
                return None
            logger = logger.parent
        handlers = logging.root.handlers
        if len(handlers) != 1:
            return None
        handler = handlers[0]
        if (
            not isinstance(handler, RotatingFile)
            or not getattr(handler, "articles_api", False)
            or handler.level > logging.INFO
            or len(handler.filters) != 1
            or not isinstance(handler.filters[0], RequestIdFilter)
            or not isinstance(handler.formatter, _FormatsOnce)
        ):
            return None
        return handler


def configure(settings: Settings) -> None:
    """Send the service's logs to `settings.log_file` and stderr, replacing earlier set-ups."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "articles_api", False)]:
        root.removeHandler(handler)
        handler.close()
    Path(settings.log_file).parent.mkdir(parents=True, exist_ok=True)
    formatter = JSONLines() if settings.log_format == "json" else TextLines()
    handler = RotatingFile(
        settings.log_file,
        maxBytes=settings.log_max_bytes,
        backupCount=settings.log_backups,
        encoding="utf-8",
        echo=sys.stderr,
    )
    setattr(handler, "articles_api", True)  # noqa: B010 (marks the handler we own)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # connexion logs request bodies (passwords included) on validation failures, even in debug,
    # and a warning on every request to an operation with several media types; web.problems logs
    # each failure once, without the input.
    logging.getLogger("connexion").setLevel(logging.ERROR)
