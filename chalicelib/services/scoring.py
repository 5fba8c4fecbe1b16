"""Scoring: tie a received claim to its policy, check cover, give it a score and a segment, and
send field claims on to dispatch."""
from __future__ import annotations

from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus, Segment, utc_now
from chalicelib.domain.coverage import Coverage, check_coverage
from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.policy import Resolution
from chalicelib.domain.products import Catalogue
from chalicelib.domain.scoring import score_submission
from chalicelib.observability import logger, traced
from chalicelib.services.ports import ClaimQueue, ClaimRepository, Telemetry
from chalicelib.services.resolve import PolicyResolver

ACTOR = "system:scoring"


class ScoringService:
    def __init__(self, claims: ClaimRepository, queue: ClaimQueue, telemetry: Telemetry,
                 resolver: PolicyResolver, products: Catalogue, clock=utc_now):
        self._claims = claims
        self._queue = queue
        self._telemetry = telemetry
        self._resolver = resolver
        self._products = products
        self._clock = clock

    @traced
    def score(self, claim_id: str, correlation_id: str | None = None) -> ClaimStatus:
        """Idempotent: a redelivered message finishes what is left and changes nothing else."""
        claim = self._claims.get(claim_id)
        if claim is None:
            raise NotFound(f"claim {claim_id} does not exist")
        if claim.status is ClaimStatus.RECEIVED:
            after, events = self._assess(claim)
            try:
                self._claims.save(claim, after, events)
            except ConcurrentUpdate:
                logger.info("claim changed while scoring; taking the stored state", extra={"claim_id": claim_id})
                claim = self._claims.get(claim_id)
            else:
                claim = after
                self._telemetry.count("ClaimsScored", 1, segment=after.segment.value)
                self._telemetry.count("PolicyResolution", 1, outcome=after.resolution)
                logger.info("claim scored", extra={"claim_id": claim_id, "segment": after.segment.value,
                                                   "score": after.score, "resolution": after.resolution,
                                                   "matched_by": after.matched_by, "covered": after.covered})
        if claim.status is ClaimStatus.AWAITING_SURVEYOR:
            self._queue.to_dispatch(claim_id, correlation_id or claim.correlation_id)
        return claim.status

    def _assess(self, claim: Claim) -> tuple[Claim, list[ClaimEvent]]:
        """Resolution, coverage, score and route: four timeline entries, written together."""
        sub = claim.submission
        now = self._clock()
        resolution = self._resolver.resolve(sub, claim.owner)
        coverage = self._coverage(resolution, claim)
        resolved, e1 = claim.record(
            "claim.policy_resolved", actor=ACTOR, at=now, detail=_resolution_detail(resolution, coverage),
            resolution=resolution.outcome.value,
            matched_by=resolution.matched_by.value if resolution.matched_by else None,
            policy_number=resolution.policy.policy_number if resolution.policy else None,
            product=resolution.policy.product if resolution.policy else None,
            candidates=resolution.candidates,
            covered=coverage.covered if coverage else None,
            coverage_reasons=coverage.reasons if coverage else (),
            payable=coverage.payable if coverage else None)
        result = score_submission(sub, claim.received_at, resolution, coverage)
        scored, e2 = resolved.transition(ClaimStatus.SCORED, actor=ACTOR, kind="claim.scored", at=now,
                                         segment=result.segment, score=result.score, score_reasons=result.reasons)
        target = ClaimStatus.AWAITING_SURVEYOR if result.segment is Segment.FIELD_SURVEY else ClaimStatus.IN_REVIEW
        routed, e3 = scored.transition(target, actor=ACTOR, kind="claim.routed", at=now)
        return routed, [e1, e2, e3]

    def _coverage(self, resolution: Resolution, claim: Claim) -> Coverage | None:
        if resolution.policy is None:
            return None
        product = self._products.get(resolution.policy.product)
        if product is None:
            logger.error("policy names an unknown product", extra={"claim_id": claim.claim_id,
                                                                   "product": resolution.policy.product})
            return None
        return check_coverage(resolution.policy, product, claim.submission)


def _resolution_detail(resolution: Resolution, coverage: Coverage | None) -> dict:
    detail = {"outcome": resolution.outcome.value,
              "keys_tried": [k.value for k in resolution.keys_tried]}
    if resolution.matched_by:
        detail["matched_by"] = resolution.matched_by.value
    if resolution.policy:
        detail["policy_number"] = resolution.policy.policy_number
    if resolution.candidates:
        detail["candidates"] = list(resolution.candidates)
    if coverage:
        detail.update(covered=coverage.covered, coverage_reasons=list(coverage.reasons),
                      payable=str(coverage.payable))
    return detail
