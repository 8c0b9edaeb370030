"""The rebate pipeline's per-record work without Kafka: what the bare computation baseline
times and what the quixstreams baseline runs for each message.

For each raw record, what our worker decides and publishes for it: the CSV line parsed
into the pydantic model (``to_model``, as ``SalesProcessor.decide`` and
``AgreementsProcessor.decide`` do), applied by one ``RebateEngine`` that lives as long as
the process (so agreements are validated once, then taken from its cache), then the
record's outputs encoded as the worker's: its Avro outcome, its Avro DLQ record if it is
invalid, the agreement's master-data record, and one Avro ledger entry per posting (what
the outbox relay publishes), each with the headers ours carries.

Importable in ``.venv-quix`` too: nothing here imports Faust, confluent-kafka or
prometheus-client; the records come from ``streams.formats.records``, as the worker's and
the relay's do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from streams.domain.accrual.engine import RebateEngine, Result
from streams.domain.accrual.keys import write_rank
from streams.domain.accrual.postings import Posting, merge_outbox
from streams.domain.accrual.sales import SalesLines
from streams.domain.models.outcome import Outcome
from streams.domain.models.parsing import to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.state import BatchedState, DictState, KeyValueState
from streams.errors import RecordError
from streams.formats.chunks import chunk_of
from streams.formats.columns import ColumnNames
from streams.formats.records import (
    HeaderList,
    Source,
    agreement_record,
    dead_letter_message,
    ledger_message,
    now_utc,
    outcome_batch_record,
    outcome_record,
    poison_pill,
    record_ref,
)

# What each output is, i.e. which topic it goes to.
OUTCOME, DLQ, LEDGER, AGREEMENT = "outcome", "dlq", "ledger", "agreement"
KINDS = (OUTCOME, DLQ, LEDGER, AGREEMENT)


@dataclass(frozen=True)
class Output:
    """One message to publish: its kind (the topic), key, Avro value and headers."""

    kind: str
    key: bytes
    value: bytes
    headers: HeaderList


class WriteBehind(BatchedState):
    """``streams.runtime.state.batch.BatchTableState`` over a ``DictState`` instead of a
    Faust table: a posting row written twice keeps both outboxes, and ``flush`` encodes
    each written key once, in the worker's write order."""

    def __init__(self, store: DictState | None = None) -> None:
        super().__init__(merge_outbox, write_rank)
        self.store = store or DictState()

    def _read(self, raw_key: bytes) -> bytes | None:
        return self.store.data.get(raw_key.decode("utf-8"))

    def flush(self) -> int:
        writes = self.take_pending()
        for raw_key, raw in writes:
            self.store.data[raw_key.decode("utf-8")] = raw
        return len(writes)


class RecordWork:
    """One engine on ``state`` for the life of the process; ``sale`` and ``agreement``
    return every output of one raw record, as our worker would publish them. A sale folds
    into its (agreement, period) rows; ``settle`` posts the rows folded into since the
    last settle and returns their ledger entries (the worker settles once per batch and
    partition, before it writes the batch's state)."""

    def __init__(self, state: KeyValueState) -> None:
        self.engine = RebateEngine(state)
        self.lines = SalesLines(self.engine)
        self._column_names = ColumnNames()

    def sales_chunk(self, src: Source) -> list[Output]:
        """A chunked message of POS lines, as ``SalesProcessor.decide_chunk`` decides it
        and the sequence publishes it: a DLQ record per refused line, one outcome record
        for the chunk."""
        chunk = chunk_of(src)
        if chunk is None:
            return self.sale(src)
        try:
            results = self.lines.apply(self.columns(src), chunk)
        except RecordError as err:
            return [o for i in range(len(chunk)) for o in self.dead_letter(chunk.source(i), err)]
        except Exception:  # the worker's fallback: its lines one by one
            return [o for i in range(len(chunk)) for o in self.sale(chunk.source(i))]
        out: list[Output] = []
        ids, kinds, idems = [], [], []
        for i, result in enumerate(results):
            if isinstance(result, RecordError):
                out.append(Output(DLQ, *dead_letter_message(chunk.source(i), result)))
                outcome, idem = Outcome.DEAD_LETTERED.value, None
            else:
                outcome, idem = result[0].value, result[1]
            ids.append(chunk.record_id(i))
            kinds.append(outcome)
            idems.append(idem)
        value = outcome_batch_record(src, ids, chunk.lines, kinds, idems)
        out.append(
            Output(
                OUTCOME, chunk.correlation_id.encode(), value, src.trace_headers("outcome_batch")
            )
        )
        return out

    def sale(self, src: Source) -> list[Output]:
        try:
            model = to_model(SaleLine, self.columns(src), src.value, what(src))
            result = self.engine.apply_sale(model, record_ref(src))
        except RecordError as err:
            return self.dead_letter(src, err)
        except Exception as exc:  # a poison pill, as the worker treats it
            return self.dead_letter(src, poison_pill(exc))
        return self.outputs(src, result)

    def agreement(self, src: Source) -> list[Output]:
        try:
            model = to_model(Agreement, self.columns(src), src.value, what(src))
            result = self.engine.apply_agreement(model, record_ref(src))
        except RecordError as err:
            return self.dead_letter(src, err)
        except Exception as exc:
            return self.dead_letter(src, poison_pill(exc))
        out = []
        if result.agreement is not None:  # master data changed: its current version
            agr = result.agreement
            out.append(
                Output(
                    AGREEMENT,
                    agr.agreement_id.encode(),
                    agreement_record(agr, result.idempotency_key),
                    src.trace_headers("agreement"),
                )
            )
        return out + self.outputs(src, result)

    def settle(self) -> list[Output]:
        postings = self.engine.settle()
        if not postings:
            return []
        created = now_utc()
        return [self.entry(p, created) for p in postings]

    def outputs(self, src: Source, result: Result) -> list[Output]:
        out = [self.outcome(src, result.outcome, result.idempotency_key)]
        if result.postings:
            created = now_utc()
            out += [self.entry(p, created) for p in result.postings]
        return out

    @staticmethod
    def entry(p: Posting, created: datetime) -> Output:
        """A ledger entry as the outbox relay publishes it."""
        return Output(LEDGER, *ledger_message(p, created))

    @staticmethod
    def outcome(src: Source, outcome: Outcome, idem: str | None) -> Output:
        return Output(
            OUTCOME,
            src.correlation_id.encode(),
            outcome_record(src, outcome, idem),
            src.trace_headers("outcome"),
        )

    def dead_letter(self, src: Source, err: RecordError) -> list[Output]:
        """The DLQ record and the dead-lettered outcome (``RecordProcessor._dead_letter``)."""
        return [
            Output(DLQ, *dead_letter_message(src, err)),
            self.outcome(src, Outcome.DEAD_LETTERED, None),
        ]

    def columns(self, src: Source) -> list[str]:
        """The record's field names from its header, parsed once per distinct header."""
        return self._column_names.of(src, what(src))


def what(src: Source) -> str:
    return f"{src.source_file} line {src.line}"
