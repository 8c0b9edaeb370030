"""Baseline (b): the same accrual workload as a quixstreams application.

Runs in its own virtualenv (``.venv-quix``: quixstreams pins confluent-kafka < 2.13 and
pydantic < 2.14, ours are newer) with this repository on PYTHONPATH, so it reuses the same
pure parts as our worker: CSV -> pydantic models and the rebate engine (tiers, periods,
dedupe marks, offset stamps), on a quixstreams RocksDB state store with its changelog.
It emits ledger postings only (no outcome or DLQ records), which favours it slightly.

``python -m streams.tools.bench.quix_app BOOTSTRAP GROUP POS_TOPIC PROMO_TOPIC OUT_TOPIC STATE_DIR``
"""

from __future__ import annotations

import json
import sys
from typing import Any

from quixstreams import Application, State, message_context

from streams.domain.accrual.engine import RebateEngine, RecordRef, posting_to_json
from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.errors import RecordError
from streams.formats import headers as h

IDLE_STOP_SECONDS = 5.0


class QuixState:
    """The engine's KeyValueState over quixstreams' per-key state (prefixed by vendor)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def get(self, key: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self.state.get(key)
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.state.set(key, value)


def process(
    value: bytes, key: Any, timestamp: int, headers: Any, state: State
) -> list[dict[str, str]]:
    meta = dict(headers or ())
    ctx = message_context()
    columns = parse_columns(meta[h.COLUMNS].decode())
    correlation = meta[h.CORRELATION_ID].decode()
    source, line = meta[h.SOURCE_FILE].decode(), int(meta[h.LINE])
    ref = RecordRef(correlation, ctx.offset, source, line)
    engine = RebateEngine(QuixState(state))
    try:
        if ctx.topic.endswith(".raw.pos"):
            result = engine.apply_sale(to_model(SaleLine, columns, value, source), ref)
        else:
            result = engine.apply_agreement(to_model(Agreement, columns, value, source), ref)
    except RecordError:
        return []  # dead-lettered (not published here)
    return [posting_to_json(p) for p in result.postings]


def main(argv: list[str]) -> None:
    bootstrap, group, pos_topic, promo_topic, out_topic, state_dir = argv
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        commit_interval=1.0,
    )
    pos = app.topic(pos_topic, value_deserializer="bytes", key_deserializer="bytes")
    promos = app.topic(promo_topic, value_deserializer="bytes", key_deserializer="bytes")
    out = app.topic(out_topic, value_serializer="json", key_serializer="bytes")
    sdf = app.dataframe(pos).concat(app.dataframe(promos))
    sdf = sdf.apply(process, stateful=True, metadata=True, expand=True)
    sdf.to_topic(out)
    app.run(timeout=IDLE_STOP_SECONDS, collect=False)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main(sys.argv[1:])
