"""Logging to the log file and stderr, every line stamped with its request id."""

from __future__ import annotations

import logging
from pathlib import Path

from settings import Settings
from web.requests import RequestIdFilter

FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def configure(settings: Settings) -> None:
    """Send the service's logs to `settings.log_file` and stderr, replacing earlier set-ups."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "articles_api", False)]:
        root.removeHandler(handler)
        handler.close()
    Path(settings.log_file).parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(FORMAT)
    for handler in (
        logging.FileHandler(settings.log_file, encoding="utf-8"),
        logging.StreamHandler(),
    ):
        setattr(handler, "articles_api", True)  # noqa: B010 (marks the handlers we own)
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    # connexion logs request bodies (passwords included) on validation failures, even in debug,
    # and a warning on every request to an operation with several media types; web.problems logs
    # each failure once, without the input.
    logging.getLogger("connexion").setLevel(logging.ERROR)
