"""Reconciler: re-queue claims that were stored but never reached scoring (a failed send)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.claim import utc_now
from chalicelib.observability import logger, traced
from chalicelib.services.ports import ClaimQueue, ClaimRepository, Telemetry


class Reconciler:
    def __init__(self, claims: ClaimRepository, queue: ClaimQueue, telemetry: Telemetry,
                 after_seconds: int, clock=utc_now):
        self._claims = claims
        self._queue = queue
        self._telemetry = telemetry
        self._after = timedelta(seconds=after_seconds)
        self._clock = clock

    @traced
    def requeue_stuck(self, limit: int = 1000) -> int:
        """Scoring is idempotent, so a claim that was only slow, not lost, is harmless to re-send. But
        during a backlog (a festival peak) most claims still RECEIVED are only waiting in the queue, and
        re-sending up to ``limit`` of them every run multiplies the work: so a run whose scoring queue
        holds at least as many messages as it found stuck claims leaves them to the backlog; a later run
        re-queues whatever is still stuck once the queue is shorter than that."""
        cutoff = self._clock() - self._after
        stuck = self._claims.received_before(cutoff, limit)
        if not stuck:
            return 0
        backlog = self._queue.scoring_backlog()
        if backlog is not None and backlog >= len(stuck):
            self._telemetry.count("ReconcileDeferred", 1)
            logger.info("scoring queue has a backlog; stuck claims left to it this run",
                        extra={"stuck": len(stuck), "backlog": backlog})
            return 0
        failed = self._queue.many_to_scoring(stuck)
        sent = len(stuck) - len(failed)
        self._telemetry.count("ClaimsRequeued", sent)
        logger.warning("re-queued claims stuck in RECEIVED", extra={"count": sent, "failed": len(failed)})
        return sent
