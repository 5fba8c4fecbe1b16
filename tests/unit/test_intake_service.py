"""IntakeService with fakes: store once, queue for scoring, replay or refuse a reused key; and the
Reconciler that re-queues claims whose send to scoring failed."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.errors import FieldProblem, IdempotencyConflict, NotFound, PayloadTooLarge, ValidationFailed
from chalicelib.services.intake import Accepted, IntakeRequest, IntakeService
from chalicelib.services.reconcile import Reconciler
from tests.fakes import Clock, FakeClaimQueue, FakeClaimRepository, FakeTelemetry, submission


@dataclass
class World:
    claims: FakeClaimRepository
    queue: FakeClaimQueue
    telemetry: FakeTelemetry
    clock: Clock
    intake: IntakeService


@pytest.fixture
def world() -> World:
    claims, queue, telemetry = FakeClaimRepository(), FakeClaimQueue(), FakeTelemetry()
    clock = Clock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    counter = iter(range(1, 10_000))
    intake = IntakeService(claims, queue, telemetry, new_id=lambda: f"CLM-TEST-{next(counter):04d}", clock=clock)
    return World(claims, queue, telemetry, clock, intake)


def _request(owner="eleme", key=None, correlation_id="abc-123", **sub) -> IntakeRequest:
    return IntakeRequest(owner, submission(**sub), idempotency_key=key, correlation_id=correlation_id)


# -- submit -------------------------------------------------------------------------------------------


def test_submitted_claim_is_stored_received_and_queued_for_scoring(world):
    # GIVEN a new claim
    # WHEN it is submitted
    result = world.intake.submit(_request(key="k-1"))

    # THEN it is accepted, stored as RECEIVED with its first event, and sent to scoring with the correlation id
    assert result == Accepted("CLM-TEST-0001", ClaimStatus.RECEIVED, replayed=False)
    stored = world.claims.get("CLM-TEST-0001")
    assert (stored.status, stored.owner, stored.received_at) == (ClaimStatus.RECEIVED, "eleme", world.clock.now)
    assert stored.idempotency_key == "eleme#k-1"
    assert [e.status for e in world.claims.events("CLM-TEST-0001")] == [ClaimStatus.RECEIVED]
    assert [(s.claim_id, s.correlation_id) for s in world.queue.on("scoring")] == [("CLM-TEST-0001", "abc-123")]
    assert world.telemetry.counts["ClaimsReceived"] == 1


def test_same_key_and_content_replays_the_first_claim(world):
    # GIVEN a claim submitted under a key
    world.intake.submit(_request(key="k-1"))

    # WHEN the same claim is submitted again under the same key
    again = world.intake.submit(_request(key="k-1"))

    # THEN the first claim is answered as a replay; nothing new is stored or queued
    assert again == Accepted("CLM-TEST-0001", ClaimStatus.RECEIVED, replayed=True)
    assert list(world.claims.claims) == ["CLM-TEST-0001"]
    assert len(world.queue.on("scoring")) == 1


def test_replay_answers_the_claims_current_status(world):
    # GIVEN a submitted claim that has since been scored
    world.intake.submit(_request(key="k-1"))
    stored = world.claims.get("CLM-TEST-0001")
    scored, event = stored.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored")
    world.claims.save(stored, scored, [event])

    # WHEN it is submitted again
    again = world.intake.submit(_request(key="k-1"))

    # THEN the answer tells where it is now
    assert again.status is ClaimStatus.SCORED


def test_same_key_with_other_content_is_a_conflict(world):
    # GIVEN a claim submitted under a key
    world.intake.submit(_request(key="k-1", amount="35.50"))

    # WHEN another claim is submitted under it
    # THEN it is refused, and nothing is stored or queued for it
    with pytest.raises(IdempotencyConflict):
        world.intake.submit(_request(key="k-1", amount="99.00"))
    assert list(world.claims.claims) == ["CLM-TEST-0001"]
    assert len(world.queue.on("scoring")) == 1


def test_external_ref_is_the_key_when_no_header_key_is_given(world):
    # GIVEN a claim with an external_ref and no key
    first = world.intake.submit(_request(external_ref="ELEME-1"))

    # WHEN it is submitted again
    again = world.intake.submit(_request(external_ref="ELEME-1"))

    # THEN it is recognised by its external_ref
    assert again == Accepted(first.claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert world.claims.get(first.claim_id).idempotency_key == "eleme#ext:ELEME-1"


def test_external_ref_names_one_claim_whatever_the_key(world):
    # GIVEN a claim submitted under key k1 with an external_ref
    first = world.intake.submit(_request(key="k1", external_ref="ELEME-1"))

    # WHEN the same claim is sent again under key k2, then with no key
    with_k2 = world.intake.submit(_request(key="k2", external_ref="ELEME-1"))
    without = world.intake.submit(_request(external_ref="ELEME-1"))

    # THEN both answer the first claim as replays: one claim, queued once
    assert with_k2 == Accepted(first.claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert without == Accepted(first.claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert list(world.claims.claims) == [first.claim_id]
    assert len(world.queue.on("scoring")) == 1


def test_external_ref_sent_first_without_key_is_replayed_under_a_key(world):
    # GIVEN a claim submitted with its external_ref only
    first = world.intake.submit(_request(external_ref="ELEME-1"))

    # WHEN the same claim is submitted with a header key too
    second = world.intake.submit(_request(key="k1", external_ref="ELEME-1"))

    # THEN the external_ref names the claim: a replay, not a second claim
    assert second == Accepted(first.claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert list(world.claims.claims) == [first.claim_id]


def test_external_ref_under_another_key_with_another_body_is_a_conflict(world):
    # GIVEN a claim submitted under key k1 with an external_ref
    world.intake.submit(_request(key="k1", external_ref="ELEME-1", amount="35.50"))

    # WHEN another claim names the same external_ref under key k2
    # THEN it is refused, and nothing is stored or queued for it
    with pytest.raises(IdempotencyConflict):
        world.intake.submit(_request(key="k2", external_ref="ELEME-1", amount="99.00"))
    assert list(world.claims.claims) == ["CLM-TEST-0001"]
    assert len(world.queue.on("scoring")) == 1


def test_batch_item_naming_an_external_ref_sent_under_a_key_is_replayed(world):
    # GIVEN a claim submitted alone under a key, with an external_ref
    first = world.intake.submit(_request(key="k2", external_ref="ELEME-1"))

    # WHEN a batch carries the same claim (batch items have no key) and another external_ref's claim
    results = world.intake.submit_many([_request(external_ref="ELEME-1"), _request(external_ref="ELEME-2")])

    # THEN the first item answers the earlier claim as a replay; only the other is new
    assert results[0] == Accepted(first.claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert results[1].replayed is False
    assert len(world.claims.claims) == 2


def test_keys_are_scoped_to_the_owner(world):
    # GIVEN a claim of one partner under a key
    world.intake.submit(_request(owner="eleme", key="k-1"))

    # WHEN another partner uses the same key
    other = world.intake.submit(_request(owner="hellobike", key="k-1"))

    # THEN it is its own claim
    assert other == Accepted("CLM-TEST-0002", ClaimStatus.RECEIVED)


def test_claim_without_key_is_always_new(world):
    # GIVEN a claim without key or external_ref
    # WHEN it is submitted twice
    first, second = world.intake.submit(_request()), world.intake.submit(_request())

    # THEN two claims exist
    assert first.claim_id != second.claim_id
    assert len(world.claims.claims) == 2


def test_failed_send_still_accepts_and_leaves_the_claim_received(world):
    # GIVEN a queue that fails every send
    world.queue.fail = True

    # WHEN a claim is submitted
    result = world.intake.submit(_request(key="k-1"))

    # THEN it is accepted and stored as RECEIVED, and the failure is counted
    assert result == Accepted("CLM-TEST-0001", ClaimStatus.RECEIVED)
    assert world.claims.get("CLM-TEST-0001").status is ClaimStatus.RECEIVED
    assert world.queue.sent == []
    assert world.telemetry.counts["ScoringEnqueueFailed"] == 1


def _claim_stored_while_the_queue_failed(world) -> Reconciler:
    """Stores a claim while the scoring queue fails, heals the queue; the reconciler that will find it."""
    world.queue.fail = True
    world.intake.submit(_request())
    world.queue.fail = False
    return Reconciler(world.claims, world.queue, world.telemetry, after_seconds=300, clock=world.clock)


def test_reconciler_requeues_the_claim_whose_send_failed(world):
    # GIVEN a claim stored while the queue was failing, and the queue healthy again
    reconciler = _claim_stored_while_the_queue_failed(world)

    # WHEN the reconciler runs after RECONCILE_AFTER_SECONDS
    world.clock.advance(seconds=301)
    requeued = reconciler.requeue_stuck()

    # THEN the claim is on its way to scoring
    assert requeued == 1
    assert [s.claim_id for s in world.queue.on("scoring")] == ["CLM-TEST-0001"]
    assert world.telemetry.counts["ClaimsRequeued"] == 1


@pytest.mark.parametrize("backlog, requeued", [(None, 1), (0, 1), (1, 0), (500, 0)])
def test_reconciler_leaves_stuck_claims_to_a_scoring_backlog_that_holds_them(world, backlog, requeued):
    # GIVEN a claim still RECEIVED past RECONCILE_AFTER_SECONDS, and the scoring queue holding ``backlog``
    # messages (None: the depth could not be read)
    world.queue.fail = True
    world.intake.submit(_request())
    world.queue.fail = False
    world.queue.backlog = backlog
    reconciler = Reconciler(world.claims, world.queue, world.telemetry, after_seconds=300, clock=world.clock)
    world.clock.advance(seconds=301)

    # WHEN the reconciler runs
    # THEN it re-sends only when the queue could not be holding every stuck claim (or its depth is unknown)
    assert reconciler.requeue_stuck() == requeued
    assert len(world.queue.on("scoring")) == requeued
    assert world.telemetry.counts["ReconcileDeferred"] == 1 - requeued


def test_reconciler_waits_before_requeueing(world):
    # GIVEN a claim stored while the queue was failing
    reconciler = _claim_stored_while_the_queue_failed(world)

    # WHEN the reconciler runs before RECONCILE_AFTER_SECONDS
    world.clock.advance(seconds=299)
    requeued = reconciler.requeue_stuck()

    # THEN it leaves the claim alone (its send may only be slow)
    assert requeued == 0
    assert world.queue.sent == []


def test_reconciler_leaves_claims_that_were_scored(world):
    # GIVEN a claim that reached scoring
    world.intake.submit(_request())
    stored = world.claims.get("CLM-TEST-0001")
    world.claims.save(stored, *_scored(stored))
    world.queue.sent.clear()
    reconciler = Reconciler(world.claims, world.queue, world.telemetry, after_seconds=300, clock=world.clock)

    # WHEN the reconciler runs much later
    world.clock.advance(hours=2)

    # THEN there is nothing to re-queue
    assert reconciler.requeue_stuck() == 0


def _scored(claim):
    after, event = claim.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored")
    return after, [event]


# -- submit_many ---------------------------------------------------------------------------------


def test_batch_stores_every_claim_and_queues_them_together(world):
    # GIVEN three new claims
    requests = [_request(external_ref=f"R-{i}") for i in range(3)]

    # WHEN they are submitted as a batch
    results = world.intake.submit_many(requests)

    # THEN each is accepted in order and all are queued
    assert results == [Accepted(f"CLM-TEST-000{i}", ClaimStatus.RECEIVED) for i in (1, 2, 3)]
    assert [s.claim_id for s in world.queue.on("scoring")] == ["CLM-TEST-0001", "CLM-TEST-0002", "CLM-TEST-0003"]


def test_batch_duplicate_with_the_same_content_replays_the_first(world):
    # GIVEN a batch repeating one claim
    requests = [_request(external_ref="R-1"), _request(external_ref="R-2"), _request(external_ref="R-1")]

    # WHEN it is submitted
    results = world.intake.submit_many(requests)

    # THEN the repeat answers the first one's claim as a replay and only two claims are stored
    assert results[2] == Accepted(results[0].claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert len(world.claims.claims) == 2
    assert len(world.queue.on("scoring")) == 2


def test_batch_duplicate_with_other_content_is_a_conflict_alone(world):
    # GIVEN a batch reusing a key for different content
    requests = [_request(external_ref="R-1", amount="1.00"), _request(external_ref="R-1", amount="2.00"),
                _request(external_ref="R-2")]

    # WHEN it is submitted
    results = world.intake.submit_many(requests)

    # THEN only the reuse fails; the others are accepted
    assert isinstance(results[1], IdempotencyConflict)
    assert [type(r) for r in (results[0], results[2])] == [Accepted, Accepted]
    assert len(world.claims.claims) == 2


def test_batch_item_already_stored_earlier_is_replayed_or_refused_on_its_own(world):
    # GIVEN two claims stored by earlier requests
    same = world.intake.submit(_request(external_ref="R-1"))
    world.intake.submit(_request(external_ref="R-2", amount="1.00"))

    # WHEN a batch carries the first again, the second changed, and a new claim
    results = world.intake.submit_many([_request(external_ref="R-1"), _request(external_ref="R-2", amount="9.00"),
                                        _request(external_ref="R-3")])

    # THEN each item has its own outcome
    assert results[0] == Accepted(same.claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert isinstance(results[1], IdempotencyConflict)
    assert results[2].replayed is False
    assert len(world.claims.claims) == 3


def test_batch_duplicates_of_a_conflicting_item_share_its_conflict(world):
    # GIVEN a key used earlier for other content, then repeated twice in a batch
    world.intake.submit(_request(external_ref="R-1", amount="1.00"))

    # WHEN the batch is submitted
    results = world.intake.submit_many([_request(external_ref="R-1", amount="2.00"),
                                        _request(external_ref="R-1", amount="2.00")])

    # THEN both items are conflicts
    assert all(isinstance(r, IdempotencyConflict) for r in results)


def test_batch_with_failing_send_is_accepted_and_left_for_the_reconciler(world):
    # GIVEN a queue that fails every send
    world.queue.fail = True

    # WHEN a batch is submitted
    results = world.intake.submit_many([_request(), _request()])

    # THEN both are accepted and stored RECEIVED, and the failures are counted
    assert all(isinstance(r, Accepted) for r in results)
    assert {c.status for c in world.claims.claims.values()} == {ClaimStatus.RECEIVED}
    assert world.telemetry.counts["ScoringEnqueueFailed"] == 2


def test_batch_of_replays_sends_nothing(world):
    # GIVEN claims already submitted
    requests = [_request(external_ref="R-1"), _request(external_ref="R-2")]
    world.intake.submit_many(requests)
    world.queue.sent.clear()

    # WHEN the same batch is submitted again
    results = world.intake.submit_many(requests)

    # THEN everything is replayed and nothing is queued again
    assert all(r.replayed for r in results)
    assert world.queue.sent == []


# -- submit_batch ----------------------------------------------------------------------------------


def test_a_partners_batch_answers_each_claim_at_its_position_parse_errors_kept(world):
    # GIVEN a batch whose second claim did not parse and whose fourth repeats the first
    refused = ValidationFailed("The claim is not valid.", [FieldProblem("claims.1.amount", "is required")])
    items = [submission(external_ref="R-1"), refused, submission(external_ref="R-2"), submission(external_ref="R-1")]

    # WHEN the partner's batch is submitted
    results = world.intake.submit_batch("eleme", items, correlation_id="batch-9")

    # THEN every position has its outcome: the refused claim its error, the repeat a replay of the first
    assert results == [Accepted("CLM-TEST-0001", ClaimStatus.RECEIVED), refused,
                       Accepted("CLM-TEST-0002", ClaimStatus.RECEIVED),
                       Accepted("CLM-TEST-0001", ClaimStatus.RECEIVED, replayed=True)]
    # AND the claims that parsed are stored for the partner and queued with the request's correlation id
    assert {(c.owner, c.correlation_id) for c in world.claims.claims.values()} == {("eleme", "batch-9")}
    assert [(s.claim_id, s.correlation_id) for s in world.queue.on("scoring")] == [
        ("CLM-TEST-0001", "batch-9"), ("CLM-TEST-0002", "batch-9")]


def test_a_batch_in_which_nothing_parsed_stores_and_sends_nothing(world):
    # GIVEN a batch of claims that were all refused at parsing
    items = [PayloadTooLarge("The claim is too large."), ValidationFailed("The claim is not valid.", [])]

    # WHEN it is submitted
    results = world.intake.submit_batch("eleme", items)

    # THEN each keeps its error, and nothing is stored, queued or counted
    assert results == items
    assert world.claims.claims == {} and world.queue.sent == [] and world.telemetry.counts == {}


def test_a_batch_item_already_stored_is_replayed_or_refused_at_its_own_position(world):
    # GIVEN a claim stored earlier under an external_ref
    first = world.intake.submit(_request(external_ref="R-1", amount="1.00"))

    # WHEN a batch brings it again, then the same ref for another claim
    results = world.intake.submit_batch("eleme", [submission(external_ref="R-3"),
                                                  submission(external_ref="R-1", amount="1.00")])
    conflict = world.intake.submit_batch("eleme", [submission(external_ref="R-1", amount="2.00")])

    # THEN the replay answers the first claim, the reuse is a conflict of its own
    assert results[1] == Accepted(first.claim_id, ClaimStatus.RECEIVED, replayed=True)
    assert isinstance(conflict[0], IdempotencyConflict)


# -- get_for_owner ---------------------------------------------------------------------------------


def test_owner_reads_its_claim(world):
    # GIVEN a claim of a partner
    accepted = world.intake.submit(_request(owner="eleme"))

    # WHEN the partner reads it
    # THEN it gets it
    assert world.intake.get_for_owner("eleme", accepted.claim_id).claim_id == accepted.claim_id


@pytest.mark.parametrize("owner, claim_id", [("hellobike", "CLM-TEST-0001"), ("eleme", "CLM-TEST-9999")],
                         ids=["other-owner", "unknown"])
def test_claim_of_another_owner_or_unknown_is_not_found(world, owner, claim_id):
    # GIVEN a claim of one partner
    world.intake.submit(_request(owner="eleme"))

    # WHEN someone else, or an unknown id, is asked for
    # THEN it does not exist for them
    with pytest.raises(NotFound):
        world.intake.get_for_owner(owner, claim_id)


def test_owner_reads_its_claim_with_its_timeline(world):
    # GIVEN a claim of a partner
    accepted = world.intake.submit(_request(owner="eleme"))

    # WHEN the partner asks for it with its history
    claim, events = world.intake.claim_with_events_for_owner("eleme", accepted.claim_id)

    # THEN it gets the claim and its timeline, oldest first
    assert claim.claim_id == accepted.claim_id
    assert [(e.claim_id, e.status) for e in events] == [(accepted.claim_id, ClaimStatus.RECEIVED)]


def test_the_timeline_of_another_owners_claim_is_not_found(world):
    # GIVEN a claim of one partner
    accepted = world.intake.submit(_request(owner="eleme"))

    # WHEN another partner asks for it with its history
    # THEN it does not exist for them
    with pytest.raises(NotFound):
        world.intake.claim_with_events_for_owner("hellobike", accepted.claim_id)


def test_submission_content_is_kept_as_given(world):
    # GIVEN a claim with a unicode description
    request = _request()
    request = replace(request, submission=replace(request.submission, description="外卖有异物 🍜"))

    # WHEN it is submitted
    accepted = world.intake.submit(request)

    # THEN it is stored as given
    assert world.claims.get(accepted.claim_id).submission == request.submission
