"""The claims outbox: engine output staged per claim version, relayed to the results,
exceptions and ledger topics, and folded back by `recon claims export` into exactly the
engine's results (byte-identical when re-relayed)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from streams.domain.accrual.postings import merge_outbox
from streams.domain.claims import outbox
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimHeader
from streams.domain.claims.results import ClaimsOutput
from streams.domain.claims.rules import Tolerances
from streams.domain.state import BatchedState, DictState, encode
from streams.formats import avro
from streams.formats.claims import tolerances
from streams.kafka import topics as t
from streams.ops.claims import reconcile
from streams.ops.claims_export import ClaimsView, exception_doc_of, settlement_doc_of
from streams.relay.claims import claims_publishes
from streams.settings import Settings

pytestmark = pytest.mark.unit

SETTINGS = Settings(topic_prefix="p")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
POS, PROMOTIONS, CLAIMS = (EXAMPLES / n for n in ("pos.csv", "promotions.csv", "claims.csv"))


class FakeMessage:
    def __init__(self, key: bytes, value: bytes) -> None:
        self._key, self._value = key, value

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value

    def timestamp(self) -> tuple[int, int]:
        return 1, 1_767_225_600_000


def relayed(out: ClaimsOutput) -> list[tuple[str, bytes, bytes]]:
    handle = claims_publishes(SETTINGS)
    sent = []
    for key, entries in outbox.outbox_entries(out).items():
        msg = FakeMessage(key.encode(), encode({"out": entries}))
        sent += [(p.topic, p.key, p.value) for p in handle(msg)]  # type: ignore[arg-type]
    return sent


def fold(sent: list[tuple[str, bytes, bytes]]) -> ClaimsView:
    view = ClaimsView()
    for topic, _, value in sent:
        if topic == SETTINGS.topic(t.CLAIM_RESULTS):
            view.add(json.loads(value))
        elif topic == SETTINGS.topic(t.EXCEPTIONS):
            view.add(exception_doc_of(avro.decode("match_exception", value)))
        else:
            assert topic == SETTINGS.topic(t.LEDGER)
            view.add(settlement_doc_of(avro.decode("ledger_entry", value)))
    return view


def sample() -> ClaimsOutput:
    """Every output of the sample claims, as the engine emitted it."""
    from streams.ops import claims as offline

    outputs = ClaimsOutput()
    original = offline.ClaimsEngine.settle

    def capture(self: offline.ClaimsEngine) -> ClaimsOutput:
        out = original(self)
        outputs.extend(out)
        return out

    offline.ClaimsEngine.settle = capture  # type: ignore[method-assign]
    try:
        reconcile(POS, PROMOTIONS, CLAIMS, tolerances(SETTINGS))
    finally:
        offline.ClaimsEngine.settle = original  # type: ignore[method-assign]
    return outputs


def test_relayed_outputs_fold_back_to_the_engine_results() -> None:
    out = sample()
    expected = reconcile(POS, PROMOTIONS, CLAIMS, tolerances(SETTINGS))
    view = fold(relayed(out))
    assert view.sorted_results() == expected.results
    settled = view.settled()
    for r in expected.results:
        assert settled.get((r.claim_id, r.version), Decimal(0)) == r.settled
    assert any(r.settled for r in expected.results), "the sample must settle something"
    assert {s.entry_id for s in out.settlements} == set(view.settlements)
    opened = {e.exception_id for e in view.open_exceptions()}
    assert opened and all(view.exceptions[i].kind.value.startswith("claim_") for i in opened)


def test_a_re_relayed_entry_is_byte_identical() -> None:
    out = sample()
    assert relayed(out) == relayed(out)


def test_other_rows_of_the_state_are_not_relayed_here() -> None:
    handle = claims_publishes(SETTINGS)
    assert handle(FakeMessage(b"p:AGR|2026-01", encode({"out": [{}]}))) == []  # type: ignore[arg-type]


def test_two_writes_of_one_outbox_row_in_a_batch_keep_both_entries() -> None:
    class Batched(BatchedState):
        def _read(self, raw_key: bytes) -> bytes | None:
            return None

    result = sample().results[0]
    state = Batched(merge_outbox)
    once = ClaimsOutput(results=[result])
    assert outbox.stage(state, outbox.outbox_entries(once)) == 1
    outbox.stage(state, outbox.outbox_entries(once))
    row = state.get(outbox.outbox_key(result.claim_id, result.version))
    assert row is not None and row["out"] == 2 * [outbox.result_doc(result)]


def test_the_next_write_of_a_version_document_does_not_carry_its_relayed_outputs() -> None:
    state = DictState()
    engine = ClaimsEngine(state, RebateStateFacts(state), Tolerances())
    header = ClaimHeader.model_validate(
        {"claim_id": "C1", "version": "1", "vendor_id": "V", "agreement_id": "A",
         "period": "2026-01", "claimed_amount": "5.00", "currency": "USD", "line_count": "1"}
    )  # fmt: skip
    engine.apply_header(header, "r1")
    assert outbox.stage(state, outbox.outbox_entries(engine.settle())) == 1  # its result
    key = outbox.outbox_key("C1", 1)
    assert [e["type"] for e in state.get(key)["out"]] == [outbox.RESULT]  # type: ignore[index]
    engine.apply_header(header.model_copy(update={"version": 2}), "r2")  # supersedes v1
    engine.settle()
    assert "out" not in state.get(key)  # type: ignore[operator]
