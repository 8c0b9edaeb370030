"""An evaluation with many line exceptions, or a large 849 answer, writes them in pages
(docs/claims.md, "Outputs"): every record it writes stays under a byte bound, whatever the
claim's size, and the relay publishes every event of every page with its trace references
and every set of the 849 as an interchange of its own."""

from __future__ import annotations

import io
from dataclasses import astuple
from datetime import date
from decimal import Decimal

import pytest

from streams.domain.claims import outbox, store
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.state import encode
from streams.formats.x12 import X12Reader
from streams.formats.x12.claims import LineVerdict, read_849, write_849
from streams.kafka import topics as t
from streams.relay.claims import PART_HEADER, claims_publishes
from streams.settings import Settings
from tests.unit.domain.claims.test_claims_engine import AGREEMENT, World
from tests.unit.relay.test_claims_relay import FakeMessage
from tests.unit.relay.test_claims_trace_headers import ids

pytestmark = pytest.mark.unit

SETTINGS = Settings(topic_prefix="p")
CLAIM = "CLM-2026-000000123"
# a line row's correlation id as the ingest gives it (a chunk's source id, then the line)
CID = "recon.raw.claims:11:000000000123456789-01J9Z3K8Q4X7:{}"
# measured: a line exception entry of these sizes encodes to under this many bytes
ENTRY_BYTES = 480


def long_line(i: int) -> ClaimLine:
    return ClaimLine(
        claim_id=CLAIM,
        version=1,
        vendor_id="V1",
        txn_id=f"TXN-2026-02-10-{i:010d}",
        line_no=1,
        sold_on=date(2026, 2, 10),
        sku="SKU-00001234",
        qty=12,
        amount=Decimal("1234.56"),
    )


def evaluate(lines: int, page_entries: int) -> tuple[World, dict[str, bytes]]:
    """Stage one evaluation of a claim whose every line fails; the records it writes."""
    w = World()
    w.feed(AGREEMENT)
    header = ClaimHeader(
        claim_id=CLAIM,
        version=1,
        agreement_id="A1",
        vendor_id="V1",
        period="2026-Q1",
        claimed_amount=Decimal("1000.00"),
        currency="USD",
        line_count=lines,
    )
    w.claims.apply_header(header, "recon.raw.claims:11:42")
    w.claims.apply_lines([(long_line(i), CID.format(i)) for i in range(lines)])
    before = dict(w.state.data)
    outbox.stage(w.state, outbox.outbox_entries(w.claims.settle()), page_entries)
    return w, {k: v for k, v in w.state.data.items() if before.get(k) != v}


def test_many_failing_lines_are_written_in_pages_each_under_a_byte_bound() -> None:
    lines, page = 1_100, 250
    w, written = evaluate(lines, page)
    bound = page * ENTRY_BYTES + 4_000  # a page, or the document with its small outputs
    relayed = [k for k in written if k.startswith(outbox.OUTBOX_PREFIXES)]
    assert len(relayed) == 1 + 5  # the version document and ceil(1,100 / 250) pages
    for key in relayed:
        assert len(written[key]) < bound, key
    # a line exception entry as written, trace reference included
    doc = w.state.get(outbox.page_key(CLAIM, 1, 1, 0))
    assert doc is not None and len(doc["out"]) == page
    per_entry = max(len(encode(e)) + 1 for e in doc["out"])
    assert per_entry < ENTRY_BYTES
    # nothing but the pages carries a line exception; the relay publishes each once
    handle = claims_publishes(SETTINGS)
    sent = []
    for key in relayed:
        sent += handle(FakeMessage(key.encode(), encode(w.state.get(key) or {})))  # type: ignore[arg-type]
    exceptions = [p for p in sent if p.topic == SETTINGS.topic(t.EXCEPTIONS)]
    line_events = {p.key for p in exceptions if "recon-claim" not in dict(p.headers)}
    assert len(line_events) == lines
    # each names its line row and the header row (``recon trace``)
    named = {tuple(ids(p)) for p in exceptions if "recon-claim" not in dict(p.headers)}
    assert named == {(CID.format(i), "recon.raw.claims:11:42") for i in range(lines)}
    assert sum(1 for p in sent if p.topic == SETTINGS.topic(t.CLAIM_RESULTS)) == 1


def test_few_failing_lines_stay_in_the_version_document() -> None:
    _, written = evaluate(20, 250)
    assert [k for k in written if k.startswith(outbox.PAGE_PREFIX)] == []


def test_the_default_page_stays_well_under_a_megabyte() -> None:
    assert Settings().claims_outbox_page_entries == outbox.PAGE_ENTRIES
    assert outbox.PAGE_ENTRIES * ENTRY_BYTES < 1_048_576 // 2
    # a document keeping a page of events and an 849 of one set stays under 1 MB too
    assert Settings().claims_849_part_bytes == outbox.RESPONSE_PART_BYTES
    assert outbox.PAGE_ENTRIES * ENTRY_BYTES + outbox.RESPONSE_PART_BYTES * 1.2 < 1_000_000


def test_the_next_write_of_the_version_empties_the_pages_of_the_last() -> None:
    w, _ = evaluate(600, 250)
    key = outbox.outbox_key(CLAIM, 1)
    doc = w.state.get(key)
    assert doc is not None and doc[outbox.PAGES] == [1, 3]
    doc["seq"] = 2  # the next evaluation: only a result this time
    w.state.put(key, doc)
    result = {**doc[outbox.OUT][-1], "seq": 2}
    outbox.stage(w.state, {key: [result]}, 250)
    assert [w.state.get(outbox.page_key(CLAIM, 1, 1, n)) for n in range(3)] == [{}, {}, {}]
    after = w.state.get(key)
    assert after is not None and outbox.PAGES not in after and after[outbox.OUT] == [result]


def test_a_large_849_goes_out_in_sets_each_in_a_page_with_its_own_control_number() -> None:
    lines, page, part_bytes = 3_000, 1_000, 40_000
    w = World()
    w.feed(AGREEMENT)
    w.claims.apply_header(
        ClaimHeader(claim_id=CLAIM, version=1, agreement_id="A1", vendor_id="V1",
                    period="2026-Q1", claimed_amount=Decimal("1000.00"), currency="USD",
                    line_count=lines),
        "recon.raw.claims:11:42",
    )  # fmt: skip
    w.claims.apply_lines([(long_line(i), CID.format(i)) for i in range(lines)])
    out = w.claims.settle()
    rows = outbox.outbox_entries(out)
    # what the claims agent adds for a version that came as an 844 (two answers: a second
    # vendor's numbers are its own)
    (r,) = out.results
    sold = [LineVerdict(*line) for line in store.lines_in_sale_order(w.state, CLAIM, 1)]
    sets = write_849(r, sold, part_bytes=part_bytes)
    assert len(sets) > 3
    rows[outbox.outbox_key(CLAIM, 1)] += outbox.response_docs(
        r, sets, store.next_controls(w.state, "V1", len(sets))
    )
    assert store.next_controls(w.state, "V2", 1) == 1
    before = dict(w.state.data)
    outbox.stage(w.state, rows, page)
    written = {k: v for k, v in w.state.data.items() if before.get(k) != v}
    relayed = [k for k in written if k.startswith(outbox.OUTBOX_PREFIXES)]
    assert len(relayed) == 1 + 3 + len(sets)  # the document, 3 pages of events, a page a set
    for key in relayed:
        assert len(written[key]) < page * ENTRY_BYTES + 4_000, key
    handle = claims_publishes(SETTINGS)
    sent = []
    for key in sorted(relayed, key=lambda k: (k.startswith(outbox.PAGE_PREFIX), k)):
        sent += handle(FakeMessage(key.encode(), encode(w.state.get(key) or {})))  # type: ignore[arg-type]
    answers = [p for p in sent if p.topic == SETTINGS.topic(t.CLAIM_RESPONSES)]
    assert len(answers) == len(sets)
    controls = [next(iter(X12Reader(io.BytesIO(p.value)))).interchange for p in answers]  # type: ignore[union-attr]
    assert len({c.control_number for c in controls}) == len(sets)  # type: ignore[union-attr]
    parts = {dict(p.headers)[PART_HEADER] for p in answers}
    assert parts == {f"{r.seq}:{k}/{len(sets)}".encode() for k in range(1, len(sets) + 1)}
    # read back in any order, the sets give every line's verdict once
    read = [read_849(ts) for p in answers for ts in X12Reader(io.BytesIO(p.value))]  # type: ignore[arg-type]
    got = sorted(astuple(v) for x in read for v in x.lines)
    assert got == sorted(astuple(v) for v in sold)
    assert {x.part[1] for x in read} == {len(sets)}
