"""Connection security of every Kafka client, from the one settings model (docs/security.md).

``librdkafka_security`` is what every confluent-kafka client adds to its configuration;
``ssl_context`` is the same trust and client certificate for aiokafka (inside Faust).

A wrong password or an untrusted certificate must fail in seconds, not hang: librdkafka
reports both through ``error_cb`` and then retries for ever, so every client gets a
:class:`SecurityWatch` that raises :class:`KafkaSecurityError` from the next ``poll``,
``flush`` or ``consume``; and :func:`check_access` is the one-shot probe a command runs
before anything long-lived (the worker, whose aiokafka clients would retry quietly).
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import time
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from streams.errors import BrokerError, ConfigError, KafkaSecurityError
from streams.settings import Settings

# librdkafka's codes for a refused login (SASL) and a failed TLS handshake. _AUTHENTICATION
# also carries "SSL handshake failed" in librdkafka 2.x; _SSL is the older spelling.
SECURITY_CODES = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL})
# Where librdkafka logs its errors when no error_cb is set; other errors keep going there.
LIBRDKAFKA_LOG = logging.getLogger("librdkafka")
TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


def _existing(path: Path | None, setting: str) -> str | None:
    if path is None:
        return None
    resolved = path.expanduser()
    if not resolved.is_file():
        raise ConfigError(f"{setting}={path}: no such file")
    return str(resolved)


def librdkafka_security(settings: Settings) -> dict[str, Any]:
    """The security part of a confluent-kafka client's configuration (secrets included:
    never log the result)."""
    protocol = settings.kafka_security_protocol
    config: dict[str, Any] = {"security.protocol": protocol}
    if protocol in SASL_PROTOCOLS:
        assert settings.kafka_sasl_password is not None  # Settings refuses SASL without it
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if protocol in TLS_PROTOCOLS:
        ca = _existing(settings.kafka_ssl_ca_file, "RECON_KAFKA_SSL_CA_FILE")
        if ca is not None:
            config["ssl.ca.location"] = ca
        cert = _existing(settings.kafka_ssl_cert_file, "RECON_KAFKA_SSL_CERT_FILE")
        if cert is not None:
            config["ssl.certificate.location"] = cert
            config["ssl.key.location"] = _existing(
                settings.kafka_ssl_key_file, "RECON_KAFKA_SSL_KEY_FILE"
            )
            if settings.kafka_ssl_key_password is not None:
                config["ssl.key.password"] = settings.kafka_ssl_key_password.get_secret_value()
        config["ssl.endpoint.identification.algorithm"] = (
            "https" if settings.kafka_ssl_check_hostname else "none"
        )
    return config


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of aiokafka's clients; None unless the protocol uses TLS."""
    if settings.kafka_security_protocol not in TLS_PROTOCOLS:
        return None
    ca = _existing(settings.kafka_ssl_ca_file, "RECON_KAFKA_SSL_CA_FILE")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        context.check_hostname = settings.kafka_ssl_check_hostname
        cert = _existing(settings.kafka_ssl_cert_file, "RECON_KAFKA_SSL_CERT_FILE")
        if cert is not None:
            key = _existing(settings.kafka_ssl_key_file, "RECON_KAFKA_SSL_KEY_FILE")
            password = settings.kafka_ssl_key_password
            context.load_cert_chain(
                cert, key, password=password.get_secret_value() if password else None
            )
    except ssl.SSLError as exc:
        raise ConfigError(f"cannot load the Kafka TLS files ({exc})") from exc
    return context


def explain(settings: Settings, reason: str) -> str:
    """What a refused connection means, in the settings' words."""
    who = f"{settings.kafka_security_protocol} to {settings.bootstrap}"
    lowered = reason.lower()
    if "certificate verify failed" in lowered:
        trust = settings.kafka_ssl_ca_file or "the system's CA bundle"
        return (
            f"Kafka's TLS certificate is not trusted ({who}): it is not signed by {trust} "
            "or does not name the host (RECON_KAFKA_SSL_CA_FILE, "
            f"RECON_KAFKA_SSL_CHECK_HOSTNAME). librdkafka said: {reason}"
        )
    if "alert" in lowered and "certificate" in lowered:
        return (
            f"Kafka refused our TLS client certificate ({who}): it wants one signed by a CA it "
            "trusts (RECON_KAFKA_SSL_CERT_FILE, RECON_KAFKA_SSL_KEY_FILE). "
            f"librdkafka said: {reason}"
        )
    if "sasl" in lowered and "authentication" in lowered:
        return (
            f"Kafka refused the login of user {settings.kafka_sasl_username!r} with "
            f"{settings.kafka_sasl_mechanism} ({who}): check RECON_KAFKA_SASL_USERNAME, "
            "RECON_KAFKA_SASL_PASSWORD and RECON_KAFKA_SASL_MECHANISM. "
            f"librdkafka said: {reason}"
        )
    if "ssl" in lowered or "handshake" in lowered:
        return (
            f"the TLS handshake with Kafka failed ({who}): check RECON_KAFKA_SSL_* and "
            f"RECON_KAFKA_SECURITY_PROTOCOL. librdkafka said: {reason}"
        )
    return f"Kafka refused the connection ({who}): {reason}"


AUTHORIZATION_CODES = frozenset(
    {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    }
)


def refused(settings: Settings, error: KafkaError | None, what: str) -> KafkaSecurityError | None:
    """KafkaSecurityError if ``error`` is an ACL refusal of ``what`` (e.g. "read topic
    recon.ledger"), else None."""
    if error is None or error.code() not in AUTHORIZATION_CODES:
        return None
    who = settings.kafka_sasl_username or "this client's principal"
    return KafkaSecurityError(
        f"Kafka refused to let {who!r} {what} ({error.name()}; a topic it may not describe "
        "also looks missing): grant the ACLs of its role, see `recon topics acls`"
    )


def _tls_alert(error: KafkaError) -> bool:
    """A TLS alert about a certificate from the broker (it refused ours, or wanted one):
    librdkafka reports it as a transport error, but retrying cannot help."""
    text = error.str().lower()
    return error.code() == KafkaError._TRANSPORT and "alert" in text and "certificate" in text


class SecurityWatch:
    """``error_cb`` of a confluent-kafka client: a refused login or TLS handshake raises
    KafkaSecurityError (from the client's next poll/flush/consume) instead of retrying."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.failure: str | None = None

    def __call__(self, error: KafkaError) -> None:
        if error.code() in SECURITY_CODES or _tls_alert(error):
            self.failure = explain(self.settings, error.str())
            raise KafkaSecurityError(self.failure)
        LIBRDKAFKA_LOG.error("%s: %s", error.name(), error.str())


def check_access(settings: Settings, timeout: float | None = None) -> int:
    """The number of brokers, once an authenticated metadata request succeeds;
    KafkaSecurityError if the login or the TLS handshake is refused, BrokerError if the
    cluster does not answer within ``timeout`` (default: kafka_auth_timeout_seconds)."""
    timeout = settings.kafka_auth_timeout_seconds if timeout is None else timeout
    watch = SecurityWatch(settings)
    # A producer, not an admin client: only a pollable client serves error_cb in the
    # caller's thread, where the refusal can be raised. log_level 2 (critical): the
    # refusal is reported by the exception, once.
    probe = Producer(
        {
            "bootstrap.servers": settings.bootstrap,
            "log_level": 2,
            "error_cb": watch,
            **librdkafka_security(settings),
        }
    )
    deadline = time.monotonic() + timeout
    while True:
        probe.poll(0.05)  # serves error_cb: raises KafkaSecurityError on a refusal
        remaining = deadline - time.monotonic()
        try:
            return len(probe.list_topics(timeout=max(0.05, min(0.5, remaining))).brokers)
        except KafkaException as exc:
            probe.poll(0.05)
            if remaining <= 0:
                raise BrokerError(
                    f"Kafka at {settings.bootstrap} ({settings.kafka_security_protocol}) did "
                    f"not answer within {timeout:g} s ({exc}): start it or fix "
                    "KAFKA_BOOTSTRAP_SERVERS / RECON_KAFKA_SECURITY_PROTOCOL"
                ) from exc


def _access_key(settings: Settings) -> str:
    # A digest: the verified set must not be one more place that holds the password.
    config = sorted((k, str(v)) for k, v in librdkafka_security(settings).items())
    return hashlib.sha256(repr((settings.bootstrap, config)).encode()).hexdigest()


_verified: set[str] = set()


def ensure_access(settings: Settings) -> None:
    """check_access once per process and connection settings, before the first client of a
    secured connection: a refused login then fails in seconds, with its reason, instead
    of a long-lived client retrying (or an admin call timing out without one). Plaintext
    connections are not probed."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return
    key = _access_key(settings)
    if key not in _verified:
        check_access(settings)
        _verified.add(key)
