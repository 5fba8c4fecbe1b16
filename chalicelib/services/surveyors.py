"""The field surveyor's part: whether they can take work, and the survey they complete (which frees
their place and sends the claim back to review)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from chalicelib.domain.claim import Claim, ClaimStatus, utc_now
from chalicelib.domain.coverage import payable_for
from chalicelib.domain.errors import NotFound
from chalicelib.domain.products import Catalogue, catalogue
from chalicelib.domain.surveyor import SurveyorStatus
from chalicelib.observability import logger, traced
from chalicelib.services.decisions import MAX_REASON
from chalicelib.services.ports import ClaimRepository, Notifier, SurveyorRepository, Telemetry


class SurveyorService:
    """Field surveyors report whether they can take work, and when a survey is done (which frees
    their capacity and sends the claim back to review)."""

    def __init__(self, claims: ClaimRepository, surveyors: SurveyorRepository, notifier: Notifier,
                 telemetry: Telemetry, clock: Callable[[], datetime] = utc_now, products: Catalogue | None = None):
        self._claims = claims
        self._surveyors = surveyors
        self._notifier = notifier
        self._telemetry = telemetry
        self._clock = clock
        self._products = products or catalogue()

    def set_status(self, surveyor_id: str, status: SurveyorStatus) -> None:
        if not self._surveyors.set_status(surveyor_id, status):
            raise NotFound("No such surveyor.")
        logger.info("surveyor status", extra={"surveyor_id": surveyor_id, "status": status.value})

    @traced
    def complete(self, surveyor_id: str, claim_id: str, assessed_amount: Decimal | None, notes: str | None) -> Claim:
        """Idempotent: completing again answers the claim as it is, and frees nothing twice."""
        claim = self._claims.get(claim_id)
        if claim is None or claim.surveyor_id != surveyor_id:
            raise NotFound("No such assignment.")
        if claim.status is not ClaimStatus.SURVEYOR_ASSIGNED:
            return claim  # already completed (a retry) or moved on by a person
        now = self._clock()
        notes = (notes or "").strip()[:MAX_REASON] or None
        payable = self._payable_after_survey(claim, assessed_amount) if assessed_amount is not None else None
        detail: dict[str, object] = {"assessed_amount": str(assessed_amount)} if assessed_amount is not None else {}
        if notes:
            detail["notes"] = notes
        if payable is not None:
            detail["suggested_payout"] = {"previous": None if claim.payable is None else str(claim.payable),
                                          "new": str(payable)}
        # Without an assessed amount, the claim keeps its amount and suggestion as they were.
        done, e1 = claim.transition(
            ClaimStatus.SURVEY_COMPLETED, actor=f"surveyor:{surveyor_id}", kind="claim.survey_completed", at=now,
            survey_notes=notes, assessed_by=surveyor_id, assessed_at=now,
            assessed_amount=claim.assessed_amount if assessed_amount is None else assessed_amount,
            payable=claim.payable if payable is None else payable)
        e1 = replace(e1, detail=detail)
        review, e2 = done.transition(ClaimStatus.IN_REVIEW, actor="system:dispatch", kind="claim.routed", at=now)
        if not self._claims.complete_survey(surveyor_id, claim, review, [e1, e2]):
            current = self._claims.get(claim_id)  # someone else completed it meanwhile
            if current is None:  # claims are never deleted: only a broken table gets here
                raise NotFound("No such assignment.")
            return current
        self._telemetry.count("SurveysCompleted", 1)
        self._notifier.status_changed(review)
        return review

    def _payable_after_survey(self, claim: Claim, assessed_amount: Decimal) -> Decimal | None:
        """The suggestion from the assessed amount, by the same cover arithmetic as at scoring (limit,
        deductible); None when the claim is not covered or its product is unknown (nothing to suggest)."""
        product = self._products.get(claim.product) if claim.product else None
        if not claim.covered or product is None:
            return None
        return payable_for(assessed_amount, product)
