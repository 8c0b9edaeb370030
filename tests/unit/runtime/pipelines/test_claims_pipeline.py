"""The claims agent's per-partition engines and its sweep schedule."""

from __future__ import annotations

from typing import Any, cast

import pytest

from streams.domain.claims import refs
from streams.domain.claims.models import ClaimLine
from streams.domain.claims.rules import Tolerances
from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState
from streams.formats import chunks
from streams.formats import headers as h
from streams.formats.claims import COLUMNS, parse_claim_row
from streams.formats.records import source_of_message
from streams.observability.metrics import Metrics
from streams.runtime.decisions import Decision
from streams.runtime.pipelines.claims import ClaimEngines, ClaimsProcessor
from streams.runtime.state.batch import BatchTableState

pytestmark = pytest.mark.unit

TOL = Tolerances()


def engines() -> ClaimEngines:
    return ClaimEngines(cast("BatchTableState", cast("Any", object())), TOL)


def test_each_partition_has_its_own_engine_and_dirty_set() -> None:
    e = engines()
    assert e.of(0) is e.of(0)
    assert e.of(0) is not e.of(1)
    assert e.of(0).state is e.of(1).state  # one shared table, routed by the current event


def test_a_sweep_is_due_once_per_interval_per_partition_and_always_at_the_end() -> None:
    e = engines()
    assert e.sweep_due(0, 300, final=False)  # the first tick after a start sweeps
    assert not e.sweep_due(0, 300, final=False)
    assert e.sweep_due(1, 300, final=False)  # another partition's clock
    assert e.sweep_due(0, 300, final=True)  # the end of a drain
    assert e.sweep_due(0, 0.0, final=False)


class PlainState(DictState):
    output = None  # Faust's producer: the processor flushes nothing itself


def test_a_chunk_of_claim_rows_is_decided_row_by_row_in_order() -> None:
    engines = ClaimEngines(cast("BatchTableState", PlainState()), Tolerances())
    processor = ClaimsProcessor(engines, cast("Any", None), cast("Any", None), Metrics(), 300)
    rows = [
        (2, b"header,C1,1,V,A,2026-01,5.00,USD,2,,,,,,"),
        (3, b"line,C1,1,V,,,,,,T1,1,2026-01-02,S,1,1.00"),
        (4, b"line,C1,1,V,,,,,,T1,1,2026-01-02,S,1,1.00"),  # the same sale twice
        (5, b"header,C1,1,V,A,2026-13,5.00,USD,2,,,,,,"),  # a bad period
        (6, b"line,C1,1,V,,,,,,T2,1,2026-01-02,S,2,2.00"),
    ]
    value, framing = chunks.frame(rows)
    headers = [
        (h.CORRELATION_ID, b"run"),
        (h.RUN_ID, b"run"),
        (h.COLUMNS, ",".join(COLUMNS).encode()),
        *framing,
    ]
    chunk = chunks.chunk_of(source_of_message("raw.claims", 0, 7, b"V", value, headers))
    assert chunk is not None
    results = processor.decide_chunk(chunk)
    assert [r.outcome if isinstance(r, Decision) else r.category.value for r in results] == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.DUPLICATE,
        "invalid_value",
        Outcome.APPLIED,
    ]


def test_a_header_row_leaves_its_correlation_id_and_hop_trace_for_its_outputs() -> None:
    state = PlainState()
    processor = ClaimsProcessor(
        ClaimEngines(cast("BatchTableState", state), TOL), cast("Any", None),
        cast("Any", None), Metrics(), 300,
    )  # fmt: skip
    rows = [(2, b"header,C1,1,V,A,2026-01,5.00,USD,1,,,,,,"),
            (3, b"line,C1,1,V,,,,,,T1,1,2026-01-02,S,1,1.00")]  # fmt: skip
    value, framing = chunks.frame(rows)
    ingest_trace = "00-" + "ab" * 16 + "-00f067aa0ba902b7-01"
    headers = [
        (h.CORRELATION_ID, b"run"),
        (h.TRACEPARENT, ingest_trace.encode()),
        (h.COLUMNS, ",".join(COLUMNS).encode()),
        *framing,
    ]
    chunk = chunks.chunk_of(source_of_message("raw.claims", 0, 7, b"V", value, headers))
    assert chunk is not None
    processor.decide_chunk(chunk)
    ref = refs.header_ref(state, "C1", 1)
    assert ref == ["run:2", chunk.source(0).hop_traceparent]
    assert ref[1].split("-")[1] == "ab" * 16  # the ingest trace, the header row's hop span
    line = parse_claim_row(list(COLUMNS), rows[1][1], "claims.csv line 3")
    assert isinstance(line, ClaimLine)
    assert refs.line_ref(state, "C1", 1, line.sale_key) == "run:3"
