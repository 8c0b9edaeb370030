"""DLQ records built for the pipelines and for ingest (streams/formats/records.py)."""

from __future__ import annotations

import pytest

from streams.errors import Category, RecordError, Stage
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.records import ERROR_TEXT_MAX, Source, dlq_record

pytestmark = pytest.mark.unit


def source(offset: int, correlation_id: str, value: bytes = b"v") -> Source:
    return Source("t.raw.pos", 0, offset, b"k", value, {h.CORRELATION_ID: correlation_id})


def test_an_error_naming_a_huge_value_is_cut_so_the_dlq_record_stays_small() -> None:
    value = "9" * 900_000
    err = RecordError(
        Category.SCHEMA_VIOLATION, Stage.VALIDATE, f"pos.csv line 2: field qty={value!r}: bad"
    )
    _, payload = dlq_record(source(5, "run:2", value.encode()), err)
    rec = avro.decode("dlq_record", payload)
    assert len(rec["error"]) == ERROR_TEXT_MAX and rec["error"].endswith("…")
    assert rec["error"].startswith("pos.csv line 2: field qty='999")
    assert len(payload) < 900_000 + 2 * ERROR_TEXT_MAX  # the original, not the error twice


def test_a_short_error_is_kept_whole() -> None:
    err = RecordError(Category.PARSE_ERROR, Stage.PARSE, "pos.csv line 2 is empty")
    _, payload = dlq_record(source(5, "run:2"), err)
    assert avro.decode("dlq_record", payload)["error"] == "pos.csv line 2 is empty"


def test_dlq_ids_follow_the_position_or_for_ingest_dead_letters_the_correlation_id() -> None:
    err = RecordError(Category.OVERSIZED_RECORD, Stage.INGEST, "too large")
    same_position = {dlq_record(source(5, f"run:{line}"), err)[0] for line in (2, 3)}
    assert len(same_position) == 1  # a record reprocessed keeps its id
    never_published = {dlq_record(source(-1, f"run:{line}"), err)[0] for line in (2, 3)}
    assert len(never_published) == 2  # no offset: the line tells them apart
