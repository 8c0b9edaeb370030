"""The fast validation path accepts only lines the model accepts, with equal values;
everything else is left to the model (which words the error)."""

from __future__ import annotations

import random

import pytest

from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.pos_fast import FIELDS, FastSales
from streams.errors import RecordError

pytestmark = pytest.mark.unit

COLUMNS = list(FIELDS)
VALID = ["T1", "1", "S1", "SKU-1", "V0001", "3", "12.50", "USD", "2026-01-05T10:00:00Z"]
# Per field, values that are canonical, merely unusual, or invalid: every combination of
# them must be accepted by both paths with equal values, or left to the model.
TRICKY: dict[str, list[str]] = {
    "txn_id": ["T9", "", " T1", "T 1", "Ünï", "x" * 300, "T\x00", "T\t"],
    "line_no": ["1", "2", "0", "-1", "01", "+1", " 1", "1.0", "1e2", "٣", "99999999999999999999"],
    "store_id": ["S2", "", "s 1"],
    "sku": ["SKU-2", "", '"SKU"', "SKU\r"],
    "vendor_id": ["V0002", "", "V 1"],
    "qty": ["0", "-3", "12", "-0", "+4", "03", "1.5", "", "12345678901234567890", "²"],
    "unit_price": [
        "0",
        "0.00",
        "12.5",
        "12.123456",
        "12.1234567",
        "-1.00",
        ".5",
        "5.",
        "1e3",
        "NaN",
        "١٢",
        "00012.50",
        "",
    ],
    "currency": ["EUR", "usd", "XXX", "ZZZ", "US", "GBP"],
    "sold_at": [
        "2026-01-05T10:00:00+02:00",
        "2026-01-05T23:30:00-05:00",
        "2026-02-30T10:00:00Z",
        "2026-01-05T10:00:00.123456Z",
        "2026-01-05T10:00:00.1234567Z",
        "2026-01-05T10:00Z",
        "2026-01-05 10:00:00Z",
        "2026-01-05T10:00:00",
        "2026-01-05",
        "2026-01-05T24:00:00Z",
        "2026-01-05T10:00:00+14:00",
        "2026-01-05T10:00:00+25:00",
        "2025-12-31T23:59:59-00:30",
        "1700000000",
    ],
}


def model(line: bytes, columns: list[str]) -> object:
    try:
        return to_model(SaleLine, columns, line, "line").facts()
    except RecordError as err:
        return err


def check(line: bytes, columns: list[str]) -> bool:
    fast = FastSales(columns).parse(line)
    if fast is None:
        return False
    assert fast == model(line, columns), line
    return True


def test_every_tricky_value_alone() -> None:
    accepted = 0
    for n, name in enumerate(COLUMNS):
        for value in TRICKY[name]:
            fields = list(VALID)
            fields[n] = value
            accepted += check(",".join(fields).encode(), COLUMNS)
    assert accepted > 20  # the canonical variants do take the fast path


def test_random_combinations_and_column_orders() -> None:
    rng = random.Random(20261206)
    accepted = 0
    for _ in range(4000):
        order = list(COLUMNS)
        if rng.random() < 0.3:
            rng.shuffle(order)
        values = {
            name: rng.choice(TRICKY[name]) if rng.random() < 0.4 else VALID[COLUMNS.index(name)]
            for name in COLUMNS
        }
        line = ",".join(values[name] for name in order).encode()
        accepted += check(line, order)
    assert accepted > 200  # about 7 % of the combinations are canonical


def test_bytes_that_are_not_a_canonical_line_go_to_the_model() -> None:
    fast = FastSales(COLUMNS)
    line = ",".join(VALID).encode()
    for broken in (line + b",extra", line[:-3], b"\xff" + line, line.replace(b",", b";"),
                   b'"T1"' + line[2:], line + b"\r"):  # fmt: skip
        assert fast.parse(broken) is None
    assert FastSales(parse_columns("txn_id,line_no,store_id")).parse(line) is None
    assert FastSales([*COLUMNS[:-1], "sold_on"]).parse(line) is None
