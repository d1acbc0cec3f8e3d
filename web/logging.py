"""Logging to a rotated log file and stderr, as text or JSON lines, stamped with request ids."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, TextIO

from settings import Settings
from web.requests import RequestIdFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


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
        return super().format(record)

    _stamp: tuple[str | None, int, str] = (None, -1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """logging's formatTime, with the strftime part made once per second, not per record."""
        fmt, second, stamp = self._stamp
        if fmt != datefmt or second != int(record.created):
            fmt, second = datefmt, int(record.created)
            stamp = time.strftime(datefmt or self.default_time_format, self.converter(second))
            self._stamp = (fmt, second, stamp)
        if datefmt:
            return stamp
        return f"{stamp},{int(record.msecs):03d}"  # logging's default_msec_format


class TextLines(_FormatsOnce):
    """TEXT_FORMAT lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)


class JSONLines(_FormatsOnce):
    """One JSON object per line: time, level, request id, logger, message, and the request's
    method, path, status and duration on access lines."""

    def format_once(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "request_id": getattr(record, "request_id", "-"),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "http", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


class RotatingFile(RotatingFileHandler):
    """RotatingFileHandler that also echoes each line to a stream (stderr): one handler, so one
    lock, one filter and one format per record. Without RotatingFileHandler's two `stat` calls
    per record: whether the file is a regular one (bpo-45401: nothing else is rotated) is
    checked when it opens."""

    regular = True

    def __init__(self, *args: Any, echo: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.echo = echo

    def _open(self) -> Any:
        stream = super()._open()
        self.regular = os.path.isfile(self.baseFilename)
        return stream

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 (logging's name)
        if self.stream is None:  # opened lazily, or closed by an earlier rollover
            self.stream = self._open()
        if self.maxBytes <= 0 or not self.regular:
            return False
        end: int = self.stream.seek(0, os.SEEK_END)
        return end + len(self.format(record)) + 1 >= self.maxBytes

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.shouldRollover(record):
                self.doRollover()
            if self.stream is None:
                self.stream = self._open()
            line = self.format(record) + self.terminator
            self.stream.write(line)
            self.stream.flush()
            if self.echo is not None:
                self.echo.write(line)
                self.echo.flush()
        except RecursionError:  # as logging.StreamHandler.emit
            raise
        except Exception:
            self.handleError(record)


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
    # Nothing we format names a source line: skip walking the stack for it on every record (the
    # logging HOWTO's "Optimization" section). Thread and process stay: gunicorn's own handlers
    # format `%(process)d`, which fails on a record without one.
    logging._srcfile = None
    # connexion logs request bodies (passwords included) on validation failures, even in debug,
    # and a warning on every request to an operation with several media types; web.problems logs
    # each failure once, without the input.
    logging.getLogger("connexion").setLevel(logging.ERROR)
