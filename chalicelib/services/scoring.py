"""Scoring: give a received claim its score and segment, and send field claims on to dispatch."""
from __future__ import annotations

from chalicelib.domain.claim import ClaimStatus, Segment, utc_now
from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.scoring import score_submission
from chalicelib.observability import logger, traced
from chalicelib.services.ports import ClaimQueue, ClaimRepository, Telemetry

ACTOR = "system:scoring"


class ScoringService:
    def __init__(self, claims: ClaimRepository, queue: ClaimQueue, telemetry: Telemetry, clock=utc_now):
        self._claims = claims
        self._queue = queue
        self._telemetry = telemetry
        self._clock = clock

    @traced
    def score(self, claim_id: str, correlation_id: str | None = None) -> ClaimStatus:
        """Idempotent: a redelivered message finishes what is left and changes nothing else."""
        claim = self._claims.get(claim_id)
        if claim is None:
            raise NotFound(f"claim {claim_id} does not exist")
        if claim.status is ClaimStatus.RECEIVED:
            result = score_submission(claim.submission, claim.received_at)
            now = self._clock()
            scored, e1 = claim.transition(ClaimStatus.SCORED, actor=ACTOR, kind="claim.scored", at=now,
                                          segment=result.segment, score=result.score,
                                          score_reasons=result.reasons)
            target = (ClaimStatus.AWAITING_SURVEYOR if result.segment is Segment.FIELD_SURVEY
                      else ClaimStatus.IN_REVIEW)
            routed, e2 = scored.transition(target, actor=ACTOR, kind="claim.routed", at=now)
            try:
                self._claims.save(claim, routed, [e1, e2])
            except ConcurrentUpdate:
                logger.info("claim changed while scoring; taking the stored state", extra={"claim_id": claim_id})
                claim = self._claims.get(claim_id)
            else:
                claim = routed
                self._telemetry.count("ClaimsScored", 1, segment=result.segment.value)
                logger.info("claim scored", extra={"claim_id": claim_id, "segment": result.segment.value,
                                                   "score": result.score})
        if claim.status is ClaimStatus.AWAITING_SURVEYOR:
            self._queue.to_dispatch(claim_id, correlation_id or claim.correlation_id)
        return claim.status
