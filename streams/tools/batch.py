"""Running the worker as a separate process for batch runs (demo, tests, benchmark)."""

from __future__ import annotations

import os
import subprocess
import sys

from pydantic import SecretStr

from streams.errors import ReconError
from streams.settings import Settings


def worker_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a `recon` subprocess use exactly these settings: every field
    as its ``RECON_`` variable (a list kept by hand missed every setting added later, so
    overrides such as match tolerances never reached the worker)."""
    env = dict(os.environ)
    for name in Settings.model_fields:
        value = getattr(settings, name)
        var = f"RECON_{name.upper()}"
        if value is None:
            env.pop(var, None)
        elif isinstance(value, SecretStr):  # str() would pass on the mask, not the secret
            env[var] = value.get_secret_value()
        else:
            env[var] = str(value)
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap  # wins over RECON_BOOTSTRAP_SERVERS
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
