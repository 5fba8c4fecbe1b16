"""The scoring rules as data (chalicelib/data/scoring_rules.json): the shipped file validates, a broken copy
is refused with a message naming what is wrong, and the data, not the code, decides weights and rules.
Also the products' fast-track and auto-approve limits that scoring reads."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.coverage import Coverage
from chalicelib.domain.policy import MatchKey, Resolution, ResolutionOutcome
from chalicelib.domain.products import PRODUCTS_FILE, catalogue, parse_catalogue
from chalicelib.domain.scoring import Signals, score
from chalicelib.domain.scoring_rules import KINDS, RULES_FILE, load_rules, parse_rules
from tests.fakes import demo_policies, submission

SHIPPED = json.loads(RULES_FILE.read_text(encoding="utf-8"))
RECEIVED = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

RULE_IDS = ["policy.unverified", "policy.ambiguous", "coverage.not_covered", "coverage.covered", "amount.near_limit",
            "amount.above_typical", "amount.investigation_threshold", "history.possible_duplicate", "photos.reused",
            "velocity.phone", "velocity.policy", "timing.late_report", "sentiment.distress", "sentiment.anger",
            "amount.not_stated"]


def shipped() -> dict:
    return copy.deepcopy(SHIPPED)


def rule(data: dict, rule_id: str) -> dict:
    return next(r for r in data["rules"] if r["id"] == rule_id)


def write(tmp_path, data) -> object:
    path = tmp_path / "scoring_rules.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def late_claim(days: int = 40) -> Signals:
    sub = submission(amount="35.50", occurred_at=RECEIVED - timedelta(days=days))
    return Signals(sub, RECEIVED, Resolution(ResolutionOutcome.RESOLVED, MatchKey.POLICY_NUMBER, demo_policies()[0]),
                   Coverage(True, (), Decimal("35.50"), False), catalogue().get("food_safety"))


# -- the shipped file ----------------------------------------------------------------------------------------

def test_shipped_rules_load_with_a_version_and_every_expected_rule():
    # GIVEN the shipped file
    # WHEN it is loaded
    rules = load_rules()

    # THEN it has a version, the expected rules in order, and uses every kind the code implements
    assert rules.version == SHIPPED["version"] and rules.version.strip()
    assert [r.rule_id for r in rules.rules] == RULE_IDS
    assert {r.kind for r in rules.rules} == set(KINDS)
    assert all(r.enabled for r in rules.rules)


def test_shipped_thresholds_make_sense_together():
    # GIVEN the shipped rules
    rules = load_rules()

    # THEN the lanes, windows and priority steps are consistent
    assert 0 <= rules.fast_track_max_score < rules.si_threshold <= 100
    assert rules.velocity_window_hours > 0 and rules.duplicate_window_hours == 24  # "within ±1 day of the loss"
    assert rules.priority.amount_steps[0].start == 0
    # a single amount-to-product rule never sends a claim to investigation on its own
    assert all(rules.rule(r).weight < rules.si_threshold for r in ("amount.near_limit", "amount.above_typical"))


def test_sentiment_and_lane_only_rules_add_no_risk():
    # GIVEN the shipped rules
    rules = load_rules()

    # THEN sentiment raises priority only, and coverage / no-amount rules add no weight
    for rule_id in ("sentiment.distress", "sentiment.anger"):
        assert (rules.rule(rule_id).weight, rules.rule(rule_id).priority_boost > 0) == (0, True)
    assert rules.rule("coverage.covered").weight == rules.rule("amount.not_stated").weight == 0


def test_load_rules_is_cached():
    # GIVEN the rules loaded once
    # WHEN they are loaded again
    # THEN the same object comes back (the file is read once per container)
    assert load_rules() is load_rules()


# -- the data decides -------------------------------------------------------------------------------------------

def test_a_weight_changed_in_the_data_changes_the_score(tmp_path):
    # GIVEN a copy of the rules where late reporting weighs 45, under a new version
    data = shipped()
    rule(data, "timing.late_report")["weight"] = 45
    data["version"] = "test-heavier-late"

    # WHEN a late claim is scored with it
    result = score(late_claim(), load_rules(write(tmp_path, data)))

    # THEN the new weight and version show in the result
    assert (result.score, result.rules_version) == (45, "test-heavier-late")
    assert [r.weight for r in result.reasons if r.rule_id == "timing.late_report"] == [45]


def test_a_rule_switched_off_in_the_data_does_not_fire():
    # GIVEN a copy of the rules with late reporting switched off
    data = shipped()
    rule(data, "timing.late_report")["enabled"] = False

    # WHEN a late claim is scored with it
    result = score(late_claim(), parse_rules(data))

    # THEN nothing is added for lateness
    assert result.score == 0
    assert "timing.late_report" not in [r.rule_id for r in result.reasons]


def test_a_threshold_changed_in_the_data_moves_the_rule():
    # GIVEN a copy of the rules where a report is late after 7 days
    data = shipped()
    rule(data, "timing.late_report")["min_days"] = 7

    # WHEN an 8-day-late claim is scored with the shipped rules and with the copy
    # THEN only the copy calls it late
    assert score(late_claim(days=8)).score == 0
    assert score(late_claim(days=8), parse_rules(data)).score == load_rules().rule("timing.late_report").weight


def test_a_keyword_added_in_the_data_is_matched_normalised():
    # GIVEN a copy of the rules with a full-width English keyword added to distress
    data = shipped()
    rule(data, "sentiment.distress")["keywords"]["en"].append("ＳＯＳ")
    signals = late_claim(days=1)
    signals = Signals(submission(description="sos!!", occurred_at=signals.submission.occurred_at), *(
        getattr(signals, f) for f in ("received_at", "resolution", "coverage", "product")))

    # WHEN a claim saying "sos" is scored with it
    result = score(signals, parse_rules(data))

    # THEN the keyword matches
    assert [r.evidence for r in result.reasons if r.rule_id == "sentiment.distress"] == [{"category": "distress",
                                                                                          "count": 1}]


# -- a broken file is refused, saying what is wrong ------------------------------------------------------------------

def test_rule_with_no_weight_is_refused_naming_the_rule(tmp_path):
    # GIVEN a copy of the rules where one rule has lost its weight
    data = shipped()
    del rule(data, "velocity.phone")["weight"]

    # WHEN it is loaded
    # THEN loading fails, naming the file, the rule and the field
    with pytest.raises(ValueError, match=r"scoring_rules\.json: rule 'velocity\.phone': has no \['weight'\]"):
        load_rules(write(tmp_path, data))


def _broken(change):
    data = shipped()
    change(data)
    return data


BROKEN = {  # name: (how the copy is broken, what the message must say)
    "weight_as_text": (lambda d: rule(d, "timing.late_report").update(weight="30"),
                       "rule 'timing.late_report': 'weight'"),
    "negative_weight": (lambda d: rule(d, "photos.reused").update(weight=-5), "rule 'photos.reused': 'weight'"),
    "weight_over_100": (lambda d: rule(d, "photos.reused").update(weight=101), "rule 'photos.reused': 'weight'"),
    "unknown_kind": (lambda d: rule(d, "photos.reused").update(kind="photo_magic"), "rule 'photos.reused': 'kind'"),
    "missing_threshold": (lambda d: rule(d, "timing.late_report").pop("min_days"),
                          "rule 'timing.late_report': has no ['min_days']"),
    "misspelt_field": (lambda d: rule(d, "velocity.policy").update(min_cuont=2),
                       "rule 'velocity.policy': unknown field(s) ['min_cuont']"),
    "bad_decimal": (lambda d: rule(d, "amount.near_limit").update(min_ratio="eighty"),
                    "rule 'amount.near_limit': 'min_ratio'"),
    "resolved_outcome": (lambda d: rule(d, "policy.ambiguous").update(outcome="RESOLVED"),
                         "rule 'policy.ambiguous': 'outcome'"),
    "star_inside_keyword": (lambda d: rule(d, "sentiment.anger")["keywords"]["en"].append("sc*am"),
                            "rule 'sentiment.anger'"),
    "no_keywords": (lambda d: rule(d, "sentiment.anger").update(keywords={}), "rule 'sentiment.anger': 'keywords'"),
    "duplicate_id": (lambda d: d["rules"].append(copy.deepcopy(rule(d, "photos.reused"))),
                     "rule 'photos.reused' appears twice"),
    "rule_without_id": (lambda d: d["rules"][0].pop("id"), "rules[0] has no ['id']"),
    "no_version": (lambda d: d.pop("version"), "has no ['version']"),
    "no_lanes_threshold": (lambda d: d["lanes"].pop("si_threshold"), "'lanes' has no ['si_threshold']"),
    "steps_out_of_order": (lambda d: d["priority"]["amount_steps"].reverse(), "ascending"),
    "no_rules": (lambda d: d.update(rules=[]), "'rules' must be a non-empty list"),
    "enabled_as_text": (lambda d: rule(d, "photos.reused").update(enabled="no"), "rule 'photos.reused': 'enabled'"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_copy_is_refused_with_a_clear_message(tmp_path, name):
    # GIVEN a copy of the rules broken in one way
    change, message = BROKEN[name]

    # WHEN it is loaded
    # THEN a ValueError says what is wrong, and where
    with pytest.raises(ValueError) as raised:
        load_rules(write(tmp_path, _broken(change)))
    assert str(raised.value).startswith("scoring_rules.json: ")
    assert message in str(raised.value)


@pytest.mark.parametrize("text,message", [
    ('{"version": "1", ', "not valid JSON"),
    ('{"version": "1", "version": "2"}', "duplicate key(s) ['version']"),
    ('[]', "the file must be an object"),
])
def test_file_that_is_not_a_rule_object_is_refused(tmp_path, text, message):
    # GIVEN a file that is not valid JSON, repeats a key, or is not an object
    # WHEN it is loaded
    # THEN a ValueError names the file and the problem
    with pytest.raises(ValueError, match="scoring_rules.json") as raised:
        load_rules(write(tmp_path, text))
    assert message in str(raised.value)


# -- products: the limits scoring reads ------------------------------------------------------------------------------

def test_every_product_states_its_fast_track_and_auto_approve_limits():
    # GIVEN the products file
    raw = json.loads(PRODUCTS_FILE.read_text(encoding="utf-8"))["products"]

    # THEN every product states both limits, within its cover; motor is never fast-tracked or auto-approved
    for code, product in catalogue().products.items():
        assert {"fast_track_limit", "auto_approve_below"} <= set(raw[code]), code
        assert 0 <= product.auto_approve_below <= product.fast_track_limit <= product.limit, code
    motor = catalogue().get("motor")
    assert (motor.fast_track_limit, motor.auto_approve_below) == (0, 0)


def test_product_without_the_limits_defaults_to_never():
    # GIVEN a product entry that states neither limit
    data = {"version": "t", "products": {"x": {"name": "X", "perils": ["food_safety"], "limit": "10", "deductible": "0",
                                               "currency": "CNY", "typical_claim": "5", "field_survey": False,
                                               "timezone": "Asia/Shanghai"}}}

    # WHEN it is parsed
    product = parse_catalogue(data).get("x")

    # THEN it is never fast-tracked or auto-approved
    assert (product.fast_track_limit, product.auto_approve_below) == (Decimal("0"), Decimal("0"))
