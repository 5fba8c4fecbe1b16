"""Scoring: tie a received claim to its policy, check cover, weigh it with the scoring rules (data,
versioned) and route it: auto-approved, to an agent, or on to dispatch for a field survey."""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.domain.claim import AUTO_APPROVE, Claim, ClaimEvent, ClaimStatus, Segment, iso, utc_now
from chalicelib.domain.coverage import Coverage, check_coverage
from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.identity import normalise_phone, normalise_plate
from chalicelib.domain.policy import Resolution
from chalicelib.domain.products import Catalogue
from chalicelib.domain.scoring import Signals, rescore_with_photos, score
from chalicelib.domain.scoring_rules import RuleSet, load_rules
from chalicelib.observability import logger, traced
from chalicelib.services.attention import mark_needs_attention
from chalicelib.services.batches import Preloaded, consumer_batch
from chalicelib.services.ports import ClaimHistory, ClaimQueue, ClaimRepository, Notifier, Telemetry
from chalicelib.services.resolve import PolicyResolver

ACTOR = "system:scoring"
# Where a claim waits for scoring: still RECEIVED, or scored for a survey whose dispatch message was
# never sent (the scoring record fails for it).
# what scoring still owes a claim: its score, its dispatch message, or its decision once its photos are in
_OWED_TO_SCORING = frozenset({ClaimStatus.RECEIVED, ClaimStatus.AWAITING_SURVEYOR, ClaimStatus.AWAITING_PHOTOS})


class _Silent:
    def status_changed(self, claim: Claim) -> None:
        return None


class ScoringService:
    def __init__(self, claims: ClaimRepository, queue: ClaimQueue, telemetry: Telemetry,
                 resolver: PolicyResolver, products: Catalogue, clock=utc_now, history: ClaimHistory | None = None,
                 notifier: Notifier | None = None, rules: RuleSet | None = None):
        self._claims = claims
        self._queue = queue
        self._telemetry = telemetry
        self._resolver = resolver
        self._products = products
        self._clock = clock
        self._history = history
        self._notifier = notifier or _Silent()
        self._rules = rules

    @contextmanager
    def batch(self, claim_ids: list[str]) -> Iterator[ScoringBatch]:
        """A consumer batch: claims and the policies they name read up front (one BatchGetItem each),
        dispatch messages and partner notices sent together at the end."""
        with consumer_batch(self._claims, self._queue, self._telemetry, claim_ids,
                            required=frozenset({"dispatch", "scoring"})) as preloaded:
            resolver = self._resolver.with_known([c.submission for c in preloaded.read_ahead()
                                                  if c.status is ClaimStatus.RECEIVED])
            yield ScoringBatch(self, preloaded, resolver)

    @traced
    def score(self, claim_id: str, correlation_id: str | None = None, batch: ScoringBatch | None = None
              ) -> ClaimStatus:
        """Idempotent: a redelivered message finishes what is left and changes nothing else."""
        claim = batch.preloaded.claim(claim_id) if batch else self._claims.get(claim_id)
        if claim is None:
            raise NotFound(f"claim {claim_id} does not exist")
        if claim.status is ClaimStatus.RECEIVED:
            after, events = self._assess(claim, batch.resolver if batch else self._resolver)
            try:
                self._claims.save(claim, after, events)
            except ConcurrentUpdate:
                logger.info("claim changed while scoring; taking the stored state", extra={"claim_id": claim_id})
                stored = self._claims.get(claim_id)
                if stored is None:  # claims are never deleted: only a broken table gets here
                    raise NotFound(f"claim {claim_id} does not exist") from None
                claim = stored
            else:
                claim = after
                segment = after.segment.value if after.segment else "NONE"  # scoring always sets one
                self._notifier.status_changed(after)
                self._telemetry.count("ClaimsScored", 1, segment=segment)
                self._telemetry.count("PolicyResolution", 1, outcome=after.resolution or "NONE")
                logger.info("claim scored", extra={"claim_id": claim_id, "segment": segment,
                                                   "score": after.score, "resolution": after.resolution,
                                                   "matched_by": after.matched_by, "covered": after.covered})
        if claim.status is ClaimStatus.AWAITING_PHOTOS:
            claim = self._photos_in_or_due(claim, correlation_id or claim.correlation_id)
        if claim.status is ClaimStatus.AWAITING_SURVEYOR:
            self._queue.to_dispatch(claim_id, correlation_id or claim.correlation_id)
        return claim.status

    def needs_attention(self, claim_id: str, error_class: str) -> bool:
        """Its message failed the last receive and goes to the DLQ: the claim, if scoring still owes it
        something, goes to a person (so the reconciler never re-queues it into the same failure)."""
        return mark_needs_attention(self._claims, self._telemetry, claim_id, stage="scoring", error_class=error_class,
                                    stuck=_OWED_TO_SCORING, actor=ACTOR, clock=self._clock)

    def _photos_in_or_due(self, claim: Claim, correlation_id: str | None) -> Claim:
        """A claim awaiting its photos: still within the window with photos missing, it is asked back
        for when the window closes (a delayed message; a redelivery asks again, harmlessly); else it is
        decided now, its photo signals weighed again."""
        now = self._clock()
        due = claim.photos_due_by(self._photo_window(claim))
        if due is not None and now < due:
            self._queue.to_scoring(claim.claim_id, correlation_id, _delay_until(now, due))
            return claim
        after, events = self._decide_after_photos(claim, now)
        try:
            self._claims.save(claim, after, events)
        except ConcurrentUpdate:
            # a photo was recorded meanwhile: its message (or the delayed one) decides on the new version
            logger.info("claim changed while deciding after its photos", extra={"claim_id": claim.claim_id})
            return self._claims.get(claim.claim_id) or claim
        self._notifier.status_changed(after)
        self._telemetry.count("ClaimsDecidedAfterPhotos", 1, status=after.status.value)
        logger.info("claim decided after its photos", extra={"claim_id": claim.claim_id,
                                                              "status": after.status.value,
                                                              "photos": after.attachment_count})
        return after

    def _decide_after_photos(self, claim: Claim, now) -> tuple[Claim, list[ClaimEvent]]:
        """A photo already used on another claim sends it to a person (the score and lane weighed again
        with the photo signal); otherwise the system approves the suggestion, as it would have."""
        if claim.reused_photo_claims:
            result = rescore_with_photos(claim.score_detail, claim.reused_photo_claims, claim.submission.amount,
                                         self._rules)
            routed, event = claim.transition(
                ClaimStatus.IN_REVIEW, actor=ACTOR, kind="claim.routed", at=now, segment=result.segment,
                score=result.score, priority=result.priority, score_reasons=result.rule_ids,
                score_detail=tuple(r.as_dict() for r in result.reasons))
            event = replace(event, detail={**event.detail, "reasons": [r.as_dict() for r in result.reasons],
                                           "photos": claim.attachment_count})
            return routed, [event]
        approved, event = claim.transition(
            ClaimStatus.APPROVED, actor=ACTOR, kind="claim.auto_approved", at=now, decision=AUTO_APPROVE,
            decided_by=ACTOR, approved_amount=claim.payable)
        return approved, [replace(event, detail={**event.detail, "photos": claim.attachment_count})]

    def _photo_window(self, claim: Claim) -> int:
        product = self._products.get(claim.product) if claim.product else None
        return product.photo_window_seconds if product else 0

    def _assess(self, claim: Claim, resolver: PolicyResolver) -> tuple[Claim, list[ClaimEvent]]:
        """Resolution, coverage, score and route: four timeline entries, written together."""
        sub = claim.submission
        now = self._clock()
        resolution = resolver.resolve(sub, claim.owner)
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
        product = self._products.get(resolution.policy.product) if resolution.policy else None
        signals = Signals(sub, claim.received_at, resolution, coverage, product,
                          **self._history_signals(claim, resolution))
        result = score(signals, self._rules)
        scored, e2 = resolved.transition(
            ClaimStatus.SCORED, actor=ACTOR, kind="claim.scored", at=now, segment=result.segment, score=result.score,
            priority=result.priority, score_reasons=result.rule_ids, rules_version=result.rules_version,
            score_detail=tuple(r.as_dict() for r in result.reasons))
        e2 = ClaimEvent(e2.claim_id, e2.seq, e2.at, e2.actor, e2.kind, e2.status,
                        {**e2.detail, "rules_version": result.rules_version,
                         "reasons": [r.as_dict() for r in result.reasons]})
        due = scored.photos_due_by(product.photo_window_seconds) if result.auto_approve and product else None
        if due is not None and now < due:
            # the sender said photos follow: approving before they are in would never weigh them
            waiting, e3 = scored.transition(ClaimStatus.AWAITING_PHOTOS, actor=ACTOR, kind="claim.awaiting_photos",
                                            at=now)
            e3 = replace(e3, detail={"expected": sub.attachments_expected, "received": scored.attachment_count,
                                     "decide_by": iso(due)})
            return waiting, [e1, e2, e3]
        if result.auto_approve:
            approved, e3 = scored.transition(
                ClaimStatus.APPROVED, actor=ACTOR, kind="claim.auto_approved", at=now, decision="auto_approve",
                decided_by=ACTOR, approved_amount=result.suggested_payout)
            return approved, [e1, e2, e3]
        target = ClaimStatus.AWAITING_SURVEYOR if result.segment is Segment.FIELD_SURVEY else ClaimStatus.IN_REVIEW
        routed, e3 = scored.transition(target, actor=ACTOR, kind="claim.routed", at=now)
        return routed, [e1, e2, e3]

    def _history_signals(self, claim: Claim, resolution: Resolution) -> dict:
        """Other claims on the same policy or vehicle around the loss, and from the same phone lately:
        one indexed query each (policy, plate, phone), this claim left out."""
        if self._history is None:
            return {}
        rules = self._rules or load_rules()
        sub, me = claim.submission, claim.claim_id
        around = timedelta(hours=rules.duplicate_window_hours)
        window = timedelta(hours=rules.velocity_window_hours)
        loss = sub.occurred_at
        duplicates: set[str] = set()
        on_policy: set[str] = set()
        if resolution.policy is not None:
            for other, at in self._history.on_policy(resolution.policy.policy_number, loss - window, loss + around):
                if other != me:
                    on_policy.add(other)
                    if abs(at - loss) <= around:
                        duplicates.add(other)
        plate = normalise_plate(sub.plate)
        if plate:
            duplicates |= {other for other, _ in self._history.on_plate(plate, loss - around, loss + around)
                           if other != me}
        phone = normalise_phone(sub.claimant_phone)
        from_phone = [other for other in self._history.from_phone_since(phone, claim.received_at - window)
                      if other != me] if phone else []
        return {"duplicates": tuple(sorted(duplicates)), "reused_photo_claims": claim.reused_photo_claims,
                "claims_from_phone": len(from_phone), "claims_on_policy": len(on_policy)}

    def _coverage(self, resolution: Resolution, claim: Claim) -> Coverage | None:
        if resolution.policy is None:
            return None
        product = self._products.get(resolution.policy.product)
        if product is None:
            logger.error("policy names an unknown product", extra={"claim_id": claim.claim_id,
                                                                   "product": resolution.policy.product})
            return None
        return check_coverage(resolution.policy, product, claim.submission)


class ScoringBatch:
    def __init__(self, service: ScoringService, preloaded: Preloaded, resolver: PolicyResolver):
        self.preloaded = preloaded
        self.resolver = resolver
        self._service = service

    def score(self, claim_id: str, correlation_id: str | None = None) -> ClaimStatus:
        return self._service.score(claim_id, correlation_id, self)

    @property
    def unsent(self) -> set[str]:
        """Claims whose dispatch message did not reach the queue (known once the batch has ended)."""
        return self.preloaded.unsent


def _delay_until(now: datetime, due: datetime) -> int:
    """Whole seconds to ``due`` (at least 1, at most SQS's 900)."""
    return max(1, min(900, math.ceil((due - now).total_seconds())))


def _resolution_detail(resolution: Resolution, coverage: Coverage | None) -> dict:
    detail: dict[str, object] = {"outcome": resolution.outcome.value,
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
