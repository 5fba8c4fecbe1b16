"""The scoring and dispatch consumers (chalicelib/consumers/pipeline.py) invoked through the Chalice
test client with real SQS events built from messages received from the moto queues."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.models import SurveyorModel
from chalicelib.adapters.resources import DISPATCH_QUEUE, SCORING_QUEUE
from chalicelib.domain.claim import ClaimStatus, Segment
from chalicelib.domain.surveyor import Surveyor, SurveyorStatus
from chalicelib.services.dispatch import DispatchService
from chalicelib.services.intake import IntakeRequest
from infra.seed import DEMO_SURVEYORS
from tests.fakes import SHANGHAI, FakeTelemetry, claim_body, motor_claim_body, submission
from tests.integration.conftest import MOTOR, post_claim, surveyor_load

CAPACITY = {s.surveyor_id: s.capacity for s in DEMO_SURVEYORS}


def _submit(client, body, api_key: str = MOTOR) -> str:
    response = post_claim(client, body, api_key=api_key)
    assert response.status_code == 202
    return response.json_body["claim_id"]


def _claim(claim_id: str):
    return bootstrap.container().claims.get(claim_id)


def _timeline(claim_id: str):
    return bootstrap.container().claims.events(claim_id)


# -- scoring -------------------------------------------------------------------------------------------


def test_scoring_sends_small_clean_micro_claim_to_fast_track_review(client, pipeline, queues):
    # GIVEN a small food-safety claim, above what the product auto-approves (100), waiting on the scoring queue
    claim_id = _submit(client, claim_body(loss_type="food_safety", amount="135.50"))

    # WHEN the scoring consumer processes the queue
    answer, _ = pipeline.run("score_claims")

    # THEN the claim is in review on the fast track, and nothing goes to dispatch
    assert answer == {"batchItemFailures": []}
    claim = _claim(claim_id)
    assert claim.status is ClaimStatus.IN_REVIEW
    assert claim.segment is Segment.FAST_TRACK
    assert [(e.kind, e.status) for e in _timeline(claim_id)] == [
        ("claim.received", ClaimStatus.RECEIVED), ("claim.policy_resolved", ClaimStatus.RECEIVED),
        ("claim.scored", ClaimStatus.SCORED), ("claim.routed", ClaimStatus.IN_REVIEW)]
    assert queues.receive(DISPATCH_QUEUE.name) == []


def test_scoring_auto_approves_a_tiny_clean_micro_claim_and_tells_no_surveyor(client, pipeline, queues):
    # GIVEN a food-safety claim below the product's auto-approve threshold
    claim_id = _submit(client, claim_body(loss_type="food_safety", amount="35.50"))

    # WHEN the scoring consumer processes the queue
    pipeline.run("score_claims")

    # THEN the system approves the suggested payout, and says so in the timeline
    claim = _claim(claim_id)
    assert (claim.status, claim.segment, claim.decision, str(claim.approved_amount)) == (
        ClaimStatus.APPROVED, Segment.FAST_TRACK, "auto_approve", "35.50")
    assert [e.kind for e in _timeline(claim_id)][-1] == "claim.auto_approved"
    assert queues.receive(DISPATCH_QUEUE.name) == []


def test_scoring_sends_motor_claim_to_dispatch(client, pipeline, queues):
    # GIVEN a motor claim waiting on the scoring queue
    claim_id = _submit(client, motor_claim_body())

    # WHEN the scoring consumer processes the queue
    pipeline.run("score_claims")

    # THEN it awaits a surveyor in the field-survey segment, and dispatch is asked for one
    claim = _claim(claim_id)
    assert claim.status is ClaimStatus.AWAITING_SURVEYOR
    assert claim.segment is Segment.FIELD_SURVEY
    assert queues.bodies(DISPATCH_QUEUE.name) == [{"v": 1, "type": "claim.survey_needed", "claim_id": claim_id,
                                                   "attempt": 0}]


# -- dispatch ------------------------------------------------------------------------------------------


def test_dispatch_assigns_a_surveyor_of_the_claims_region(client, pipeline):
    # GIVEN a scored motor claim in region 310104, where only SV-SH-003 works
    claim_id = _submit(client, motor_claim_body(region="310104"))
    pipeline.score_all()

    # WHEN the dispatch consumer processes the queue
    answer, _ = pipeline.run("dispatch_claims")

    # THEN that surveyor is assigned and carries one more active claim
    assert answer == {"batchItemFailures": []}
    claim = _claim(claim_id)
    assert claim.status is ClaimStatus.SURVEYOR_ASSIGNED
    assert claim.surveyor_id == "SV-SH-003"
    assert surveyor_load("SV-SH-003") == 1
    assert _timeline(claim_id)[-1].kind == "claim.surveyor_assigned"


def test_claim_in_a_region_without_free_surveyor_waits_and_a_delayed_retry_is_queued(client, pipeline, queues):
    # GIVEN a scored motor claim in a region where nobody works (440305, Shenzhen)
    claim_id = _submit(client, motor_claim_body(region="440305"))
    pipeline.score_all()

    # WHEN the dispatch consumer processes the queue
    answer, _ = pipeline.run("dispatch_claims")

    # THEN the claim waits for a surveyor and a retry sits delayed on the dispatch queue
    assert answer == {"batchItemFailures": []}
    assert _claim(claim_id).status is ClaimStatus.WAITING_FOR_SURVEYOR
    assert queues.attribute(DISPATCH_QUEUE.name, "ApproximateNumberOfMessagesDelayed") == 1
    assert queues.receive(DISPATCH_QUEUE.name) == []  # not visible before its delay


def test_more_claims_than_capacity_never_overfills_a_surveyor(client, pipeline):
    # GIVEN more motor claims in Pudong (310115) than the capacity of every Shanghai surveyor, all of whom
    # are within two rings of Pudong
    shanghai = {s.surveyor_id: s.capacity for s in DEMO_SURVEYORS if s.region_code.startswith("31")}
    ids = [_submit(client, motor_claim_body(region="310115", occurred_at=_days_ago(1 + 2 * n)))
           for n in range(sum(shanghai.values()) + 2)]
    pipeline.score_all()

    # WHEN dispatch processes them all
    pipeline.dispatch_all()

    # THEN every Shanghai surveyor is filled to capacity and no further, Beijing's is never asked, the rest wait
    claims = [_claim(i) for i in ids]
    per_surveyor = Counter(c.surveyor_id for c in claims if c.surveyor_id)
    assert per_surveyor == shanghai
    assert {s: surveyor_load(s) for s in CAPACITY} == {**{s: 0 for s in CAPACITY}, **shanghai}
    assert sorted(c.status.value for c in claims) == \
        ["SURVEYOR_ASSIGNED"] * sum(shanghai.values()) + ["WAITING_FOR_SURVEYOR"] * 2


class _StaleSurveyorView:
    """What a consumer might read while other consumers are assigning: everybody looks free."""

    def in_region(self, region_code: str) -> list[Surveyor]:
        return [Surveyor(m.surveyor_id, m.region_code, SurveyorStatus(m.status), int(m.capacity), 0)
                for m in SurveyorModel.by_region.query(region_code)]


def test_capacity_holds_even_when_dispatch_reads_stale_surveyor_loads(aws):
    # GIVEN scored motor claims in region 310104 (one surveyor, capacity 2) and a dispatcher kept to the
    # claim's own region whose view of surveyor load is stale
    c = bootstrap.container()
    ids = []
    for n in range(4):
        accepted = c.intake.submit(IntakeRequest("motor-direct", submission(
            loss_type="motor_collision", region="310104", plate="沪A12345",
            occurred_at=datetime.now(SHANGHAI) - timedelta(days=1 + 2 * n))))
        c.scoring.score(accepted.claim_id)
        ids.append(accepted.claim_id)
    stale = DispatchService(c.claims, _StaleSurveyorView(), c.queue, FakeTelemetry(), max_rings=0)

    # WHEN each claim is dispatched
    outcomes = [stale.dispatch(claim_id) for claim_id in ids]

    # THEN the store's conditional write refuses the third and fourth
    assert outcomes.count(ClaimStatus.SURVEYOR_ASSIGNED) == 2
    assert outcomes.count(ClaimStatus.WAITING_FOR_SURVEYOR) == 2
    assert surveyor_load("SV-SH-003") == 2


def _days_ago(days: int) -> str:
    """Losses days apart: the same vehicle's claims a day or less apart are possible duplicates, which
    scoring sends to a person instead of a surveyor."""
    return (datetime.now(SHANGHAI) - timedelta(days=days)).replace(microsecond=0).isoformat()


# -- partial batch failures ---------------------------------------------------------------------------------


POISON_SCORING_BODIES = {
    "not-json": "this is not json",
    "unknown-claim": json.dumps({"v": 1, "type": "claim.received", "claim_id": "CLM-00000000000000000000000000"}),
    "unknown-version": json.dumps({"v": 2, "type": "claim.received", "claim_id": "CLM-00000000000000000000000000"}),
    "wrong-type": json.dumps({"v": 1, "type": "claim.survey_needed", "claim_id": "CLM-00000000000000000000000000"}),
}


@pytest.mark.parametrize("poison", POISON_SCORING_BODIES.values(), ids=POISON_SCORING_BODIES.keys())
def test_poison_message_fails_alone_in_a_scoring_batch(client, pipeline, queues, poison):
    # GIVEN two good claims on the scoring queue with a poison message between them
    first = _submit(client, claim_body(amount="135.50"))
    queues.send(SCORING_QUEUE.name, poison)
    second = _submit(client, claim_body(amount="135.50"))
    messages = queues.receive(SCORING_QUEUE.name)
    assert len(messages) == 3

    # WHEN the batch is processed
    answer = pipeline.invoke("score_claims", messages)

    # THEN only the poison record is reported failed, and both good claims are scored
    poison_id = next(m["MessageId"] for m in messages if m["Body"] == poison)
    assert answer == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    assert _claim(first).status is ClaimStatus.IN_REVIEW
    assert _claim(second).status is ClaimStatus.IN_REVIEW


def test_poison_message_fails_alone_in_a_dispatch_batch(client, pipeline, queues):
    # GIVEN a good dispatch request and one for a claim that does not exist
    claim_id = _submit(client, motor_claim_body(region="310104"))
    pipeline.score_all()
    queues.send(DISPATCH_QUEUE.name, json.dumps({"v": 1, "type": "claim.survey_needed",
                                                 "claim_id": "CLM-00000000000000000000000000"}))
    messages = queues.receive(DISPATCH_QUEUE.name)
    assert len(messages) == 2

    # WHEN the batch is processed
    answer = pipeline.invoke("dispatch_claims", messages)

    # THEN only the unknown claim's record fails, and the good claim gets its surveyor
    poison_id = next(m["MessageId"] for m in messages if claim_id not in m["Body"])
    assert answer == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    assert _claim(claim_id).status is ClaimStatus.SURVEYOR_ASSIGNED


# -- redelivery ---------------------------------------------------------------------------------------------


def test_redelivering_processed_messages_changes_nothing(client, pipeline, queues):
    # GIVEN claims scored and dispatched from real queue messages
    ids = [_submit(client, motor_claim_body(region="310115")),
           _submit(client, motor_claim_body(region="310104", occurred_at=_days_ago(4))),
           _submit(client, claim_body(amount="135.50"))]
    _, scoring_messages = pipeline.run("score_claims")
    _, dispatch_messages = pipeline.run("dispatch_claims")
    before = {i: (_claim(i).version, len(_timeline(i))) for i in ids}
    loads = {s: surveyor_load(s) for s in CAPACITY}

    # WHEN SQS delivers the very same messages again
    scored_again = pipeline.invoke("score_claims", scoring_messages)
    dispatched_again = pipeline.invoke("dispatch_claims", dispatch_messages)

    # THEN every record succeeds and nothing changes: versions, timelines, loads, queues
    assert scored_again == dispatched_again == {"batchItemFailures": []}
    assert {i: (_claim(i).version, len(_timeline(i))) for i in ids} == before
    assert {s: surveyor_load(s) for s in CAPACITY} == loads
    assert sum(loads.values()) == 2
    assert all(sum(e.kind == "claim.surveyor_assigned" for e in _timeline(i)) <= 1 for i in ids)
    assert queues.receive(DISPATCH_QUEUE.name) == []
