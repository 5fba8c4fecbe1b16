"""Twilio Voice: the form-encoded webhooks against the in-process app and moto, with Twilio's real
parameter shapes (tests/events) and signatures computed by Twilio's own ``RequestValidator``."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.resources import CONTACTS_QUEUE, SCORING_QUEUE, Tables
from chalicelib.domain.claim import Channel
from chalicelib.domain.ivr import EN, ZH_CN, prompt, spell, voice_reference
from chalicelib.domain.signatures import SignatureRejected
from infra.seed import DEMO_AGENT_TOKEN, DEMO_TWILIO_AUTH_TOKEN
from tests.integration.hotline import (
    BASE_URL,
    FORM,
    GATHER,
    GATHER_ZH,
    VOICE,
    digits,
    incoming_call,
    post_form,
    signature,
    speech,
)

KNOWN = "+8613800138000"  # one food-safety policy, PA2026000123
ENGLISH = "+8618600186000"  # prefers English
UNKNOWN = "+8613100000000"


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].split(";")[0] == "text/xml"
    root = ET.fromstring(response.body)
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def claim_count() -> int:
    return boto3.client("dynamodb").scan(TableName=Tables.CLAIMS, Select="COUNT")["Count"]


def only_claim():
    """The one stored claim, read back through the app's own repository."""
    items = boto3.client("dynamodb").scan(TableName=Tables.CLAIMS)["Items"]
    assert len(items) == 1, items
    return bootstrap.container().claims.get(items[0]["claim_id"]["S"])


# -- the incoming call ---------------------------------------------------------------------------------

def test_known_caller_is_greeted_in_mandarin_and_asked_what_happened(client):
    # GIVEN a call from a number on one food-safety policy
    # WHEN Twilio posts the incoming call
    root = twiml(post_form(client, VOICE, incoming_call()))

    # THEN the answer is a Mandarin <Gather> that posts the caller's choice to the gather URL
    [gather] = root.findall("Gather")
    assert gather.get("action") == BASE_URL + GATHER_ZH + "&menu=1"  # the keys offered ride along
    assert gather.get("method") == "POST"
    assert gather.get("language") == "cmn-Hans-CN"
    assert set(gather.get("input").split()) == {"dtmf", "speech"}
    [question] = gather.findall("Say")
    assert question.get("language") == "cmn-CN"
    assert question.text.startswith(prompt("greeting_known", ZH_CN))
    assert prompt("greeting_unknown", ZH_CN) not in question.text
    # AND the menu names the caller's cover, and if they say nothing the call comes back to the question
    assert "外卖食品问题请按1" in question.text
    assert root.find("Redirect").text == f"{BASE_URL}{VOICE}?lang=zh-CN"


def test_english_speaking_caller_is_greeted_in_english(client):
    # GIVEN a call from a number whose policy holder prefers English
    # WHEN Twilio posts the incoming call
    root = twiml(post_form(client, VOICE, incoming_call(From=ENGLISH, Caller=ENGLISH)))

    # THEN every prompt is English and the answer is gathered in English
    [gather] = root.findall("Gather")
    assert gather.get("action") == f"{BASE_URL}{GATHER}?lang=en&menu=6789"
    assert gather.get("language") == "en-US"
    assert {say.get("language") for say in root.iter("Say")} == {"en-US"}
    assert gather.find("Say").text.startswith(prompt("greeting_known", EN))


def test_unknown_caller_hears_the_unknown_greeting_and_the_whole_menu(client):
    # GIVEN a call from a number on no policy
    # WHEN Twilio posts the incoming call
    root = twiml(post_form(client, VOICE, incoming_call(From=UNKNOWN, Caller=UNKNOWN)))

    # THEN the caller is welcomed, not welcomed back, and offered every loss type (keys 1 to 9)
    question = root.find("Gather/Say").text
    assert question == f"{prompt('greeting_unknown', ZH_CN)} {prompt('menu', ZH_CN)}"
    assert all(f"请按{digit}" in question for digit in range(1, 10))
    assert root.find("Gather").get("language") == "cmn-Hans-CN"


def test_form_content_type_with_a_charset_is_accepted(client):
    # GIVEN the incoming call posted with a charset parameter on the form media type
    # WHEN Twilio posts it
    response = post_form(client, VOICE, incoming_call(), content_type=f"{FORM}; charset=utf-8")

    # THEN it is answered with TwiML like any other
    assert twiml(response).find("Gather") is not None


# -- signatures ---------------------------------------------------------------------------------------

def _missing(path, params):
    return params, None


def _wrong_token(path, params):
    return params, signature(path, params, token="not-the-account-auth-token")


def _tampered_from(path, params):
    signed = signature(path, params)
    return {**params, "From": "+8613900139000"}, signed  # signed, then the caller's number changed


def _signed_for_another_path(path, params):
    other = VOICE if path.startswith(GATHER) else GATHER_ZH
    return params, signature(other, params)


SIGNATURE_FAULTS = [_missing, _wrong_token, _tampered_from, _signed_for_another_path]


@pytest.mark.parametrize("fault", SIGNATURE_FAULTS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("path, params", [(VOICE, incoming_call()), (GATHER_ZH, digits())], ids=["voice", "gather"])
def test_request_without_a_valid_twilio_signature_is_refused_and_creates_nothing(client, queues, path, params,
                                                                                  fault):
    # GIVEN a webhook whose signature is missing, wrong, or signs something else than what is posted
    posted, signed = fault(path, params)

    # WHEN it is posted
    response = post_form(client, path, posted, signed=signed)

    # THEN it is refused with the contract's error body
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {"error": {"code": SignatureRejected.code,
                                                   "message": "The request signature could not be verified."}}
    # AND nothing was stored or queued: no claim, no contact entry
    assert claim_count() == 0
    assert queues.receive(SCORING_QUEUE.name) == []
    assert queues.receive(CONTACTS_QUEUE.name) == []
    # AND neither the signature nor the token is echoed
    text = response.body.decode("utf-8") + json.dumps(response.headers)
    assert DEMO_TWILIO_AUTH_TOKEN not in text
    assert not signed or signed not in text


def test_form_posted_as_json_is_refused_as_the_wrong_media_type(client):
    # GIVEN the incoming call's parameters sent as JSON
    params = digits()

    # WHEN they are posted to the gather webhook
    response = post_form(client, GATHER_ZH, params, content_type="application/json", body=json.dumps(params))

    # THEN the media type is refused in the contract's shape and no claim is taken
    assert response.status_code == 415
    assert json.loads(response.body)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert claim_count() == 0


# -- taking the claim ---------------------------------------------------------------------------------

def test_key_press_takes_one_claim_and_reads_its_reference_back(client, queues):
    # GIVEN a caller who pressed 1 (food safety) at the menu
    # WHEN Twilio posts the gathered digits
    root = twiml(post_form(client, GATHER_ZH, digits()))

    # THEN exactly one claim is stored, from the Twilio hotline, for the caller's number
    claim = only_claim()
    assert claim.submission.channel is Channel.IVR_TWILIO
    assert claim.submission.loss_type == "food_safety"
    assert claim.submission.claimant_phone == KNOWN
    assert claim.owner == "ivr:twilio"
    # AND it is queued for scoring once
    assert [m["claim_id"] for m in queues.bodies(SCORING_QUEUE.name)] == [claim.claim_id]
    # AND the caller hears the reference spelled out, then the call ends
    reference = spell(voice_reference(claim.claim_id))
    assert spoken(root) == f"{prompt('claim_created', ZH_CN, reference=reference)} {prompt('goodbye', ZH_CN)}"
    assert reference in spoken(root)
    assert [child.tag for child in root] == ["Say", "Hangup"]


def test_said_loss_in_mandarin_takes_a_food_safety_claim(client):
    # GIVEN a caller who said "我点的外卖吃坏了肚子" (the delivered food made me ill)
    params = speech()
    assert "外卖吃坏了肚子" in params["SpeechResult"]

    # WHEN Twilio posts the speech result
    root = twiml(post_form(client, GATHER_ZH, params))

    # THEN a food-safety claim is taken and its reference is read back
    claim = only_claim()
    assert claim.submission.loss_type == "food_safety"
    assert claim.submission.channel is Channel.IVR_TWILIO
    assert spell(voice_reference(claim.claim_id)) in spoken(root)
    assert root.find("Hangup") is not None


@pytest.mark.parametrize("answer", [
    digits(Digits="0"),
    digits(Digits="*"),
    speech(SpeechResult="今天天气不错"),
    speech(SpeechResult=""),
], ids=["key-0", "key-star", "unrelated-speech", "silence"])
def test_answer_that_names_no_loss_asks_again_and_takes_no_claim(client, answer):
    # GIVEN a caller whose key or words match no loss type
    # WHEN Twilio posts the answer
    root = twiml(post_form(client, GATHER_ZH, answer))

    # THEN the caller is told so and asked again, in the same language, and no claim is taken
    [gather] = root.findall("Gather")
    assert gather.get("action") == BASE_URL + GATHER_ZH + "&menu=123456789"
    assert gather.find("Say").text.startswith(prompt("not_understood", ZH_CN))
    assert root.find("Hangup") is None
    assert claim_count() == 0


def test_a_re_prompt_offers_the_same_short_menu_the_caller_first_heard(client):
    # GIVEN a known caller offered only their own cover (key 1) on the first question
    first = twiml(post_form(client, VOICE, incoming_call()))
    action = first.find("Gather").get("action").removeprefix(BASE_URL)

    # WHEN they press a key that menu did not offer (7: motor glass), posted to the URL it gave
    again = twiml(post_form(client, action, digits(Digits="7")))

    # THEN they are asked again with the same short menu, not all nine loss types
    question = again.find("Gather/Say").text
    assert "请按1" in question and "请按7" not in question
    assert again.find("Gather").get("action") == BASE_URL + action
    assert claim_count() == 0


def test_same_call_posted_twice_takes_one_claim(client):
    # GIVEN a gather Twilio has already posted once (and retries, say after a timeout)
    first = twiml(post_form(client, GATHER_ZH, digits()))

    # WHEN the same CallSid posts the same answer again
    again = twiml(post_form(client, GATHER_ZH, digits()))

    # THEN there is still one claim, and the caller hears the same reference both times
    claim = only_claim()
    reference = spell(voice_reference(claim.claim_id))
    assert spoken(first) == spoken(again)
    assert prompt("claim_created", ZH_CN, reference=reference) in spoken(again)


def test_caller_who_hangs_up_and_calls_back_is_told_the_loss_is_already_reported(client):
    # GIVEN a caller who reported a food-safety loss and hung up
    twiml(post_form(client, VOICE, incoming_call()))
    twiml(post_form(client, GATHER_ZH, digits()))
    claim = only_claim()

    # WHEN they call back on a new call and report the same loss again, this time by voice
    call_back = "CA0000000000000000000000000000call2"
    twiml(post_form(client, VOICE, incoming_call(CallSid=call_back)))
    root = twiml(post_form(client, GATHER_ZH, speech(CallSid=call_back)))

    # THEN no second claim is taken, and they hear that it is already reported, with the first reference
    assert claim_count() == 1
    assert only_claim().claim_id == claim.claim_id
    reference = spell(voice_reference(claim.claim_id))
    assert spoken(root) == f"{prompt('already_reported', ZH_CN, reference=reference)} {prompt('goodbye', ZH_CN)}"
    assert prompt("claim_created", ZH_CN, reference=reference) not in spoken(root)


# -- the agent's screen pop -----------------------------------------------------------------------------

def test_twilio_calls_appear_in_the_agents_screen_pop(client, pipeline):
    # GIVEN a Twilio call that was identified and took a claim
    call_sid = incoming_call()["CallSid"]
    twiml(post_form(client, VOICE, incoming_call()))
    twiml(post_form(client, GATHER_ZH, digits()))
    claim_id = only_claim().claim_id

    # WHEN the contacts consumer has recorded the call's entries and an agent's screen pops
    pipeline.record_contacts()
    response = client.http.post("/v1/agent/callers/lookup", body=json.dumps({"phone": KNOWN}),
                                headers={"Authorization": f"Bearer {DEMO_AGENT_TOKEN}",
                                         "content-type": "application/json"})

    # THEN the agent sees both steps of the call, on the Twilio channel, and the claim it took
    assert response.status_code == 200, response.body
    pop = json.loads(response.body)
    assert pop["phone"] == KNOWN
    contacts = {(c["kind"], c["channel"], c["contact_id"], c["claim_id"]) for c in pop["contacts"]}
    assert contacts == {("identified", "ivr_twilio", call_sid, None),
                        ("claim_reported", "ivr_twilio", call_sid, claim_id)}
    assert [c["claim_id"] for c in pop["open_claims"]] == [claim_id]


def test_a_retried_incoming_call_webhook_shows_once_in_the_screen_pop(client, pipeline):
    # GIVEN an incoming call whose voice webhook Twilio sent twice (it retries when an answer is late)
    call_sid = incoming_call()["CallSid"]
    for _ in range(2):
        twiml(post_form(client, VOICE, incoming_call()))

    # WHEN the contacts consumer has recorded the call's entries and an agent's screen pops
    pipeline.record_contacts()
    response = client.http.post("/v1/agent/callers/lookup", body=json.dumps({"phone": KNOWN}),
                                headers={"Authorization": f"Bearer {DEMO_AGENT_TOKEN}",
                                         "content-type": "application/json"})

    # THEN the call was identified once, as far as the agent can see
    assert response.status_code == 200, response.body
    assert [(c["kind"], c["contact_id"]) for c in json.loads(response.body)["contacts"]] == [("identified", call_sid)]
