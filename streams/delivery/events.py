"""Match and exception events as targets store them: what each is about, its state, and
the whole record as JSON (decimals as strings, times in ISO 8601)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from streams.delivery.target import Entry

# Per event schema: the field naming what the event is about, and the field of its state.
SUBJECTS = {"match": "pair_id", "document_match": "match_id", "match_exception": "exception_id"}
STATES = {"match": "event", "document_match": "event", "match_exception": "status"}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def event_json(e: Entry) -> str:
    return json.dumps(e.record, default=_json_value, sort_keys=True)


def subject_of(e: Entry) -> str:
    return str(e.record[SUBJECTS[e.schema]])


def state_of(e: Entry) -> str:
    return str(e.record[STATES[e.schema]])
