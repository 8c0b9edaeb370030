"""Baseline (b): the rebate workload as a quixstreams application, written the way a
quixstreams user would write it.

Runs in its own virtualenv (``.venv-quix``: quixstreams pins confluent-kafka < 2.13 and
pydantic < 2.14, ours are newer) with this repository on PYTHONPATH, so it runs the same
per-record work as our worker (``streams.tools.bench.compute.RecordWork``): one
``RebateEngine`` for the life of the process, so agreements are validated once as they
arrive; per message the CSV line validated into the same pydantic model and applied; and
the same outputs as ours, Avro-encoded the same way with the same keys and headers: the
outcome of every record, a DLQ record for every bad line, the agreement records, and the
ledger entries. Its state is quixstreams' own: a RocksDB store per partition with its
changelog topic, which hands the engine the store of the message's key (the vendor; sales
and agreements are keyed and partitioned alike). It reads the raw topics ``recon ingest``
fills, one CSV line per message, as our worker does.

``python -m streams.tools.bench.quix_app BOOTSTRAP GROUP POS_TOPIC PROMO_TOPIC OUT_PREFIX
STATE_DIR``: the outputs go to ``OUT_PREFIX.outcome``, ``.dlq``, ``.ledger`` and
``.agreement``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from quixstreams import Application, State, message_context
from quixstreams.models.serializers import SerializationContext, Serializer

from streams.formats.records import source_of_message
from streams.tools.bench.compute import KINDS, Output, RecordWork

IDLE_STOP_SECONDS = 5.0


class MessageState:
    """The engine's KeyValueState: the quixstreams State of the message being processed
    (quixstreams passes one per message, scoped to its key)."""

    def __init__(self) -> None:
        self.state: State | None = None

    def get(self, key: str) -> dict[str, Any] | None:
        assert self.state is not None
        value: dict[str, Any] | None = self.state.get(key)
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        assert self.state is not None
        self.state.set(key, value)


class AvroPayload(Serializer):  # type: ignore[misc]
    """An Output's value, Avro-encoded already by the same code as ours."""

    def __call__(self, value: Output, ctx: SerializationContext) -> bytes:
        return value.value


def main(argv: list[str]) -> None:
    bootstrap, group, pos_topic, promo_topic, out_prefix, state_dir = argv
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        commit_interval=1.0,
    )
    pos = app.topic(pos_topic, value_deserializer="bytes", key_deserializer="bytes")
    promos = app.topic(promo_topic, value_deserializer="bytes", key_deserializer="bytes")
    topics = {
        kind: app.topic(
            f"{out_prefix}.{kind}", value_serializer=AvroPayload(), key_serializer="bytes"
        )
        for kind in KINDS
    }
    current = MessageState()
    work = RecordWork(current)  # one engine per process

    def process(
        value: bytes, key: bytes, timestamp: int, headers: Any, state: State
    ) -> list[Output]:
        ctx = message_context()
        current.state = state
        src = source_of_message(
            ctx.topic, ctx.partition, ctx.offset, key, value, headers, timestamp
        )
        outputs = work.sale(src) if ctx.topic == pos_topic else work.agreement(src)
        # No batches in a per-message apply: each sale's postings are settled at once,
        # one ledger entry per sale and (agreement, period) it counts towards.
        return outputs + work.settle()

    sdf = app.dataframe(pos).concat(app.dataframe(promos))
    sdf = sdf.apply(process, stateful=True, metadata=True, expand=True)
    sdf = sdf.set_headers(lambda out, key, timestamp, headers: out.headers)
    sdf.to_topic(lambda out, key, timestamp, headers: topics[out.kind], key=lambda out: out.key)
    app.run(timeout=IDLE_STOP_SECONDS, collect=False)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main(sys.argv[1:])
