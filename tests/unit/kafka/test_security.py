"""Connection security from the settings: what every confluent-kafka client and aiokafka
get, the password kept out of reprs, dumps and logs, and refusals explained."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from streams.broker.tls import TlsFiles, generate_tls_files
from streams.cli.main import app
from streams.errors import ConfigError, KafkaSecurityError, ReconError
from streams.kafka import clients, security
from streams.settings import Settings
from streams.tools.batch import worker_env

pytestmark = pytest.mark.unit

PASSWORD = "s3cr3t-Pa55word"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return generate_tls_files(tmp_path_factory.mktemp("tls"))


def sasl_ssl(tls: TlsFiles | None = None, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "bootstrap_servers": "broker:9093",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-256",
        "kafka_sasl_username": "recon-worker",
        "kafka_sasl_password": SecretStr(PASSWORD),
    }
    if tls is not None:
        fields["kafka_ssl_ca_file"] = tls.ca
    return Settings(**(fields | overrides))


@pytest.fixture
def no_probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Settings]]:
    """Record, instead of running, the access probe of secured connections."""
    probed: list[Settings] = []

    def probe(settings: Settings, timeout: float | None = None) -> int:
        probed.append(settings)
        return 1

    monkeypatch.setattr(security, "check_access", probe)
    monkeypatch.setattr(security, "_verified", set())
    yield probed


def test_the_password_never_shows_in_reprs_dumps_or_logs(
    tls: TlsFiles, caplog: pytest.LogCaptureFixture
) -> None:
    settings = sasl_ssl(tls, kafka_ssl_key_password=SecretStr("key-" + PASSWORD))
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("settings: %s / %r", settings, settings)
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump(mode="json")),
        str(settings.model_dump()),
        caplog.text,
    ):
        assert PASSWORD not in text
    # Copies keep the secret itself, not its mask; so does a worker process's environment.
    copy = settings.with_overrides(partitions=3)
    assert copy.kafka_sasl_password is not None
    assert copy.kafka_sasl_password.get_secret_value() == PASSWORD
    assert worker_env(settings)["RECON_KAFKA_SASL_PASSWORD"] == PASSWORD


@settings(max_examples=50, deadline=None)
@given(password=st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=16))
def test_no_password_shows_in_a_repr_a_dump_or_a_refusal(password: str) -> None:
    conf = sasl_ssl(kafka_sasl_password=SecretStr(password))
    refusal = security.explain(conf, "SASL authentication error: invalid credentials")
    for text in (repr(conf), conf.model_dump_json(), str(conf.model_dump()), refusal):
        assert password not in text
    assert security.librdkafka_security(conf)["sasl.password"] == password


def test_security_settings_come_from_the_environment(
    tls: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECON_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("RECON_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("RECON_KAFKA_SASL_USERNAME", "u")
    monkeypatch.setenv("RECON_KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("RECON_KAFKA_SSL_CA_FILE", str(tls.ca))
    settings = Settings()
    assert settings.kafka_sasl_mechanism == "PLAIN"
    assert settings.kafka_sasl_password == SecretStr(PASSWORD)
    assert settings.kafka_ssl_ca_file == tls.ca


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs RECON_KAFKA_SASL_USERNAME"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"},
            "RECON_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_cert_file": Path("c.pem")},
            "go together",
        ),
        ({"kafka_ssl_ca_file": Path("ca.pem")}, "does not use TLS"),
        ({"kafka_security_protocol": "SASL_SCRAM"}, "kafka_security_protocol"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
    ],
)
def test_incomplete_security_settings_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**fields)


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    assert security.librdkafka_security(Settings()) == {"security.protocol": "PLAINTEXT"}
    assert security.ssl_context(Settings()) is None


def test_sasl_ssl_maps_to_librdkafka(tls: TlsFiles) -> None:
    config = security.librdkafka_security(
        sasl_ssl(tls, kafka_ssl_cert_file=tls.client_cert, kafka_ssl_key_file=tls.client_key)
    )
    assert config == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "recon-worker",
        "sasl.password": PASSWORD,
        "ssl.ca.location": str(tls.ca),
        "ssl.certificate.location": str(tls.client_cert),
        "ssl.key.location": str(tls.client_key),
        "ssl.endpoint.identification.algorithm": "https",
    }


def test_sasl_plaintext_has_no_tls_and_ssl_has_no_sasl(tls: TlsFiles) -> None:
    plain = security.librdkafka_security(sasl_ssl(kafka_security_protocol="SASL_PLAINTEXT"))
    assert not any(key.startswith("ssl.") for key in plain)
    only_tls = Settings(
        kafka_security_protocol="SSL", kafka_ssl_ca_file=tls.ca, kafka_ssl_check_hostname=False
    )
    config = security.librdkafka_security(only_tls)
    assert not any(key.startswith("sasl.") for key in config)
    assert config["ssl.endpoint.identification.algorithm"] == "none"


def test_a_missing_tls_file_is_named(tmp_path: Path) -> None:
    settings = sasl_ssl(kafka_ssl_ca_file=tmp_path / "nope.pem")
    with pytest.raises(ConfigError, match=r"RECON_KAFKA_SSL_CA_FILE=.*nope\.pem: no such file"):
        security.librdkafka_security(settings)
    with pytest.raises(ConfigError, match="no such file"):
        security.ssl_context(settings)


def test_the_aiokafka_context_trusts_the_ca_and_carries_the_client_certificate(
    tls: TlsFiles,
) -> None:
    context = security.ssl_context(
        sasl_ssl(tls, kafka_ssl_cert_file=tls.client_cert, kafka_ssl_key_file=tls.client_key)
    )
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "recon-streams test CA"),),)
    ]
    relaxed = security.ssl_context(sasl_ssl(tls, kafka_ssl_check_hostname=False))
    assert relaxed is not None and not relaxed.check_hostname


def test_a_key_that_does_not_match_its_certificate_is_a_config_error(tls: TlsFiles) -> None:
    settings = sasl_ssl(tls, kafka_ssl_cert_file=tls.client_cert, kafka_ssl_key_file=tls.ca_key)
    with pytest.raises(ConfigError, match="cannot load the Kafka TLS files"):
        security.ssl_context(settings)


def test_refusals_are_explained_in_the_settings_words(tls: TlsFiles) -> None:
    settings = sasl_ssl(tls)
    login = security.explain(
        settings,
        "sasl_ssl://b:9093/bootstrap: SASL authentication error: Authentication failed "
        "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
    )
    assert login.startswith("Kafka refused the login of user 'recon-worker' with SCRAM-SHA-256")
    assert "RECON_KAFKA_SASL_PASSWORD" in login and PASSWORD not in login
    cert = security.explain(
        settings, "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"
    )
    assert cert.startswith("Kafka's TLS certificate is not trusted") and str(tls.ca) in cert
    client_cert = security.explain(
        settings, "Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate"
    )
    assert client_cert.startswith("Kafka refused our TLS client certificate")
    other = security.explain(settings, "SSL handshake failed: wrong version number")
    assert other.startswith("the TLS handshake with Kafka failed")


def test_the_watch_raises_on_a_refusal_and_logs_other_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = security.SecurityWatch(sasl_ssl())
    with pytest.raises(KafkaSecurityError, match="refused the login") as refused:
        watch(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: bad"))
    assert isinstance(refused.value, ReconError)
    # A TLS alert about our certificate comes as a transport error: no retry can help.
    with pytest.raises(KafkaSecurityError, match="client certificate"):
        watch(KafkaError(KafkaError._TRANSPORT, "ssl/tls alert certificate required"))
    with caplog.at_level(logging.ERROR, logger="librdkafka"):
        watch(KafkaError(KafkaError._TRANSPORT, "connection refused"))
    assert "connection refused" in caplog.text


def test_an_acl_refusal_names_the_principal_and_what_it_tried() -> None:
    settings = sasl_ssl()
    denied = security.refused(
        settings, KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), "read topic recon.ledger"
    )
    assert denied is not None
    assert "'recon-worker' read topic recon.ledger" in str(denied)
    assert "recon topics acls" in str(denied)
    assert security.refused(settings, KafkaError(KafkaError._TRANSPORT), "x") is None
    assert security.refused(settings, None, "x") is None


def test_secured_clients_probe_once_and_plaintext_never(
    tls: TlsFiles, no_probe: list[Settings]
) -> None:
    plaintext = Settings(bootstrap_servers="b:1")
    clients.consumer_config(plaintext)
    assert no_probe == []
    secured = sasl_ssl(tls)
    config = clients.producer_config(secured)
    clients.consumer_config(secured, "g")
    assert no_probe == [secured]  # once per process and connection settings
    assert config["sasl.password"] == PASSWORD
    assert config["security.protocol"] == "SASL_SSL"
    assert isinstance(config["error_cb"], security.SecurityWatch)
    clients.consumer_config(sasl_ssl(tls, kafka_sasl_username="other"))
    assert len(no_probe) == 2


def test_the_cli_names_incomplete_security_settings_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECON_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("RECON_KAFKA_SASL_USERNAME", raising=False)
    done = CliRunner().invoke(app, ["topics", "list"])
    assert done.exit_code == 2
    assert "invalid settings: kafka_security_protocol=SASL_SSL needs" in done.output
    assert "Traceback" not in done.output
