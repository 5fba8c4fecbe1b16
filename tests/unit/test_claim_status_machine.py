"""The claim's status machine (chalicelib/domain/claim.py): every move goes through it."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from chalicelib.domain.claim import TRANSITIONS, Claim, ClaimStatus, Segment, received
from chalicelib.domain.errors import IllegalTransition
from tests.fakes import submission

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

ALL_PAIRS = list(itertools.product(ClaimStatus, ClaimStatus))
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS[a]]


def _claim_in(status: ClaimStatus, version: int = 4, event_seq: int = 6, decision: str | None = None) -> Claim:
    """An approved claim is taken as approved by the system unless ``decision`` says otherwise: only
    those may go back to review."""
    if decision is None and status is ClaimStatus.APPROVED:
        decision = "auto_approve"
    return Claim(claim_id="CLM-01M89KMC8SKZE7MME4AQ1K4GK3", owner="eleme", submission=submission(),
                 status=status, received_at=AT, updated_at=AT, version=version, event_seq=event_seq,
                 decision=decision)


def _pair_id(pair) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_every_status_has_its_transitions_defined():
    # GIVEN the status machine
    # WHEN its table is read
    # THEN every status is in it, and every target is a status
    assert set(TRANSITIONS) == set(ClaimStatus)
    assert all(targets <= set(ClaimStatus) for targets in TRANSITIONS.values())


@pytest.mark.parametrize("current, target", ALLOWED, ids=map(_pair_id, ALLOWED))
def test_allowed_transition_moves_the_claim(current, target):
    # GIVEN a claim in the current status
    claim = _claim_in(current)

    # WHEN it moves to an allowed status
    after, event = claim.transition(target, actor="agent:li", kind="test.move", at=LATER)

    # THEN it is there, one version and one event further, and the event says who and when
    assert after.status is target
    assert after.version == claim.version + 1
    assert after.event_seq == claim.event_seq + 1
    assert after.updated_at == LATER
    assert (event.claim_id, event.seq, event.status, event.actor, event.kind, event.at) == \
        (claim.claim_id, claim.event_seq + 1, target, "agent:li", "test.move", LATER)


@pytest.mark.parametrize("current, target", ILLEGAL, ids=map(_pair_id, ILLEGAL))
def test_illegal_transition_is_refused(current, target):
    # GIVEN a claim in the current status
    claim = _claim_in(current)

    # WHEN it is asked to move where the machine does not allow
    # THEN it refuses
    with pytest.raises(IllegalTransition):
        claim.transition(target, actor="agent:li", kind="test.move", at=LATER)


def test_a_claim_waiting_for_its_photos_is_then_approved_or_reviewed():
    # GIVEN the table
    # WHEN a scored claim that would be approved waits for its photos
    # THEN it may wait, and from there only be approved or go to review (or to a person, if the message
    # that would decide it keeps failing)
    assert ClaimStatus.AWAITING_PHOTOS in TRANSITIONS[ClaimStatus.SCORED]
    assert TRANSITIONS[ClaimStatus.AWAITING_PHOTOS] == frozenset({ClaimStatus.APPROVED, ClaimStatus.IN_REVIEW,
                                                                  ClaimStatus.NEEDS_ATTENTION})


@pytest.mark.parametrize("decision", ["accept", "override"])
def test_only_an_automatic_approval_goes_back_to_review(decision):
    # GIVEN claims approved by the system and by an agent
    automatic, by_agent = _claim_in(ClaimStatus.APPROVED), _claim_in(ClaimStatus.APPROVED, decision=decision)

    # WHEN each is sent back to review
    held, _ = automatic.transition(ClaimStatus.IN_REVIEW, actor="system:attachments", kind="claim.held", at=LATER)

    # THEN the automatic approval goes, a person's decision stands
    assert held.status is ClaimStatus.IN_REVIEW
    with pytest.raises(IllegalTransition):
        by_agent.transition(ClaimStatus.IN_REVIEW, actor="system:attachments", kind="claim.held", at=LATER)


def test_closed_is_final():
    # GIVEN the table
    # WHEN CLOSED is looked up
    # THEN nothing leaves it
    assert TRANSITIONS[ClaimStatus.CLOSED] == frozenset()


def test_transition_leaves_the_original_claim_untouched():
    # GIVEN a received claim
    claim = _claim_in(ClaimStatus.RECEIVED)

    # WHEN it is scored
    claim.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored", at=LATER)

    # THEN the original value is unchanged (claims are immutable values)
    assert claim.status is ClaimStatus.RECEIVED
    assert claim.version == 4


def test_transition_without_a_time_uses_now():
    # GIVEN a received claim
    claim = _claim_in(ClaimStatus.RECEIVED)
    before = datetime.now(UTC)

    # WHEN it moves without an explicit time
    after, event = claim.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored")

    # THEN the event is stamped with an aware current time
    assert event.at.tzinfo is not None
    assert event.at >= before
    assert after.updated_at == event.at


def test_transition_records_the_changes_that_matter_in_the_event():
    # GIVEN a received claim
    claim = _claim_in(ClaimStatus.RECEIVED)

    # WHEN it is scored with a segment, a score and reasons
    after, event = claim.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored", at=LATER,
                                    segment=Segment.FAST_TRACK, score=0, score_reasons=("small_clean_claim",))

    # THEN the claim carries them and the event details segment and score (not the reasons)
    assert (after.segment, after.score, after.score_reasons) == (Segment.FAST_TRACK, 0, ("small_clean_claim",))
    assert event.detail == {"segment": "FAST_TRACK", "score": 0}


def test_received_claim_starts_at_version_one_with_its_first_event():
    # GIVEN a submission
    sub = submission()

    # WHEN a claim is created from it
    claim, event = received("CLM-01M89KMC8SKZE7MME4AQ1K4GK3", "eleme", sub, idempotency_key="eleme#k",
                            correlation_id="abc-123", actor="partner_api:eleme", at=AT)

    # THEN it is RECEIVED at version 1 and event 1, stamped with actor and time
    assert (claim.status, claim.version, claim.event_seq) == (ClaimStatus.RECEIVED, 1, 1)
    assert (claim.received_at, claim.updated_at) == (AT, AT)
    assert (event.seq, event.status, event.actor, event.at, event.kind) == \
        (1, ClaimStatus.RECEIVED, "partner_api:eleme", AT, "claim.received")
    assert event.detail == {"channel": "partner_api"}


@pytest.mark.parametrize("stuck", [ClaimStatus.RECEIVED, ClaimStatus.AWAITING_SURVEYOR,
                                   ClaimStatus.WAITING_FOR_SURVEYOR])
def test_a_claim_stuck_before_a_person_can_be_handed_to_one(stuck):
    # GIVEN a claim whose consumer gave up on it (scoring, or dispatch)
    claim = _claim_in(stuck)

    # WHEN it is marked as needing attention
    after, _ = claim.transition(ClaimStatus.NEEDS_ATTENTION, actor="system:scoring", kind="claim.needs_attention")

    # THEN a person has it: it is on the agent queue, and they can only approve or reject it
    assert after.needs_a_person
    assert TRANSITIONS[ClaimStatus.NEEDS_ATTENTION] == frozenset({ClaimStatus.APPROVED, ClaimStatus.REJECTED})
