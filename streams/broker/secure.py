"""The local broker's ``SASL_SSL`` mode: TLS, SCRAM/PLAIN users and the standard authorizer.

A second broker instance (its own home and ports) for tests and local trials of a secured
cluster: one ``SASL_SSL`` listener for clients, with certificates generated at start
(streams/broker/tls.py), SCRAM users written into the metadata log when the storage is
formatted (``kafka-storage format --add-scram``), the same users for ``PLAIN``, and
``StandardAuthorizer`` with the admin user as super user, so that every other principal
needs ACLs (``recon topics acls``). The KRaft controller listener stays plaintext on the
loopback interface: its principal (``User:ANONYMOUS``) is a super user, as KRaft's own
traffic must be; clients never use that port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from streams.broker.tls import TlsFiles, generate_tls_files
from streams.errors import BrokerError
from streams.settings import Settings

LISTENER = "SASL_SSL"
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
INTER_BROKER_MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
_LOGIN_MODULES = {
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
}


@dataclass(frozen=True)
class SecureMode:
    """Users (name -> password) of a ``SASL_SSL`` broker; ``admin`` is the super user."""

    users: Mapping[str, str] = field(repr=False)
    admin: str = "admin"
    # A short-lived test broker: C1 alone starts it sooner and leaves the CPU to the
    # clients under test instead of C2 compiling for a peak it never reaches.
    jvm_options: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

    def __post_init__(self) -> None:
        if self.admin not in self.users:
            raise BrokerError(f"the super user {self.admin!r} needs a password in users")
        for name, password in self.users.items():
            # Both end up in a JAAS line and a --add-scram argument: keep them plain.
            if not (name.isidentifier() and password.isalnum()):
                raise BrokerError(f"user {name!r}: names [A-Za-z_0-9], passwords [A-Za-z0-9]")

    def tls_dir(self, broker_dir: Path) -> Path:
        return broker_dir / "tls"

    def tls(self, broker_dir: Path) -> TlsFiles:
        """Fresh certificates under the broker's dir (at every start: they are throw-away)."""
        return generate_tls_files(self.tls_dir(broker_dir))

    def server_properties(self, tls: TlsFiles, host: str, port: int, cport: int) -> str:
        jaas = {
            mech: f'{module} required username="{self.admin}" '
            f'password="{self.users[self.admin]}"'
            + (
                "".join(f' user_{n}="{p}"' for n, p in self.users.items())
                if mech == "PLAIN"
                else ""
            )
            + ";"
            for mech, module in _LOGIN_MODULES.items()
        }
        jaas_lines = "".join(
            f"listener.name.{LISTENER.lower()}.{mech.lower()}.sasl.jaas.config={line}\n"
            for mech, line in jaas.items()
        )
        return f"""\
listeners={LISTENER}://{host}:{port},CONTROLLER://{host}:{cport}
advertised.listeners={LISTENER}://{host}:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map={LISTENER}:{LISTENER},CONTROLLER:PLAINTEXT
inter.broker.listener.name={LISTENER}
sasl.enabled.mechanisms={",".join(MECHANISMS)}
sasl.mechanism.inter.broker.protocol={INTER_BROKER_MECHANISM}
{jaas_lines}ssl.keystore.type=PKCS12
ssl.keystore.location={tls.broker_keystore}
ssl.keystore.password={tls.keystore_password}
ssl.truststore.type=PEM
ssl.truststore.location={tls.ca}
listener.name.{LISTENER.lower()}.ssl.client.auth=required
authorizer.class.name={AUTHORIZER}
super.users=User:{self.admin};User:ANONYMOUS
allow.everyone.if.no.acl.found=false
"""

    def format_args(self) -> list[str]:
        """``--add-scram`` arguments of ``kafka-storage format``: every user, both SCRAMs."""
        args: list[str] = []
        for name, password in self.users.items():
            for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
                args += ["--add-scram", f"{mech}=[name={name},password={password}]"]
        return args

    def client_settings(self, settings: Settings, tls: TlsFiles, user: str) -> Settings:
        """``settings`` connecting to this broker as ``user``: SCRAM-SHA-512, trusting its
        CA, with the client certificate the listener requires (mTLS as well as SASL)."""
        return settings.with_overrides(
            bootstrap_servers=f"127.0.0.1:{settings.broker_port}",
            kafka_security_protocol=LISTENER,
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username=user,
            kafka_sasl_password=SecretStr(self.users[user]),
            kafka_ssl_ca_file=tls.ca,
            kafka_ssl_cert_file=tls.client_cert,
            kafka_ssl_key_file=tls.client_key,
        )
