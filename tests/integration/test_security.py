"""A secured cluster: the local broker in SASL_SSL mode (certificates made at start, SCRAM
users made at format time, the standard authorizer on), one broker for the module.

Wrong credentials and an untrusted certificate fail in seconds with the reason; the
worker, ingest, delivery (archive target) and operator commands each run end to end with
only the ACLs `recon topics acls` gives their role, and a principal without them is
refused on the ledger.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.broker.secure import SecureMode
from streams.broker.server import LocalBroker
from streams.delivery.archive import ArchiveTarget
from streams.delivery.breaker import Breaker
from streams.delivery.drain import deliver_until_caught_up
from streams.errors import KafkaSecurityError
from streams.ingest.producer import ingest_file
from streams.kafka import clients
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.kafka.security import check_access
from streams.observability.metrics import Metrics
from streams.ops.acls import ROLES, apply_acls
from streams.ops.audit import audit
from streams.ops.ledger import read_ledger
from streams.runtime.app import create_app
from streams.settings import Settings
from streams.tools.batch import drain
from streams.tools.references import differences, expected_totals

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POS, PROMOTIONS = EXAMPLES / "pos.csv", EXAMPLES / "promotions.csv"
# Ports of its own: the session broker has 29192/29193, the lifecycle test 29194/29195.
SECURE_BROKER_PORT, SECURE_CONTROLLER_PORT = 29198, 29199  # not test_broker_restart's
USERS = {
    name: secrets.token_hex(12)
    for name in ("admin", "operator", "ingest", "worker", "delivery", "nobody")
}
FAIL_FAST_SECONDS = 5.0


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    settings = Settings(
        home=tmp_path_factory.mktemp("secure-broker"),
        partitions=1,
        dedupe_horizon_days=0,
        metrics_host="127.0.0.1",
        metrics_port=0,
        broker_port=SECURE_BROKER_PORT,
        controller_port=SECURE_CONTROLLER_PORT,
    )
    broker = LocalBroker(settings, SecureMode(USERS))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_a_wrong_password_or_an_untrusted_certificate_fails_in_seconds(
    secure_broker: LocalBroker,
) -> None:
    admin = secure_broker.client_settings("admin")
    assert check_access(admin) == 1
    # The other mechanisms connect too.
    tls = secure_broker.tls
    for mechanism in ("PLAIN", "SCRAM-SHA-256"):
        assert check_access(admin.with_overrides(kafka_sasl_mechanism=mechanism)) == 1
    # The listener requires a client certificate its CA signed (mTLS as well as SASL).
    no_cert = admin.model_dump() | {"kafka_ssl_cert_file": None, "kafka_ssl_key_file": None}
    stranger = admin.with_overrides(
        kafka_ssl_cert_file=tls.other_ca, kafka_ssl_key_file=tls.dir / "other-ca.key"
    )
    for refused in (Settings(**no_cert), stranger):
        started = time.monotonic()
        with pytest.raises(KafkaSecurityError, match="refused our TLS client certificate"):
            check_access(refused)
        assert time.monotonic() - started < FAIL_FAST_SECONDS

    wrong = admin.with_overrides(kafka_sasl_password=SecretStr("not-the-password"))
    started = time.monotonic()
    with pytest.raises(KafkaSecurityError, match="refused the login of user 'admin'") as login:
        clients.consumer(wrong)
    assert time.monotonic() - started < FAIL_FAST_SECONDS
    assert "not-the-password" not in str(login.value)
    # The worker refuses to start (aiokafka alone would retry quietly for ever).
    started = time.monotonic()
    with pytest.raises(KafkaSecurityError, match="refused the login"):
        create_app(wrong.with_overrides(kafka_sasl_username="nobody"))
    assert time.monotonic() - started < FAIL_FAST_SECONDS

    untrusted = admin.with_overrides(kafka_ssl_ca_file=tls.other_ca)
    started = time.monotonic()
    with pytest.raises(KafkaSecurityError, match="TLS certificate is not trusted"):
        clients.admin_client(untrusted)
    assert time.monotonic() - started < FAIL_FAST_SECONDS


def test_each_role_runs_with_only_its_acls_and_others_are_refused(
    secure_broker: LocalBroker, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    base = secure_broker.settings.with_overrides(
        topic_prefix=f"s{tag}", app_id=f"recon-secure-{tag}", home=tmp_path / "home"
    )

    def as_user(user: str) -> Settings:
        assert secure_broker.secure is not None
        return secure_broker.secure.client_settings(base, secure_broker.tls, user)

    admin = as_user("admin")
    for role in ROLES:
        apply_acls(admin, role, f"User:{role}")  # each user is named after its role

    operator = as_user("operator")
    t.create_topics(operator)
    ingest_file(as_user("ingest"), POS, "pos")
    ingest_file(as_user("ingest"), PROMOTIONS, "promotions")
    drain(as_user("worker"), timeout=180)  # `recon worker --drain`, its own process

    assert differences(read_ledger(operator), expected_totals([POS], [PROMOTIONS])) == []
    files = audit(operator)
    assert {f.source_file for f in files} == {"pos.csv", "promotions.csv"}
    assert all(f.reconciles and f.read for f in files), files

    delivery, metrics = as_user("delivery"), Metrics()
    archive = ArchiveTarget(tmp_path / "archive")
    breaker = Breaker("archive", metrics, fail_max=1, reset_seconds=60.0)
    deliver_until_caught_up(delivery, archive, breaker, metrics, timeout=60.0)
    assert list((tmp_path / "archive").rglob("*.parquet"))

    ledger = admin.topic(t.LEDGER)
    for user in ("nobody", "ingest"):  # no ACL on the ledger at all / only the ingest role's
        with pytest.raises(KafkaSecurityError, match=f"'{user}' read topic {ledger}"):
            list(read_topic(as_user(user), ledger))
