"""Amazon Connect: the contact-flow Lambda functions against moto, with the real event shape."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.models import ClaimModel, ContactModel, PolicyModel
from chalicelib.domain.ivr import voice_reference
from devkit.aws_calls import app_clients, count_aws_calls
from tests.integration.hotline import KNOWN, flow_event, identify, report

EVENTS = Path(__file__).resolve().parent.parent / "events"
CONNECT_SAFE = re.compile(r"^[A-Za-z0-9_\-]*$")
TWO_POLICIES = "+8613600136000"  # food safety and online-shopping fraud, with an ID number on file
ENGLISH = "+8618600186000"


def warm_up(client) -> None:
    """Clients, connections and the contacts queue's URL exist, as in a warm container. The URL lookup
    is best effort (a call never waits on its contact entry), so a machine under load may need a second
    warm-up call before it is cached."""
    for attempt in range(3):
        with count_aws_calls(*app_clients()) as calls:
            identify(client, flow_event(contact_id=f"warm-up-{attempt}"))
        if "GetQueueUrl" not in calls and calls.get("SendMessage") == 1:
            return


def assert_connect_shape(answer: dict) -> None:
    """What Connect accepts: a flat map of strings of letters, digits, '-' and '_'."""
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in answer.items()), answer
    assert all(CONNECT_SAFE.fullmatch(v) for v in answer.values()), answer


# -- identify ----------------------------------------------------------------------------------------

def test_known_caller_is_identified_with_one_dynamodb_call_and_no_personal_data(client):
    # GIVEN a caller whose number is on one policy
    event = flow_event()
    warm_up(client)

    # WHEN Connect asks who is calling
    with count_aws_calls(*app_clients()) as calls:
        answer = identify(client, event)

    # THEN the answer is flat, Connect-safe, and says who it is without naming them
    assert_connect_shape(answer)
    assert answer["result"] == "ok"
    assert answer["customer_found"] == "true"
    assert answer["customer_ref"].startswith("CUS-")
    assert (answer["active_policies"], answer["primary_policy"], answer["primary_product"]) == (
        "1", "PA2026000123", "food_safety")
    assert (answer["open_claim"], answer["language"]) == ("false", "zh-CN")
    assert "张三" not in json.dumps(answer, ensure_ascii=False)
    # AND it cost one DynamoDB call (the policy query); the contact entry goes through the queue
    dynamodb = {op: n for op, n in calls.items() if op not in ("SendMessage",)}
    assert dynamodb == {"Query": 1}
    assert calls["SendMessage"] == 1


def test_unknown_caller_is_not_found(client):
    answer = identify(client, flow_event(caller="+8613100000000"))
    assert_connect_shape(answer)
    assert (answer["result"], answer["customer_found"], answer["customer_ref"], answer["active_policies"]) == (
        "ok", "false", "", "0")


@pytest.mark.parametrize("address", [None, "anonymous", "", "+86"])
def test_withheld_or_invalid_number_costs_no_call(client, address):
    # GIVEN a call whose number is withheld or not a number
    warm_up(client)

    # WHEN Connect asks who is calling
    with count_aws_calls(*app_clients()) as calls:
        answer = identify(client, flow_event(caller=address))

    # THEN nobody is found, and nothing was looked up or recorded
    assert answer["customer_found"] == "false"
    assert calls.total() == 0


def test_caller_with_several_policies_is_flagged_and_the_latest_is_primary(client):
    answer = identify(client, flow_event(caller=TWO_POLICIES))
    assert_connect_shape(answer)
    assert (answer["active_policies"], answer["several_policies"]) == ("2", "true")
    assert answer["primary_policy"] in ("PA2026000124", "PF2026000125")


def test_preferred_language_comes_from_the_policy_holder(client):
    assert identify(client, flow_event(caller=ENGLISH))["language"] == "en"


def test_policy_numbers_with_a_slash_are_made_connect_safe(client):
    # GIVEN a policy whose number has a '/' on the caller's phone
    PolicyModel("PX/2026/0001", product="card_theft", customer_id="CUS-X", holder_name="测试",
                holder_phone="+8613100000001", starts_on="2026-01-01", ends_on="2030-12-31").save()

    # WHEN the caller is identified
    answer = identify(client, flow_event(caller="+8613100000001"))

    # THEN the policy number is answered with '_' for '/' (reversible: numbers never hold '_')
    assert answer["primary_policy"] == "PX_2026_0001"
    assert_connect_shape(answer)


def test_a_broken_event_gets_an_error_answer_not_an_exception(client):
    answer = identify(client, {"Name": "ContactFlowEvent", "Details": {}})
    assert answer == {"result": "error", "error_code": "BAD_EVENT"}


# -- report ------------------------------------------------------------------------------------------

def test_report_creates_an_ivr_claim_and_answers_its_reference_character_by_character(client):
    # GIVEN a caller who pressed 1 (food safety) and keyed in 120 yuan
    event = flow_event("connect_report_claim_event.json")

    # WHEN the flow reports the claim
    answer = report(client, event)

    # THEN a claim exists with the Connect channel, the caller's number and the amount
    assert_connect_shape(answer)
    assert answer["result"] == "created"
    claim = bootstrap.container().claims.get(answer["claim_id"])
    sub = claim.submission
    assert (sub.channel.value, sub.loss_type, sub.claimant_phone, str(sub.amount)) == (
        "ivr_connect", "food_safety", KNOWN, "120")
    assert claim.owner == "ivr:connect"
    # AND the reference is the last 8 characters, also given one character at a time for the prompt
    reference = voice_reference(answer["claim_id"])
    assert answer["claim_reference"] == reference
    assert answer["claim_reference_spoken"] == "-".join(reference)


def test_a_reported_claim_costs_two_calls_and_its_contact_entry_is_stored_with_it(client):
    # GIVEN a warm function (a first call reported and identified before)
    warm_up(client)
    report(client, flow_event("connect_report_claim_event.json", contact_id="warm-up-report"))

    # WHEN the flow reports a claim for another caller
    event = flow_event("connect_report_claim_event.json", caller="+8618600186000")
    with count_aws_calls(*app_clients()) as calls:
        answer = report(client, event)

    # THEN it cost the intake transaction and the scoring message, nothing else
    assert answer["result"] == "created"
    assert dict(calls) == {"TransactWriteItems": 1, "SendMessage": 1}
    # AND the agent's screen pop has the call's entry at once, tied to the claim (no contacts consumer ran)
    [entry] = ContactModel.query("+8618600186000")
    assert (entry.kind, entry.contact_id, entry.claim_id) == (
        "claim_reported", event["Details"]["ContactData"]["ContactId"], answer["claim_id"])


def test_a_retried_invocation_for_the_same_contact_is_the_same_claim(client):
    # GIVEN a report already made for this ContactId
    event = flow_event("connect_report_claim_event.json")
    first = report(client, event)

    # WHEN Connect invokes the function again for the same contact
    again = report(client, copy.deepcopy(event))

    # THEN the same claim is answered as created, and only one claim exists
    assert (again["result"], again["claim_id"]) == ("created", first["claim_id"])
    assert ClaimModel.count() == 1


def test_a_caller_who_hangs_up_and_calls_back_gets_the_same_claim(client):
    # GIVEN a loss reported on a first call
    first = report(client, flow_event("connect_report_claim_event.json", contact_id="first-call"))

    # WHEN the caller calls back (a new contact) and reports the same loss again
    second = report(client, flow_event("connect_report_claim_event.json", contact_id="second-call"))

    # THEN the flow hears it was already reported, with the same reference; no second claim
    assert second["result"] == "already_reported"
    assert (second["claim_id"], second["claim_reference"]) == (first["claim_id"], first["claim_reference"])
    assert ClaimModel.count() == 1


def test_another_loss_type_on_the_call_back_is_another_claim(client):
    first = report(client, flow_event("connect_report_claim_event.json", contact_id="first-call"))
    second = report(client, flow_event("connect_report_claim_event.json", contact_id="second-call",
                                       parameters={"loss_type": "card_theft"}))
    assert second["result"] == "created" and second["claim_id"] != first["claim_id"]


@pytest.mark.parametrize("parameters", [{}, {"loss_digit": "0"}, {"loss_type": "alien_abduction"}])
def test_an_unknown_loss_type_is_answered_invalid_and_stores_nothing(client, parameters):
    answer = report(client, flow_event("connect_report_claim_event.json", parameters=parameters))
    assert (answer["result"], answer["error_code"]) == ("invalid", "LOSS_TYPE_UNKNOWN")
    assert ClaimModel.count() == 0


@pytest.mark.parametrize("amount, stored", [("abc", "0"), ("-5", "0"), ("12.5", "0"), ("300", "300")])
def test_keyed_in_amounts_are_whole_yuan_or_left_for_an_agent(client, amount, stored):
    answer = report(client, flow_event("connect_report_claim_event.json",
                                       parameters={"loss_digit": "1", "amount": amount}))
    assert str(bootstrap.container().claims.get(answer["claim_id"]).submission.amount) == stored


def test_an_amount_left_for_an_agent_is_never_fast_tracked(client, pipeline):
    # GIVEN a phone report without an amount
    answer = report(client, flow_event("connect_report_claim_event.json", parameters={"loss_digit": "1"}))

    # WHEN it is scored
    pipeline.score_all()

    # THEN a person reviews it
    claim = bootstrap.container().claims.get(answer["claim_id"])
    assert claim.segment.value == "STANDARD_REVIEW"
    assert "amount.not_stated" in claim.score_reasons


def test_once_scored_the_callers_open_claim_is_told_by_identify(client, pipeline):
    # GIVEN a reported claim, scored and so tied to the caller's policy
    claim_id = report(client, flow_event("connect_report_claim_event.json"))["claim_id"]
    pipeline.score_all()

    # WHEN the caller calls again
    answer = identify(client, flow_event(contact_id="next-call"))

    # THEN the flow can tell them about their claim, still with one query
    assert (answer["open_claim"], answer["open_claim_id"], answer["open_claim_reference"]) == (
        "true", claim_id, voice_reference(claim_id))


def test_storage_failure_is_an_error_answer_the_flow_can_branch_on(client, monkeypatch):
    # GIVEN storage that fails
    def broken(*args, **kwargs):
        raise RuntimeError("storage down")

    monkeypatch.setattr(bootstrap.container().phone_intake, "report", broken)

    # WHEN a claim is reported
    answer = report(client, flow_event("connect_report_claim_event.json"))

    # THEN the function answers an error instead of failing the invocation
    assert answer == {"result": "error", "error_code": "UNAVAILABLE"}


# -- the Connect functions' time budget -----------------------------------------------------------------

def test_connect_functions_clients_fit_inside_connects_eight_seconds():
    # GIVEN the stage settings of the Connect functions
    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    for stage in config["stages"].values():
        for name in ("connect_identify_caller", "connect_report_claim"):
            function = stage["lambda_functions"][name]
            env = function["environment_variables"]
            attempts = int(env["AWS_MAX_ATTEMPTS"])
            per_attempt = float(env["AWS_CONNECT_TIMEOUT_SECONDS"]) + float(env["AWS_READ_TIMEOUT_SECONDS"])
            # botocore's standard retry mode waits at most 1 s before the second attempt
            worst_call = attempts * per_attempt + (attempts - 1) * 1.0
            # THEN one AWS call's worst case, twice (the claim write and its queue message), fits in 8 s,
            # and the function's own timeout is Connect's limit
            assert 2 * worst_call <= 8.0, (name, worst_call)
            assert function["lambda_timeout"] <= 8
