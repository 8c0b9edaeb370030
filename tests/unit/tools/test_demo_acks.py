"""The demo's ack check: acks read back from exported files against the sample's groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.formats.x12 import X12Reader
from streams.formats.x12.ack_x12 import render_functional_ack, render_ta1
from streams.formats.x12.acks import AckCollector
from streams.tools.demo_acks import check_acks, expected_groups, read_acks

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SAMPLES = (EXAMPLES / "orders.edi", EXAMPLES / "freight.edi")
OWN = frozenset({"ACME-ENERGY"})  # the demo's own party: no X12 sender is ours


def export_like_the_worker(root: Path, skip: int = -1, twice: int = -1) -> None:
    """The acks the worker would send for the samples, written as the export writes them."""
    control = 0
    for path in SAMPLES:
        with path.open("rb") as f:
            collector = AckCollector(X12Reader(f), path.name)
            list(collector)
        for request in collector.take():
            control += 1
            if control - 1 == skip:
                continue
            partner = request["isa"]["sender"]
            render = render_ta1 if request["type"] == "interchange" else render_functional_ack
            raw = render(request, control, 1_700_000_000_000_000)
            kind = "TA1" if request["type"] == "interchange" else raw.split(b"ST*")[1][:3].decode()
            for n in range(2 if control - 1 == twice else 1):
                target = root / partner / f"{kind}-{control + 100 * n:09d}.x12"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(raw)


def test_the_samples_groups() -> None:
    assert sorted(expected_groups(SAMPLES, OWN).elements()) == [
        ("ACMERETAIL", "999", "PO", "1101"),
        ("FASTFREIGHT", "999", "IM", "3301"),
        ("WIDGETWORKS", "999", "IN", "2202"),
        ("WIDGETWORKS", "999", "IN", "2203"),  # its one set is broken: still acknowledged
        ("WIDGETWORKS", "999", "SH", "2201"),
    ]
    # a group we sent is owed no ack by us
    assert ("ACMERETAIL", "999", "PO", "1101") not in expected_groups(
        SAMPLES, frozenset({"ACMERETAIL"})
    )


def test_one_ack_per_group_reads_back_clean(tmp_path: Path) -> None:
    export_like_the_worker(tmp_path)
    rows = read_acks(tmp_path)
    assert [(r.partner, r.type, r.status) for r in rows][:1] == [("ACMERETAIL", "999", "A")]
    assert {r.type for r in rows} == {"999"}
    assert check_acks(rows, expected_groups(SAMPLES, OWN)) == []


def test_a_missing_and_a_doubled_ack_are_reported(tmp_path: Path) -> None:
    export_like_the_worker(tmp_path / "missing", skip=0)
    export_like_the_worker(tmp_path / "twice", twice=1)
    expected = expected_groups(SAMPLES, OWN)
    assert check_acks(read_acks(tmp_path / "missing"), expected) == [
        "acks: group PO 1101 from ACMERETAIL got 0 999(s), expected 1"
    ]
    (doubled,) = check_acks(read_acks(tmp_path / "twice"), expected)
    assert doubled.endswith("got 2 999(s), expected 1")


def test_a_ta1_reads_its_status(tmp_path: Path) -> None:
    text = (
        "ISA*00*          *00*          *ZZ*ACME           *ZZ*WW             *241104*0900*^*"
        "00501*000000007*0*P*>~TA1*000000001*241104*0900*R*023~IEA*0*000000007~"
    )
    (tmp_path / "WW").mkdir()
    (tmp_path / "WW" / "TA1-000000007.x12").write_text(text)
    (row,) = read_acks(tmp_path)
    assert (row.partner, row.type, row.control, row.status, row.groups) == (
        "WW",
        "TA1",
        "7",
        "R",
        (),
    )
