"""What the customer is told about a claim: a decision's reason and a survey's progress, in plain words."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.claim import ClaimEvent, ClaimStatus
from chalicelib.domain.outcome import REJECTION_REASONS, outcome, rejection_message, survey
from chalicelib.services.claim_form import IN_PROGRESS, next_step
from tests.fakes import new_claim

START = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
TWO_HOURS = timedelta(hours=2)


def entry(claim, status: ClaimStatus, minute: int) -> ClaimEvent:
    """A timeline entry of ``claim`` in ``status``, ``minute`` minutes after START."""
    return ClaimEvent(claim.claim_id, minute + 1, START + timedelta(minutes=minute), "system", "test", status)


def claim_in(status: ClaimStatus, **changes):
    return replace(new_claim(at=START).claim, status=status, **changes)


@pytest.mark.parametrize("code", REJECTION_REASONS)
def test_each_rejection_reason_is_told_in_both_languages(code):
    # GIVEN a claim an agent rejected with a reason code and an internal note
    rejected = claim_in(ClaimStatus.REJECTED, decision="reject", reason_code=code,
                        decision_reason="internal: score 61, rule R7")

    # WHEN the customer's outcome is read
    told = outcome(rejected)

    # THEN it names the code and its own words in zh-CN and en, never the agent's note
    assert told["result"] == "rejected" and told["reason_code"] == code
    assert set(told["message"]) == {"zh-CN", "en"}
    assert all(text.strip() for text in told["message"].values())
    assert told["message"] != rejection_message(None)
    assert "R7" not in str(told) and "61" not in str(told)


def test_a_rejection_without_a_code_reads_a_generic_reason():
    told = outcome(claim_in(ClaimStatus.REJECTED, decision="reject", decision_reason="policy lapsed per UW"))
    assert told == {"result": "rejected", "reason_code": None, "message": rejection_message(None)}
    assert "UW" not in str(told)


def test_a_closed_claim_keeps_the_outcome_it_was_closed_with():
    assert outcome(claim_in(ClaimStatus.CLOSED, decision="reject", reason_code="not_covered"))["reason_code"] == \
        "not_covered"
    assert outcome(claim_in(ClaimStatus.CLOSED, decision="auto_approve"))["result"] == "approved"


@pytest.mark.parametrize("status", [ClaimStatus.RECEIVED, ClaimStatus.IN_REVIEW, ClaimStatus.SURVEY_COMPLETED])
def test_an_undecided_claim_has_no_outcome(status):
    assert outcome(claim_in(status)) is None


def test_a_claim_waiting_for_a_surveyor_says_by_when_one_is_expected():
    # GIVEN a claim that started waiting for a surveyor at 09:31 Shanghai time
    claim = claim_in(ClaimStatus.AWAITING_SURVEYOR)
    events = [entry(claim, ClaimStatus.SCORED, 0), entry(claim, ClaimStatus.AWAITING_SURVEYOR, 1),
              entry(claim, ClaimStatus.WAITING_FOR_SURVEYOR, 3)]
    claim = replace(claim, status=ClaimStatus.WAITING_FOR_SURVEYOR)

    # WHEN its survey progress is read half an hour later, with a two-hour dispatch SLA
    told = survey(claim, events, TWO_HOURS, START + timedelta(minutes=31))

    # THEN a surveyor is expected two hours from the start of the wait, said in Beijing time
    assert told["state"] == "finding_surveyor"
    assert told["expected_by"] == "2026-11-25T03:31:00.000Z"
    assert "11月25日 11:31" in told["message"]["zh-CN"]
    assert "11:31 on 25 Nov" in told["message"]["en"]


def test_past_the_expected_time_no_time_is_promised():
    claim = claim_in(ClaimStatus.WAITING_FOR_SURVEYOR)
    events = [entry(claim, ClaimStatus.AWAITING_SURVEYOR, 1)]
    told = survey(claim, events, TWO_HOURS, START + timedelta(hours=3))
    assert told["state"] == "finding_surveyor" and told["expected_by"] is None
    assert told["message"]["en"].startswith("Finding a surveyor is taking longer")
    assert survey(replace(claim, escalated=True), events, TWO_HOURS, START)["expected_by"] is None


def test_an_assigned_surveyor_is_said_to_call():
    told = survey(claim_in(ClaimStatus.SURVEYOR_ASSIGNED), [], TWO_HOURS, START)
    assert told["state"] == "surveyor_assigned" and told["expected_by"] is None
    assert survey(claim_in(ClaimStatus.IN_REVIEW), [], TWO_HOURS, START) is None


def test_every_status_has_a_next_step_even_one_added_later():
    # GIVEN every status there is, and one added later without words of its own
    # WHEN the status page asks for the next step
    # THEN each has one; the unknown one a generic "in progress"
    assert all(next_step(status) for status in ClaimStatus)
    assert next_step("A_STATUS_ADDED_LATER") == IN_PROGRESS
