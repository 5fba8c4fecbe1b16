"""Hotline use cases with fakes: the caller's summary, phone reports with their call-back guard, and
the agent token check."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.caller import summarise
from chalicelib.domain.claim import Channel
from chalicelib.domain.errors import Unauthenticated, ValidationFailed
from chalicelib.services.auth import AgentAuthenticator
from chalicelib.services.callers import CONTACT_MIN_SECONDS, CallerService, IncomingCall, PhoneIntake, PhoneReport
from chalicelib.services.intake import IntakeService
from tests.fakes import (
    Clock,
    FakeCallerDirectory,
    FakeClaimQueue,
    FakeClaimRepository,
    FakeContactLog,
    FakePolicyDirectory,
    FakeTelemetry,
    policy,
)

TODAY = date(2026, 11, 25)
PHONE = "+8613800138000"


# -- summary -----------------------------------------------------------------------------------------

def test_no_policies_is_not_found():
    assert summarise([], TODAY).found is False


def test_primary_policy_is_the_latest_started_in_force_and_gives_customer_and_language():
    # GIVEN an expired, a cancelled and two policies in force on one phone
    policies = [policy("P-OLD", "food_safety", phone=PHONE, starts="2025-01-01", ends="2025-12-31"),
                policy("P-CAN", "card_theft", phone=PHONE, status="CANCELLED"),
                policy("P-A", "food_safety", phone=PHONE, starts="2026-01-01"),
                policy("P-B", "online_shopping_fraud", phone=PHONE, starts="2026-03-01")]

    # WHEN summarised
    summary = summarise(policies, TODAY)

    # THEN two are in force, the later one is primary, and the menu knows their products
    assert (summary.found, summary.active_policies, summary.primary_policy, summary.customer_id) == (
        True, 2, "P-B", "CUS-P-B")
    assert summary.ambiguous and summary.products == ("online_shopping_fraud", "food_safety")
    assert summary.language == "zh-CN"


def test_a_caller_with_only_expired_policies_is_found_with_none_active():
    summary = summarise([policy("P-OLD", "food_safety", phone=PHONE, starts="2025-01-01", ends="2025-12-31")], TODAY)
    assert (summary.found, summary.active_policies, summary.primary_policy) == (True, 0, "P-OLD")


def test_the_latest_open_claim_of_any_policy_is_told():
    from dataclasses import replace
    policies = [replace(policy("P-A", "food_safety", phone=PHONE), open_claim_id="CLM-01AAA"),
                replace(policy("P-B", "card_theft", phone=PHONE), open_claim_id="CLM-01BBB", language="en")]
    summary = summarise(policies, TODAY)
    assert summary.open_claim_id == "CLM-01BBB"


# -- services ----------------------------------------------------------------------------------------

@dataclass
class Hotline:
    claims: FakeClaimRepository
    directory: FakeCallerDirectory
    contacts: FakeContactLog
    callers: CallerService
    phone: PhoneIntake
    clock: Clock
    policies: FakePolicyDirectory


@pytest.fixture
def hotline() -> Hotline:
    claims, queue, telemetry = FakeClaimRepository(), FakeClaimQueue(), FakeTelemetry()
    clock = Clock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    directory = FakeCallerDirectory()
    contacts = FakeContactLog(directory)
    policies = FakePolicyDirectory([policy("PA2026000123", "food_safety", phone=PHONE)])
    callers = CallerService(policies, directory, contacts, contacts, telemetry, clock=clock)
    intake = IntakeService(claims, queue, telemetry, clock=clock)
    return Hotline(claims, directory, contacts, callers, PhoneIntake(intake, callers, clock=clock), clock, policies)


def phone_report(call_id: str = "call-1", caller: str | None = "138 0013 8000", **overrides) -> PhoneReport:
    values = dict(channel=Channel.IVR_TWILIO, owner="ivr:twilio", call_id=call_id, caller=caller,
                  loss_type="food_safety")
    values.update(overrides)
    return PhoneReport(**values)


def test_identify_normalises_the_number_and_costs_one_lookup(hotline):
    phone, summary = hotline.callers.identify("+86 138-0013-8000")
    assert (phone, summary.found, summary.primary_policy) == (PHONE, True, "PA2026000123")


# -- a call arrives ----------------------------------------------------------------------------------

def incoming(caller: str | None = "+86 138-0013-8000", **overrides) -> IncomingCall:
    values = dict(channel=Channel.IVR_CONNECT, call_id="contact-1", caller=caller)
    values.update(overrides)
    return IncomingCall(**values)


def test_an_arriving_call_is_identified_and_its_contact_entry_recorded_at_the_time_of_the_call(hotline):
    # GIVEN a policyholder calling the Connect hotline
    # WHEN the call arrives
    summary = hotline.callers.identify_call(incoming())

    # THEN the caller is known, with one policy lookup
    assert (summary.found, summary.primary_policy, summary.customer_id) == (True, "PA2026000123", "CUS-PA2026000123")
    assert hotline.policies.lookups["phone"] == 1
    # AND the call's step goes to the contact log, with the customer it belongs to
    assert [(c.phone, c.at, c.channel, c.kind, c.contact_id, c.claim_id, c.customer_id)
            for c in hotline.contacts.recorded] == [
        (PHONE, hotline.clock.now, "ivr_connect", "identified", "contact-1", None, "CUS-PA2026000123")]


def test_an_arriving_call_keys_its_entry_on_the_step_and_time_its_event_names(hotline):
    # GIVEN a vendor's call.started event with its own time
    at = datetime(2026, 11, 25, 1, 59, 30, tzinfo=UTC)

    # WHEN the call arrives
    hotline.callers.identify_call(incoming(channel=Channel.IVR_WEBHOOK, call_id="v-9", kind="call_started", at=at))

    # THEN its entry is the event's step at the event's time, so a replay rewrites the same entry
    assert [(c.at, c.channel, c.kind, c.contact_id) for c in hotline.contacts.recorded] == [
        (at, "ivr_webhook", "call_started", "v-9")]


def test_an_unknown_number_is_recorded_without_a_customer(hotline):
    # GIVEN a caller with no policy
    # WHEN the call arrives
    summary = hotline.callers.identify_call(incoming("13900139000"))

    # THEN the caller is not found, and the call is still in the number's contacts
    assert summary.found is False
    assert [(c.phone, c.customer_id) for c in hotline.contacts.recorded] == [("+8613900139000", None)]


@pytest.mark.parametrize("caller", [None, "anonymous", "12"])
def test_a_withheld_or_invalid_number_costs_no_lookup_and_records_nothing(hotline, caller):
    # GIVEN a call from a number that is withheld or not a phone number
    # WHEN it arrives
    summary = hotline.callers.identify_call(incoming(caller))

    # THEN the caller is not found, without a lookup, and no entry is kept
    assert summary.found is False
    assert hotline.policies.lookups["phone"] == 0 and hotline.contacts.recorded == []


def test_a_re_prompt_of_the_same_call_identifies_without_a_second_entry(hotline):
    # GIVEN a webhook asked again on the same call (its step was recorded by the first request)
    # WHEN it arrives with no entry asked for
    summary = hotline.callers.identify_call(incoming(record_contact=False))

    # THEN the caller is known, and nothing is recorded
    assert summary.found is True and hotline.contacts.recorded == []


def test_the_contact_entry_is_skipped_when_the_caller_has_no_time_left_for_it(hotline):
    # GIVEN a Connect function with less time left than one queue send may take
    # WHEN the call arrives
    summary = hotline.callers.identify_call(incoming(), seconds_left=lambda: CONTACT_MIN_SECONDS)

    # THEN the caller is known, and the entry is skipped rather than risk the flow's deadline
    assert summary.found is True and hotline.contacts.recorded == []
    # AND with time to spare it is recorded
    hotline.callers.identify_call(incoming(), seconds_left=lambda: CONTACT_MIN_SECONDS + 0.5)
    assert len(hotline.contacts.recorded) == 1


def test_a_failing_contact_log_never_fails_the_arriving_call(hotline):
    # GIVEN a contact queue that is down
    hotline.contacts.fail = True

    # WHEN a call arrives
    summary = hotline.callers.identify_call(incoming())

    # THEN the caller is still identified
    assert summary.found is True and hotline.directory.contacts == []


def test_a_failing_policy_lookup_is_the_channels_to_answer(hotline, monkeypatch):
    # GIVEN a policy directory that cannot answer
    def unavailable(phone):
        raise ConnectionError("throttled")
    monkeypatch.setattr(hotline.policies, "by_phone", unavailable)

    # WHEN a call arrives
    # THEN the error reaches the channel (each answers it its own way), and nothing is recorded
    with pytest.raises(ConnectionError):
        hotline.callers.identify_call(incoming())
    assert hotline.contacts.recorded == []


# -- phone reports -----------------------------------------------------------------------------------

def test_a_phone_report_becomes_a_claim_with_defaults_an_agent_completes(hotline):
    accepted = hotline.phone.report(phone_report())
    claim = hotline.claims.get(accepted.claim_id)
    sub = claim.submission
    assert (sub.channel, sub.claimant_phone, sub.amount, sub.location.region_code) == (
        Channel.IVR_TWILIO, PHONE, Decimal("0"), "000000")
    assert sub.occurred_at == hotline.clock.now
    # AND its contact entry is stored with it (same write), not sent through the contacts queue
    assert [(c.kind, c.contact_id, c.claim_id) for c in hotline.claims.contacts] == [
        ("claim_reported", "call-1", accepted.claim_id)]
    assert hotline.contacts.recorded == []


def test_the_same_call_again_is_a_replay_without_a_second_contact_entry(hotline):
    first = hotline.phone.report(phone_report())
    hotline.clock.advance(seconds=3)  # the retry is later: occurred_at differs, still the same report
    again = hotline.phone.report(phone_report())
    assert (again.claim_id, again.replayed, again.already_reported) == (first.claim_id, True, False)
    assert len(hotline.claims.claims) == 1
    assert len(hotline.claims.contacts) == 1 and hotline.contacts.recorded == []


def test_a_call_back_about_the_same_loss_is_already_reported(hotline):
    first = hotline.phone.report(phone_report("call-1"))
    again = hotline.phone.report(phone_report("call-2", caller="+8613800138000"))
    assert (again.claim_id, again.already_reported) == (first.claim_id, True)
    # the first call's entry came with its claim; the call back stores nothing new, so its entry is queued
    assert [c.kind for c in hotline.claims.contacts] == ["claim_reported"]
    assert [(c.kind, c.claim_id) for c in hotline.contacts.recorded] == [("claim_already_reported", first.claim_id)]


def test_the_next_day_the_same_loss_type_is_a_new_claim(hotline):
    first = hotline.phone.report(phone_report("call-1"))
    hotline.clock.advance(seconds=24 * 3600)
    assert hotline.phone.report(phone_report("call-2")).claim_id != first.claim_id


def test_a_withheld_number_gets_no_guard_and_no_contact(hotline):
    first = hotline.phone.report(phone_report("call-1", caller=None))
    second = hotline.phone.report(phone_report("call-2", caller="anonymous"))
    assert first.claim_id != second.claim_id
    assert hotline.contacts.recorded == [] and hotline.claims.contacts == []


def test_a_failing_contact_log_never_fails_the_report(hotline):
    first = hotline.phone.report(phone_report("call-1"))
    hotline.contacts.fail = True
    again = hotline.phone.report(phone_report("call-2"))  # already reported: its entry goes to the queue
    assert (again.claim_id, again.already_reported) == (first.claim_id, True)


def test_a_queued_contact_entry_is_skipped_when_time_runs_out(hotline):
    # the entry written with the claim costs no time of its own; the queued one is skipped
    hotline.phone.report(phone_report("call-1"), seconds_left=lambda: 1.0)
    hotline.phone.report(phone_report("call-2"), seconds_left=lambda: 1.0)
    assert [c.kind for c in hotline.claims.contacts] == ["claim_reported"]
    assert hotline.contacts.recorded == []


def test_an_unknown_loss_type_is_refused(hotline):
    with pytest.raises(ValidationFailed):
        hotline.phone.report(phone_report(loss_type="meteor"))


def test_screen_pop_of_an_invalid_number_is_a_validation_error(hotline):
    with pytest.raises(ValidationFailed):
        hotline.callers.screen_pop("12")


# -- agent tokens ------------------------------------------------------------------------------------

def test_agent_token_is_checked_against_configured_hashes_only():
    auth = AgentAuthenticator((("agent-7", hashlib.sha256(b"s3cret-token").hexdigest()),))
    assert auth.authenticate("Bearer s3cret-token") == "agent-7"
    assert auth.authenticate("bearer   s3cret-token ") == "agent-7"
    for header in (None, "", "Bearer", "Basic s3cret-token", "Bearer s3cret-tokeN", "s3cret-token",
                   "Bearer " + "x" * 300):
        with pytest.raises(Unauthenticated):
            auth.authenticate(header)
