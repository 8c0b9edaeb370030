"""Structured logs: one JSON object per line when stderr is not a terminal, readable text
when it is. Record context (correlation id, topic/partition/offset, agent...) comes from
``extra=`` or from ``record_context`` (a contextvar set around each record's handling), so
every line logged while a record is processed carries it, whoever logs it.

Only names and positions are logged, never payloads: the DLQ holds the bytes.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["auto", "json", "text"]

# Context fields, in the order a JSON line shows them.
CONTEXT_FIELDS = (
    "correlation_id",
    "traceparent",
    "source_file",
    "line",
    "topic",
    "partition",
    "offset",
    "agent",
    "outcome",
    "category",
)
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "recon_log_context", default=None
)


@contextmanager
def record_context(**fields: Any) -> Iterator[None]:
    """Attach ``fields`` to every log line emitted inside the block (this task only)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Context of a log record: ``extra=`` wins over the active ``record_context``."""
    fields = dict(_context.get() or {})
    for name in CONTEXT_FIELDS:
        value = record.__dict__.get(name)
        if value is not None:
            fields[name] = value
    return {name: fields[name] for name in CONTEXT_FIELDS if fields.get(name) is not None}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **context_fields(record),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ctx = context_fields(record)
        if not ctx:
            return text
        first, newline, rest = text.partition("\n")
        pairs = " ".join(f"{k}={v}" for k, v in ctx.items())
        return f"{first}  [{pairs}]{newline}{rest}"


def use_json(fmt: LogFormat, stream: Any = None) -> bool:
    if fmt != "auto":
        return fmt == "json"
    isatty = getattr(stream or sys.stderr, "isatty", None)
    return not (isatty is not None and isatty())


def logging_config(level: int | str, fmt: LogFormat = "auto") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the whole process (the Faust worker takes it)."""
    formatter = JsonFormatter if use_json(fmt) else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"recon": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "recon",
                "level": level,
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def level_number(name: str) -> int:
    """Faust/mode level names (crit|error|warn|info|debug) to logging levels."""
    aliases = {"crit": "CRITICAL", "warn": "WARNING"}
    value = logging.getLevelName(aliases.get(name.lower(), name.upper()))
    if not isinstance(value, int):
        raise ValueError(f"log level {name!r}: expected crit|error|warn|info|debug")
    return value
