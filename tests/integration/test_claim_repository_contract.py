"""The ClaimRepository contract, run against the in-memory fake (tests/fakes.py) and the DynamoDB
repository under moto: the fake the unit tests rely on must behave like the real thing."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.claims import DynamoClaimRepository
from chalicelib.adapters.models import SurveyorModel
from chalicelib.domain.claim import Claim, ClaimStatus, Segment
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.surveyor import Surveyor, SurveyorStatus
from chalicelib.services.ports import ANY_CONTENT, AssignOutcome, ClaimRepository, IdempotencyRecord
from tests.fakes import FakeClaimRepository, FakeSurveyorRepository, ms, new_claim, submission

NOW = ms(datetime.now(UTC))


@dataclass
class Store:
    repo: ClaimRepository
    add_surveyor: Callable[..., Surveyor]  # (surveyor_id, region, capacity, active=0, status=AVAILABLE)
    surveyor: Callable[[str], Surveyor]  # as stored now


def _fake_store() -> Store:
    surveyors = FakeSurveyorRepository()

    def add(surveyor_id, region, capacity, active=0, status=SurveyorStatus.AVAILABLE):
        surveyors.add(surveyor_id, region, capacity, active, status)
        return surveyors.by_id[surveyor_id]

    return Store(FakeClaimRepository(surveyors), add, lambda surveyor_id: surveyors.by_id[surveyor_id])


def _dynamo_store() -> Store:
    def load(surveyor_id):
        m = SurveyorModel.get(surveyor_id, consistent_read=True)
        return Surveyor(m.surveyor_id, m.region_code, SurveyorStatus(m.status), int(m.capacity), int(m.active_claims))

    def add(surveyor_id, region, capacity, active=0, status=SurveyorStatus.AVAILABLE):
        SurveyorModel(surveyor_id, name="测试查勘员", region_code=region, status=status.value, capacity=capacity,
                      active_claims=active).save()
        return load(surveyor_id)

    return Store(DynamoClaimRepository(sleep=lambda _seconds: None), add, load)


def _awaiting_surveyor(store: Store) -> Claim:
    """A stored claim that has been scored into the field-survey lane."""
    new = new_claim(sub=submission(loss_type="motor_collision", plate="沪A12345"))
    store.repo.add(new)
    scored, e1 = new.claim.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored",
                                      at=NOW, segment=Segment.FIELD_SURVEY, score=0)
    routed, e2 = scored.transition(ClaimStatus.AWAITING_SURVEYOR, actor="system:scoring", kind="claim.routed", at=NOW)
    store.repo.save(new.claim, routed, [e1, e2])
    return routed


def _assign(claim: Claim, surveyor: Surveyor):
    return claim.transition(ClaimStatus.SURVEYOR_ASSIGNED, actor="system:dispatch", kind="claim.surveyor_assigned",
                            at=NOW, surveyor_id=surveyor.surveyor_id)


class TestClaimRepositoryContract:
    @pytest.fixture(params=["fake", "dynamo"])
    def store(self, request) -> Store:
        if request.param == "fake":
            return _fake_store()
        request.getfixturevalue("aws")
        return _dynamo_store()

    # -- add / add_many ------------------------------------------------------------------------

    def test_added_claim_reads_back_as_it_was_written(self, store):
        # GIVEN a new claim with its first event
        new = new_claim(key="ref-1")

        # WHEN it is added
        outcome = store.repo.add(new)

        # THEN it is stored and reads back equal, with its timeline
        assert outcome is None
        assert store.repo.get(new.claim.claim_id) == new.claim
        assert store.repo.events(new.claim.claim_id) == [new.event]

    def test_claims_read_together_read_as_each_alone_and_missing_ones_are_absent(self, store):
        # GIVEN three stored claims, one of them scored since
        first, second = new_claim(key="ref-1"), new_claim(key="ref-2")
        store.repo.add_many([first, second])
        third = _awaiting_surveyor(store)

        # WHEN they are read together, with an id that does not exist and one asked twice
        ids = [first.claim.claim_id, "CLM-00000000000000000000000000", third.claim_id, second.claim.claim_id,
               first.claim.claim_id]
        found = store.repo.get_many(ids)

        # THEN each is as it reads alone (the latest version), and the missing one is absent
        assert found == {c: store.repo.get(c) for c in (first.claim.claim_id, second.claim.claim_id, third.claim_id)}
        assert found[third.claim_id].status is ClaimStatus.AWAITING_SURVEYOR

    def test_add_with_a_taken_key_returns_the_existing_record_and_stores_nothing(self, store):
        # GIVEN a claim stored under an idempotency key
        first = new_claim(key="ref-1")
        store.repo.add(first)

        # WHEN another claim is added under the same key
        second = new_claim(key="ref-1", sub=submission(amount="99.00"))
        outcome = store.repo.add(second)

        # THEN the first claim's record is returned and the second claim does not exist
        assert outcome == first.idempotency
        assert store.repo.get(second.claim.claim_id) is None
        assert store.repo.events(second.claim.claim_id) == []

    def test_keys_of_different_owners_do_not_collide(self, store):
        # GIVEN a claim of one owner under a key
        store.repo.add(new_claim(owner="eleme", key="ref-1"))

        # WHEN another owner uses the same key
        other = new_claim(owner="hellobike", key="ref-1")
        outcome = store.repo.add(other)

        # THEN it is stored
        assert outcome is None
        assert store.repo.get(other.claim.claim_id) == other.claim

    def test_add_many_answers_each_item_in_order(self, store):
        # GIVEN one key already taken
        taken = new_claim(key="taken")
        store.repo.add(taken)
        items = [new_claim(key="fresh"), new_claim(key="taken"), new_claim()]

        # WHEN a fresh-key claim, a taken-key claim and a keyless claim are added together
        outcomes = store.repo.add_many(items)

        # THEN only the taken one is answered with the existing record; the others are stored
        assert outcomes == [None, taken.idempotency, None]
        assert store.repo.get(items[0].claim.claim_id) == items[0].claim
        assert store.repo.get(items[1].claim.claim_id) is None
        assert store.repo.get(items[2].claim.claim_id) == items[2].claim

    def test_a_taken_duplicate_guard_returns_its_record_and_stores_nothing(self, store):
        # GIVEN a stored claim whose duplicate guard is "this loss from this number today"
        first = replace(new_claim(owner="ivr:connect", key="call:A"),
                        duplicate_guard=IdempotencyRecord("hotline#+8613800138000#food_safety#2026-11-25", "x",
                                                          ANY_CONTENT))
        first = replace(first, duplicate_guard=replace(first.duplicate_guard, claim_id=first.claim.claim_id))
        assert store.repo.add(first) is None

        # WHEN another call's claim with another idempotency key but the same guard is added
        second = new_claim(owner="ivr:twilio", key="call:B")
        second = replace(second, duplicate_guard=replace(first.duplicate_guard, claim_id=second.claim.claim_id))
        existing = store.repo.add(second)

        # THEN the guard's record is answered (the first claim) and the second claim is not stored
        assert existing == first.duplicate_guard
        assert store.repo.get(second.claim.claim_id) is None

    def test_the_idempotency_key_wins_over_the_guard_when_both_are_taken(self, store):
        # GIVEN a stored claim with a key and a guard
        first = new_claim(owner="ivr:connect", key="call:A")
        guard = IdempotencyRecord("hotline#+8613800138000#food_safety#2026-11-25", first.claim.claim_id, ANY_CONTENT)
        store.repo.add(replace(first, duplicate_guard=guard))

        # WHEN the same call is added again (same key, same guard)
        again = new_claim(owner="ivr:connect", key="call:A")
        existing = store.repo.add(replace(again, duplicate_guard=replace(guard, claim_id=again.claim.claim_id)))

        # THEN the key's record is answered: a retry of that call, not another call
        assert existing == first.idempotency

    def test_a_taken_external_ref_returns_its_record_and_stores_nothing(self, store):
        # GIVEN a claim stored under key k1 and its partner's external_ref
        first = new_claim(key="k1")
        ref = IdempotencyRecord("eleme#ext:ELEME-1", first.claim.claim_id, first.idempotency.fingerprint)
        assert store.repo.add(replace(first, external_ref=ref)) is None

        # WHEN another claim comes under key k2 with the same external_ref
        second = new_claim(key="k2")
        existing = store.repo.add(replace(second, external_ref=replace(ref, claim_id=second.claim.claim_id)))

        # THEN the external_ref's record is answered (the first claim) and the second claim is not stored
        assert existing == ref
        assert store.repo.get(second.claim.claim_id) is None

    def test_the_idempotency_key_wins_over_the_external_ref_when_both_are_taken(self, store):
        # GIVEN a claim stored under a key and an external_ref
        first = new_claim(key="k1")
        ref = IdempotencyRecord("eleme#ext:ELEME-1", first.claim.claim_id, first.idempotency.fingerprint)
        store.repo.add(replace(first, external_ref=ref))

        # WHEN the same request comes again (same key, same external_ref)
        again = new_claim(key="k1")
        existing = store.repo.add(replace(again, external_ref=replace(ref, claim_id=again.claim.claim_id)))

        # THEN the key's record is answered
        assert existing == first.idempotency

    def test_add_many_of_nothing_is_nothing(self, store):
        # GIVEN no claims
        # WHEN none are added
        # THEN there are no outcomes
        assert store.repo.add_many([]) == []

    def test_unknown_claim_is_none(self, store):
        # GIVEN an empty store
        # WHEN an unknown claim is read
        # THEN there is none
        assert store.repo.get("CLM-00000000000000000000000000") is None

    # -- save ------------------------------------------------------------------------------------------

    def test_save_at_the_current_version_stores_claim_and_appends_events(self, store):
        # GIVEN a stored claim
        new = new_claim()
        store.repo.add(new)
        scored, event = new.claim.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored",
                                             at=NOW, segment=Segment.FAST_TRACK, score=0,
                                             score_reasons=("small_clean_claim",))

        # WHEN it is saved from the version that was read
        store.repo.save(new.claim, scored, [event])

        # THEN the new state and the appended event are stored
        assert store.repo.get(new.claim.claim_id) == scored
        assert store.repo.events(new.claim.claim_id) == [new.event, event]

    def test_save_from_a_stale_version_raises_concurrent_update_and_changes_nothing(self, store):
        # GIVEN a claim that someone else changed after we read it
        new = new_claim()
        store.repo.add(new)
        theirs, their_event = new.claim.transition(ClaimStatus.SCORED, actor="them", kind="claim.scored", at=NOW)
        store.repo.save(new.claim, theirs, [their_event])
        ours, our_event = new.claim.transition(ClaimStatus.SCORED, actor="us", kind="claim.scored", at=NOW)

        # WHEN we save from the version we read
        with pytest.raises(ConcurrentUpdate):
            store.repo.save(new.claim, ours, [our_event])

        # THEN their change stands
        assert store.repo.get(new.claim.claim_id) == theirs
        assert [e.actor for e in store.repo.events(new.claim.claim_id)] == [new.event.actor, "them"]

    # -- assign_surveyor -------------------------------------------------------------------------------

    def test_assign_takes_one_unit_of_capacity_and_assigns_the_claim(self, store):
        # GIVEN a claim awaiting a surveyor and a surveyor with room
        claim = _awaiting_surveyor(store)
        surveyor = store.add_surveyor("SV-T-1", "310115", capacity=2, active=1)
        assigned, event = _assign(claim, surveyor)

        # WHEN the surveyor is assigned
        outcome = store.repo.assign_surveyor(surveyor, claim, assigned, event)

        # THEN the claim is assigned and the surveyor carries one more claim
        assert outcome is AssignOutcome.ASSIGNED
        assert store.repo.get(claim.claim_id) == assigned
        assert store.repo.events(claim.claim_id)[-1] == event
        assert store.surveyor("SV-T-1").active_claims == 2

    def test_assign_to_a_surveyor_who_filled_up_meanwhile_is_surveyor_full(self, store):
        # GIVEN a surveyor read with room, who is full by now
        claim = _awaiting_surveyor(store)
        seen = store.add_surveyor("SV-T-1", "310115", capacity=2, active=1)
        store.add_surveyor("SV-T-1", "310115", capacity=2, active=2)
        assigned, event = _assign(claim, seen)

        # WHEN the claim is assigned from the stale view
        outcome = store.repo.assign_surveyor(seen, claim, assigned, event)

        # THEN the store refuses; neither the claim nor the surveyor changed
        assert outcome is AssignOutcome.SURVEYOR_FULL
        assert store.repo.get(claim.claim_id) == claim
        assert store.surveyor("SV-T-1").active_claims == 2

    def test_assign_to_an_off_duty_surveyor_is_surveyor_full(self, store):
        # GIVEN a surveyor who went off duty after being read
        claim = _awaiting_surveyor(store)
        seen = store.add_surveyor("SV-T-1", "310115", capacity=2)
        store.add_surveyor("SV-T-1", "310115", capacity=2, status=SurveyorStatus.OFF_DUTY)
        assigned, event = _assign(claim, seen)

        # WHEN the claim is assigned
        outcome = store.repo.assign_surveyor(seen, claim, assigned, event)

        # THEN the store refuses
        assert outcome is AssignOutcome.SURVEYOR_FULL
        assert store.surveyor("SV-T-1").active_claims == 0

    def test_assign_for_a_claim_changed_meanwhile_is_claim_changed_and_takes_no_capacity(self, store):
        # GIVEN a claim that was assigned elsewhere after we read it
        claim = _awaiting_surveyor(store)
        other = store.add_surveyor("SV-T-2", "310115", capacity=2)
        surveyor = store.add_surveyor("SV-T-1", "310115", capacity=2)
        store.repo.assign_surveyor(other, claim, *_assign(claim, other))

        # WHEN we assign from the version we read
        outcome = store.repo.assign_surveyor(surveyor, claim, *_assign(claim, surveyor))

        # THEN the store reports the change and our surveyor keeps its capacity
        assert outcome is AssignOutcome.CLAIM_CHANGED
        assert store.repo.get(claim.claim_id).surveyor_id == "SV-T-2"
        assert store.surveyor("SV-T-1").active_claims == 0
        assert store.surveyor("SV-T-2").active_claims == 1

    # -- received_before -----------------------------------------------------------------------------

    def test_received_before_lists_old_received_claims_oldest_first(self, store):
        # GIVEN claims received 3 h, 2 h and 1 min ago, and a 3 h old one already scored
        oldest = new_claim(at=NOW - timedelta(hours=3))
        older = new_claim(at=NOW - timedelta(hours=2))
        recent = new_claim(at=NOW - timedelta(minutes=1))
        scored = new_claim(at=NOW - timedelta(hours=3, minutes=1))
        store.repo.add_many([recent, older, scored, oldest])
        after, event = scored.claim.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored", at=NOW)
        store.repo.save(scored.claim, after, [event])

        # WHEN claims received before 5 minutes ago are asked for
        stuck = store.repo.received_before(NOW - timedelta(minutes=5), limit=10)

        # THEN only the two old RECEIVED claims come back, oldest first, with their correlation ids
        assert stuck == [(oldest.claim.claim_id, oldest.claim.correlation_id),
                         (older.claim.claim_id, older.claim.correlation_id)]

    def test_received_before_answers_at_most_limit_claims(self, store):
        # GIVEN three old claims received on different days
        old = [new_claim(at=NOW - timedelta(days=d)) for d in (3, 2, 1)]
        store.repo.add_many(old)

        # WHEN two are asked for
        stuck = store.repo.received_before(NOW, limit=2)

        # THEN the two oldest come back
        assert [claim_id for claim_id, _ in stuck] == [old[0].claim.claim_id, old[1].claim.claim_id]
