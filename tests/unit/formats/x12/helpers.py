"""Shared helpers of the X12 tests: fixture paths, parsing bytes, building small interchanges."""

from __future__ import annotations

import io
from pathlib import Path

from streams.formats.x12 import Fault, ParsedDocument, X12Reader, parse_sets
from streams.formats.x12.tokenizer import CHUNK_SIZE

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "x12"

Item = ParsedDocument | Fault


def fixture(name: str) -> Path:
    return FIXTURES / name


def parse_bytes(data: bytes, chunk_size: int = CHUNK_SIZE) -> list[Item]:
    return list(parse_sets(X12Reader(io.BytesIO(data), chunk_size=chunk_size)))


def parse_fixture(name: str, chunk_size: int = CHUNK_SIZE) -> list[Item]:
    return parse_bytes(fixture(name).read_bytes(), chunk_size)


def docs(items: list[Item]) -> list[ParsedDocument]:
    return [item for item in items if isinstance(item, ParsedDocument)]


def faults(items: list[Item]) -> list[Fault]:
    return [item for item in items if isinstance(item, Fault)]


ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240321*1015*^*00501"
    "*{ctl:09d}*0*P*>"
)


def x12_set(set_id: str, body: str, control: str = "0001") -> list[str]:
    """ST, the body's lines (one segment each, ``*``-separated), and a correct SE."""
    segments = [f"ST*{set_id}*{control}", *body.strip().splitlines()]
    return [*segments, f"SE*{len(segments) + 1}*{control}"]


def interchange(*sets: list[str], control: int = 1, functional_id: str = "PO") -> bytes:
    """One interchange, one group holding ``sets``, ``~`` + newline terminated."""
    segments = [ISA.format(ctl=control)]
    segments.append(f"GS*{functional_id}*SENDER*RECEIVER*20240321*1015*{control}*X*004010")
    for s in sets:
        segments += s
    segments += [f"GE*{len(sets)}*{control}", f"IEA*1*{control:09d}"]
    return "".join(f"{s}~\n" for s in segments).encode()
