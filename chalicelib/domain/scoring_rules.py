"""The scoring rules file (``chalicelib/data/scoring_rules.json``) as a model: the lanes' thresholds, the
priority formula, and one model per rule *kind* that holds the kind's parameters and says when a rule of
that kind fires. The file decides which rules are on, their weights, thresholds and keyword lists; the
code decides which kinds exist (``KINDS``). How a score is put together from the rules is
``chalicelib/domain/scoring.py``.

pydantic validates the file; a bad file raises ValueError naming the file, the rule and the field.
"""
from __future__ import annotations

import json
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
)

from chalicelib.domain.policy import ResolutionOutcome

if TYPE_CHECKING:
    from chalicelib.domain.scoring import Facts

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "scoring_rules.json"


# -- small helpers, shared with the score computation -----------------------------------------------------

def normalise(text: str) -> str:
    """NFKC-normalised and case-folded: how descriptions and keywords are compared."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def clamp(value: int) -> int:
    return max(0, min(100, value))


def plain(number: Decimal) -> str:
    return format(number, "f") if abs(number.adjusted()) <= 30 else str(number)


def two_places(number: Decimal) -> str:
    return format(number, ".2f") if number.adjusted() <= 30 else str(number)


# -- field types ---------------------------------------------------------------------------------------------

def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _decimal(value: Any) -> Decimal:
    # Written as strings in the file ("0.8") so that no float rounding reaches a threshold; whole numbers
    # are accepted too. pydantic's lax Decimal would also take true/false.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"must be a decimal string such as \"0.8\", not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"must be a decimal string such as \"0.8\", not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"must be a finite decimal >= 0, not {value!r}")
    return number


def _phrase(value: str) -> str:
    phrase = normalise(value).strip()
    if not phrase:
        raise ValueError("must be a non-empty string")
    return phrase


def _longest_first(phrases: tuple[str, ...]) -> tuple[str, ...]:
    # 'ignore' phrases are cut out of the text in this order, so a longer phrase goes before its parts
    return tuple(sorted(set(phrases), key=len, reverse=True))


def _keyword(value: str) -> str:
    stem = value.rstrip("*")
    if not stem or "*" in stem:
        raise ValueError(f"keyword {value!r}: '*' is allowed only at the end of a word")
    return value


def _some(value: dict) -> dict:
    if not value:
        raise ValueError("must be an object of keyword lists by language, e.g. {\"zh\": [...], \"en\": [...]}")
    return value


Text = Annotated[StrictStr, AfterValidator(_non_blank)]
Amount = Annotated[Decimal, BeforeValidator(_decimal)]
Points = Annotated[int, Field(strict=True, ge=0, le=100)]  # a weight, a boost, a priority step
Count = Annotated[int, Field(strict=True, ge=1)]
Hours = Annotated[int, Field(strict=True, ge=1)]
Phrase = Annotated[StrictStr, AfterValidator(_phrase)]
Phrases = Annotated[tuple[Phrase, ...], AfterValidator(_longest_first)]
Keywords = Annotated[dict[str, tuple[Annotated[Phrase, AfterValidator(_keyword)], ...]], AfterValidator(_some)]
if TYPE_CHECKING:
    UnresolvedOutcome = str  # the checker sees a string; pydantic, the enum of the values below
else:
    UnresolvedOutcome = Literal[tuple(o.value for o in ResolutionOutcome if o is not ResolutionOutcome.RESOLVED)]

_ASCII_WORD = re.compile(r"[a-z0-9][a-z0-9 '\-]*")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- rule kinds: what the code knows how to evaluate ------------------------------------------------------------
# Each kind's ``evaluate`` returns the evidence (small, JSON-safe, never personal data or description
# text) when the rule fires, else None.

class _Rule(_Part):
    rule_id: Text = Field(alias="id")
    weight: Points  # what it adds to the risk score when it fires
    priority_boost: Points = 0  # what it adds to the priority when it fires
    enabled: StrictBool = True
    note: str = ""

    def evaluate(self, facts: Facts) -> dict | None:
        raise NotImplementedError


class PolicyUnresolved(_Rule):
    kind: Literal["policy_unresolved"]
    outcome: UnresolvedOutcome

    def evaluate(self, facts: Facts) -> dict | None:
        resolution = facts.signals.resolution
        if resolution.outcome.value != self.outcome:
            return None
        return {"outcome": resolution.outcome.value, "candidate_count": len(resolution.candidates),
                "keys_tried": [k.value for k in resolution.keys_tried]}


class NotCovered(_Rule):
    kind: Literal["not_covered"]

    def evaluate(self, facts: Facts) -> dict | None:
        coverage = facts.signals.coverage
        if coverage is None or coverage.covered:
            return None
        return {"coverage_reasons": list(coverage.reasons)}


class Covered(_Rule):
    kind: Literal["covered"]

    def evaluate(self, facts: Facts) -> dict | None:
        coverage = facts.signals.coverage
        if coverage is None or not coverage.covered:
            return None
        return {"payable": plain(coverage.payable), "coverage_reasons": list(coverage.reasons)}


def _amount_to(facts: Facts, attribute: str, label: str, threshold: str, at_least: Decimal) -> dict | None:
    """The claimed amount against one of the product's amounts, as a ratio."""
    product = facts.signals.product
    base = getattr(product, attribute, None)
    if product is None or facts.amount is None or not base or base <= 0:
        return None
    try:
        ratio = facts.amount / base
    except ArithmeticError:  # beyond Decimal's range: above any threshold
        ratio = Decimal("Infinity")
    if ratio < at_least:
        return None
    return {"product": product.code, attribute: plain(base), label: two_places(ratio), threshold: plain(at_least)}


class AmountToLimit(_Rule):
    kind: Literal["amount_to_limit"]
    min_ratio: Amount

    def evaluate(self, facts: Facts) -> dict | None:
        return _amount_to(facts, "limit", "ratio", "min_ratio", self.min_ratio)


class AmountToTypical(_Rule):
    kind: Literal["amount_to_typical"]
    min_multiple: Amount

    def evaluate(self, facts: Facts) -> dict | None:
        return _amount_to(facts, "typical_claim", "multiple", "min_multiple", self.min_multiple)


class AmountAtLeast(_Rule):
    kind: Literal["amount_at_least"]
    min_amount: Amount

    def evaluate(self, facts: Facts) -> dict | None:
        if facts.amount is None or facts.amount < self.min_amount:
            return None
        return {"amount": plain(facts.amount), "min_amount": plain(self.min_amount)}


class _OtherClaims(_Rule):
    min_count: Count = 1
    signal: ClassVar[str]  # the Signals attribute listing the other claims

    def evaluate(self, facts: Facts) -> dict | None:
        ids = getattr(facts.signals, self.signal)
        if len(ids) < self.min_count:
            return None
        return {"claim_ids": list(ids), "count": len(ids)}


class PossibleDuplicate(_OtherClaims):
    kind: Literal["possible_duplicate"]
    signal = "duplicates"


class ReusedPhoto(_OtherClaims):
    kind: Literal["reused_photo"]
    signal = "reused_photo_claims"


class _Velocity(_Rule):
    min_count: Count
    signal: ClassVar[str]  # the Signals attribute counting the other claims in the velocity window

    def evaluate(self, facts: Facts) -> dict | None:
        count = getattr(facts.signals, self.signal)
        if count < self.min_count:
            return None
        return {"count": count, "min_count": self.min_count, "window_hours": facts.window_hours}


class ClaimsFromPhone(_Velocity):
    kind: Literal["claims_from_phone"]
    signal = "claims_from_phone"


class ClaimsOnPolicy(_Velocity):
    kind: Literal["claims_on_policy"]
    signal = "claims_on_policy"


class LateReport(_Rule):
    kind: Literal["late_report"]
    min_days: Annotated[int, Field(strict=True, ge=0)]

    def evaluate(self, facts: Facts) -> dict | None:
        if facts.days_late < self.min_days:
            return None
        return {"days": facts.days_late, "min_days": self.min_days}


class Sentiment(_Rule):
    """Keywords by language. Matching is on the normalised description: ASCII keywords match whole words
    and a trailing * any ending; others (Chinese) match anywhere. 'ignore' phrases are cut out first."""

    kind: Literal["sentiment"]
    category: Text
    keywords: Keywords
    ignore: Phrases = ()
    min_matches: Count = 1
    _patterns: tuple[re.Pattern, ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any) -> None:
        patterns: dict[str, re.Pattern] = {}
        for words in self.keywords.values():
            for word in words:
                stem, wildcard = word.rstrip("*"), word.endswith("*")
                if _ASCII_WORD.fullmatch(stem):
                    pattern = rf"(?<![a-z0-9]){re.escape(stem)}{'[a-z0-9]*' if wildcard else ''}(?![a-z0-9])"
                else:
                    pattern = re.escape(stem)
                patterns[pattern] = re.compile(pattern)
        self._patterns = tuple(patterns.values())

    def evaluate(self, facts: Facts) -> dict | None:
        text = facts.text
        for phrase in self.ignore:
            text = text.replace(phrase, " ")
        count = sum(1 for pattern in self._patterns if pattern.search(text))
        if count < self.min_matches:
            return None
        return {"category": self.category, "count": count}  # never the words or the text


class AmountNotStated(_Rule):
    kind: Literal["amount_not_stated"]

    def evaluate(self, facts: Facts) -> dict | None:
        if facts.amount is None or facts.amount != 0:
            return None
        return {"channel": facts.signals.submission.channel.value}


Rule = Annotated[PolicyUnresolved | NotCovered | Covered | AmountToLimit | AmountToTypical | AmountAtLeast
                 | PossibleDuplicate | ReusedPhoto | ClaimsFromPhone | ClaimsOnPolicy | LateReport | Sentiment
                 | AmountNotStated, Field(discriminator="kind")]
_KINDS: tuple[type[_Rule], ...] = get_args(get_args(Rule)[0])
KINDS: tuple[str, ...] = tuple(get_args(k.model_fields["kind"].annotation)[0] for k in _KINDS)


# -- the rule set --------------------------------------------------------------------------------------------------

class Lanes(_Part):
    about: str = ""
    si_threshold: Annotated[int, Field(strict=True, ge=1, le=100)]
    fast_track_max_score: Points


class AmountStep(_Part):
    start: Amount = Field(alias="from")
    points: Points


class PriorityFormula(_Part):
    """Priority (0..100, agent queue order) = round_half_up(score * ``risk_factor``) + the points of the
    highest amount step at or below the claimed amount + the ``priority_boost`` of every rule that fired."""

    about: str = ""
    risk_factor: Amount
    amount_steps: Annotated[tuple[AmountStep, ...], Field(min_length=1)]

    @field_validator("amount_steps")
    @classmethod
    def _ascending(cls, steps: tuple[AmountStep, ...]) -> tuple[AmountStep, ...]:
        starts = [s.start for s in steps]
        if starts != sorted(set(starts)):
            raise ValueError("must be in strictly ascending order of 'from'")
        return steps

    def of(self, score: int, amount: Decimal | None, boost: int) -> int:
        base = int((self.risk_factor * score).to_integral_value(rounding=ROUND_HALF_UP))
        points = 0
        if amount is not None:
            points = next((s.points for s in reversed(self.amount_steps) if amount >= s.start), 0)
        return clamp(base + points + boost)


class RuleSet(_Part):
    version: Text  # recorded on every score
    about: str = ""
    velocity_window_hours: Hours  # for the caller's claims_from_phone / claims_on_policy look-ups
    duplicate_window_hours: Hours  # for the caller's duplicates look-up (either side of the loss)
    lanes: Lanes
    priority: PriorityFormula
    rules: tuple[Rule, ...]

    @field_validator("rules")
    @classmethod
    def _distinct(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        if not rules:
            raise ValueError("must be a non-empty list")
        seen: set[str] = set()
        for rule in rules:
            if rule.rule_id in seen:
                raise ValueError(f"rule '{rule.rule_id}' appears twice")
            seen.add(rule.rule_id)
        return rules

    @property
    def si_threshold(self) -> int:
        return self.lanes.si_threshold

    @property
    def fast_track_max_score(self) -> int:
        return self.lanes.fast_track_max_score

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)


# -- reading the file -------------------------------------------------------------------------------------------------

def load_rules(path: str | Path = RULES_FILE) -> RuleSet:
    """The rule set in ``path`` (cached). A bad file raises ValueError saying what is wrong, and where."""
    return _load(Path(path).resolve())


@lru_cache(maxsize=8)
def _load(path: Path) -> RuleSet:
    text = path.read_text(encoding="utf-8")
    try:
        # json, not pydantic's own parser: JSON lets a key repeat and the last one would silently win
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise ValueError(f"{path.name}: not valid JSON: {exc}") from None
    return parse_rules(data, source=path.name)


def parse_rules(data: Any, source: str = "scoring rules") -> RuleSet:
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{source}: {_explain(exc, data)}") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"duplicate key(s) {duplicated}")
    return dict(pairs)


def _explain(error: ValidationError, data: Any) -> str:
    """pydantic's first problem, said as a person editing the file reads it: which rule (by id), which
    field, what is wrong. Missing and unknown fields of the same object are listed together."""
    problems = error.errors(include_url=False)
    first = problems[0]
    kind, loc = first["type"], tuple(first["loc"])
    if kind == "union_tag_not_found":
        kind, loc = "missing", loc + ("kind",)
    owner, field = loc[:-1], loc[-1:]
    if kind in ("missing", "extra_forbidden"):
        names = sorted({str(p["loc"][-1]) for p in problems if p["type"] == kind and tuple(p["loc"][:-1]) == owner}
                       | ({"kind"} if first["type"] == "union_tag_not_found" else set()))
        rule, path = _rule_of(owner, data)
        if rule is not None and not path:
            return f"{rule} has no {names}" if kind == "missing" else f"{rule} unknown field(s) {names}"
        where = f"{rule} '{path}'" if rule is not None else (f"'{path}'" if path else "the file")
        return f"{where} has no {names}" if kind == "missing" else f"{where} has unknown field(s) {names}"
    if kind == "union_tag_invalid":
        owner, field = loc, ("kind",)
        problem = f"must be one of {sorted(KINDS)}, not {first['ctx']['tag']!r}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        owner, field = loc, ()
        problem = "must be an object"
    elif kind == "value_error":
        problem = str(first["ctx"]["error"])
    else:
        message = first["msg"]
        problem = ("must be" + message[len("Input should be"):] if message.startswith("Input should be")
                   else message[:1].lower() + message[1:])
        problem += f", not {_short(first['input'])}"
    rule, path = _rule_of(owner + field, data)
    if rule is None:
        return f"'{path}' {problem}" if path else f"the file {problem}"
    return f"{rule} '{path}' {problem}" if path else f"{rule} {problem}"


def _rule_of(loc: tuple, data: Any) -> tuple[str | None, str]:
    """("rules", 3, "late_report", "min_days") -> ("rule 'timing.late_report':", "min_days"); a rule
    without a usable id is named by its place, ``rules[3]``. Anything else: (None, its dotted path)."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index, rest = loc[1], loc[2:]
        raw = data["rules"][index] if isinstance(data, dict) and isinstance(data.get("rules"), list) else None
        if isinstance(raw, dict) and rest and rest[0] == raw.get("kind"):
            rest = rest[1:]  # the union's tag, not a field
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        rule = f"rule '{rule_id}':" if isinstance(rule_id, str) and rule_id.strip() else f"rules[{index}]"
        return rule, _path(rest)
    return None, _path(loc)


def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
