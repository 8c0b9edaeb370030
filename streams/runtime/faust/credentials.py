"""Faust's (aiokafka's) broker credentials from the settings' connection security.

The same protocol, SASL login and TLS trust as every confluent-kafka client
(streams/kafka/security.py), in the form Faust hands to each aiokafka client it builds.
"""

from __future__ import annotations

import faust
from faust.types.auth import CredentialsT

from streams.kafka.security import SASL_PROTOCOLS, ssl_context
from streams.settings import Settings


def broker_credentials(settings: Settings) -> CredentialsT | None:
    """SASL credentials (with TLS for SASL_SSL), TLS alone for SSL, None for PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    context = ssl_context(settings)
    if protocol in SASL_PROTOCOLS:
        assert settings.kafka_sasl_password is not None  # Settings refuses SASL without it
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
