"""The local broker's SASL_SSL mode: its config, users and certificates — without Java."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from streams.broker import server as broker_server
from streams.broker.secure import AUTHORIZER, SecureMode
from streams.broker.server import LocalBroker
from streams.broker.tls import TlsFiles, generate_tls_files
from streams.errors import BrokerError
from streams.settings import Settings

pytestmark = pytest.mark.unit

USERS = {"admin": "adminpw", "worker": "workerpw"}


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return generate_tls_files(tmp_path_factory.mktemp("tls"))


def test_the_secure_listener_authenticates_encrypts_and_authorizes(
    tmp_path: Path, tls: TlsFiles
) -> None:
    settings = Settings(home=tmp_path, broker_port=40011, controller_port=40012)
    broker = LocalBroker(settings, SecureMode(USERS))
    broker._tls = tls  # what start() generates
    props = _properties(broker.render_server_properties())
    assert props["listeners"] == "SASL_SSL://127.0.0.1:40011,CONTROLLER://127.0.0.1:40012"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:40011"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN"
    assert props["authorizer.class.name"] == AUTHORIZER
    assert props["super.users"] == "User:admin;User:ANONYMOUS"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["listener.name.sasl_ssl.ssl.client.auth"] == "required"  # mTLS and SASL
    assert props["ssl.keystore.location"] == str(tls.broker_keystore)
    assert props["ssl.truststore.location"] == str(tls.ca)
    for mech in ("scram-sha-256", "scram-sha-512", "plain"):
        jaas = props[f"listener.name.sasl_ssl.{mech}.sasl.jaas.config"]
        assert 'username="admin" password="adminpw"' in jaas
    plain = props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert 'user_worker="workerpw"' in plain
    # The rest of the broker's config is the plaintext broker's.
    assert props["log.dirs"] == str(tmp_path.resolve() / "broker" / "data")
    assert props["auto.create.topics.enable"] == "false"


def test_the_plaintext_broker_is_unchanged(tmp_path: Path) -> None:
    props = _properties(LocalBroker(Settings(home=tmp_path)).render_server_properties())
    assert props["listeners"].startswith("PLAINTEXT://")
    assert "authorizer.class.name" not in props and "sasl.enabled.mechanisms" not in props


def test_scram_users_are_added_at_format_time_for_both_hashes() -> None:
    args = SecureMode(USERS).format_args()
    assert args == [
        "--add-scram", "SCRAM-SHA-256=[name=admin,password=adminpw]",
        "--add-scram", "SCRAM-SHA-512=[name=admin,password=adminpw]",
        "--add-scram", "SCRAM-SHA-256=[name=worker,password=workerpw]",
        "--add-scram", "SCRAM-SHA-512=[name=worker,password=workerpw]",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "users",
    [{"worker": "pw"}, {"admin": "pw", "bad name": "pw"}, {"admin": "pw,x]"}],
)
def test_users_must_be_plain_and_include_the_admin(users: dict[str, str]) -> None:
    with pytest.raises(BrokerError):
        SecureMode(users)


def test_the_test_broker_runs_on_c1_only() -> None:
    assert "-XX:TieredStopAtLevel=1" in SecureMode(USERS).jvm_options


def test_passwords_stay_out_of_the_mode_repr() -> None:
    assert "adminpw" not in repr(SecureMode(USERS))


def test_clients_of_a_secure_broker_trust_its_ca_and_log_in(tls: TlsFiles) -> None:
    settings = Settings(broker_port=40021)
    client = SecureMode(USERS).client_settings(settings, tls, "worker")
    assert client.bootstrap == "127.0.0.1:40021"
    assert client.kafka_security_protocol == "SASL_SSL"
    assert client.kafka_sasl_username == "worker"
    assert client.kafka_sasl_password is not None
    assert client.kafka_sasl_password.get_secret_value() == "workerpw"
    assert client.kafka_ssl_ca_file == tls.ca
    assert (client.kafka_ssl_cert_file, client.kafka_ssl_key_file) == (
        tls.client_cert,
        tls.client_key,
    )


def test_a_not_started_secure_broker_has_no_tls(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="not a started secure broker"):
        LocalBroker(Settings(home=tmp_path), SecureMode(USERS)).tls  # noqa: B018
    assert broker_server.LocalBroker(Settings(home=tmp_path))._probe_security() == {}


def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


def test_certificates_chain_to_the_ca_and_name_the_host(tls: TlsFiles) -> None:
    for cert in (tls.dir / "broker.pem", tls.client_cert):
        assert f"{cert}: OK" in _openssl("verify", "-CAfile", str(tls.ca), str(cert))
    text = _openssl("x509", "-in", str(tls.dir / "broker.pem"), "-noout", "-ext", "subjectAltName")
    assert "IP Address:127.0.0.1" in text and "DNS:localhost" in text
    other = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tls.other_ca), str(tls.dir / "broker.pem")],
        capture_output=True,
        check=False,
    )
    assert other.returncode != 0
    # The keystore opens with its password and holds the broker's key and certificate.
    out = _openssl(
        "pkcs12", "-in", str(tls.broker_keystore), "-passin", f"pass:{tls.keystore_password}",
        "-nodes", "-info",
    )  # fmt: skip
    assert "PRIVATE KEY" in out and "CN = localhost" in out
