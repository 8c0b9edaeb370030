"""Fetch the Kafka broker jars from Maven Central into a per-version cache, and run them.

The jars are named by ``deploy/kafka/pom.xml``; ``mvn dependency:copy-dependencies`` copies
them (and their transitive dependencies) into ``<cache>/kafka-<version>/lib``. Maven's own
``~/.m2`` cache makes every fetch after the first one fast and offline.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

from streams.errors import BrokerError

# The repo's deploy/kafka folder: the POM and the broker's logging config live there.
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
POM = DEPLOY_DIR / "pom.xml"
LOG4J_CONFIG = DEPLOY_DIR / "log4j2.yaml"

MARKER = ".complete"
FORMAT_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
MVN_TIMEOUT_SECONDS = 900.0
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/recon-streams``, by default ``~/.cache/recon-streams``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recon-streams"


def java_executable() -> str:
    """``$JAVA_HOME/bin/java`` if set, else ``java`` on PATH; BrokerError if neither exists."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError(
            "java was not found: install a Java 17+ runtime (e.g. `apt-get install "
            "openjdk-17-jre-headless`) or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster"
        )
    return found


def _pom_digest() -> str:
    # Written into the marker so that editing the POM (a new log4j, say) refetches the jars.
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _is_complete(base: Path, digest: str) -> bool:
    marker = base / MARKER
    return marker.is_file() and marker.read_text().strip() == digest and (base / "lib").is_dir()


def fetch_broker_jars(version: str) -> Path:
    """The lib folder holding Kafka ``version``'s broker jars, fetched on first use.

    Safe to call from several processes at once: the fetch runs under an exclusive file
    lock, and the marker file is written only after a complete copy, so a copy cut short
    is redone by the next caller.
    """
    if not _VERSION.match(version):
        raise BrokerError(f"invalid Kafka version {version!r}: expected e.g. 4.2.0")
    if not POM.is_file():
        raise BrokerError(
            f"{POM} is missing: run the local broker from a recon-streams source checkout, "
            "or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster"
        )
    java_executable()  # the jars are useless without Java: say so before a long download
    base = cache_root() / f"kafka-{version}"
    lib = base / "lib"
    digest = _pom_digest()
    if _is_complete(base, digest):
        return lib

    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "mvn was not found: install Maven (e.g. `apt-get install maven`) to fetch the "
            "Kafka broker jars, or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster"
        )
    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_complete(base, digest):  # another process fetched it while we waited
            return lib
        (base / MARKER).unlink(missing_ok=True)
        partial = base / "lib.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _run_mvn(mvn, version, partial)
        if not any(partial.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"mvn finished but {partial} holds no kafka_2.13 jar: check {POM}")
        shutil.rmtree(lib, ignore_errors=True)
        partial.rename(lib)
        (base / MARKER).write_text(digest + "\n")
    return lib


def _run_mvn(mvn: str, version: str, out_dir: Path) -> None:
    cmd = [
        mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(POM),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={out_dir}",
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=MVN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(
            f"mvn did not fetch the Kafka {version} jars within {MVN_TIMEOUT_SECONDS:.0f} s: "
            "check that Maven Central is reachable (proxy settings in ~/.m2/settings.xml)"
        ) from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-20:])
        raise BrokerError(
            f"mvn could not fetch the Kafka {version} broker jars (exit {proc.returncode}); "
            f"check the version exists on Maven Central and the network. mvn said:\n{tail}"
        )


def java_command(
    lib: Path, main_class: str, *args: str, jvm_options: Sequence[str] = ()
) -> list[str]:
    """``java`` running ``main_class`` on the jars of ``lib``, logging per log4j2.yaml."""
    return [
        java_executable(),
        *jvm_options,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{lib}/*",
        main_class,
        *args,
    ]


def new_cluster_id() -> str:
    """What ``kafka-storage.sh random-uuid`` prints (base64url, no padding), without a JVM."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka rejects ids that look like a command-line flag
            return cid


def format_storage(
    lib: Path, properties_file: Path, data_dir: Path, extra_args: Sequence[str] = ()
) -> None:
    """Format an empty KRaft log dir (static quorum voters, so no --standalone);
    ``extra_args`` such as ``--add-scram`` go to ``kafka-storage format``."""
    # Without meta.properties nothing in the data dir is usable: start it afresh.
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    # A one-shot tool: C1 only and the serial GC start it 2-3x faster on a busy machine.
    cmd = java_command(
        lib,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        new_cluster_id(),
        "-c",
        str(properties_file),
        *extra_args,
        jvm_options=FORMAT_JVM_OPTIONS,
    )
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-20:])
        raise BrokerError(
            f"formatting the broker storage in {data_dir} failed (exit {proc.returncode}); "
            f"delete {data_dir.parent} and retry. Kafka said:\n{tail}"
        )
