"""The demo's acknowledgements (docs/edi-controls.md): export the ``acks`` topic as X12
files (``recon edi acks export``), print one row per ack and check that every functional
group a partner sent in the sample X12 files got exactly one 997/999.

The expected groups are read from the sample files with the envelope reader alone (GS
segments, not the ack code under test); the acks are read back from the exported files.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from streams.formats.x12 import X12Reader
from streams.formats.x12.ack_x12 import ack_type, read_functional_ack
from streams.formats.x12.sets import TransactionSet
from streams.formats.x12.tokenizer import Segment, Tokenizer
from streams.ops.acks import export_acks
from streams.ops.matches import own_parties
from streams.settings import Settings

FUNCTIONAL_ACK = "FA"  # the functional id of 997/999 groups: acks are not acknowledged


@dataclass(frozen=True)
class AckRow:
    partner: str
    type: str  # 997, 999 or TA1
    control: str  # the ISA13 we gave it
    status: str  # AK9/IK9 status (A, E, P, R...) or TA104
    groups: tuple[tuple[str, str], ...]  # (functional id, GS06) of the groups it acknowledges


def _group(fid: str, control: str) -> tuple[str, str]:
    return fid, str(int(control)) if control.isdigit() else control


def expected_groups(
    paths: Iterable[Path], own: frozenset[str]
) -> Counter[tuple[str, str, str, str]]:
    """(partner, ack type, functional id, GS06) of every group a partner sent in the files
    (a group we sent, or an FA group, is owed no ack), one per group of each interchange
    (the same interchange twice is acknowledged once). Read from the ISA and GS segments
    alone: a group whose sets are all broken is owed an ack too."""
    seen: set[tuple[str, str, str, str, str]] = set()
    for path in paths:
        with path.open("rb") as f:
            sender = isa_control = ""
            for token in Tokenizer(f):
                if not isinstance(token, Segment):
                    continue
                if token.id == "ISA":
                    sender, isa_control = token.get(6), token.get(13)
                elif token.id == "GS" and sender not in own and token.get(1) != FUNCTIONAL_ACK:
                    fid, control = _group(token.get(1), token.get(6))
                    seen.add((sender, isa_control, ack_type(token.get(8)), fid, control))
    return Counter((partner, kind, fid, gs06) for partner, _, kind, fid, gs06 in seen)


def _ta1_status(raw: bytes) -> str:
    text = raw.decode("ascii", "replace")
    if len(text) < 106 or not text.startswith("ISA"):
        return "?"
    element, terminator = text[3], text[105]
    for segment in text.split(terminator):
        fields = segment.strip().split(element)
        if fields[0] == "TA1" and len(fields) > 4:
            return fields[4]
    return "?"


def read_acks(root: Path) -> list[AckRow]:
    """The exported acks (``root/<partner>/<type>-<control>.x12``), read back."""
    rows = []
    for path in sorted(root.glob("*/*.x12")):
        partner, (kind, control) = path.parent.name, path.stem.split("-", 1)
        raw = path.read_bytes()
        if kind == "TA1":
            rows.append(AckRow(partner, kind, str(int(control)), _ta1_status(raw), ()))
            continue
        with path.open("rb") as f:
            sets = [s for s in X12Reader(f) if isinstance(s, TransactionSet)]
        acked = [g for ts in sets for g in read_functional_ack(ts)]
        rows.append(
            AckRow(
                partner,
                sets[0].set_id if sets else kind,
                str(int(control)),
                "/".join(sorted({g["status"] or "?" for g in acked})) or "?",
                tuple(_group(g["fid"], g["control"]) for g in acked),
            )
        )
    return rows


def check_acks(rows: list[AckRow], expected: Counter[tuple[str, str, str, str]]) -> list[str]:
    """Differences: a partner group with no ack, with more than one, or an ack for a group
    the files do not have."""
    got = Counter(
        (row.partner, row.type, fid, gs06)
        for row in rows
        if row.type != "TA1"
        for fid, gs06 in row.groups
    )
    problems = []
    for key in sorted(expected.keys() | got.keys()):
        partner, kind, fid, gs06 = key
        if got[key] != expected[key]:
            problems.append(
                f"acks: group {fid} {gs06} from {partner} got {got[key]} {kind}(s), "
                f"expected {expected[key]}"
            )
    return problems


def acks_report(
    settings: Settings, edi_files: Iterable[Path], out_dir: Path, console: Console
) -> list[str]:
    """Export the acks to ``out_dir/acks``, print them, return the differences."""
    root = out_dir / "acks"
    shutil.rmtree(root, ignore_errors=True)  # an earlier run's files would count twice
    export = export_acks(settings, root)
    rows = read_acks(root)
    table = Table("partner", "type", "control number", "status", "groups", title="Acknowledgements")
    for row in rows:
        groups = ", ".join(f"{fid} {gs06}" for fid, gs06 in row.groups)
        table.add_row(row.partner, row.type, row.control, row.status, groups)
    console.print(table)
    console.print(f"{export.files} ack file(s) from {export.messages} message(s) in {root}/")
    return check_acks(rows, expected_groups(edi_files, frozenset(own_parties(settings))))
