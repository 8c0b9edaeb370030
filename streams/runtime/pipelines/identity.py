"""The identity stages of the three-way pipeline (docs/edi-controls.md, "Duplicate
invoices and freight bills"):

1. ``recon.edi`` routes ``raw.edi``: each 810 and 210 to ``threeway.identity`` keyed by
   its business identity (so every copy of an identity meets, whatever PO it names),
   everything else to ``threeway.input`` under the key it came with; untouched, headers
   included, no outcome.
2. ``recon.edi-identity`` decides each 810/210's outcome in the identity book
   (identities.py): the original is forwarded to ``threeway.input`` under its order's key
   (header ``recon-schema: edi_accepted``: applied there without an outcome of its own);
   an original arriving after a copy that took its place retracts that copy from its
   order (``edi_retract``) and revises its outcome to ``duplicate``.
"""

from __future__ import annotations

import json
from typing import Any

from faust.types import TopicT

from streams.domain.models.edi import FreightInvoice, Invoice, X12Document
from streams.domain.models.outcome import Outcome
from streams.domain.threeway.identities import IdentityBook, copy_of
from streams.domain.threeway.identity import Identity, as_state, identity_of
from streams.domain.threeway.summary import partition_key, summarize
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.records import Source
from streams.observability.metrics import Metrics
from streams.runtime.decisions import Decision, Revision, Send
from streams.runtime.pipelines.matching import ingested_micros
from streams.runtime.sequence import RecordProcessor

ACCEPTED = "edi_accepted"  # recon-schema of an original forwarded to its order
RETRACT = "edi_retract"  # recon-schema of a copy taken out of its order
IDENTIFIED: dict[str, Any] = {"810": Invoice, "210": FreightInvoice}


def identified(value: bytes) -> tuple[dict[str, Any], X12Document, Identity] | None:
    """The record, document and identity of a well-formed 810 or 210; None for anything
    else (other sets, broken sets, bytes that do not decode: the engine stage decides
    those, and dead-letters what is bad, as before)."""
    try:
        record = avro.decode("edi_document", value)
        model = IDENTIFIED.get(record["set_id"] or "")
        if record["error"] is not None or record["routing_key"] is None or model is None:
            return None
        doc = model.model_validate(json.loads(record["document"]))
    except Exception:  # not an identity document: routed on, decided (or dead-lettered) there
        return None
    ident = identity_of(doc, record["sender"] or "")
    return None if ident is None else (record, doc, ident)


def forwarded(src: Source, target: TopicT, key: bytes | None) -> Send:
    return Send(target, key, src.value, "forward", headers=list(src.raw_headers))


class EdiRecordProcessor(RecordProcessor):
    """A processor of ``raw.edi`` records: an X12 record is at a segment, not a line."""

    @staticmethod
    def what(src: Source) -> str:
        return f"{src.source_file} segment {src.line}"


class EdiRoute(EdiRecordProcessor):
    """Stage 1: 810s and 210s to the identity topic by identity, the rest to the engine."""

    def __init__(
        self, identities: TopicT, into: TopicT, outcomes: TopicT, dlq: TopicT, metrics: Metrics
    ) -> None:
        super().__init__(outcomes, dlq, metrics)
        self.identities, self.into = identities, into

    def decide(self, src: Source) -> Decision:
        found = identified(src.value)
        if found is None:
            return Decision(None, sends=[forwarded(src, self.into, src.key)])
        return Decision(None, sends=[forwarded(src, self.identities, found[2].key.encode())])


class IdentityProcessor(EdiRecordProcessor):
    """Stage 2: one outcome per 810/210, decided where all copies of its identity meet."""

    def __init__(
        self, book: IdentityBook, into: TopicT, outcomes: TopicT, dlq: TopicT, metrics: Metrics
    ) -> None:
        super().__init__(outcomes, dlq, metrics)
        self.book, self.into = book, into

    def decide(self, src: Source) -> Decision:
        found = identified(src.value)
        if found is None:  # routed here by an older route: the engine stage decides it
            return Decision(None, sends=[forwarded(src, self.into, src.key)])
        record, doc, ident = found
        summary = summarize(doc, record["sender"] or "", record["receiver"] or "")
        assert summary is not None  # 810 and 210 summarize
        idem, cid, ident_state = record["idempotency_key"], src.correlation_id, as_state(ident)
        where = (cid, src.source_file, src.file_sha256, src.line, src.record_format)
        key = record["routing_key"]
        pkey = partition_key(doc) or key
        copy = copy_of(
            summary, ident_state, idem, key, pkey, where, ingested_micros(src), src.hop_traceparent
        )
        verdict = self.book.apply(ident_state, copy, src.timestamp)
        decision = Decision(verdict.outcome, idem)
        old = verdict.retract
        if old is not None:
            gone = json.dumps({"key": old["key"], "idem": old["idem"]}, sort_keys=True)
            decision.sends.append(Send(self.into, old["pkey"].encode(), gone.encode(), RETRACT))
            ocid, file, sha, line, fmt = old["src"]
            decision.revisions.append(
                Revision(ocid, file, sha, line, fmt, Outcome.DUPLICATE, old["idem"])
            )
        if verdict.forward:
            headers = [
                (name, value)
                for name, value in src.raw_headers
                if name not in (avro.SCHEMA_HEADER, h.TRACEPARENT)
            ]
            headers += [
                (avro.SCHEMA_HEADER, ACCEPTED.encode()),
                (h.TRACEPARENT, src.hop_traceparent.encode()),
            ]
            send = Send(self.into, pkey.encode(), src.value, ACCEPTED, headers=headers)
            decision.sends.append(send)
        return decision
