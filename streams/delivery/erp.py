"""The ERP journal API target: ledger entries POSTed in batches over HTTP.

Each request carries an ``Idempotency-Key`` derived from its entry ids (the same entries
always make the same key), and each journal line its ``entry_id``. Answers:

- 2xx: accepted; 409 Conflict: already committed (a replay): accepted too;
- 408, 429, 5xx, a connection error or timeout: retried with full-jitter exponential
  backoff (tenacity), a ``Retry-After`` honoured; retries exhausted: each entry of the
  request is dead-lettered ``transient_exhausted`` (redrivable);
- any other 4xx: each entry is dead-lettered ``target_rejected`` with the response.

Journal lines carry their ``entry_id``, which the ERP must hold unique (its external
reference): a request can only be recognised as a replay when it is composed the same way,
and after a crash, or with the copies of an entry the relay published twice, it may not be.
So that the ERP sees each entry once in the ordinary case, a batch is cut into requests in
position order, an entry id appears once per batch, and the ids of recently accepted
entries are not posted again.

Every attempt goes through the target's circuit breaker and its two token buckets
(requests/s, entries/s). An open breaker stops the batch at once (TargetUnavailable): the
loop pauses the consumer and offers the batch again after the cool-down; requests already
accepted come back as replays (409).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from streams.delivery.breaker import Breaker, BreakerOpen
from streams.delivery.ratelimit import TokenBucket
from streams.delivery.target import Delivered, Entry, Position, TargetUnavailable
from streams.errors import Category, ConfigError, ReconError, RecordError, Stage
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY = "Idempotency-Key"
RETRY_STATUSES = frozenset({408, 429})
RESPONSE_EXCERPT = 500  # characters of a refusal kept in the DLQ record
# Entry ids remembered as accepted (about 100 bytes each): the relay's duplicate copies of an
# entry sit close to each other on the same partition.
RECENT_IDS = 100_000


class RecentIds:
    """The last ``capacity`` ids added, oldest forgotten first."""

    def __init__(self, capacity: int = RECENT_IDS) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._ids

    def add(self, entry_ids: Iterable[str]) -> None:
        for entry_id in entry_ids:
            self._ids[entry_id] = None
            self._ids.move_to_end(entry_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


def to_post(entries: list[Entry], recent: RecentIds) -> list[Entry]:
    """``entries`` in position order (a batch offered again is cut into the same
    requests), each id once, less those accepted recently."""
    seen: set[str] = set()
    out = []
    for e in sorted(entries, key=lambda e: (e.topic, e.partition, e.offset)):
        if e.entry_id not in seen and e.entry_id not in recent:
            seen.add(e.entry_id)
            out.append(e)
    return out


class Retryable(ReconError):
    """An attempt that may succeed later: 408, 429, 5xx, or no answer at all."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def idempotency_key(entries: list[Entry]) -> str:
    return hashlib.sha256("\n".join(sorted(e.entry_id for e in entries)).encode()).hexdigest()


def journal_line(e: Entry) -> dict[str, Any]:
    r = e.record
    return {
        "entry_id": r["entry_id"],
        "agreement_id": r["agreement_id"],
        "vendor_id": r["vendor_id"],
        "period": r["period"],
        "kind": r["kind"],
        "amount": f"{r['amount']:.2f}",  # a string: cents survive every JSON parser
        "currency": r["currency"],
        "debit_account": r["debit_account"],
        "credit_account": r["credit_account"],
        "source_key": r["source_key"],
        "correlation_id": r["correlation_id"],
        "created_at": r["created_at"].astimezone(UTC).isoformat(),
    }


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (delta-seconds or an HTTP date) in seconds; None if absent
    or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - (now or datetime.now(UTC))).total_seconds())


def backoff(
    attempt: int,
    retry_after: float | None,
    *,
    base: float,
    cap: float,
    jitter: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry ``attempt`` (1 = the first retry): full jitter,
    uniform(0, min(cap, base * 2^(attempt-1))); after a Retry-After, that long plus
    uniform(0, jitter), never earlier than the target asked."""
    if retry_after is not None:
        return retry_after + rng() * jitter
    return rng() * min(cap, base * 2.0 ** (attempt - 1))


class ErpTarget:
    name = "erp"
    topics: tuple[str, ...] = (t.LEDGER,)
    stores_positions = False
    # How its dead letters name an entry, the field holding its id, the endpoint, and the
    # category of one whose retries ran out (the inventory API names its own).
    entry_noun, id_field, endpoint = "ledger entry", "entry_id", "ERP"
    exhausted_category = Category.TRANSIENT_EXHAUSTED

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        breaker: Breaker,
        *,
        sleep: Callable[[float], None] = time.sleep,
        url: str | None = None,
    ) -> None:
        # ``url``: a target of the same protocol at another endpoint (the inventory API).
        url = url or settings.erp_url
        if not url:
            raise ConfigError(f"delivery to {self.name}: no endpoint (set RECON_ERP_URL)")
        self.url = url
        self.settings = settings
        self.metrics = metrics
        self.breaker = breaker
        self._sleep = sleep
        self._requests = TokenBucket(settings.erp_requests_per_second, sleep=sleep)
        self._records = TokenBucket(
            settings.erp_records_per_second,
            burst=max(settings.erp_records_per_second, settings.erp_batch_size),
            sleep=sleep,
        )
        self._client: httpx.Client | None = None
        self._recent = RecentIds()

    # --- Target --------------------------------------------------------------------------

    def start(self) -> None:
        self._client = httpx.Client(timeout=self.settings.erp_timeout_seconds)

    def stored_positions(self, group: str, topic: str) -> dict[int, int]:
        return {}  # the group's commits: the ERP dedupes replays by key

    def deliver(
        self,
        group: str,
        entries: list[Entry],
        positions: list[Position],
        meanwhile: Callable[[], None] | None = None,
    ) -> Delivered:
        # Copies of an entry count as accepted once the entry is: the ERP has it.
        ordered = to_post(entries, self._recent)
        out = Delivered(accepted=len(entries) - len(ordered))
        size = self.settings.erp_batch_size
        for start in range(0, len(ordered), size):
            chunk = ordered[start : start + size]
            try:
                response = self._post(chunk)
            except Retryable as exc:
                out.rejected += [(e, self._exhausted(e, exc)) for e in chunk]
                continue
            if response.is_success or response.status_code == 409:
                out.accepted += len(chunk)
                self._recent.add(e.entry_id for e in chunk)
            else:
                out.rejected += [(e, self._refused(e, response)) for e in chunk]
        return out

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- one request, retried ------------------------------------------------------------

    def request(self, chunk: list[Entry]) -> tuple[str, bytes]:
        """The Idempotency-Key and the body of the POST of ``chunk``."""
        return idempotency_key(chunk), orjson.dumps({"entries": [journal_line(e) for e in chunk]})

    def _post(self, chunk: list[Entry]) -> httpx.Response:
        key, body = self.request(chunk)
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.erp_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(Retryable),
            sleep=self._sleep,
            before_sleep=self._retrying,
            reraise=True,
        )
        try:
            response: httpx.Response = retrying(
                self.breaker.call, self._attempt, key, body, len(chunk)
            )
        except BreakerOpen as exc:
            raise TargetUnavailable(f"{self.name} {self.url}: {exc}") from exc
        return response

    def _attempt(self, key: str, body: bytes, entries: int) -> httpx.Response:
        waited = self._requests.take(1) + self._records.take(entries)
        if waited:
            self.metrics.child(self.metrics.rate_limited, self.name).inc(waited)
        if self._client is None:
            self.start()
        assert self._client is not None
        try:
            response = self._client.post(
                self.url,
                content=body,
                headers={IDEMPOTENCY_KEY: key, "Content-Type": "application/json"},
            )
        except httpx.TransportError as exc:  # refused, reset, timed out: no answer
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status in RETRY_STATUSES or status >= 500:
            raise Retryable(
                f"HTTP {status}: {response.text[:RESPONSE_EXCERPT]}",
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        return response

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = exc.retry_after if isinstance(exc, Retryable) else None
        s = self.settings
        return backoff(
            state.attempt_number,
            retry_after,
            base=s.erp_backoff_base_seconds,
            cap=s.erp_backoff_max_seconds,
            jitter=s.erp_jitter_seconds,
        )

    def _retrying(self, state: RetryCallState) -> None:
        self.metrics.child(self.metrics.delivery_retried, self.name).inc()
        exc = state.outcome.exception() if state.outcome is not None else None
        log.info("ERP attempt %d failed (%s): retrying", state.attempt_number, exc)

    # --- dead letters ----------------------------------------------------------------------

    def _exhausted(self, e: Entry, exc: Retryable) -> RecordError:
        return RecordError(
            self.exhausted_category,
            Stage.SINK,
            f"{self.entry_noun} {e.entry_id} to {self.endpoint} {self.url}: "
            f"{self.settings.erp_retries + 1} attempts failed, the last with {exc}",
            field=self.id_field,
            value=e.entry_id,
        )

    def _refused(self, e: Entry, response: httpx.Response) -> RecordError:
        return RecordError(
            Category.TARGET_REJECTED,
            Stage.SINK,
            f"{self.entry_noun} {e.entry_id}: {self.endpoint} {self.url} refused it with HTTP "
            f"{response.status_code}: {response.text[:RESPONSE_EXCERPT]}",
            field=self.id_field,
            value=e.entry_id,
        )
