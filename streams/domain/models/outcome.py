"""The three outcomes of a record (docs/domain.md §1.1): read = applied + duplicate +
dead_lettered."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
