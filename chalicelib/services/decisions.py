"""The agent's part: the review queue and the agent's decision on a claim."""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus, utc_now
from chalicelib.domain.errors import ConcurrentUpdate, FieldProblem, NotFound, Unprocessable, ValidationFailed
from chalicelib.domain.outcome import REJECTION_REASONS
from chalicelib.domain.overrides import check_override
from chalicelib.domain.products import Catalogue, catalogue
from chalicelib.observability import logger, traced
from chalicelib.services.ports import ClaimRepository, Notifier, ReviewQueue, Telemetry

MAX_PAGE = 100
MAX_REASON = 1000
# In review, or given up by a consumer (no suggestion then, unless it was scored: override or reject).
_DECIDABLE = frozenset({ClaimStatus.IN_REVIEW, ClaimStatus.NEEDS_ATTENTION})


class Action(str, enum.Enum):
    ACCEPT = "accept"  # the suggested payout, as it stands
    OVERRIDE = "override"  # another amount, with a reason
    REJECT = "reject"  # with a reason


class StaleVersion(ConcurrentUpdate):
    code = "STALE_VERSION"


@dataclass(frozen=True)
class Decision:
    action: Action
    expected_version: int
    amount: Decimal | None = None
    reason: str | None = None
    # a rejection's, for the customer (domain/outcome.py); an override's above the claimed amount
    # (domain/overrides.py)
    reason_code: str | None = None
    exceeds_limit: bool = False  # a supervisor's explicit "above the cover's limit"


class DecisionService:
    """The agent decides; the system only suggests. Every decision is guarded by the version the
    agent saw (``If-Match``), so two agents never overwrite each other."""

    def __init__(self, claims: ClaimRepository, review: ReviewQueue, notifier: Notifier, telemetry: Telemetry,
                 clock: Callable[[], datetime] = utc_now, products: Catalogue | None = None):
        self._claims = claims
        self._review = review
        self._notifier = notifier
        self._telemetry = telemetry
        self._clock = clock
        self._products = products or catalogue()

    def queue(self, limit: int, cursor: str | None) -> tuple[list[Claim], str | None]:
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed("The page size is not valid.", [FieldProblem("limit", f"must be 1 to {MAX_PAGE}")])
        return self._review.page(limit, cursor)

    def get(self, claim_id: str) -> Claim:
        claim = self._claims.get(claim_id)
        if claim is None:
            raise NotFound("No such claim.")
        return claim

    @traced
    def decide(self, claim_id: str, agent_id: str, decision: Decision, role: str = "agent") -> Claim:
        claim = self.get(claim_id)
        if claim.version != decision.expected_version:
            raise StaleVersion(f"The claim changed (version {claim.version}); reload it and decide again.")
        if claim.status not in _DECIDABLE:
            raise Unprocessable(f"A claim in status {claim.status.value} is not waiting for a decision.")
        after, event = self._apply(claim, agent_id, decision, role)
        try:
            self._claims.save(claim, after, [event])
        except ConcurrentUpdate as exc:
            raise StaleVersion("The claim changed meanwhile; reload it and decide again.") from exc
        self._telemetry.count("ClaimsDecided", 1, decision=decision.action.value)
        logger.info("claim decided", extra={"claim_id": claim_id, "agent_id": agent_id,
                                            "decision": decision.action.value})
        self._notifier.status_changed(after)
        return after

    def _apply(self, claim: Claim, agent_id: str, decision: Decision, role: str) -> tuple[Claim, ClaimEvent]:
        reason = (decision.reason or "").strip() or None
        if reason and len(reason) > MAX_REASON:
            raise ValidationFailed("The reason is too long.",
                                   [FieldProblem("reason", f"at most {MAX_REASON} characters")])
        if decision.reason_code is not None and decision.action is Action.ACCEPT:
            raise ValidationFailed("Only a rejection or an override has a reason code.", [FieldProblem(
                "reason_code", "only with decision reject or override")])
        if (decision.reason_code is not None and decision.action is Action.REJECT
                and decision.reason_code not in REJECTION_REASONS):
            raise ValidationFailed("The reason code is not known.", [FieldProblem(
                "reason_code", f"must be one of {', '.join(REJECTION_REASONS)}")])
        actor, now = f"agent:{agent_id}", self._clock()

        def decided(target: ClaimStatus, **changes: object) -> tuple[Claim, ClaimEvent]:
            return claim.transition(target, actor=actor, kind="claim.decided", at=now, decided_by=agent_id,
                                    decision=decision.action.value, decision_reason=reason, **changes)

        if decision.action is Action.ACCEPT:
            if not claim.covered or claim.payable is None:
                raise Unprocessable("There is no suggested payout to accept: override with an amount, or reject.")
            return decided(ClaimStatus.APPROVED, approved_amount=claim.payable)
        if decision.action is Action.OVERRIDE:
            problems = []
            if decision.amount is None or decision.amount <= 0:
                problems.append(FieldProblem("amount", "an amount greater than 0 is required"))
            if not reason:
                problems.append(FieldProblem("reason", "a reason is required"))
            if problems or decision.amount is None:
                raise ValidationFailed("The override is not complete.", problems)
            return self._override(claim, agent_id, decision, decision.amount, role, decided)
        if not reason:
            raise ValidationFailed("The rejection is not complete.", [FieldProblem("reason", "a reason is required")])
        return decided(ClaimStatus.REJECTED, reason_code=decision.reason_code)

    def _override(self, claim: Claim, agent_id: str, decision: Decision, amount: Decimal, role: str,
                  decided: Callable[..., tuple[Claim, ClaimEvent]]) -> tuple[Claim, ClaimEvent]:
        """Capped by the cover's limit (a supervisor may exceed it only explicitly), and above the
        claimed amount only with a reason code; the timeline keeps the code and any limit exceeded."""
        product = self._products.get(claim.product) if claim.product else None
        limit = product.limit if product else None
        claimed = claim.submission.amount
        check = check_override(amount, claimed, limit, reason_code=decision.reason_code,
                               exceeds_limit=decision.exceeds_limit, supervisor=role == "supervisor")
        after, event = decided(ClaimStatus.APPROVED, approved_amount=amount)
        detail = {**event.detail, "amount": str(amount), "claimed_amount": str(claimed)}
        if check.reason_code:
            detail["reason_code"] = check.reason_code
        if check.limit_exceeded:
            detail["limit_exceeded"] = {"limit": str(limit), "by": agent_id, "role": role}
            logger.warning("override above the cover's limit", extra={"claim_id": claim.claim_id,
                                                                      "agent_id": agent_id})
        return after, replace(event, detail=detail)
