"""The columns each CSV ingest kind expects, and the one warning for a header row that has
none of them (a wrong file, a wrong kind, or an encoding ingest cannot read, such as
UTF-16): the worker dead-letters each of its rows, and this says why once per file."""

from __future__ import annotations

from collections.abc import Sequence

from streams.domain.inventory.rows import COLUMNS as INVENTORY_COLUMNS
from streams.domain.inventory.rows import check_columns
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.models.rates import RateRow
from streams.domain.models.trades import Confirmation, Trade
from streams.formats.records import cut

EXPECTED: dict[str, tuple[str, ...]] = {
    "pos": tuple(SaleLine.model_fields),
    "promotions": tuple(Agreement.model_fields),
    "trades": tuple(Trade.model_fields),
    "confirmations": tuple(Confirmation.model_fields),
    "rates": tuple(RateRow.model_fields),
    "inventory": INVENTORY_COLUMNS,
}
FOUND_MAX = 300  # characters of the found columns quoted in the warning


def header_warning(kind: str, source_file: str, columns: Sequence[str]) -> str | None:
    """The warning for a ``kind`` file whose header ``columns`` has none of the expected
    ones; None if it has one at least (the worker names what is missing per record), or
    if ``kind`` has no header (X12)."""
    expected = EXPECTED.get(kind)
    if kind == "inventory":  # its columns are exact: extra ones are forbidden too
        problem = check_columns(list(columns))
        if problem is None:
            return None
        return (
            f"{source_file}: the header row is not the manifest's columns "
            f"({', '.join(INVENTORY_COLUMNS)}): {problem}: each row will be quarantined "
            "as schema_violation"
        )
    if expected is None or set(columns) & set(expected):
        return None
    found = cut(", ".join(repr(name) for name in columns), FOUND_MAX)
    utf16 = any("\x00" in name for name in columns)
    hint = " (NUL characters: UTF-16? ingest reads UTF-8)" if utf16 else ""
    return (
        f"{source_file}: the header row has none of the {kind} columns (expected "
        f"{', '.join(expected)}; found {found}){hint}: each record will be dead-lettered "
        "as schema_violation"
    )
