"""ScoringService with fakes: score once, route by segment, idempotent on redelivery."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.claim import ClaimStatus, Segment
from chalicelib.domain.errors import NotFound
from tests.fakes import (
    Clock,
    FakeClaimQueue,
    FakeClaimRepository,
    FakeTelemetry,
    new_claim,
    scoring_service,
    submission,
)

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def claims():
    return FakeClaimRepository()


@pytest.fixture
def queue():
    return FakeClaimQueue()


@pytest.fixture
def telemetry():
    return FakeTelemetry()


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def scoring(claims, queue, telemetry, clock):
    return scoring_service(claims, queue, telemetry, clock)


def _stored(claims, **sub) -> str:
    sub.setdefault("occurred_at", NOW - timedelta(days=1))
    new = new_claim(sub=submission(**sub), at=NOW)
    claims.add(new)
    return new.claim.claim_id


def test_small_micro_claim_goes_to_review_on_the_fast_track(scoring, claims, queue, telemetry):
    # GIVEN a received small food-safety claim, above the product's auto-approve threshold (100)
    claim_id = _stored(claims, amount="150.00")

    # WHEN it is scored
    status = scoring.score(claim_id, "abc-123")

    # THEN it is tied to its policy and in review on the fast track, three versions and three events
    # later; dispatch is not asked
    claim = claims.get(claim_id)
    assert status is ClaimStatus.IN_REVIEW
    assert (claim.status, claim.segment, claim.score, claim.version) == (
        ClaimStatus.IN_REVIEW, Segment.FAST_TRACK, 0, 4)
    assert (claim.resolution, claim.matched_by, claim.policy_number, claim.covered) == (
        "RESOLVED", "policy_number", "PA2026000123", True)
    assert [(e.kind, e.status, e.actor) for e in claims.events(claim_id)[1:]] == [
        ("claim.policy_resolved", ClaimStatus.RECEIVED, "system:scoring"),
        ("claim.scored", ClaimStatus.SCORED, "system:scoring"),
        ("claim.routed", ClaimStatus.IN_REVIEW, "system:scoring")]
    assert queue.sent == []
    assert telemetry.counts["ClaimsScored"] == 1


def test_a_tiny_covered_claim_is_auto_approved_with_its_suggested_payout(scoring, claims, queue):
    # GIVEN a received food-safety claim below the product's auto-approve threshold
    claim_id = _stored(claims, amount="35.50")

    # WHEN it is scored
    status = scoring.score(claim_id)

    # THEN it is approved by the system for the suggested payout, with the rule that allowed it on record
    claim = claims.get(claim_id)
    assert status is ClaimStatus.APPROVED
    assert (claim.decision, claim.approved_amount, claim.decided_by) == ("auto_approve", Decimal("35.50"),
                                                                         "system:scoring")
    assert "payout.auto_approve" in claim.score_reasons
    assert claims.events(claim_id)[-1].kind == "claim.auto_approved"
    assert queue.on("dispatch") == []


def _expecting_photos(claims, expected: int = 1, **sub) -> str:
    sub.setdefault("occurred_at", NOW - timedelta(days=1))
    new = new_claim(sub=replace(submission(**sub), attachments_expected=expected), at=NOW)
    claims.add(new)
    return new.claim.claim_id


def _photo_recorded(claims, claim_id: str, *, seen_on: tuple[str, ...] = ()) -> None:
    """As AttachmentService records an upload: one more photo, and the claims it was seen on."""
    claim = claims.get(claim_id)
    claims.save(claim, *_one(claim.record("claim.attachment_added", actor="system:attachments", detail={},
                                          attachment_count=claim.attachment_count + 1,
                                          reused_photo_claims=claim.reused_photo_claims + seen_on)))


def test_a_claim_expecting_photos_waits_for_them_instead_of_being_approved(scoring, claims, queue):
    # GIVEN a tiny clean food-safety claim whose partner said one photo follows (the product waits 600 s)
    claim_id = _expecting_photos(claims, amount="86.00")

    # WHEN it is scored at once, before the photo is in
    status = scoring.score(claim_id, "abc-123")

    # THEN it is not approved: it awaits its photos, and comes back to scoring when the window closes
    claim = claims.get(claim_id)
    assert status is ClaimStatus.AWAITING_PHOTOS
    assert (claim.decision, claim.approved_amount) == (None, None)
    assert claims.events(claim_id)[-1].kind == "claim.awaiting_photos"
    assert [(s.queue, s.claim_id, s.correlation_id, s.delay_seconds) for s in queue.sent] == [
        ("scoring", claim_id, "abc-123", 600)]


def test_when_the_window_closes_without_a_reused_photo_the_claim_is_approved_as_before(scoring, claims, queue, clock):
    # GIVEN a claim awaiting its photo
    clock_claim = _expecting_photos(claims, amount="86.00")
    scoring.score(clock_claim)
    clock.advance(seconds=600)

    # WHEN the delayed message brings it back after the window
    status = scoring.score(clock_claim)

    # THEN the system approves the suggested payout
    claim = claims.get(clock_claim)
    assert status is ClaimStatus.APPROVED
    assert (claim.decision, claim.approved_amount, claim.decided_by) == ("auto_approve", Decimal("86.00"),
                                                                         "system:scoring")
    assert claims.events(clock_claim)[-1].kind == "claim.auto_approved"


def test_a_reused_photo_sends_the_waiting_claim_to_review(scoring, claims, queue):
    # GIVEN a claim awaiting its photo, which arrives and was already on another claim
    claim_id = _expecting_photos(claims, amount="86.00")
    scoring.score(claim_id)
    _photo_recorded(claims, claim_id, seen_on=("CLM-OTHER",))

    # WHEN it is decided (the last expected photo is in: no need to wait for the window)
    status = scoring.score(claim_id)

    # THEN it goes to an agent, in the standard review lane, with the photo rule among its reasons
    claim = claims.get(claim_id)
    assert status is ClaimStatus.IN_REVIEW
    assert (claim.segment, claim.decision) == (Segment.STANDARD_REVIEW, None)
    assert "photos.reused" in claim.score_reasons and claim.score > 0
    assert claims.events(claim_id)[-1].kind == "claim.routed"


def test_a_claim_still_waiting_is_not_decided_by_an_early_or_redelivered_message(scoring, claims, queue, clock):
    # GIVEN a claim expecting two photos, one of them in, 100 s into its window
    claim_id = _expecting_photos(claims, expected=2, amount="86.00")
    scoring.score(claim_id)
    _photo_recorded(claims, claim_id)
    before = claims.get(claim_id)
    clock.advance(seconds=100)
    queue.sent.clear()

    # WHEN a message for it arrives (redelivered, say)
    status = scoring.score(claim_id)

    # THEN nothing changes; it is asked back for when the window closes
    assert status is ClaimStatus.AWAITING_PHOTOS
    assert claims.get(claim_id) == before
    assert [(s.queue, s.delay_seconds) for s in queue.sent] == [("scoring", 500)]


def test_once_decided_a_late_message_changes_nothing(scoring, claims, queue, clock):
    claim_id = _expecting_photos(claims, amount="86.00")
    scoring.score(claim_id)
    _photo_recorded(claims, claim_id)
    scoring.score(claim_id)
    decided = claims.get(claim_id)
    queue.sent.clear()
    clock.advance(seconds=600)
    assert scoring.score(claim_id) is ClaimStatus.APPROVED
    assert claims.get(claim_id) == decided and queue.sent == []


def test_a_claim_expecting_no_photos_is_approved_at_once(scoring, claims, queue):
    claim_id = _stored(claims, amount="86.00")
    assert scoring.score(claim_id) is ClaimStatus.APPROVED
    assert queue.sent == []


def test_every_reason_is_kept_with_its_weight_evidence_and_the_rules_version(scoring, claims):
    claim_id = _stored(claims, amount="150.00")
    scoring.score(claim_id)
    claim = claims.get(claim_id)
    scored = next(e for e in claims.events(claim_id) if e.kind == "claim.scored")
    assert claim.rules_version and scored.detail["rules_version"] == claim.rules_version
    assert [r["rule_id"] for r in scored.detail["reasons"]] == list(claim.score_reasons)
    assert all({"rule_id", "weight", "evidence"} <= set(r) for r in claim.score_detail)


def test_a_second_claim_on_the_same_policy_and_day_is_flagged_as_a_possible_duplicate(scoring, claims):
    # GIVEN a claim already scored, then another on the same policy for a loss the same day
    first = _stored(claims, amount="150.00")
    scoring.score(first)
    second = _stored(claims, amount="150.00", occurred_at=NOW - timedelta(days=1, hours=3))

    # WHEN the second is scored
    scoring.score(second)

    # THEN it is flagged (a soft flag: kept, sent to a person) with the first as evidence
    claim = claims.get(second)
    assert "history.possible_duplicate" in claim.score_reasons
    evidence = next(r["evidence"] for r in claim.score_detail if r["rule_id"] == "history.possible_duplicate")
    assert first in str(evidence)
    assert claim.status is ClaimStatus.IN_REVIEW and claim.segment is Segment.STANDARD_REVIEW


def test_motor_claim_awaits_a_surveyor_and_dispatch_is_asked(scoring, claims, queue):
    # GIVEN a received motor claim
    claim_id = _stored(claims, loss_type="motor_collision", amount="3200", plate="沪A12345")

    # WHEN it is scored with a correlation id
    status = scoring.score(claim_id, "abc-123")

    # THEN it awaits a surveyor and dispatch is asked, with the correlation id
    assert status is ClaimStatus.AWAITING_SURVEYOR
    assert claims.get(claim_id).segment is Segment.FIELD_SURVEY
    assert [(s.claim_id, s.correlation_id, s.attempt, s.delay_seconds) for s in queue.on("dispatch")] == \
        [(claim_id, "abc-123", 0, 0)]


def test_dispatch_message_falls_back_to_the_claims_own_correlation_id(scoring, claims, queue):
    # GIVEN a received motor claim whose message carried no correlation id (e.g. re-queued)
    claim_id = _stored(claims, loss_type="motor_collision", amount="3200", plate="沪A12345")

    # WHEN it is scored
    scoring.score(claim_id, None)

    # THEN dispatch is asked with the correlation id the claim was received with
    assert queue.on("dispatch")[0].correlation_id == "corr-1"


def test_redelivered_message_for_a_reviewed_claim_changes_nothing(scoring, claims, queue, telemetry):
    # GIVEN a claim already scored into review
    claim_id = _stored(claims, amount="150.00")
    scoring.score(claim_id)
    before, events = claims.get(claim_id), claims.events(claim_id)

    # WHEN its scoring message is delivered again
    status = scoring.score(claim_id)

    # THEN nothing changes and nothing is sent
    assert status is ClaimStatus.IN_REVIEW
    assert claims.get(claim_id) == before
    assert claims.events(claim_id) == events
    assert queue.sent == []
    assert telemetry.counts["ClaimsScored"] == 1


def test_redelivered_message_for_a_claim_awaiting_a_surveyor_resends_to_dispatch(scoring, claims, queue):
    # GIVEN a motor claim scored, whose dispatch message may have been lost
    claim_id = _stored(claims, loss_type="motor_collision", amount="3200", plate="沪A12345")
    scoring.score(claim_id)
    version = claims.get(claim_id).version

    # WHEN its scoring message is delivered again
    scoring.score(claim_id)

    # THEN dispatch is asked again, and the claim is not rescored
    assert [s.claim_id for s in queue.on("dispatch")] == [claim_id, claim_id]
    assert claims.get(claim_id).version == version


def test_claim_already_past_dispatch_is_not_sent_again(scoring, claims, queue):
    # GIVEN a motor claim that already has its surveyor
    claim_id = _stored(claims, loss_type="motor_collision", amount="3200", plate="沪A12345")
    scoring.score(claim_id)
    awaiting = claims.get(claim_id)
    claims.save(awaiting, *_one(awaiting.transition(ClaimStatus.SURVEYOR_ASSIGNED, actor="t", kind="t",
                                                     surveyor_id="SV-1")))
    queue.sent.clear()

    # WHEN its scoring message is delivered again
    status = scoring.score(claim_id)

    # THEN nothing is sent
    assert status is ClaimStatus.SURVEYOR_ASSIGNED
    assert queue.sent == []


def _one(pair):
    claim, event = pair
    return claim, [event]


def test_unknown_claim_fails_the_message(scoring):
    # GIVEN no such claim
    # WHEN its message is scored
    # THEN it fails (the record is retried, then dead-lettered)
    with pytest.raises(NotFound):
        scoring.score("CLM-NOPE")


class _RacingRepository(FakeClaimRepository):
    """Another consumer scores the claim between our read and our write."""

    def save(self, before, after, events):
        if not getattr(self, "raced", False):
            self.raced = True
            theirs, their_events = before.transition(ClaimStatus.SCORED, actor="system:scoring", kind="claim.scored",
                                                     segment=Segment.FIELD_SURVEY)
            routed, routed_event = theirs.transition(ClaimStatus.AWAITING_SURVEYOR, actor="system:scoring",
                                                     kind="claim.routed")
            super().save(before, routed, [their_events, routed_event])
        return super().save(before, after, events)


def test_losing_a_race_takes_the_stored_state(queue, telemetry):
    # GIVEN a motor claim that another consumer scores at the same moment
    claims = _RacingRepository()
    claim_id = _stored(claims, loss_type="motor_collision", amount="3200", plate="沪A12345")
    scoring = scoring_service(claims, queue, telemetry, Clock(NOW))

    # WHEN we score it and our write loses
    status = scoring.score(claim_id)

    # THEN we take their result: one scoring on the timeline, and dispatch still asked
    assert status is ClaimStatus.AWAITING_SURVEYOR
    assert [e.kind for e in claims.events(claim_id)] == ["claim.received", "claim.scored", "claim.routed"]
    assert [s.claim_id for s in queue.on("dispatch")] == [claim_id]
    assert telemetry.counts["ClaimsScored"] == 0



def test_a_scored_or_missing_claim_is_not_given_up(scoring, claims, telemetry):
    # GIVEN a claim scored into review (its scoring message failed later, at a redelivery, say)
    claim_id = _stored(claims, amount="150.00")
    scoring.score(claim_id)
    before = claims.get(claim_id)

    # WHEN scoring gives up on it, and on a claim that does not exist
    # THEN neither is marked: the scored claim is where scoring left it, and nothing is counted
    assert scoring.needs_attention(claim_id, "RuntimeError") is False
    assert scoring.needs_attention("CLM-00000000000000000000000000", "NotFound") is False
    assert claims.get(claim_id) == before
    assert telemetry.counts["ClaimsNeedingAttention"] == 0


def test_a_claim_awaiting_photos_whose_message_keeps_failing_goes_to_a_person(scoring, claims, telemetry):
    # GIVEN a claim waiting for its photos: only scoring's delayed message will ever decide it
    claim_id = _expecting_photos(claims, amount="86.00")
    scoring.score(claim_id)
    assert claims.get(claim_id).status is ClaimStatus.AWAITING_PHOTOS

    # WHEN that message fails its last receive and scoring gives up on it
    marked = scoring.needs_attention(claim_id, "RuntimeError")

    # THEN the claim goes to a person instead of waiting for ever, with the error's class on its timeline
    assert marked is True
    assert claims.get(claim_id).status is ClaimStatus.NEEDS_ATTENTION
    assert claims.events(claim_id)[-1].detail == {"stage": "scoring", "error_class": "RuntimeError"}
    assert telemetry.counts["ClaimsNeedingAttention"] == 1
