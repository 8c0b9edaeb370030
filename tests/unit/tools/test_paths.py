"""Files the tools and the product find relative to their own module: a moved module must
still find them from a checkout."""

from __future__ import annotations

import pytest

from streams.broker.maven import DEPLOY_DIR
from streams.formats.avro import SCHEMA_DIRS
from streams.tools.demo import EDI_FILES, EXAMPLES

pytestmark = pytest.mark.unit


def test_the_demo_finds_its_examples() -> None:
    for name in ("pos.csv", "promotions.csv", "trades.csv", "confirmations.csv"):
        assert (EXAMPLES / name).is_file()
    assert all(path.is_file() for path in EDI_FILES)


def test_schemas_and_broker_files_are_found_from_a_checkout() -> None:
    assert (SCHEMA_DIRS[0] / "ledger_entry.avsc").is_file()
    assert (DEPLOY_DIR / "pom.xml").is_file()
