"""The burst's verdict (devkit/burst_driver.py ``problems``) names every broken promise it is shown:
the burst test passes only because it found none, so it must find them when they are there."""
from __future__ import annotations

from devkit.burst_driver import Burst, Count, Item, Record, outcome, problems

SCORED = [("claim.received", "RECEIVED"), ("claim.scored", "SCORED"), ("claim.routed", "IN_REVIEW")]
SURVEYED = [("claim.received", "RECEIVED"), ("claim.scored", "SCORED"), ("claim.routed", "AWAITING_SURVEYOR"),
            ("claim.surveyor_assigned", "SURVEYOR_ASSIGNED")]


def burst(*items: Item) -> Burst:
    return Burst([Record("partner", item.status, 0.1, 0.0, [item]) for item in items], began=0.0, seconds=1.0)


def stored(key: str, status: str = "IN_REVIEW", surveyor: str | None = None) -> dict:
    return {"status": status, "idempotency_key": key, "surveyor_id": surveyor, "region_code": "310115"}


def clean() -> tuple[Burst, Count]:
    return (burst(Item("eleme#k1", "CLM-1", 202), Item("motor-direct#k2", "CLM-2", 202),
                  Item("public#form:k3", None, 429, "RATE_LIMITED", "30")),
            Count(claims={"CLM-1": stored("eleme#k1"), "CLM-2": stored("motor-direct#k2", "SURVEYOR_ASSIGNED", "SV-1")},
                  timelines={"CLM-1": SCORED, "CLM-2": SURVEYED},
                  surveyors={"SV-1": {"active_claims": 1, "capacity": 2, "region_code": "310115",
                                      "status": "AVAILABLE"}},
                  dlq={"claims-intake-scoring-dlq": 0}, delayed={}))


def test_a_clean_burst_breaks_nothing_and_is_counted():
    # GIVEN two claims accepted, stored, scored, one of them dispatched, and one refusal with Retry-After
    answered, counted = clean()

    # WHEN it is judged and counted
    # THEN nothing is broken, and the summary says what happened
    assert problems(answered, counted) == []
    assert outcome(answered, counted).line() == ("accepted 2, rejected 1 (429: 1), stored 2, scored 2, survey "
                                                 "needed 1, dispatched 1, waiting 0, in DLQ 0")


def test_every_broken_promise_is_named():
    # GIVEN a burst where each promise was broken once
    answered, counted = clean()
    answered.records[2].items[0].retry_after = None  # refused without Retry-After
    answered.records.append(Record("form", 500, 0.1, 0.0, [Item("public#form:k4", None, 500, "INTERNAL")]))
    counted.claims["CLM-9"] = stored("eleme#k1")  # a second claim for one key, never answered to anyone
    counted.timelines["CLM-9"] = SCORED + [("claim.scored", "SCORED")]  # scored twice
    counted.surveyors["SV-1"]["active_claims"] = 3  # over capacity, and more than its claims
    counted.dlq["claims-intake-scoring-dlq"] = 2

    # WHEN it is judged
    found = "\n".join(problems(answered, counted))

    # THEN each is named, with what it concerns
    for kind in ("one key, several claims: 1: eleme#k1", "stored, never accepted: 1: CLM-9",
                 "refused without Retry-After: 1: public#form:k3", "refused otherwise than 429/503: 1: public#form:k4",
                 "not scored exactly once: 1: CLM-9", "surveyor over capacity: 1: SV-1: 3 of 2",
                 "surveyor's count differs from its claims: 1: SV-1", "in a DLQ: 1: claims-intake-scoring-dlq: 2"):
        assert kind in found, found


def test_an_accepted_claim_that_was_not_stored_is_a_loss():
    # GIVEN a claim answered 202 that DynamoDB does not hold
    answered, counted = clean()
    del counted.claims["CLM-1"], counted.timelines["CLM-1"]

    # WHEN it is judged
    # THEN it is named as lost
    assert problems(answered, counted) == ["accepted, not stored: 1: CLM-1 (eleme#k1)"]
