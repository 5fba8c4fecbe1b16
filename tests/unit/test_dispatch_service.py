"""DispatchService with fakes: least-loaded free surveyor first, never over capacity, else wait and retry."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.domain.claim import ClaimStatus, Segment
from chalicelib.domain.errors import NotFound
from chalicelib.domain.surveyor import SurveyorStatus
from chalicelib.services.dispatch import DispatchService, retry_delay
from chalicelib.services.ports import AssignOutcome
from tests.fakes import (
    Clock,
    FakeClaimQueue,
    FakeClaimRepository,
    FakeSurveyorRepository,
    FakeTelemetry,
    new_claim,
    submission,
)

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class World:
    def __init__(self, retry_base_seconds: int = 30):
        self.surveyors = FakeSurveyorRepository()
        self.claims = FakeClaimRepository(self.surveyors)
        self.queue = FakeClaimQueue()
        self.telemetry = FakeTelemetry()
        self.dispatch = DispatchService(self.claims, self.surveyors, self.queue, self.telemetry,
                                        retry_base_seconds=retry_base_seconds, clock=Clock(NOW))

    def awaiting(self, region: str = "310115") -> str:
        """A stored motor claim, scored into the field-survey lane."""
        new = new_claim(sub=submission(loss_type="motor_collision", region=region, plate="沪A12345"), at=NOW)
        self.claims.add(new)
        scored, e1 = new.claim.transition(ClaimStatus.SCORED, actor="s", kind="claim.scored", at=NOW,
                                          segment=Segment.FIELD_SURVEY)
        routed, e2 = scored.transition(ClaimStatus.AWAITING_SURVEYOR, actor="s", kind="claim.routed", at=NOW)
        self.claims.save(new.claim, routed, [e1, e2])
        return new.claim.claim_id

    def load(self, surveyor_id: str) -> int:
        return self.surveyors.by_id[surveyor_id].active_claims


@pytest.fixture
def world() -> World:
    return World()


def test_least_loaded_surveyor_of_the_region_is_assigned(world):
    # GIVEN three surveyors in the claim's region at 2/3, 1/4 and 1/2 load, and an idle one elsewhere
    world.surveyors.add("SV-1", "310115", capacity=3, active=2)
    world.surveyors.add("SV-2", "310115", capacity=4, active=1)
    world.surveyors.add("SV-3", "310115", capacity=2, active=1)
    world.surveyors.add("SV-BJ", "110105", capacity=5, active=0)
    claim_id = world.awaiting("310115")

    # WHEN the claim is dispatched
    status = world.dispatch.dispatch(claim_id)

    # THEN the surveyor with the smallest share of capacity in the region gets it
    assert status is ClaimStatus.SURVEYOR_ASSIGNED
    assert world.claims.get(claim_id).surveyor_id == "SV-2"
    assert world.load("SV-2") == 2
    assert world.telemetry.counts["ClaimsDispatched"] == 1


def test_assignment_is_recorded_on_the_timeline(world):
    # GIVEN a free surveyor and a claim awaiting one
    world.surveyors.add("SV-1", "310115", capacity=2)
    claim_id = world.awaiting()

    # WHEN the claim is dispatched
    world.dispatch.dispatch(claim_id)

    # THEN the timeline says who was assigned, by dispatch, when
    last = world.claims.events(claim_id)[-1]
    assert (last.kind, last.status, last.actor, last.at, last.detail) == (
        "claim.surveyor_assigned", ClaimStatus.SURVEYOR_ASSIGNED, "system:dispatch", NOW, {"surveyor_id": "SV-1"})


class _StaleView:
    """Surveyors as read a moment ago: everybody looks idle."""

    def __init__(self, surveyors: FakeSurveyorRepository):
        self._surveyors = surveyors

    def in_region(self, region_code):
        return [replace(s, active_claims=0) for s in self._surveyors.in_region(region_code)]


@pytest.mark.parametrize("sv1, sv2, status, assigned, loads", [
    pytest.param((2, 2), (3, 1), ClaimStatus.SURVEYOR_ASSIGNED, "SV-2", (2, 2), id="SV-1 full, SV-2 has room"),
    pytest.param((1, 1), (2, 2), ClaimStatus.WAITING_FOR_SURVEYOR, None, (1, 2), id="everyone full"),
])
def test_a_surveyor_found_full_at_write_time_is_skipped_for_the_next_or_the_claim_waits(world, sv1, sv2, status,
                                                                                       assigned, loads):
    # GIVEN a stale view in which SV-1 and SV-2 look idle, while in the store SV-1 is full and SV-2 has
    # room, or both are full
    world.surveyors.add("SV-1", "310115", capacity=sv1[0], active=sv1[1])
    world.surveyors.add("SV-2", "310115", capacity=sv2[0], active=sv2[1])
    claim_id = world.awaiting()
    dispatch = DispatchService(world.claims, _StaleView(world.surveyors), world.queue, world.telemetry,
                               clock=Clock(NOW))

    # WHEN the claim is dispatched
    # THEN SV-1's refusal (SURVEYOR_FULL) falls through to SV-2, or the claim waits; nobody is overfilled
    assert dispatch.dispatch(claim_id) is status
    assert world.claims.get(claim_id).surveyor_id == assigned
    assert (world.load("SV-1"), world.load("SV-2")) == loads


def test_no_free_surveyor_means_waiting_and_a_delayed_retry(world):
    # GIVEN a region whose only surveyor is off duty
    world.surveyors.add("SV-1", "310115", capacity=3, status=SurveyorStatus.OFF_DUTY)
    claim_id = world.awaiting()

    # WHEN the claim is dispatched
    status = world.dispatch.dispatch(claim_id, "abc-123")

    # THEN it waits, and a retry is queued with the first backoff delay and the correlation id
    assert status is ClaimStatus.WAITING_FOR_SURVEYOR
    assert world.claims.events(claim_id)[-1].kind == "claim.waiting_for_surveyor"
    assert [(s.claim_id, s.correlation_id, s.attempt, s.delay_seconds) for s in world.queue.on("dispatch")] == \
        [(claim_id, "abc-123", 1, 30)]
    assert world.telemetry.counts["DispatchDeferred"] == 1


def test_waiting_claim_retried_without_a_surveyor_backs_off_further(world):
    # GIVEN a claim already waiting, retried for the third time
    claim_id = world.awaiting("440305")
    world.dispatch.dispatch(claim_id)
    version = world.claims.get(claim_id).version
    world.queue.sent.clear()

    # WHEN the retry still finds nobody
    status = world.dispatch.dispatch(claim_id, attempt=3)

    # THEN the claim stays waiting without a new version, and the next retry waits longer
    assert status is ClaimStatus.WAITING_FOR_SURVEYOR
    assert world.claims.get(claim_id).version == version
    assert [(s.attempt, s.delay_seconds) for s in world.queue.on("dispatch")] == [(4, 240)]


def test_waiting_claim_is_assigned_once_a_surveyor_frees_up(world):
    # GIVEN a claim waiting in a region with nobody free
    world.surveyors.add("SV-1", "310115", capacity=1, active=1)
    claim_id = world.awaiting()
    world.dispatch.dispatch(claim_id)

    # WHEN the surveyor frees up and the retry arrives
    world.surveyors.add("SV-1", "310115", capacity=1, active=0)
    status = world.dispatch.dispatch(claim_id, attempt=1)

    # THEN the waiting claim is assigned
    assert status is ClaimStatus.SURVEYOR_ASSIGNED
    assert world.load("SV-1") == 1


@pytest.mark.parametrize("attempt, expected", [(0, 30), (1, 60), (2, 120), (3, 240), (4, 480), (5, 900), (6, 900),
                                               (30, 900), (10_000, 900)])
def test_retry_delay_doubles_and_is_capped_at_900_seconds(attempt, expected):
    # GIVEN a 30 s base
    # WHEN the delay for an attempt is computed
    # THEN it doubles each time and never exceeds SQS's 900 s limit
    assert retry_delay(attempt, 30) == expected


def test_zero_base_retries_at_once():
    # GIVEN a base of 0 (local stack)
    # WHEN any delay is computed
    # THEN it is immediate
    assert retry_delay(7, 0) == 0


def test_assigned_claim_is_left_alone_on_redelivery(world):
    # GIVEN a claim already assigned
    world.surveyors.add("SV-1", "310115", capacity=2)
    claim_id = world.awaiting()
    world.dispatch.dispatch(claim_id)
    version = world.claims.get(claim_id).version

    # WHEN its dispatch message is delivered again
    status = world.dispatch.dispatch(claim_id)

    # THEN nothing changes: no second assignment, no second unit of capacity
    assert status is ClaimStatus.SURVEYOR_ASSIGNED
    assert world.claims.get(claim_id).version == version
    assert world.load("SV-1") == 1
    assert world.queue.sent == []


def test_claim_not_awaiting_a_surveyor_is_not_dispatched(world):
    # GIVEN a claim that was only received
    new = new_claim()
    world.claims.add(new)
    world.surveyors.add("SV-1", "310115", capacity=2)

    # WHEN a dispatch message arrives for it
    status = world.dispatch.dispatch(new.claim.claim_id)

    # THEN it is left as it is
    assert status is ClaimStatus.RECEIVED
    assert world.load("SV-1") == 0


def test_unknown_claim_fails_the_message(world):
    # GIVEN no such claim
    # WHEN its dispatch message arrives
    # THEN it fails
    with pytest.raises(NotFound):
        world.dispatch.dispatch("CLM-NOPE")


class _AssignedElsewhere(FakeClaimRepository):
    """Another consumer assigns the claim between our read and our write."""

    def assign_surveyor(self, surveyor, before, after, event):
        if not getattr(self, "raced", False):
            self.raced = True
            other = self.surveyors.by_id["SV-OTHER"]
            theirs, their_event = before.transition(ClaimStatus.SURVEYOR_ASSIGNED, actor="system:dispatch",
                                                    kind="claim.surveyor_assigned", surveyor_id=other.surveyor_id)
            assert super().assign_surveyor(other, before, theirs, their_event) is AssignOutcome.ASSIGNED
        return super().assign_surveyor(surveyor, before, after, event)


def test_claim_assigned_elsewhere_meanwhile_is_left_to_that_assignment():
    # GIVEN a claim that another consumer assigns to SV-OTHER while we try SV-1
    surveyors = FakeSurveyorRepository()
    surveyors.add("SV-1", "310115", capacity=2)
    surveyors.add("SV-OTHER", "310104", capacity=2)
    world = World()
    world.surveyors = surveyors
    world.claims = _AssignedElsewhere(surveyors)
    claim_id = world.awaiting()
    dispatch = DispatchService(world.claims, surveyors, world.queue, world.telemetry, clock=Clock(NOW))

    # WHEN we dispatch it
    status = dispatch.dispatch(claim_id)

    # THEN we see CLAIM_CHANGED, reload, and stop: SV-1 keeps its capacity
    assert status is ClaimStatus.SURVEYOR_ASSIGNED
    assert world.claims.get(claim_id).surveyor_id == "SV-OTHER"
    assert surveyors.by_id["SV-1"].active_claims == 0
    assert world.queue.sent == []


class _CountingView:
    """The surveyor repository, recording which regions dispatch asked for."""

    def __init__(self, surveyors: FakeSurveyorRepository):
        self._surveyors = surveyors
        self.asked: list[str] = []

    def in_region(self, region_code):
        self.asked.append(region_code)
        return self._surveyors.in_region(region_code)


def test_neighbouring_district_is_asked_when_nobody_in_the_claims_region_is_free(world):
    # GIVEN Pudong's only surveyor full, and free surveyors in Huangpu (ring 1) and Jing'an (ring 2)
    world.surveyors.add("SV-PD", "310115", capacity=1, active=1)
    world.surveyors.add("SV-JA", "310106", capacity=3)
    world.surveyors.add("SV-HP", "310101", capacity=3, active=2)
    claim_id = world.awaiting("310115")

    # WHEN the claim is dispatched
    status = world.dispatch.dispatch(claim_id)

    # THEN the neighbour (ring 1) gets it, busier though it is, and Pudong's surveyor stays at capacity
    assert status is ClaimStatus.SURVEYOR_ASSIGNED
    assert world.claims.get(claim_id).surveyor_id == "SV-HP"
    assert (world.load("SV-PD"), world.load("SV-HP"), world.load("SV-JA")) == (1, 3, 0)


def test_dispatch_stops_at_the_first_ring_with_someone_free(world):
    # GIVEN a free surveyor in the claim's own region
    world.surveyors.add("SV-PD", "310115", capacity=2)
    world.surveyors.add("SV-HP", "310101", capacity=2)
    claim_id = world.awaiting("310115")
    view = _CountingView(world.surveyors)
    dispatch = DispatchService(world.claims, view, world.queue, world.telemetry, clock=Clock(NOW))

    # WHEN the claim is dispatched
    dispatch.dispatch(claim_id)

    # THEN only the own region was queried
    assert world.claims.get(claim_id).surveyor_id == "SV-PD"
    assert view.asked == ["310115"]


def test_claim_in_the_unknown_region_waits_for_an_agent_without_querying_anyone(world):
    # GIVEN free surveyors, and a claim reported without a region (000000)
    world.surveyors.add("SV-PD", "310115", capacity=2)
    claim_id = world.awaiting("000000")
    view = _CountingView(world.surveyors)
    dispatch = DispatchService(world.claims, view, world.queue, world.telemetry, clock=Clock(NOW))

    # WHEN the claim is dispatched
    status = dispatch.dispatch(claim_id)

    # THEN nobody is asked, the claim waits and a retry is queued (an agent completes its region meanwhile)
    assert status is ClaimStatus.WAITING_FOR_SURVEYOR
    assert view.asked == []
    assert [s.attempt for s in world.queue.on("dispatch")] == [1]


def test_max_rings_zero_keeps_dispatch_in_the_claims_own_region(world):
    # GIVEN Pudong's only surveyor full and a free one next door
    world.surveyors.add("SV-PD", "310115", capacity=1, active=1)
    world.surveyors.add("SV-HP", "310101", capacity=2)
    claim_id = world.awaiting("310115")
    dispatch = DispatchService(world.claims, world.surveyors, world.queue, world.telemetry, clock=Clock(NOW),
                               max_rings=0)

    # WHEN the claim is dispatched with no fallback rings
    status = dispatch.dispatch(claim_id)

    # THEN it waits rather than going next door
    assert status is ClaimStatus.WAITING_FOR_SURVEYOR
    assert world.load("SV-HP") == 0


def test_a_claim_nobody_takes_within_the_sla_is_escalated_once_to_the_agent_queue():
    # GIVEN dispatch with a one-hour SLA, a clock, and nobody free for a claim
    world = World()
    clock = Clock(NOW)
    world.dispatch = DispatchService(world.claims, world.surveyors, world.queue, world.telemetry, clock=clock,
                                     escalate_after_seconds=3600)
    claim_id = world.awaiting()

    # WHEN it waits, is retried before the SLA, then after it, then again
    world.dispatch.dispatch(claim_id)
    clock.advance(minutes=30)
    world.dispatch.dispatch(claim_id, attempt=1)
    before_sla = world.claims.get(claim_id)
    clock.advance(minutes=31)
    world.dispatch.dispatch(claim_id, attempt=2)
    world.dispatch.dispatch(claim_id, attempt=3)

    # THEN it is escalated once the hour has passed, and only once: in the agent queue, higher priority,
    # still waiting (dispatch keeps trying)
    claim = world.claims.get(claim_id)
    assert not before_sla.escalated and not before_sla.needs_a_person
    assert (claim.status, claim.escalated, claim.needs_a_person) == (ClaimStatus.WAITING_FOR_SURVEYOR, True, True)
    assert claim.priority == before_sla.priority + 30
    assert [e.kind for e in world.claims.events(claim_id)].count("claim.dispatch_escalated") == 1
    assert world.telemetry.counts["DispatchEscalated"] == 1
    assert len(world.queue.on("dispatch")) == 4


def test_a_claim_whose_dispatch_always_failed_goes_to_a_person_and_a_redelivery_changes_nothing(world):
    # GIVEN a field claim waiting for a surveyor
    claim_id = world.awaiting()
    world.dispatch.dispatch(claim_id)
    assert world.claims.get(claim_id).status is ClaimStatus.WAITING_FOR_SURVEYOR

    # WHEN its dispatch message fails its last receive
    marked = world.dispatch.needs_attention(claim_id, "SurveyorsUnavailable")

    # THEN the claim needs a person, with the stage and the error's class on its timeline, and is counted
    claim = world.claims.get(claim_id)
    assert marked and claim.status is ClaimStatus.NEEDS_ATTENTION and claim.needs_a_person
    last = world.claims.events(claim_id)[-1]
    assert (last.kind, last.actor, last.detail) == ("claim.needs_attention", "system:dispatch",
                                                    {"stage": "dispatch", "error_class": "SurveyorsUnavailable"})
    assert world.telemetry.counts["ClaimsNeedingAttention"] == 1

    # WHEN the message is redriven, and the claim given up again
    world.surveyors.add("SV-1", "310115", capacity=3)
    status = world.dispatch.dispatch(claim_id)
    again = world.dispatch.needs_attention(claim_id, "SurveyorsUnavailable")

    # THEN nothing changes: no surveyor taken, nothing queued, counted once
    assert status is ClaimStatus.NEEDS_ATTENTION and not again
    assert world.claims.get(claim_id) == claim and world.load("SV-1") == 0
    assert world.telemetry.counts["ClaimsNeedingAttention"] == 1
