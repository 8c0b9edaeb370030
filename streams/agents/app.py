"""The Faust app factory: topics, the state table and the agents, built from Settings."""

from __future__ import annotations

from typing import Any

import faust
from faust.types import StreamT

from streams.accrual.engine import RebateEngine
from streams.agents.outputs import Source
from streams.agents.rebates import OutputTopics, RebateProcessor, RecordKind
from streams.agents.table_state import TableState
from streams.ingest import headers as h
from streams.ops import topics as t
from streams.settings import Settings

PRODUCER_BUFFER_MESSAGES = 5_000


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap.split(",")],
        store="rocksdb://",
        datadir=str(settings.state_dir / "faust"),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_commit_interval=settings.commit_interval_seconds,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    # Faust applies backpressure on table writes above this many unsent messages; its default
    # of 100 stalls (and warns) several times a second under ordinary load.
    app.producer.buffer.max_messages = PRODUCER_BUFFER_MESSAGES
    state = app.Table(
        t.STATE_TABLE, partitions=settings.partitions, key_type=bytes, value_type=bytes
    )

    def topic(name: str) -> faust.TopicT:
        return app.topic(
            settings.topic(name),
            partitions=settings.partitions,
            key_serializer="raw",
            value_serializer="raw",
        )

    processor = RebateProcessor(
        RebateEngine(TableState(state)),
        OutputTopics(outcomes=topic(t.OUTCOMES), dlq=topic(t.DLQ), agreements=topic(t.AGREEMENTS)),
    )

    def agent_for(name: str, kind: RecordKind) -> None:
        source_topic = topic(name)

        async def process(stream: StreamT[Any]) -> None:
            async for event in stream.events():
                msg = event.message
                src = Source(
                    topic=msg.topic,
                    partition=msg.partition,
                    offset=msg.offset,
                    key=msg.key,
                    value=msg.value or b"",
                    headers=h.to_dict(msg.headers),
                )
                await processor.handle(src, kind)

        app.agent(source_topic, name=f"recon.{kind}")(process)

    # Both raw topics are keyed by vendor and co-partitioned, so a vendor's sales and its
    # agreements meet the same table partition.
    agent_for(t.RAW_POS, "pos")
    agent_for(t.RAW_PROMOTIONS, "promotions")
    return app
