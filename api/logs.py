"""Logging for `serve`: uvicorn's text lines, or one JSON object a line on request.

`VOUCHER_LEDGER_LOG_FORMAT=json` switches every logger (ours, uvicorn's) to JSON through
python-json-logger; each record carries the id of the request it belongs to, the id the
operation log records too.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ledger.core.oplog import REQUEST_ID

LOG_FORMAT_ENV = "VOUCHER_LEDGER_LOG_FORMAT"
LOG_LEVEL_ENV = "VOUCHER_LEDGER_LOG_LEVEL"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the request being served, or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        # uvicorn's ANSI-coloured copy of the message has no place in a log file.
        record.__dict__.pop("color_message", None)
        return True


def json_logs() -> bool:
    """True when `VOUCHER_LEDGER_LOG_FORMAT=json`."""
    return os.environ.get(LOG_FORMAT_ENV, "text").strip().lower() == "json"


def uvicorn_log_config() -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn: every logger to stderr, text or JSON."""
    if json_logs():
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"levelname": "level", "name": "logger"},
            # An ISO 8601 UTC time under "time".
            "timestamp": "time",
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    level = os.environ.get(LOG_LEVEL_ENV, "INFO").upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "filters": ["request_id"], "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": "WARNING"},
        },
    }
