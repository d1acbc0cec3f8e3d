"""Logging to a rotated log file and stderr, as text or JSON lines, stamped with request ids."""

from __future__ import annotations

import json
import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from settings import Settings
from web.requests import RequestIdFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class _FormatsOnce(logging.Formatter):
    """The log file and stderr get the same line: each record is formatted once, not once per
    handler (and once more by RotatingFileHandler's size check)."""

    def format(self, record: logging.LogRecord) -> str:
        key = f"_articles_api_line_{id(self)}"
        line: str | None = record.__dict__.get(key)
        if line is None:
            line = self.format_once(record)
            record.__dict__[key] = line
        return line

    def format_once(self, record: logging.LogRecord) -> str:
        return super().format(record)


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
    """RotatingFileHandler, without its two `stat` calls and extra format per record: whether
    the file is a regular one (bpo-45401: nothing else is rotated) is checked when it opens."""

    regular = True

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


def configure(settings: Settings) -> None:
    """Send the service's logs to `settings.log_file` and stderr, replacing earlier set-ups."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "articles_api", False)]:
        root.removeHandler(handler)
        handler.close()
    Path(settings.log_file).parent.mkdir(parents=True, exist_ok=True)
    formatter = JSONLines() if settings.log_format == "json" else TextLines()
    file_handler = RotatingFile(
        settings.log_file,
        maxBytes=settings.log_max_bytes,
        backupCount=settings.log_backups,
        encoding="utf-8",
    )
    for handler in (file_handler, logging.StreamHandler()):
        setattr(handler, "articles_api", True)  # noqa: B010 (marks the handlers we own)
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Nothing we format names a source line, thread or process: skip looking them up on every
    # record (the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # connexion logs request bodies (passwords included) on validation failures, even in debug,
    # and a warning on every request to an operation with several media types; web.problems logs
    # each failure once, without the input.
    logging.getLogger("connexion").setLevel(logging.ERROR)
