"""Rule-based scoring: a risk score (0-100), a triage segment and the reasons that produced them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chalicelib.domain.claim import ClaimSubmission, Segment
from chalicelib.domain.perils import MOTOR, line_of

RULES_VERSION = "2026-11-25.1"
FAST_TRACK_LIMIT = Decimal("500")
SPECIAL_INVESTIGATION_FROM = Decimal("50000")
LATE_REPORT_DAYS = 30


@dataclass(frozen=True)
class ScoreResult:
    score: int
    segment: Segment
    reasons: tuple[str, ...]
    rules_version: str = RULES_VERSION


def score_submission(sub: ClaimSubmission, received_at: datetime) -> ScoreResult:
    score = 0
    reasons: list[str] = []
    late_days = (received_at - sub.occurred_at).days
    if late_days > LATE_REPORT_DAYS:
        score += 30
        reasons.append(f"late_report:{late_days}d")
    if sub.amount >= SPECIAL_INVESTIGATION_FROM:
        score += 50
        reasons.append("amount_at_or_above_investigation_threshold")

    if score >= 50:
        segment = Segment.SPECIAL_INVESTIGATION
    elif line_of(sub.loss_type) == MOTOR:
        segment = Segment.FIELD_SURVEY
        reasons.append("motor_loss_needs_survey")
    elif sub.amount <= FAST_TRACK_LIMIT and score == 0:
        segment = Segment.FAST_TRACK
        reasons.append("small_clean_claim")
    else:
        segment = Segment.STANDARD_REVIEW
        reasons.append("default_review")
    return ScoreResult(min(score, 100), segment, tuple(reasons))
