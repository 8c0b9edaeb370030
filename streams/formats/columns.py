"""The field names of a CSV record: its ``recon-columns`` header (the file's header row,
set by ingest), parsed once per distinct header."""

from __future__ import annotations

from streams.domain.models.parsing import parse_columns
from streams.errors import Category, RecordError, Stage
from streams.formats import headers as h
from streams.formats.records import Source


class ColumnNames:
    def __init__(self) -> None:
        self._parsed: dict[str, list[str]] = {}

    def of(self, src: Source, what: str) -> list[str]:
        """The names of ``src``'s fields; a schema violation naming ``what`` (the record)
        if it has no header to name them."""
        header = src.headers.get(h.COLUMNS)
        if header is None:
            raise RecordError(
                Category.SCHEMA_VIOLATION,
                Stage.PARSE,
                f"{what}: no {h.COLUMNS} header, so its fields cannot be named "
                "(publish CSV with `recon ingest`)",
                field=h.COLUMNS,
            )
        names = self._parsed.get(header)
        if names is None:
            names = self._parsed[header] = parse_columns(header)
        return names
