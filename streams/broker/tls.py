"""Throw-away TLS material for a secured local broker: a CA, a broker and a client certificate.

Generated with ``openssl`` (EC P-256 keys, PEM files that librdkafka and Python's ``ssl``
read directly). The broker reads its key from a PKCS#12 keystore (Kafka's file-based PEM
keystore insists on an encrypted key) and trusts the CA from a PEM truststore. Meant for
tests and local trials of ``SASL_SSL``; a real cluster's certificates come from its
operator.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from streams.errors import BrokerError

HOST_NAMES = ("127.0.0.1", "localhost")
VALID_DAYS = 2
_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


@dataclass(frozen=True)
class TlsFiles:
    """PEM files under one directory."""

    dir: Path
    keystore_password: str = field(repr=False)

    @property
    def ca(self) -> Path:
        """The CA certificate clients trust (``RECON_KAFKA_SSL_CA_FILE``)."""
        return self.dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def broker_keystore(self) -> Path:
        """The broker's key and certificate (PKCS#12, ``keystore_password``)."""
        return self.dir / "broker.p12"

    @property
    def client_cert(self) -> Path:
        return self.dir / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.dir / "client.key"

    @property
    def other_ca(self) -> Path:
        """A CA that signed nothing here: trusting only it must fail the handshake."""
        return self.dir / "other-ca.pem"


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise BrokerError("openssl was not found: install it to generate test certificates")
    proc = subprocess.run(
        [exe, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        raise BrokerError(f"openssl {args[0]} failed (exit {proc.returncode}): {proc.stderr}")


def _self_signed_ca(dir: Path, name: str, cn: str) -> None:
    _openssl(
        "req", "-x509", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.pem",
        "-days", str(VALID_DAYS), "-subj", f"/CN={cn}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=dir,
    )  # fmt: skip


def _signed(dir: Path, name: str, cn: str, extensions: str) -> None:
    _openssl(
        "req", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}",
        cwd=dir,
    )  # fmt: skip
    (dir / f"{name}.ext").write_text(extensions)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", str(VALID_DAYS), "-out", f"{name}.pem",
        "-extfile", f"{name}.ext", cwd=dir,
    )  # fmt: skip


def generate_tls_files(dir: Path) -> TlsFiles:
    """A fresh CA, a broker certificate for 127.0.0.1/localhost, a client certificate
    (CN=client, for mTLS) and an unrelated CA, all under ``dir``."""
    dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(dir, secrets.token_hex(16))
    _self_signed_ca(dir, "ca", "recon-streams test CA")
    _self_signed_ca(dir, "other-ca", "recon-streams untrusted CA")
    san = ",".join(f"IP:{h}" if h[0].isdigit() else f"DNS:{h}" for h in HOST_NAMES)
    # clientAuth too: the broker is a TLS client of itself (inter-broker listener), and
    # Kafka checks its keystore both ways when the listener requests client certificates.
    _signed(
        dir,
        "broker",
        "localhost",
        f"subjectAltName={san}\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    _signed(dir, "client", "client", "extendedKeyUsage=clientAuth\n")
    _openssl(
        "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-name", "broker",
        "-out", files.broker_keystore.name, "-passout", f"pass:{files.keystore_password}",
        cwd=dir,
    )  # fmt: skip
    for key in dir.glob("*.key"):
        key.chmod(0o600)
    return files
