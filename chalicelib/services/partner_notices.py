"""Partner notifications: each status change a partner cares about is posted, signed, to its callback
URL, behind the notify queue, retried with a growing delay and parked in the DLQ after repeated
failure. A delivered notification is recorded, so a redelivered message sends nothing again."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.claim import Claim, ClaimStatus, iso
from chalicelib.domain.signatures import sign_webhook
from chalicelib.observability import logger, traced
from chalicelib.services.batches import HandedBack, Preloaded, consumer_batch
from chalicelib.services.ports import (
    CallbackSender,
    ClaimRepository,
    Delivery,
    DeliveryLog,
    NotifyQueue,
    PartnerCallbacks,
    Telemetry,
)

# What a partner hears about: where its claim went, who surveys it, and the decision.
PARTNER_STATUSES = frozenset({ClaimStatus.IN_REVIEW, ClaimStatus.AWAITING_SURVEYOR, ClaimStatus.SURVEYOR_ASSIGNED,
                              ClaimStatus.SURVEY_COMPLETED, ClaimStatus.APPROVED, ClaimStatus.REJECTED,
                              ClaimStatus.CLOSED})
NOT_PARTNERS = ("public", "ivr:")  # owners that are channels, not partners with a callback
MAX_ATTEMPTS = 6
RETRY_BASE_SECONDS = 30
MAX_DELAY_SECONDS = 900
# A batch stops posting after this long and hands its remaining records back to SQS untouched: ten
# callbacks at the sender's 5 s timeout would otherwise outlast the consumer's 30 s timeout.
BATCH_BUDGET_SECONDS = 20.0


def retry_delay(attempt: int, base_seconds: int = RETRY_BASE_SECONDS) -> int:
    """Seconds before attempt ``attempt + 1``: 30, 60, 120, 240, 480, then 900 at most (SQS's limit)."""
    return min(MAX_DELAY_SECONDS, base_seconds * 2 ** attempt)


class QueueNotifier:
    """The services' side: one message per status change that a partner cares about."""

    def __init__(self, queue: NotifyQueue, telemetry: Telemetry):
        self._queue = queue
        self._telemetry = telemetry

    def status_changed(self, claim: Claim) -> None:
        if claim.status not in PARTNER_STATUSES or claim.owner.startswith(NOT_PARTNERS) or claim.owner == "public":
            return
        try:
            self._queue.to_notify(claim.claim_id, claim.event_seq, claim.status.value, claim.correlation_id,
                                  at=claim.updated_at)
        except Exception:  # noqa: BLE001 - the change itself is stored; the partner can still read it
            logger.exception("partner notification not queued", extra={"claim_id": claim.claim_id})
            self._telemetry.count("NotificationsNotQueued", 1)


@dataclass(frozen=True)
class Notice:
    claim_id: str
    event_seq: int
    status: str
    attempt: int = 0
    correlation_id: str | None = None
    at: datetime | None = None  # when the status changed


class NotificationService:
    """The notify consumer's side."""

    def __init__(self, claims: ClaimRepository, callbacks: PartnerCallbacks, log: DeliveryLog, sender: CallbackSender,
                 queue: NotifyQueue, secrets: dict[str, str], telemetry: Telemetry,
                 now: Callable[[], float] = time.time, max_attempts: int = MAX_ATTEMPTS,
                 clock: Callable[[], float] = time.monotonic):
        self._claims = claims
        self._callbacks = callbacks
        self._log = log
        self._sender = sender
        self._queue = queue
        self._secrets = secrets
        self._telemetry = telemetry
        self._now = now
        self._max_attempts = max_attempts
        self._clock = clock

    @contextmanager
    def batch(self, notices: list[Notice]) -> Iterator[NotifyBatch]:
        """A consumer batch: the delivery log and the claims read up front (one BatchGetItem each), the
        deliveries recorded together (BatchWriteItem) and retries queued together at the end. A record
        whose delivery could not be recorded comes back (its partner may hear it twice: the
        ``X-Notification-Id`` header tells)."""
        keys = [(n.claim_id, n.event_seq) for n in notices]
        try:
            delivered = self._log.delivered_many(keys) if keys else set()
        except Exception:  # noqa: BLE001 - each record looks itself up, so only a bad one fails
            logger.warning("delivery log read failed; reading notice by notice", exc_info=True)
            delivered = None
        with consumer_batch(self._claims, self._queue, self._telemetry, [n.claim_id for n in notices],
                            required=frozenset({"notify", "notify-dlq"}), once=False) as preloaded:
            batch = NotifyBatch(self, preloaded, delivered, self._clock() + BATCH_BUDGET_SECONDS)
            yield batch
        if batch.deliveries:
            try:
                self._log.record_many(batch.deliveries)
            except Exception:  # noqa: BLE001 - those records come back from SQS
                logger.exception("deliveries not recorded; their records come back",
                                 extra={"deliveries": len(batch.deliveries)})
                batch.unsent.update(d.claim_id for d in batch.deliveries)

    @traced
    def deliver(self, notice: Notice, batch: NotifyBatch | None = None) -> str:
        """Returns what happened: delivered, already_delivered, no_callback, retry_scheduled, dead_lettered."""
        if batch is not None and self._clock() > batch.deadline:
            raise BatchOutOfTime("the batch ran out of time; SQS brings this notice back")
        if batch is not None and batch.knows_delivered(notice) is not None:
            if batch.knows_delivered(notice):
                return "already_delivered"
        elif self._log.delivered(notice.claim_id, notice.event_seq):
            return "already_delivered"
        claim = batch.preloaded.claim(notice.claim_id) if batch else self._claims.get(notice.claim_id)
        if claim is None:
            logger.warning("notification for an unknown claim; dropped", extra={"claim_id": notice.claim_id})
            return "no_callback"
        url = self._callbacks.callback_url(claim.owner)
        secret = self._secrets.get(claim.owner)
        if not url or not secret:
            return "no_callback"
        body = json.dumps(self._payload(claim, notice), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json",
                   "X-Signature": sign_webhook(secret, int(self._now()), body),
                   "X-Notification-Id": f"{notice.claim_id}.{notice.event_seq}"}
        try:
            status = self._sender.post(url, body, headers)
            failure = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception as exc:  # noqa: BLE001 - any failure to deliver is retried the same way
            failure = type(exc).__name__
        if failure is None:
            if batch is not None:
                batch.delivered(Delivery(notice.claim_id, notice.event_seq, claim.owner, notice.status,
                                         notice.attempt + 1))
            else:
                self._log.record(notice.claim_id, notice.event_seq, claim.owner, notice.status, notice.attempt + 1)
            self._telemetry.count("NotificationsDelivered", 1)
            return "delivered"
        return self._retry_or_park(notice, failure)

    def _retry_or_park(self, notice: Notice, failure: str) -> str:
        attempt = notice.attempt + 1
        if attempt >= self._max_attempts:
            self._queue.to_notify_dead_letters(notice.claim_id, notice.event_seq, notice.status, attempt,
                                               notice.correlation_id, at=notice.at)
            self._telemetry.count("NotificationsDeadLettered", 1)
            logger.error("partner notification failed repeatedly; parked in the DLQ",
                         extra={"claim_id": notice.claim_id, "attempts": attempt, "failure": failure})
            return "dead_lettered"
        delay = retry_delay(notice.attempt)
        self._queue.to_notify(notice.claim_id, notice.event_seq, notice.status, notice.correlation_id, attempt,
                              delay, at=notice.at)
        self._telemetry.count("NotificationsRetried", 1)
        logger.warning("partner notification failed; retrying later",
                       extra={"claim_id": notice.claim_id, "attempt": attempt, "delay_seconds": delay,
                              "failure": failure})
        return "retry_scheduled"

    @staticmethod
    def _payload(claim: Claim, notice: Notice) -> dict:
        """What the partner is told: ids, status and decision; no personal data."""
        payload = {"type": "claim.status_changed", "claim_id": claim.claim_id, "event_seq": notice.event_seq,
                   "status": notice.status, "at": iso(notice.at or claim.updated_at),
                   "external_ref": claim.submission.external_ref}
        if claim.segment:
            payload["segment"] = claim.segment.value
        if claim.surveyor_id and notice.status == ClaimStatus.SURVEYOR_ASSIGNED.value:
            payload["surveyor_id"] = claim.surveyor_id
        if claim.approved_amount is not None and notice.status == ClaimStatus.APPROVED.value:
            payload["approved_amount"] = str(claim.approved_amount)
        return payload


class BatchOutOfTime(HandedBack):
    """A notice the batch had no time left for; it fails its record untouched."""


class NotifyBatch:
    def __init__(self, service: NotificationService, preloaded: Preloaded, delivered: set[tuple[str, int]] | None,
                 deadline: float):
        self.preloaded = preloaded
        self.deadline = deadline
        self.deliveries: list[Delivery] = []
        self._read = delivered is not None  # False: the log could not be read up front
        self._delivered = set(delivered or ())
        self._service = service

    def knows_delivered(self, notice: Notice) -> bool | None:
        """Whether the notice is delivered already; None when only the log itself can tell."""
        key = (notice.claim_id, notice.event_seq)
        return True if key in self._delivered else (False if self._read else None)

    def delivered(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        self._delivered.add((delivery.claim_id, delivery.event_seq))

    def deliver(self, notice: Notice) -> str:
        return self._service.deliver(notice, self)

    @property
    def unsent(self) -> set[str]:
        """Claims whose retry was not queued or whose delivery was not recorded (known once the batch
        has ended): their records come back."""
        return self.preloaded.unsent
