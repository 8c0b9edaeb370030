"""`recon` as a real process: `recon deliver TARGET` killed with SIGKILL or stopped with
SIGTERM, one-shot commands run to their end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from streams.settings import Settings
from streams.tools.batch import worker_env


def recon(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """A one-shot `recon` command with exactly these settings, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Deliverer:
    """`recon deliver TARGET` in its own process group (SIGKILL takes every thread)."""

    def __init__(self, settings: Settings, target: str, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams", "deliver", target, "--metrics-port", "0"],
                env=worker_env(settings),
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill_9(self) -> None:
        assert self.alive(), f"recon deliver died on its own: see {self.log}"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def reap(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
