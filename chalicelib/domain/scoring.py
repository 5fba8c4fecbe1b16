"""Rule-based scoring: a risk score (0-100), a triage segment and the reasons that produced them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chalicelib.domain.claim import ClaimSubmission, Segment
from chalicelib.domain.coverage import Coverage
from chalicelib.domain.policy import Resolution, ResolutionOutcome

RULES_VERSION = "2026-11-25.3"
FAST_TRACK_LIMIT = Decimal("500")
SPECIAL_INVESTIGATION_FROM = Decimal("50000")
LATE_REPORT_DAYS = 30


@dataclass(frozen=True)
class ScoreResult:
    score: int
    segment: Segment
    reasons: tuple[str, ...]
    rules_version: str = RULES_VERSION


def score_submission(sub: ClaimSubmission, received_at: datetime, resolution: Resolution,
                     coverage: Coverage | None) -> ScoreResult:
    """``coverage`` is None unless the claim resolved to one policy of a known product."""
    score = 0
    reasons: list[str] = []
    late_days = (received_at - sub.occurred_at).days
    if late_days > LATE_REPORT_DAYS:
        score += 30
        reasons.append(f"late_report:{late_days}d")
    if sub.amount >= SPECIAL_INVESTIGATION_FROM:
        score += 50
        reasons.append("amount_at_or_above_investigation_threshold")
    if resolution.outcome is not ResolutionOutcome.RESOLVED:
        score += 10
        reasons.append(f"policy_{resolution.outcome.value.lower()}")
    elif coverage is not None and not coverage.covered:
        score += 20
        reasons += [f"not_covered:{r}" for r in coverage.reasons]

    if score >= 50:
        segment = Segment.SPECIAL_INVESTIGATION
    elif sub.amount == 0:  # reported by phone without an amount: a person asks before anything is paid
        segment = Segment.STANDARD_REVIEW
        reasons.append("amount_not_stated")
    elif coverage is None or not coverage.covered:
        segment = Segment.STANDARD_REVIEW  # an agent ties it to a policy or confirms the refusal
    elif coverage.needs_survey:
        segment = Segment.FIELD_SURVEY
        reasons.append("product_needs_survey")
    elif sub.amount <= FAST_TRACK_LIMIT and score == 0:
        segment = Segment.FAST_TRACK
        reasons.append("small_clean_claim")
    else:
        segment = Segment.STANDARD_REVIEW
        reasons.append("default_review")
    return ScoreResult(min(score, 100), segment, tuple(reasons))
