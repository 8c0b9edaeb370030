"""Ingest's side of the acknowledgements: the ack requests of an X12 file, keyed by partner.

`recon ingest edi` reads whole groups and interchanges, so it is where a group's sets and
trailer errors are known together (streams/formats/x12/acks.py). Each request is published
to the internal ``edi.acks.input`` topic as JSON, keyed by the partner (the party that is
not one of ours, ``RECON_MATCH_OWN_PARTIES``), so the worker meets all of a partner's
requests in one partition, where its control numbers and awaited groups live
(streams/domain/acks.py). The requests are not records of the file: they have no outcome
and are not counted in the manifest.
"""

from __future__ import annotations

import json
from typing import Any

from confluent_kafka import Producer

from streams.formats import avro
from streams.formats import headers as h
from streams.ingest.publishers import DeliveryTally, produce
from streams.kafka.topics import ACKS_INPUT
from streams.settings import Settings

SCHEMA = b"ack_request"


def own_parties(settings: Settings) -> frozenset[str]:
    return frozenset(p.strip() for p in settings.match_own_parties.split(",") if p.strip())


def partner_of(request: dict[str, Any], own: frozenset[str]) -> str:
    isa = request["isa"]
    return str(isa["receiver"] if isa["sender"] in own else isa["sender"])


class AckRequests:
    """Publishes the requests of one ingest run."""

    def __init__(
        self, settings: Settings, producer: Producer, run_id: str, ingested_at: str
    ) -> None:
        self.topic = settings.topic(ACKS_INPUT)
        self.own = own_parties(settings)
        self.producer = producer
        self.run_id = run_id.encode()
        self.ingested_at = ingested_at.encode()
        self.tally = DeliveryTally()
        self.published = 0

    def publish(self, requests: list[dict[str, Any]]) -> None:
        for request in requests:
            value = json.dumps(request, separators=(",", ":"), sort_keys=True).encode()
            headers: h.HeaderList = [
                (avro.SCHEMA_HEADER, SCHEMA),
                (h.RUN_ID, self.run_id),
                (h.SOURCE_FILE, str(request.get("source", "")).encode()),
                (h.INGESTED_AT, self.ingested_at),
            ]
            key = partner_of(request, self.own).encode()
            produce(self.producer, self.topic, key, value, headers, self.tally)
            self.published += 1
