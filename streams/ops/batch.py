"""Running the worker as a separate process for batch runs (demo, tests, benchmark)."""

from __future__ import annotations

import os
import subprocess
import sys

from streams.errors import ReconError
from streams.settings import Settings


def worker_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a `recon` subprocess use exactly these settings."""
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap,
            "RECON_TOPIC_PREFIX": settings.topic_prefix,
            "RECON_APP_ID": settings.app_id,
            "RECON_HOME": str(settings.home),
            "RECON_PARTITIONS": str(settings.partitions),
            "RECON_METRICS_HOST": settings.metrics_host,
            "RECON_METRICS_PORT": str(settings.metrics_port),
            "RECON_METRICS_INTERVAL_SECONDS": str(settings.metrics_interval_seconds),
            "RECON_LOG_FORMAT": settings.log_format,
            "RECON_DRAIN_TIMEOUT_SECONDS": str(settings.drain_timeout_seconds),
            "RECON_SESSION_TIMEOUT_SECONDS": str(settings.session_timeout_seconds),
            "RECON_DEDUPE_HORIZON_DAYS": str(settings.dedupe_horizon_days),
            "RECON_DEDUPE_PURGE_INTERVAL_SECONDS": str(settings.dedupe_purge_interval_seconds),
        }
    )
    return env


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "streams", "worker", *args]


def drain(settings: Settings, timeout: float = 600.0) -> None:
    """Run `recon worker --drain` to completion in its own process, as an operator would."""
    proc = subprocess.run(
        worker_command("--drain"), env=worker_env(settings), check=False, timeout=timeout
    )
    if proc.returncode != 0:
        raise ReconError(f"recon worker --drain exited with {proc.returncode}")
