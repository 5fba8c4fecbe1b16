"""One consumer batch as a unit of work: its claims are read up front in one BatchGetItem, and the
queue messages its records produce are sent together at the end (SendMessageBatch, ten a call).

Records are still handled one by one, each with its own failure: a claim read up front is used once
(a record that must look again, after a conflict, reads it fresh), and a message SQS did not take
fails the record that produced it, so SQS brings it back. Every service stays idempotent, so a
redelivered record finishes what is left."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib.domain.claim import Claim
from chalicelib.observability import logger
from chalicelib.services.ports import ClaimRepository, DeferredSends, Telemetry


class HandedBack(Exception):
    """A record the batch gives back to SQS untouched (no time left for it, say): it is expected, so it
    is logged as a warning without a traceback and its record fails, to be redelivered."""


class Preloaded:
    """The batch's claims, each handed out once (``once``, for consumers that change them); a claim
    asked for again is read again. Read-only consumers take ``once=False``."""

    def __init__(self, claims: ClaimRepository, asked: list[str], found: dict[str, Claim], once: bool = True):
        self._claims = claims
        self._unread = set(asked)
        self._asked = set(asked)
        self._found = found
        self._once = once
        self.unsent: set[str] = set()  # claims whose required message did not reach its queue

    def read_ahead(self) -> list[Claim]:
        """The claims read up front (to prefetch what they refer to)."""
        return list(self._found.values())

    def claim(self, claim_id: str) -> Claim | None:
        if claim_id in self._unread or (not self._once and claim_id in self._asked):
            self._unread.discard(claim_id)
            return self._found.get(claim_id)
        return self._claims.get(claim_id)


@contextmanager
def consumer_batch(claims: ClaimRepository, queue: DeferredSends, telemetry: Telemetry, claim_ids: list[str],
                   required: frozenset[str] = frozenset({"dispatch"}), once: bool = True) -> Iterator[Preloaded]:
    """A message of a ``required`` kind that was not sent fails its claim's record. Otherwise (a partner
    notice produced by a status change) it is logged and counted, as when it is sent on its own: the
    change itself is stored and the partner can still read it."""
    try:
        found = claims.get_many(claim_ids) if claim_ids else {}
    except Exception:  # noqa: BLE001 - each record reads its own claim, so only a bad one fails
        logger.warning("batch read failed; reading claim by claim", exc_info=True)
        claim_ids, found = [], {}
    batch = Preloaded(claims, claim_ids, found, once)
    with queue.deferred() as outbox:
        yield batch
    for kind, claim_id in outbox.unsent:
        if kind in required:
            batch.unsent.add(claim_id)
            logger.error("message not queued; the record comes back", extra={"claim_id": claim_id, "queue": kind})
        else:
            telemetry.count("NotificationsNotQueued", 1)
            logger.error("partner notification not queued", extra={"claim_id": claim_id, "queue": kind})
