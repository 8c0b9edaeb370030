"""Faust's aiokafka clients get the same protocol, login and TLS trust as the others."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import SecretStr

from streams.broker.tls import TlsFiles, generate_tls_files
from streams.runtime.faust.credentials import broker_credentials
from streams.settings import SaslMechanism, Settings

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return generate_tls_files(tmp_path_factory.mktemp("tls"))


def test_plaintext_has_no_credentials() -> None:
    assert broker_credentials(Settings()) is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_gives_aiokafka_the_login_and_the_trust(
    tls: TlsFiles, mechanism: SaslMechanism
) -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="worker",
        kafka_sasl_password=SecretStr("pw-123"),
        kafka_ssl_ca_file=tls.ca,
    )
    credentials = broker_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert "pw-123" not in repr(credentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == mechanism
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("worker", "pw-123")
    assert auth["ssl_context"].get_ca_certs()


def test_sasl_plaintext_has_no_tls() -> None:
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="u",
        kafka_sasl_password=SecretStr("p"),
    )
    auth = credentials_to_aiokafka_auth(broker_credentials(settings))
    assert auth["security_protocol"] == "SASL_PLAINTEXT"
    assert auth["ssl_context"] is None


def test_ssl_with_a_client_certificate(tls: TlsFiles) -> None:
    settings = Settings(
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=tls.ca,
        kafka_ssl_cert_file=tls.client_cert,
        kafka_ssl_key_file=Path(tls.client_key),
    )
    auth = credentials_to_aiokafka_auth(broker_credentials(settings))
    assert auth["security_protocol"] == "SSL"
    assert auth["ssl_context"].check_hostname
