"""Dispatch: reserve a free surveyor in the claim's region (then its neighbours), or wait and try
again later with a growing delay; a claim nobody could take within the SLA is escalated to a person."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

from chalicelib.domain.claim import ClaimStatus, utc_now
from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.surveyor import DEFAULT_MAX_RINGS, Surveyor, candidates_by_ring
from chalicelib.observability import logger, traced
from chalicelib.services.attention import mark_needs_attention
from chalicelib.services.batches import Preloaded, consumer_batch
from chalicelib.services.ports import (
    AssignOutcome,
    ClaimQueue,
    ClaimRepository,
    Notifier,
    SurveyorRepository,
    Telemetry,
)

ACTOR = "system:dispatch"
MAX_DELAY_SECONDS = 900  # SQS's longest message delay
ESCALATION_PRIORITY_BOOST = 30
_DISPATCHABLE = frozenset({ClaimStatus.AWAITING_SURVEYOR, ClaimStatus.WAITING_FOR_SURVEYOR})


def retry_delay(attempt: int, base_seconds: int) -> int:
    return min(MAX_DELAY_SECONDS, base_seconds * (2 ** min(attempt, 10)))


class DispatchService:
    def __init__(self, claims: ClaimRepository, surveyors: SurveyorRepository, queue: ClaimQueue,
                 telemetry: Telemetry, retry_base_seconds: int = 30, clock=utc_now,
                 max_rings: int = DEFAULT_MAX_RINGS, escalate_after_seconds: int = 2 * 3600,
                 notifier: Notifier | None = None):
        self._claims = claims
        self._surveyors = surveyors
        self._queue = queue
        self._telemetry = telemetry
        self._retry_base = retry_base_seconds
        self._clock = clock
        self._max_rings = max_rings
        self._escalate_after = timedelta(seconds=escalate_after_seconds)
        self._notifier = notifier

    @contextmanager
    def batch(self, claim_ids: list[str]) -> Iterator[DispatchBatch]:
        """A consumer batch: claims read up front (one BatchGetItem), each region's surveyors read once
        for the whole batch, retry messages and partner notices sent together at the end."""
        with consumer_batch(self._claims, self._queue, self._telemetry, claim_ids) as preloaded:
            yield DispatchBatch(self, preloaded)

    @traced
    def dispatch(self, claim_id: str, correlation_id: str | None = None, attempt: int = 0,
                 batch: DispatchBatch | None = None) -> ClaimStatus:
        """Idempotent: a claim already assigned is left alone; capacity is never exceeded (the
        reservation is conditional, so a batch's view of the surveyors may be stale but never wrong)."""
        claim = batch.preloaded.claim(claim_id) if batch else self._claims.get(claim_id)
        if claim is None:
            raise NotFound(f"claim {claim_id} does not exist")
        if claim.status not in _DISPATCHABLE:
            return claim.status
        location = claim.submission.location
        in_region = batch.surveyors.in_region if batch else self._surveyors.in_region
        for surveyor in candidates_by_ring(in_region, location.region_code,
                                           claim_location=(location.lat, location.lon),
                                           max_rings=self._max_rings):
            after, event = claim.transition(ClaimStatus.SURVEYOR_ASSIGNED, actor=ACTOR,
                                            kind="claim.surveyor_assigned", at=self._clock(),
                                            surveyor_id=surveyor.surveyor_id)
            outcome = self._claims.assign_surveyor(surveyor, claim, after, event)
            if batch is not None:
                batch.surveyors.learned(surveyor, outcome)
            if outcome is AssignOutcome.ASSIGNED:
                if self._notifier is not None:
                    self._notifier.status_changed(after)
                self._telemetry.count("ClaimsDispatched", 1)
                logger.info("surveyor assigned", extra={"claim_id": claim_id, "surveyor_id": surveyor.surveyor_id})
                return after.status
            if outcome is AssignOutcome.CLAIM_CHANGED:
                changed = self._claims.get(claim_id)
                if changed is None:  # claims are never deleted: only a broken table gets here
                    raise NotFound(f"claim {claim_id} does not exist")
                claim = changed
                if claim.status not in _DISPATCHABLE:
                    return claim.status
        return self._wait(claim, correlation_id, attempt)

    def needs_attention(self, claim_id: str, error_class: str) -> bool:
        """Its message failed the last receive and goes to the DLQ: a claim still waiting for a surveyor
        would wait for ever, so it goes to a person."""
        return mark_needs_attention(self._claims, self._telemetry, claim_id, stage="dispatch", error_class=error_class,
                                    stuck=_DISPATCHABLE, actor=ACTOR, clock=self._clock)

    def _wait(self, claim, correlation_id: str | None, attempt: int) -> ClaimStatus:
        now = self._clock()
        change = None
        if claim.status is ClaimStatus.AWAITING_SURVEYOR:
            change = claim.transition(ClaimStatus.WAITING_FOR_SURVEYOR, actor=ACTOR, kind="claim.waiting_for_surveyor",
                                      at=now, waiting_since=now)
        elif not claim.escalated and claim.waiting_since and now - claim.waiting_since >= self._escalate_after:
            # Past the SLA: into the agent queue, ahead of what it was, while dispatch keeps trying.
            change = claim.record("claim.dispatch_escalated", actor=ACTOR, at=now, escalated=True,
                                  priority=min(100, claim.priority + ESCALATION_PRIORITY_BOOST),
                                  detail={"waiting_seconds": int((now - claim.waiting_since).total_seconds())})
        if change is not None:
            try:
                self._claims.save(claim, change[0], [change[1]])
                claim = change[0]
                if claim.escalated:
                    self._telemetry.count("DispatchEscalated", 1)
                    logger.warning("no surveyor within the SLA; escalated to the agent queue",
                                   extra={"claim_id": claim.claim_id})
            except ConcurrentUpdate:
                claim = self._claims.get(claim.claim_id)
                if claim.status not in _DISPATCHABLE:
                    return claim.status
        delay = retry_delay(attempt, self._retry_base)
        self._queue.to_dispatch(claim.claim_id, correlation_id or claim.correlation_id, attempt + 1, delay)
        self._telemetry.count("DispatchDeferred", 1)
        logger.info("no free surveyor; retry scheduled", extra={"claim_id": claim.claim_id,
                                                                 "attempt": attempt + 1, "delay_s": delay})
        return claim.status


class _SurveyorsOfBatch:
    """Each region's surveyors read once per batch and kept up to date with what the batch learns:
    a surveyor it assigned has one claim more, one found full is full."""

    def __init__(self, surveyors: SurveyorRepository):
        self._surveyors = surveyors
        self._regions: dict[str, dict[str, Surveyor]] = {}

    def in_region(self, region_code: str) -> list[Surveyor]:
        if region_code not in self._regions:
            self._regions[region_code] = {s.surveyor_id: s for s in self._surveyors.in_region(region_code)}
        return list(self._regions[region_code].values())

    def learned(self, surveyor: Surveyor, outcome: AssignOutcome) -> None:
        known = self._regions.get(surveyor.region_code, {})
        if surveyor.surveyor_id not in known:
            return
        if outcome is AssignOutcome.ASSIGNED:
            known[surveyor.surveyor_id] = replace(surveyor, active_claims=surveyor.active_claims + 1)
        elif outcome is AssignOutcome.SURVEYOR_FULL:
            known[surveyor.surveyor_id] = replace(surveyor, active_claims=max(surveyor.capacity,
                                                                              surveyor.active_claims))


class DispatchBatch:
    def __init__(self, service: DispatchService, preloaded: Preloaded):
        self.preloaded = preloaded
        self.surveyors = _SurveyorsOfBatch(service._surveyors)
        self._service = service

    def dispatch(self, claim_id: str, correlation_id: str | None = None, attempt: int = 0) -> ClaimStatus:
        return self._service.dispatch(claim_id, correlation_id, attempt, self)

    @property
    def unsent(self) -> set[str]:
        """Claims whose retry message did not reach the queue (known once the batch has ended)."""
        return self.preloaded.unsent
