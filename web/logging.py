"""Logging to a rotated log file and stderr, as text or JSON lines, stamped with request ids."""

from __future__ import annotations

import json
import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from settings import Settings
from web.requests import RequestIdFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class JSONLines(logging.Formatter):
    """One JSON object per line: time, level, request id, logger, message, and the request's
    method, path, status and duration on access lines."""

    def format(self, record: logging.LogRecord) -> str:
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


def configure(settings: Settings) -> None:
    """Send the service's logs to `settings.log_file` and stderr, replacing earlier set-ups."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "articles_api", False)]:
        root.removeHandler(handler)
        handler.close()
    Path(settings.log_file).parent.mkdir(parents=True, exist_ok=True)
    formatter = JSONLines() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    file_handler = RotatingFileHandler(
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
