"""Settings validation: the dedupe horizon, the record size limit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.settings import Settings

pytestmark = pytest.mark.unit


def test_default_horizon_covers_a_financial_year_and_an_audit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RECON_DEDUPE_HORIZON_DAYS", raising=False)
    settings = Settings()
    assert settings.dedupe_horizon_days == 800
    assert settings.dedupe_purge_interval_seconds == 3600.0


def test_horizon_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_DEDUPE_HORIZON_DAYS", "45")
    monkeypatch.setenv("RECON_DEDUPE_PURGE_INTERVAL_SECONDS", "2.5")
    settings = Settings()
    assert (settings.dedupe_horizon_days, settings.dedupe_purge_interval_seconds) == (45, 2.5)
    assert settings.with_overrides(partitions=3).dedupe_horizon_days == 45


@pytest.mark.parametrize("days", [0, 7, 800, 36_500])
def test_zero_or_a_week_and_more_are_accepted(days: int) -> None:
    assert Settings(dedupe_horizon_days=days).dedupe_horizon_days == days


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (3, r"dedupe_horizon_days=3: must be 0 \(keep every mark forever\) or at least 7"),
        (-1, "greater than or equal to 0"),
        (36_501, "less than or equal to 36500"),
    ],
)
def test_bad_horizons_are_refused(days: int, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(dedupe_horizon_days=days)


def test_purge_interval_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="dedupe_purge_interval_seconds"):
        Settings(dedupe_purge_interval_seconds=0)


def test_max_record_bytes_from_the_environment_within_its_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().max_record_bytes == 1_000_000
    monkeypatch.setenv("RECON_MAX_RECORD_BYTES", "200000")
    assert Settings().max_record_bytes == 200_000
    for refused in ("1000001", "65535"):  # over the producers' limit; under a dead letter
        monkeypatch.setenv("RECON_MAX_RECORD_BYTES", refused)
        with pytest.raises(ValidationError, match="max_record_bytes"):
            Settings()
