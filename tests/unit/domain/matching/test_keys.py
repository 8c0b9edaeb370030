"""Ingest keys trades and confirmations by match group, the same key the matcher uses."""

from __future__ import annotations

import hashlib

import pytest

from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.trades import Confirmation, Trade
from streams.formats import headers as h
from streams.kafka.partitioner import keyer
from streams.runtime.pipelines.matching import record_id_key

pytestmark = pytest.mark.unit

HEADER = (
    "trade_id,version,buyer,seller,product,delivery_start,delivery_end,quantity,price,"
    "currency,trade_time,status"
)
ROW = (
    b"T1,1,ACME,NORD,DE-BASE,2026-04-01T00:00:00+02:00,2026-05-01T00:00:00+02:00,25,42.50,"
    b"EUR,2026-03-02T09:15:00Z,active"
)


def test_raw_key_is_the_model_group_key_whatever_the_offset_notation() -> None:
    columns = parse_columns(HEADER)
    key_of = keyer("trades", columns)
    trade = to_model(Trade, columns, ROW, "t")
    assert key_of(ROW) == trade.group_key.encode()
    utc = ROW.replace(b"2026-04-01T00:00:00+02:00", b"2026-03-31T22:00:00Z")
    assert key_of(utc) == key_of(ROW)
    confirm_columns = parse_columns(HEADER.replace("trade_id", "confirm_id"))
    confirmation = to_model(Confirmation, confirm_columns, ROW, "c")
    assert keyer("confirmations", confirm_columns)(ROW) == confirmation.group_key.encode()


def test_unreadable_rows_are_keyed_by_their_hash() -> None:
    key_of = keyer("trades", parse_columns(HEADER))
    short = b"T1,1,ACME"
    assert key_of(short) == hashlib.sha256(short).hexdigest().encode()
    assert keyer("trades", ["x"])(ROW) == hashlib.sha256(ROW).hexdigest().encode()
    assert keyer("pos", ["vendor_id"])(b"V1") == b"V1"


def test_stage_one_re_keys_by_record_id() -> None:
    headers = {h.FORMAT: "trades-csv", h.COLUMNS: HEADER}
    assert record_id_key(ROW, headers) == b"trade:T1"
    confirm = {h.FORMAT: "confirmations-csv", h.COLUMNS: HEADER.replace("trade_id", "confirm_id")}
    assert record_id_key(ROW, confirm) == b"confirmation:T1"
    assert record_id_key(ROW, {}) == hashlib.sha256(ROW).hexdigest().encode()
