"""From a raw CSV record (bytes + its file's header) to a validated model, or a RecordError.

Categories follow docs/domain.md §2: bytes that are not a well-formed CSV record are a
``parse_error``; missing, unknown or mistyped fields a ``schema_violation``; a value that
breaks a business rule an ``invalid_value``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from streams.domain.models.fields import INVALID_VALUE
from streams.errors import Category, RecordError, Stage

M = TypeVar("M", bound=BaseModel)

# Characters the csv module gives a meaning beyond "split at commas" (quoting, record
# ends): a line with none of them takes the fast path.
_NEEDS_CSV = re.compile(r'["\r\n]')


def split_record(raw: bytes, what: str) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(
            Category.PARSE_ERROR,
            Stage.PARSE,
            f"{what} is not valid UTF-8 at byte {exc.start}: {raw[exc.start : exc.start + 8]!r}",
        ) from exc
    if text and not _NEEDS_CSV.search(text):
        return text.split(",")  # what the csv module returns for a line without quoting
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise RecordError(
            Category.PARSE_ERROR, Stage.PARSE, f"{what} is not valid CSV: {exc}"
        ) from exc
    if len(rows) != 1:
        raise RecordError(Category.PARSE_ERROR, Stage.PARSE, f"{what} is empty")
    return rows[0]


def parse_columns(header: str) -> list[str]:
    return [c.strip() for c in split_record(header.encode("utf-8"), "the header row")]


def column_problem(
    columns: Sequence[str], expected: Sequence[str], optional: Collection[str] = ()
) -> tuple[str, str] | None:
    """What is wrong with a header row against the ``expected`` columns (unknown, missing or
    repeated ones, any order accepted; those in ``optional`` may be absent) and the first
    column at fault; None if nothing."""
    unknown = [c for c in columns if c not in expected]
    missing = [c for c in expected if c not in columns and c not in optional]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    parts = []
    if unknown:
        parts.append(f"unknown column(s) {', '.join(unknown)}")
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if repeated:
        parts.append(f"repeated column(s) {', '.join(repeated)}")
    if not parts:
        return None
    return "; ".join(parts), (unknown or missing or repeated)[0]


def require_columns(
    columns: Sequence[str], expected: Sequence[str], what: str, optional: Collection[str] = ()
) -> None:
    """A schema violation naming the first column at fault if ``columns`` are not exactly
    the ``expected`` ones (less any ``optional`` ones)."""
    problem = column_problem(columns, expected, optional)
    if problem is not None:
        raise RecordError(
            Category.SCHEMA_VIOLATION, Stage.VALIDATE, f"{what}: {problem[0]}", field=problem[1]
        )


def row_of(columns: Sequence[str], raw: bytes, what: str) -> dict[str, str]:
    """The record's fields by column name, trimmed; a parse error if it has more or fewer
    fields than the header."""
    values = split_record(raw, what)
    if len(values) != len(columns):
        raise RecordError(
            Category.PARSE_ERROR,
            Stage.PARSE,
            f"{what} has {len(values)} fields, the header has {len(columns)}",
        )
    return {name: value.strip() for name, value in zip(columns, values, strict=True)}


def to_model(model: type[M], columns: list[str], raw: bytes, what: str) -> M:
    """Validate one CSV record against ``model`` (whose fields are the expected columns;
    those it lists in ``OPTIONAL_COLUMNS`` may be absent, and then take their default)."""
    optional: frozenset[str] = getattr(model, "OPTIONAL_COLUMNS", frozenset())
    require_columns(columns, list(model.model_fields), what, optional)
    data = row_of(columns, raw, what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, what) from exc


def validation_error(exc: ValidationError, data: dict[str, str], what: str) -> RecordError:
    """Name the first failing field, its value and the rule; rules first, then types."""
    errors = exc.errors(include_url=False)
    errors.sort(key=lambda e: e["type"] != INVALID_VALUE)
    first = errors[0]
    field = str(first["loc"][0]) if first["loc"] else None
    value = data.get(field) if field else None
    category = (
        Category.INVALID_VALUE if first["type"] == INVALID_VALUE else Category.SCHEMA_VIOLATION
    )
    where = f"field {field}={value!r}" if field else "record"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return RecordError(
        category, Stage.VALIDATE, f"{what}: {where}: {first['msg']}{more}", field=field, value=value
    )
