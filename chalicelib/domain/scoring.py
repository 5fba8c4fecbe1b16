"""Explainable, data-driven claim scoring: a risk score (0-100), a triage lane, a priority for the agent
queue, a suggested payout, and every reason that produced them.

The rules are data: ``chalicelib/data/scoring_rules.json``, read once by ``scoring_rules.load_rules``,
decides which rules are on, their weights, thresholds and keyword lists, and carries the ``version``
recorded on every score; ``scoring_rules`` also holds what each rule kind evaluates. This module puts
the score together from the signals: the rules that fire, the lane, the priority and the payout. Pure.

Lanes, in order: SPECIAL_INVESTIGATION when score >= ``si_threshold``; else STANDARD_REVIEW when the
claim needs an agent (policy not resolved, coverage not checked, not covered, amount not stated,
possible duplicates, reused photos); else FIELD_SURVEY when the product needs a survey; else
FAST_TRACK when the claimed amount is within the product's ``fast_track_limit`` and score <=
``fast_track_max_score``; else STANDARD_REVIEW.

Priority (0..100, agent queue order) = round_half_up(score * ``risk_factor``) + the points of the
highest amount step at or below the claimed amount + the ``priority_boost`` of every rule that fired,
capped to 0..100.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chalicelib.domain.claim import ClaimSubmission, Segment
from chalicelib.domain.coverage import Coverage
from chalicelib.domain.policy import Resolution, ResolutionOutcome
from chalicelib.domain.products import Product, catalogue
from chalicelib.domain.scoring_rules import ReusedPhoto, RuleSet, clamp, load_rules, normalise, plain

# Lane decisions: not data-driven rules but reasons all the same, so a reader sees why the lane was chosen.
LANE_SPECIAL_INVESTIGATION = "lane.special_investigation.high_risk_score"
LANE_NEEDS_AGENT = "lane.standard_review.needs_agent"
LANE_FIELD_SURVEY = "lane.field_survey.product_needs_survey"
LANE_FAST_TRACK = "lane.fast_track.small_clean_claim"
LANE_DEFAULT_REVIEW = "lane.standard_review.default"
PAYOUT_AUTO_APPROVE = "payout.auto_approve"
PAYOUT_NEEDS_APPROVAL = "payout.needs_approval"


# -- inputs and outputs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Signals:
    """Everything known about a claim when it is scored. The caller looks up the history counts."""

    submission: ClaimSubmission
    received_at: datetime
    resolution: Resolution
    coverage: Coverage | None  # None unless resolved to one policy of a known product
    product: Product | None
    duplicates: tuple[str, ...] = ()  # other claims on the same policy or plate within the duplicate window
    reused_photo_claims: tuple[str, ...] = ()  # other claims that already had one of this claim's photos
    claims_from_phone: int = 0  # from the same claimant phone in the velocity window, this one excluded
    claims_on_policy: int = 0  # on the same policy in the velocity window, this one excluded


@dataclass(frozen=True)
class Reason:
    rule_id: str
    weight: int  # what it added to the risk score (0 for lane, payout and priority-only rules)
    evidence: dict  # small and JSON-safe; never personal data or description text

    def as_dict(self) -> dict:
        return {"rule_id": self.rule_id, "weight": self.weight, "evidence": self.evidence}


@dataclass(frozen=True)
class ScoreResult:
    score: int  # 0..100 risk
    segment: Segment
    reasons: tuple[Reason, ...]
    priority: int  # 0..100: how soon a person should look
    suggested_payout: Decimal | None  # coverage.payable when covered, else None
    auto_approve: bool  # FAST_TRACK and suggested payout below the product's auto_approve_below
    rules_version: str

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.rule_id for r in self.reasons)


# -- scoring ---------------------------------------------------------------------------------------------

def score(signals: Signals, rules: RuleSet | None = None) -> ScoreResult:
    rules = load_rules() if rules is None else rules
    facts = Facts.of(signals, rules)
    reasons: list[Reason] = []
    boost = 0
    for rule in rules.rules:
        if not rule.enabled:
            continue
        evidence = rule.evaluate(facts)
        if evidence is not None:
            reasons.append(Reason(rule.rule_id, rule.weight, evidence))
            boost += rule.priority_boost
    risk = clamp(sum(r.weight for r in reasons))

    segment, lane = _lane(facts, risk, rules)
    reasons.append(lane)
    coverage, product = signals.coverage, signals.product
    payout = coverage.payable if coverage is not None and coverage.covered else None
    auto_approve = False
    if segment is Segment.FAST_TRACK and payout is not None and product is not None:
        auto_approve = payout < product.auto_approve_below
        reasons.append(Reason(PAYOUT_AUTO_APPROVE if auto_approve else PAYOUT_NEEDS_APPROVAL, 0,
                              {"suggested_payout": plain(payout),
                               "auto_approve_below": plain(product.auto_approve_below)}))
    return ScoreResult(score=risk, segment=segment, reasons=tuple(reasons),
                       priority=rules.priority.of(risk, facts.amount, boost), suggested_payout=payout,
                       auto_approve=auto_approve, rules_version=rules.version)


_DECIDED_REASONS = (LANE_SPECIAL_INVESTIGATION, LANE_NEEDS_AGENT, LANE_FIELD_SURVEY, LANE_FAST_TRACK,
                    LANE_DEFAULT_REVIEW, PAYOUT_AUTO_APPROVE, PAYOUT_NEEDS_APPROVAL)


def rescore_with_photos(score_detail: tuple[dict, ...], reused_photo_claims: tuple[str, ...], amount: Decimal,
                        rules: RuleSet | None = None) -> ScoreResult:
    """A claim scored clean (it was about to be approved) weighed again once its photos are in: the rules
    that fired stay, the reused-photo rules are evaluated on the photos' signal, and the lane follows
    (a reused photo always needs an agent, as at scoring). Lane and payout reasons are decided again."""
    rules = load_rules() if rules is None else rules
    kept = [Reason(r["rule_id"], r["weight"], r["evidence"]) for r in score_detail
            if r["rule_id"] not in _DECIDED_REASONS and _kind_of(rules, r["rule_id"]) != "reused_photo"]
    reasons = list(kept)
    for rule in rules.rules:
        if rule.enabled and isinstance(rule, ReusedPhoto) and len(reused_photo_claims) >= rule.min_count:
            reasons.append(Reason(rule.rule_id, rule.weight, {"claim_ids": list(reused_photo_claims),
                                                               "count": len(reused_photo_claims)}))
    risk = clamp(sum(r.weight for r in reasons))
    boost = sum(_boost_of(rules, r.rule_id) for r in reasons)
    if risk >= rules.si_threshold:
        segment, lane = Segment.SPECIAL_INVESTIGATION, Reason(LANE_SPECIAL_INVESTIGATION, 0, {
            "score": risk, "si_threshold": rules.si_threshold})
    elif reused_photo_claims:
        segment, lane = Segment.STANDARD_REVIEW, Reason(LANE_NEEDS_AGENT, 0, {"because": ["reused_photo"]})
    else:
        raise ValueError("nothing to weigh again: no reused photo")
    reasons.append(lane)
    return ScoreResult(score=risk, segment=segment, reasons=tuple(reasons), priority=rules.priority.of(
        risk, amount, boost), suggested_payout=None, auto_approve=False, rules_version=rules.version)


def _kind_of(rules: RuleSet, rule_id: str) -> str | None:
    return next((r.kind for r in rules.rules if r.rule_id == rule_id), None)


def _boost_of(rules: RuleSet, rule_id: str) -> int:
    return next((r.priority_boost for r in rules.rules if r.rule_id == rule_id and r.enabled), 0)


def score_submission(sub: ClaimSubmission, received_at: datetime, resolution: Resolution,
                     coverage: Coverage | None) -> ScoreResult:
    """Compatibility for the current caller: no history signals. Prefer building ``Signals`` and ``score``."""
    product = None
    if coverage is not None and resolution.policy is not None:
        product = catalogue().get(resolution.policy.product)
    return score(Signals(sub, received_at, resolution, coverage, product))


@dataclass(frozen=True)
class Facts:
    """What the rule kinds read: the signals, and the figures worked out from them once per claim."""

    signals: Signals
    amount: Decimal | None  # None when not a finite number
    days_late: int
    text: str  # the description, NFKC-normalised and case-folded
    window_hours: int

    @classmethod
    def of(cls, signals: Signals, rules: RuleSet) -> Facts:
        sub = signals.submission
        amount = sub.amount if isinstance(sub.amount, Decimal) and sub.amount.is_finite() else None
        return cls(signals, amount, (signals.received_at - sub.occurred_at).days,
                   normalise(sub.description or ""), rules.velocity_window_hours)

    @property
    def resolved(self) -> bool:
        return self.signals.resolution.outcome is ResolutionOutcome.RESOLVED


def _lane(facts: Facts, risk: int, rules: RuleSet) -> tuple[Segment, Reason]:
    s, amount = facts.signals, facts.amount
    if risk >= rules.si_threshold:
        return Segment.SPECIAL_INVESTIGATION, Reason(LANE_SPECIAL_INVESTIGATION, 0,
                                                     {"score": risk, "si_threshold": rules.si_threshold})
    because: list[str] = []
    if not facts.resolved:
        because.append("policy_not_resolved")
    elif s.coverage is None:
        because.append("coverage_not_checked")
    elif not s.coverage.covered:
        because.append("not_covered")
    if amount is None or amount < 0:
        because.append("amount_not_usable")
    elif amount == 0:
        because.append("amount_not_stated")
    if s.duplicates:
        because.append("possible_duplicate")
    if s.reused_photo_claims:
        because.append("reused_photo")
    if because or s.coverage is None or amount is None:  # (both None only where `because` says why)
        return Segment.STANDARD_REVIEW, Reason(LANE_NEEDS_AGENT, 0, {"because": because})

    if s.coverage.needs_survey:
        return Segment.FIELD_SURVEY, Reason(LANE_FIELD_SURVEY, 0, {"product": s.product.code if s.product else None})

    limit = s.product.fast_track_limit if s.product else None
    evidence: dict[str, object] = {
        "amount": plain(amount), "fast_track_limit": plain(limit) if limit is not None else None, "score": risk,
        "fast_track_max_score": rules.fast_track_max_score}
    if limit is not None and amount <= limit and risk <= rules.fast_track_max_score:
        return Segment.FAST_TRACK, Reason(LANE_FAST_TRACK, 0, evidence)
    because = []
    if limit is None:
        because.append("product_unknown")
    elif amount > limit:
        because.append("amount_above_fast_track_limit")
    if risk > rules.fast_track_max_score:
        because.append("score_above_fast_track_max")
    evidence["because"] = because
    return Segment.STANDARD_REVIEW, Reason(LANE_DEFAULT_REVIEW, 0, evidence)
