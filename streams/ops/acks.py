"""`recon edi acks export --out DIR`: the acknowledgements we sent, as X12 files.

Every message of the ``acks`` topic becomes ``DIR/<partner>/<type>-<control>.x12`` (type
``997``, ``999`` or ``TA1``; control the ISA13 we gave it). A message relayed twice is
byte-identical (streams/relay/acks.py), so it is one file; two different messages under
one name would mean a control number given twice, and the export refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from streams.errors import ReconError
from streams.formats import headers as h
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.ops.replay import message_headers
from streams.relay.acks import ACK_CONTROL, ACK_TYPE
from streams.settings import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class AckExport:
    files: int
    messages: int
    by_type: dict[str, int]


def export_acks(settings: Settings, out: Path) -> AckExport:
    written: dict[Path, bytes] = {}
    messages = 0
    for msg in read_topic(settings, settings.topic(t.ACKS)):
        messages += 1
        headers = h.to_dict(message_headers(msg))
        partner = _UNSAFE.sub("_", (msg.key() or b"").decode("utf-8", "replace")) or "_"
        kind, control = headers.get(ACK_TYPE, "ack"), int(headers.get(ACK_CONTROL, "0"))
        path = out / partner / f"{_UNSAFE.sub('_', kind)}-{control:09d}.x12"
        value = msg.value() or b""
        if path in written and written[path] != value:
            raise ReconError(f"two different acks to {partner} under control number {control}")
        written[path] = value
    by_type: dict[str, int] = {}
    for path, value in sorted(written.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)
        kind = path.name.split("-", 1)[0]
        by_type[kind] = by_type.get(kind, 0) + 1
    return AckExport(len(written), messages, by_type)
