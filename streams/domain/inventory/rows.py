"""One row of a lab inventory manifest, validated strictly (docs/inventory.md).

Every failure is a ``schema_violation`` of the row (docs/domain.md §9.2): quarantine holds
the row with each failing field, its value and the rule. Values are normalised (grant
code and location upper case, surrounding whitespace dropped) so that the same row
written differently has the same content hash.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from streams.domain.models.parsing import column_problem
from streams.errors import Category, RecordError, Stage

COLUMNS: tuple[str, ...] = (
    "asset_id",
    "grant_code",
    "category",
    "quantity",
    "location",
    "acquisition_date",
)
GRANT_PREFIXES: tuple[str, ...] = ("NIH", "NSF", "DOE", "DOD", "EPA")
GRANT_RE = re.compile(r"^(NIH|NSF|DOE|DOD|EPA)-[A-Z0-9][A-Z0-9-]{0,39}$")
# building-room-shelf: a building code of 2-8 letters or digits starting with a letter, a
# room of 1-6 letters or digits, a shelf (or bay) of 1-6.
LOCATION_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}-[A-Z0-9]{1,6}-[A-Z0-9]{1,6}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
QUANTITY_RE = re.compile(r"^\d{1,12}$")
ASSET_RE = re.compile(r"^[^\s:,][^:,]{0,63}$")  # ':' separates the asset key's parts


def _grant(value: object) -> object:
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    if not GRANT_RE.match(code):
        raise PydanticCustomError(
            "grant_code",
            "grant code must be one of {prefixes} then '-' and letters or digits, got '{value}'",
            {"value": value, "prefixes": ", ".join(p + "-" for p in GRANT_PREFIXES)},
        )
    return code


def _location(value: object) -> object:
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    if not LOCATION_RE.match(code):
        raise PydanticCustomError(
            "location",
            "location must be building-room-shelf (e.g. CHEM-214-S3), got '{value}'",
            {"value": value},
        )
    return code


def _quantity(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if not QUANTITY_RE.match(text):
            raise PydanticCustomError(
                "quantity",
                "quantity must be a non-negative integer, got '{value}'",
                {"value": value},
            )
        return int(text)
    return value


def _date(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if not DATE_RE.match(text):
            raise PydanticCustomError(
                "acquisition_date",
                "acquisition date must be ISO 8601 YYYY-MM-DD, got '{value}'",
                {"value": value},
            )
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise PydanticCustomError(
                "acquisition_date", "no such date: '{value}'", {"value": value}
            ) from exc
    return value


def _category(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if not 1 <= len(text) <= 64:
            raise PydanticCustomError(
                "category", "category must be 1-64 characters, got '{value}'", {"value": value}
            )
        return text
    return value


def _asset(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if not ASSET_RE.match(text):
            raise PydanticCustomError(
                "asset_id",
                "asset id must be 1-64 characters without ':' or ',', got '{value}'",
                {"value": value},
            )
        return text
    return value


class InventoryRow(BaseModel):
    """A validated manifest row; field order is the manifest's column order."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    asset_id: Annotated[str, BeforeValidator(_asset)]
    grant_code: Annotated[str, BeforeValidator(_grant)]
    category: Annotated[str, BeforeValidator(_category)]
    quantity: Annotated[int, BeforeValidator(_quantity), Field(ge=0)]
    location: Annotated[str, BeforeValidator(_location)]
    acquisition_date: Annotated[date, BeforeValidator(_date)]

    @property
    def asset_key(self) -> str:
        """The asset's identity: ``asset_id:grant_code``."""
        return f"{self.asset_id}:{self.grant_code}"

    def normalised(self) -> dict[str, Any]:
        """The row's content in its one canonical form (JSON-ready)."""
        return {
            "asset_id": self.asset_id,
            "grant_code": self.grant_code,
            "category": self.category,
            "quantity": self.quantity,
            "location": self.location,
            "acquisition_date": self.acquisition_date.isoformat(),
        }

    def canonical(self) -> bytes:
        return orjson.dumps(self.normalised(), option=orjson.OPT_SORT_KEYS)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def grant_prefix(grant_code: str) -> str:
    """The institutional prefix of a grant code as written (``other`` if none is known),
    for metrics labels: bounded whatever the input."""
    head = grant_code.strip().upper()[:3]
    return head if head in GRANT_PREFIXES else "other"


def check_columns(columns: list[str] | tuple[str, ...]) -> str | None:
    """What is wrong with a manifest's header row (unknown, missing or repeated columns),
    or None if it is exactly the manifest's columns in any order."""
    problem = column_problem(columns, COLUMNS)
    return None if problem is None else problem[0]


def validate_row(
    columns: list[str] | tuple[str, ...], values: list[str], what: str
) -> InventoryRow:
    """Validate one manifest row given its file's header ``columns``; a RecordError
    (``schema_violation``) names every failing field with its value and rule."""
    problem = column_problem(columns, COLUMNS)
    if problem is not None:
        raise RecordError(
            Category.SCHEMA_VIOLATION,
            Stage.VALIDATE,
            f"{what}: the manifest's header is not {', '.join(COLUMNS)}: {problem[0]}",
            field=problem[1],
        )
    if len(values) != len(columns):
        raise RecordError(
            Category.SCHEMA_VIOLATION,
            Stage.PARSE,
            f"{what} has {len(values)} fields, the header has {len(columns)}",
        )
    data = dict(zip(columns, values, strict=True))
    try:
        return InventoryRow.model_validate(data)
    except ValidationError as exc:
        raise row_error(exc, data, what) from exc


def row_error(exc: ValidationError, data: dict[str, str], what: str) -> RecordError:
    """Every failing field in the manifest's column order: ``field name='value': rule``."""
    errors = sorted(
        exc.errors(include_url=False),
        key=lambda e: COLUMNS.index(str(e["loc"][0])) if e["loc"] else len(COLUMNS),
    )
    parts = []
    for e in errors:
        name = str(e["loc"][0]) if e["loc"] else "record"
        parts.append(f"field {name}={data.get(name)!r}: {e['msg']}")
    first = str(errors[0]["loc"][0]) if errors[0]["loc"] else None
    return RecordError(
        Category.SCHEMA_VIOLATION,
        Stage.VALIDATE,
        f"{what}: {'; '.join(parts)}",
        field=first,
        value=data.get(first) if first else None,
    )


def failing_fields(err: RecordError) -> list[str]:
    """The fields a row's error names, in column order (from its message)."""
    return [c for c in COLUMNS if f"field {c}=" in err.message]
