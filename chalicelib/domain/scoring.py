"""Explainable, data-driven claim scoring: a risk score (0-100), a triage lane, a priority for the agent
queue, a suggested payout, and every reason that produced them.

The code implements a fixed set of rule *kinds* (``KINDS``); ``chalicelib/data/scoring_rules.json``
decides which rules are on, their weights, thresholds and keyword lists, and carries the ``version``
recorded on every score. Pure: the only I/O is reading that file once (``load_rules``).

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

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from chalicelib.domain.claim import ClaimSubmission, Segment
from chalicelib.domain.coverage import Coverage
from chalicelib.domain.policy import Resolution, ResolutionOutcome
from chalicelib.domain.products import Product, catalogue

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "scoring_rules.json"

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


# -- the rule set ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: str
    weight: int
    priority_boost: int = 0
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PriorityFormula:
    risk_factor: Decimal
    amount_steps: tuple[tuple[Decimal, int], ...]  # (from, points), ascending

    def of(self, score: int, amount: Decimal | None, boost: int) -> int:
        base = int((self.risk_factor * score).to_integral_value(rounding=ROUND_HALF_UP))
        points = 0
        if amount is not None:
            points = next((p for start, p in reversed(self.amount_steps) if amount >= start), 0)
        return _clamp(base + points + boost)


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]
    si_threshold: int
    fast_track_max_score: int
    velocity_window_hours: int  # for the caller's claims_from_phone / claims_on_policy look-ups
    duplicate_window_hours: int  # for the caller's duplicates look-up (either side of the loss)
    priority: PriorityFormula

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)


def load_rules(path: str | Path = RULES_FILE) -> RuleSet:
    """The rule set in ``path`` (cached). A bad file raises ValueError saying what is wrong, and where."""
    return _load(Path(path).resolve())


@lru_cache(maxsize=8)
def _load(path: Path) -> RuleSet:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise ValueError(f"{path.name}: not valid JSON: {exc}") from None
    return parse_rules(data, source=path.name)


def parse_rules(data: Any, source: str = "scoring rules") -> RuleSet:
    try:
        return _parse(data)
    except _Invalid as exc:
        raise ValueError(f"{source}: {exc}") from None


# -- scoring ---------------------------------------------------------------------------------------------

def score(signals: Signals, rules: RuleSet | None = None) -> ScoreResult:
    rules = load_rules() if rules is None else rules
    facts = _Facts.of(signals, rules)
    reasons: list[Reason] = []
    boost = 0
    for rule in rules.rules:
        if not rule.enabled:
            continue
        evidence = KINDS[rule.kind].evaluate(rule, facts)
        if evidence is not None:
            reasons.append(Reason(rule.rule_id, rule.weight, evidence))
            boost += rule.priority_boost
    risk = _clamp(sum(r.weight for r in reasons))

    segment, lane = _lane(facts, risk, rules)
    reasons.append(lane)
    coverage, product = signals.coverage, signals.product
    payout = coverage.payable if coverage is not None and coverage.covered else None
    auto_approve = False
    if segment is Segment.FAST_TRACK and payout is not None and product is not None:
        auto_approve = payout < product.auto_approve_below
        reasons.append(Reason(PAYOUT_AUTO_APPROVE if auto_approve else PAYOUT_NEEDS_APPROVAL, 0,
                              {"suggested_payout": _plain(payout),
                               "auto_approve_below": _plain(product.auto_approve_below)}))
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
        if rule.enabled and rule.kind == "reused_photo" and len(reused_photo_claims) >= rule.params["min_count"]:
            reasons.append(Reason(rule.rule_id, rule.weight, {"claim_ids": list(reused_photo_claims),
                                                               "count": len(reused_photo_claims)}))
    risk = _clamp(sum(r.weight for r in reasons))
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
class _Facts:
    signals: Signals
    amount: Decimal | None  # None when not a finite number
    days_late: int
    text: str  # the description, NFKC-normalised and case-folded
    window_hours: int

    @classmethod
    def of(cls, signals: Signals, rules: RuleSet) -> "_Facts":
        sub = signals.submission
        amount = sub.amount if isinstance(sub.amount, Decimal) and sub.amount.is_finite() else None
        return cls(signals, amount, (signals.received_at - sub.occurred_at).days,
                   _normalise(sub.description or ""), rules.velocity_window_hours)

    @property
    def resolved(self) -> bool:
        return self.signals.resolution.outcome is ResolutionOutcome.RESOLVED


def _lane(facts: _Facts, risk: int, rules: RuleSet) -> tuple[Segment, Reason]:
    s, amount = facts.signals, facts.amount
    if risk >= rules.si_threshold:
        return Segment.SPECIAL_INVESTIGATION, Reason(LANE_SPECIAL_INVESTIGATION, 0,
                                                     {"score": risk, "si_threshold": rules.si_threshold})
    because = []
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
    if because:
        return Segment.STANDARD_REVIEW, Reason(LANE_NEEDS_AGENT, 0, {"because": because})

    if s.coverage.needs_survey:
        return Segment.FIELD_SURVEY, Reason(LANE_FIELD_SURVEY, 0, {"product": s.product.code if s.product else None})

    limit = s.product.fast_track_limit if s.product else None
    evidence = {"amount": _plain(amount), "fast_track_limit": _plain(limit) if limit is not None else None,
                "score": risk, "fast_track_max_score": rules.fast_track_max_score}
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


# -- rule kinds: what the code knows how to evaluate -------------------------------------------------------

Evaluator = Callable[[Rule, _Facts], "dict | None"]


def _policy_unresolved(rule: Rule, f: _Facts) -> dict | None:
    resolution = f.signals.resolution
    if resolution.outcome.value != rule.params["outcome"]:
        return None
    return {"outcome": resolution.outcome.value, "candidate_count": len(resolution.candidates),
            "keys_tried": [k.value for k in resolution.keys_tried]}


def _not_covered(rule: Rule, f: _Facts) -> dict | None:
    coverage = f.signals.coverage
    if coverage is None or coverage.covered:
        return None
    return {"coverage_reasons": list(coverage.reasons)}


def _covered(rule: Rule, f: _Facts) -> dict | None:
    coverage = f.signals.coverage
    if coverage is None or not coverage.covered:
        return None
    return {"payable": _plain(coverage.payable), "coverage_reasons": list(coverage.reasons)}


def _amount_to(attribute: str, threshold: str, label: str) -> Evaluator:
    def evaluate(rule: Rule, f: _Facts) -> dict | None:
        product = f.signals.product
        base = getattr(product, attribute, None)
        if product is None or f.amount is None or not base or base <= 0:
            return None
        try:
            ratio = f.amount / base
        except ArithmeticError:  # beyond Decimal's range: above any threshold
            ratio = Decimal("Infinity")
        if ratio < rule.params[threshold]:
            return None
        return {"product": product.code, attribute: _plain(base), label: _two_places(ratio),
                threshold: _plain(rule.params[threshold])}
    return evaluate


def _amount_at_least(rule: Rule, f: _Facts) -> dict | None:
    if f.amount is None or f.amount < rule.params["min_amount"]:
        return None
    return {"amount": _plain(f.amount), "min_amount": _plain(rule.params["min_amount"])}


def _other_claims(attribute: str) -> Evaluator:
    def evaluate(rule: Rule, f: _Facts) -> dict | None:
        ids = getattr(f.signals, attribute)
        if len(ids) < rule.params["min_count"]:
            return None
        return {"claim_ids": list(ids), "count": len(ids)}
    return evaluate


def _velocity(attribute: str) -> Evaluator:
    def evaluate(rule: Rule, f: _Facts) -> dict | None:
        count = getattr(f.signals, attribute)
        if count < rule.params["min_count"]:
            return None
        return {"count": count, "min_count": rule.params["min_count"], "window_hours": f.window_hours}
    return evaluate


def _late_report(rule: Rule, f: _Facts) -> dict | None:
    if f.days_late < rule.params["min_days"]:
        return None
    return {"days": f.days_late, "min_days": rule.params["min_days"]}


def _sentiment(rule: Rule, f: _Facts) -> dict | None:
    text = f.text
    for phrase in rule.params["ignore"]:
        text = text.replace(phrase, " ")
    count = sum(1 for pattern in rule.params["patterns"] if pattern.search(text))
    if count < rule.params["min_matches"]:
        return None
    return {"category": rule.params["category"], "count": count}  # never the words or the text


def _amount_not_stated(rule: Rule, f: _Facts) -> dict | None:
    if f.amount is None or f.amount != 0:
        return None
    return {"channel": f.signals.submission.channel.value}


# -- parameter parsers ---------------------------------------------------------------------------------------

class _Invalid(Exception):
    pass


def _int(low: int, high: int | None = None) -> Callable[[Any, str], int]:
    def parse(value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            span = f"{low}..{high}" if high is not None else f">= {low}"
            raise _Invalid(f"'{name}' must be a whole number {span}, not {value!r}")
        return value
    return parse


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(f"'{name}' must be a decimal string such as \"0.8\", not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _Invalid(f"'{name}' must be a decimal string such as \"0.8\", not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise _Invalid(f"'{name}' must be a finite decimal >= 0, not {value!r}")
    return number


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"'{name}' must be a non-empty string")
    return value


def _outcome(value: Any, name: str) -> str:
    allowed = [o.value for o in ResolutionOutcome if o is not ResolutionOutcome.RESOLVED]
    if value not in allowed:
        raise _Invalid(f"'{name}' must be one of {allowed}, not {value!r}")
    return value


def _phrases(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and _normalise(v).strip() for v in value):
        raise _Invalid(f"'{name}' must be a list of non-empty strings")
    return tuple(sorted({_normalise(v).strip() for v in value}, key=len, reverse=True))


_ASCII_WORD = re.compile(r"[a-z0-9][a-z0-9 '\-]*")


def _keywords(value: Any, name: str) -> tuple[re.Pattern, ...]:
    """{"zh": [...], "en": [...]} -> one pattern per keyword. ASCII keywords match whole words, and a
    trailing * any ending; others (Chinese) match anywhere."""
    if not isinstance(value, dict) or not value:
        raise _Invalid(f"'{name}' must be an object of keyword lists by language, "
                       f"e.g. {{\"zh\": [...], \"en\": [...]}}")
    patterns: dict[str, re.Pattern] = {}
    for language, words in value.items():
        for word in _phrases(words, f"{name}.{language}"):
            stem, wildcard = word.rstrip("*"), word.endswith("*")
            if not stem or "*" in stem:
                raise _Invalid(f"'{name}.{language}' keyword {word!r}: '*' is allowed only at the end of a word")
            if _ASCII_WORD.fullmatch(stem):
                pattern = rf"(?<![a-z0-9]){re.escape(stem)}{'[a-z0-9]*' if wildcard else ''}(?![a-z0-9])"
            else:
                pattern = re.escape(stem)
            patterns[pattern] = re.compile(pattern)
    return tuple(patterns.values())


@dataclass(frozen=True)
class Kind:
    evaluate: Evaluator
    required: Mapping[str, Callable[[Any, str], Any]] = field(default_factory=dict)
    optional: Mapping[str, tuple[Callable[[Any, str], Any], Any]] = field(default_factory=dict)


_COUNT = {"min_count": (_int(1), 1)}
KINDS: Mapping[str, Kind] = MappingProxyType({
    "policy_unresolved": Kind(_policy_unresolved, {"outcome": _outcome}),
    "not_covered": Kind(_not_covered),
    "covered": Kind(_covered),
    "amount_to_limit": Kind(_amount_to("limit", "min_ratio", "ratio"), {"min_ratio": _decimal}),
    "amount_to_typical": Kind(_amount_to("typical_claim", "min_multiple", "multiple"), {"min_multiple": _decimal}),
    "amount_at_least": Kind(_amount_at_least, {"min_amount": _decimal}),
    "possible_duplicate": Kind(_other_claims("duplicates"), optional=_COUNT),
    "reused_photo": Kind(_other_claims("reused_photo_claims"), optional=_COUNT),
    "claims_from_phone": Kind(_velocity("claims_from_phone"), {"min_count": _int(1)}),
    "claims_on_policy": Kind(_velocity("claims_on_policy"), {"min_count": _int(1)}),
    "late_report": Kind(_late_report, {"min_days": _int(0)}),
    "sentiment": Kind(_sentiment, {"category": _text, "keywords": _keywords},
                      {"ignore": (_phrases, ()), "min_matches": (_int(1), 1)}),
    "amount_not_stated": Kind(_amount_not_stated),
})

_RULE_FIELDS = {"id", "kind", "weight", "priority_boost", "enabled", "note"}


def _parse(data: Any) -> RuleSet:
    top = _object(data, "the file", required={"version", "velocity_window_hours", "duplicate_window_hours",
                                               "lanes", "priority", "rules"}, optional={"about"})
    version = _text(top["version"], "version")
    lanes = _object(top["lanes"], "'lanes'", required={"si_threshold", "fast_track_max_score"}, optional={"about"})
    priority = _object(top["priority"], "'priority'", required={"risk_factor", "amount_steps"}, optional={"about"})
    rules = top["rules"]
    if not isinstance(rules, list) or not rules:
        raise _Invalid("'rules' must be a non-empty list")
    parsed: list[Rule] = []
    for index, raw in enumerate(rules):
        rule = _parse_rule(raw, index)
        if any(r.rule_id == rule.rule_id for r in parsed):
            raise _Invalid(f"rule '{rule.rule_id}' appears twice")
        parsed.append(rule)
    return RuleSet(
        version=version, rules=tuple(parsed),
        si_threshold=_int(1, 100)(lanes["si_threshold"], "lanes.si_threshold"),
        fast_track_max_score=_int(0, 100)(lanes["fast_track_max_score"], "lanes.fast_track_max_score"),
        velocity_window_hours=_int(1)(top["velocity_window_hours"], "velocity_window_hours"),
        duplicate_window_hours=_int(1)(top["duplicate_window_hours"], "duplicate_window_hours"),
        priority=PriorityFormula(_decimal(priority["risk_factor"], "priority.risk_factor"),
                                 _amount_steps(priority["amount_steps"])))


def _parse_rule(raw: Any, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise _Invalid(f"rules[{index}] must be an object")
    if not isinstance(raw.get("id"), str) or not raw["id"].strip():
        raise _Invalid(f"rules[{index}] has no 'id'")
    rule_id = raw["id"]
    try:
        kind = KINDS.get(raw.get("kind"))
        if kind is None:
            raise _Invalid(f"'kind' must be one of {sorted(KINDS)}, not {raw.get('kind')!r}")
        if "weight" not in raw:
            raise _Invalid("has no 'weight'")
        unknown = set(raw) - _RULE_FIELDS - set(kind.required) - set(kind.optional)
        if unknown:
            raise _Invalid(f"unknown field(s) {sorted(unknown)}")
        missing = set(kind.required) - set(raw)
        if missing:
            raise _Invalid(f"has no {sorted(missing)}")
        params = {name: parse(raw[name], name) for name, parse in kind.required.items()}
        params |= {name: parse(raw[name], name) if name in raw else default
                   for name, (parse, default) in kind.optional.items()}
        if raw["kind"] == "sentiment":
            params["patterns"] = params.pop("keywords")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _Invalid("'enabled' must be true or false")
        return Rule(rule_id=rule_id, kind=raw["kind"], weight=_int(0, 100)(raw["weight"], "weight"),
                    priority_boost=_int(0, 100)(raw.get("priority_boost", 0), "priority_boost"),
                    enabled=enabled, params=MappingProxyType(params))
    except _Invalid as exc:
        raise _Invalid(f"rule '{rule_id}': {exc}") from None


def _amount_steps(value: Any) -> tuple[tuple[Decimal, int], ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid("'priority.amount_steps' must be a non-empty list of {\"from\", \"points\"}")
    steps = []
    for i, raw in enumerate(value):
        step = _object(raw, f"priority.amount_steps[{i}]", required={"from", "points"})
        steps.append((_decimal(step["from"], f"amount_steps[{i}].from"),
                      _int(0, 100)(step["points"], f"amount_steps[{i}].points")))
    if [s for s, _ in steps] != sorted({s for s, _ in steps}):
        raise _Invalid("'priority.amount_steps' must be in strictly ascending order of 'from'")
    return tuple(steps)


def _object(value: Any, where: str, *, required: set[str], optional: set[str] = frozenset()) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be an object")
    missing, unknown = required - set(value), set(value) - required - set(optional)
    if missing:
        raise _Invalid(f"{where} has no {sorted(missing)}")
    if unknown:
        raise _Invalid(f"{where} has unknown field(s) {sorted(unknown)}")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"duplicate key(s) {duplicated}")
    return dict(pairs)


# -- small helpers ------------------------------------------------------------------------------------------

def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _clamp(value: int) -> int:
    return max(0, min(100, value))


def _plain(number: Decimal) -> str:
    return format(number, "f") if abs(number.adjusted()) <= 30 else str(number)


def _two_places(number: Decimal) -> str:
    return format(number, ".2f") if number.adjusted() <= 30 else str(number)
