"""The customer's channel against moto: policy check, form claims, status, photos and their hashes."""
from __future__ import annotations

import json

import boto3
import pytest
import requests

from chalicelib import bootstrap
from chalicelib.adapters.resources import ATTACHMENTS_BUCKET, NOTIFY_QUEUE, SCORING_QUEUE, Tables
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.outcome import rejection_message
from infra.seed import DEMO_AGENT_TOKEN
from tests.fakes import claim_body, yesterday_in_shanghai
from tests.integration.claim_form import JSON, photo, post, status, submit, upload
from tests.integration.conftest import ELEME, HELLOBIKE

AGENT = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}"}


def claims_stored() -> int:
    return boto3.client("dynamodb").scan(TableName=Tables.CLAIMS, Select="COUNT")["Count"]


# -- policy check ------------------------------------------------------------------------------------

def test_policy_check_answers_the_products_perils_in_both_languages(client):
    response = post(client, "/v1/public/policy-check", {"policy_number": "PA2026000123", "phone": "+86 138-0013-8000"})
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["product"] == "food_safety"
    assert set(body["product_name"]) == {"zh-CN", "en"}
    assert [p["code"] for p in body["perils"]] == ["food_safety"]
    assert body["perils"][0]["name"]["zh-CN"] and body["perils"][0]["name"]["en"]


@pytest.mark.parametrize("policy_number, phone", [
    ("PA2026000123", "139 0013 9000"),   # the right policy, another phone
    ("PA2026999999", "138 0013 8000"),   # the right phone, no such policy
    ("PB2026000456", "138 0013 8000"),   # someone else's policy
])
def test_a_mismatch_is_one_generic_answer_whichever_field_is_wrong(client, policy_number, phone):
    response = post(client, "/v1/public/policy-check", {"policy_number": policy_number, "phone": phone})
    assert response.status_code == 422
    assert json.loads(response.body) == {"error": {
        "code": "POLICY_NOT_MATCHED", "message": "We could not find a policy with this number and phone."}}


def test_malformed_fields_are_named_without_echoing_them(client):
    response = post(client, "/v1/public/policy-check", {"policy_number": "PA2026000123", "phone": "call me"})
    assert response.status_code == 400
    details = json.loads(response.body)["error"]["details"]
    assert [d["field"] for d in details] == ["phone"]
    assert "call me" not in response.body.decode()


# -- claims ------------------------------------------------------------------------------------------

def test_a_form_claim_is_accepted_with_a_status_link_and_stored_as_a_web_form_claim(client):
    # WHEN the form posts a claim
    response = submit(client)

    # THEN it is accepted with a signed link to its status page
    assert response.status_code == 202
    answer = json.loads(response.body)
    assert answer["status_url"] == f"/claims/{answer['claim_id']}?t={answer['status_token']}"
    assert response.headers["Location"] == answer["status_url"]
    # AND it is stored on the normalised policy and phone, as a web-form claim of the public channel
    claim = bootstrap.container().claims.get(answer["claim_id"])
    assert (claim.owner, claim.submission.channel.value, claim.submission.policy_number,
            claim.submission.claimant_phone) == ("public", "web_form", "PA2026000123", "+8613800138000")
    # AND its status page data says where it stands, in the claimant's language
    view = status(client, answer)
    assert (view["status"], view["next_step"], view["language"], view["attachments"]) == (
        "RECEIVED", "wait_for_review", "en", 0)
    assert [step["kind"] for step in view["timeline"]] == ["claim.received"]


def test_a_double_tap_on_submit_creates_one_claim(client):
    first, second = submit(client), submit(client)
    assert (first.status_code, second.status_code) == (202, 202)
    assert json.loads(first.body)["claim_id"] == json.loads(second.body)["claim_id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert claims_stored() == 1


def test_the_same_submission_key_with_other_content_is_a_conflict(client):
    submit(client)
    response = submit(client, amount="450.00")
    assert response.status_code == 409
    assert claims_stored() == 1


def test_a_mismatched_policy_stores_nothing(client):
    response = submit(client, phone="139 0013 9000")
    assert response.status_code == 422
    assert claims_stored() == 0


def test_a_loss_the_product_does_not_cover_is_refused_on_its_field(client):
    response = submit(client, loss_type="card_theft")
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["details"] == [
        {"field": "loss_type", "problem": "is not covered by this policy"}]
    assert claims_stored() == 0


@pytest.mark.parametrize("changes, field", [
    ({"amount": "0"}, "amount"), ({"amount": "12.345"}, "amount"), ({"occurred_at": "2099-01-01T00:00:00+08:00"},
                                                                    "occurred_at"),
    ({"occurred_at": "2026-11-24T12:30:00"}, "occurred_at"), ({"occurred_at": "0001-01-01T00:00:00+08:00"},
                                                               "occurred_at"),
    ({"occurred_at": "0001-01-01T00:00:00+00:00"}, "occurred_at"), ({"occurred_at": "1764560000"}, "occurred_at"),
    ({"occurred_at": "-1"}, "occurred_at"), ({"region_code": "31"}, "region_code"),
    ({"submission_key": "x"}, "submission_key"), ({"nickname": "x"}, "nickname"),
])
def test_bad_fields_are_400_on_that_field(client, changes, field):
    response = submit(client, **changes)
    assert response.status_code == 400
    assert field in [d["field"] for d in json.loads(response.body)["error"]["details"]]
    assert claims_stored() == 0


def test_unicode_in_the_description_round_trips(client):
    text = "外卖 🍜 到了就吐 — مرحبا"
    answer = json.loads(submit(client, description=text).body)
    assert bootstrap.container().claims.get(answer["claim_id"]).submission.description == text


# -- rate limits -------------------------------------------------------------------------------------

@pytest.fixture
def tight_limits(monkeypatch, aws):
    monkeypatch.setenv("FORM_LIMIT_PER_PHONE", "3")
    monkeypatch.setenv("FORM_LIMIT_PER_ADDRESS", "5")
    bootstrap.reset()
    yield
    bootstrap.reset()


def test_attempts_per_phone_are_limited_with_retry_after(client, tight_limits):
    # GIVEN three attempts on one phone within the hour (a wrong policy number each time)
    for n in range(3):
        assert post(client, "/v1/public/policy-check", {"policy_number": f"PX000{n}", "phone": "13800138000"}
                    ).status_code == 422

    # WHEN a fourth comes, even with the right policy
    response = post(client, "/v1/public/policy-check", {"policy_number": "PA2026000123", "phone": "13800138000"})

    # THEN it is refused with 429 and when to retry
    assert response.status_code == 429
    assert json.loads(response.body)["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    # AND another phone from the same address still gets through (5 per address)
    assert post(client, "/v1/public/policy-check", {"policy_number": "PB2026000456", "phone": "13900139000"}
                ).status_code == 200


def test_attempts_per_address_are_limited_across_phones(client, tight_limits):
    for n in range(5):
        post(client, "/v1/public/policy-check", {"policy_number": "PX0001", "phone": f"1380013800{n}"})
    response = post(client, "/v1/public/policy-check", {"policy_number": "PX0001", "phone": "13900139009"})
    assert response.status_code == 429


# -- status ------------------------------------------------------------------------------------------

def test_a_rejected_claims_status_tells_the_claimant_why_in_plain_words(client, pipeline):
    # GIVEN a form claim an agent rejected as not covered, with a note of their own
    answer = json.loads(submit(client, amount="135.50").body)
    pipeline.score_all()
    claim_id = answer["claim_id"]
    agent = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}", "content-type": "application/json"}
    view = client.http.get(f"/v1/agent/claims/{claim_id}", headers=agent)
    decided = client.http.post(f"/v1/agent/claims/{claim_id}/decision",
                               headers={**agent, "if-match": view.headers["ETag"]},
                               body=json.dumps({"decision": "reject", "reason": "shop refunded; score high",
                                                "reason_code": "not_covered"}))
    assert decided.status_code == 200, decided.body

    # WHEN the claimant's status page reads its data
    data = status(client, answer)

    # THEN it says rejected, why, in both languages, and nothing of the agent's note
    assert data["status"] == "REJECTED"
    assert data["outcome"] == {"result": "rejected", "reason_code": "not_covered",
                               "message": rejection_message("not_covered")}
    assert data["survey"] is None
    assert "shop refunded" not in json.dumps(data) and "score" not in json.dumps(data["outcome"])


def test_a_forged_or_foreign_token_is_a_404_for_the_data_and_the_page(client):
    answer = json.loads(submit(client).body)
    other = json.loads(submit(client, submission_key="0f9e8d7c-6b5a-4c3d-2e1f-000000000002",
                              description="另一次").body)
    for token in ("", "abc", other["status_token"], answer["status_token"][:-2] + "AA"):
        data = client.http.get(f"/v1/public/claims/{answer['claim_id']}?t={token}")
        page = client.http.get(f"/claims/{answer['claim_id']}?t={token}")
        assert (data.status_code, page.status_code) == (404, 404), token


def test_the_status_page_is_served_in_the_claimants_language_without_outside_assets(client):
    answer = json.loads(submit(client).body)
    page = client.http.get(answer["status_url"])
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    assert 'lang="en"' in html and answer["claim_id"] in html
    assert "Content-Security-Policy" in page.headers and page.headers["Referrer-Policy"] == "no-referrer"
    assert "https://" not in html.replace("https://*.amazonaws.com", "")


def test_the_form_page_is_served_in_chinese_by_default_and_english_on_request(client):
    assert 'lang="zh-CN"' in client.http.get("/").body.decode()
    assert 'lang="en"' in client.http.get("/?lang=en").body.decode()


# -- photos ------------------------------------------------------------------------------------------

def test_a_photo_is_recorded_on_the_claim_with_its_hashes(client):
    answer = json.loads(submit(client).body)
    token = {"x-status-token": answer["status_token"]}

    outcome = upload(client, answer["claim_id"], photo(1), headers=token)

    assert outcome == {"outcome": "recorded"}
    view = status(client, answer)
    assert view["attachments"] == 1
    assert [s["kind"] for s in view["timeline"]][-1] == "claim.attachment_added"
    event = bootstrap.container().claims.events(answer["claim_id"])[-1]
    assert len(event.detail["sha256"]) == 64 and len(event.detail["phash"]) == 16
    assert "seen_on_claims" not in event.detail


def test_a_repeated_s3_event_records_the_photo_once(client):
    answer = json.loads(submit(client).body)
    ticket = json.loads(post(client, f"/v1/claims/{answer['claim_id']}/attachments",
                             {"content_type": "image/png", "size": 100},
                             {"x-status-token": answer["status_token"]}).body)["upload"]
    requests.post(ticket["url"], data=ticket["fields"], files={"file": ("p", photo(2), "image/png")}, timeout=10)
    event = client.events.generate_s3_event(bucket=ATTACHMENTS_BUCKET, key=ticket["fields"]["key"])
    outcomes = [client.lambda_.invoke("record_attachment", event).payload["outcome"] for _ in range(2)]
    assert outcomes == ["recorded", "duplicate_delivery"]
    assert status(client, answer)["attachments"] == 1


def test_a_photo_already_used_on_another_claim_is_flagged_even_recompressed(client):
    # GIVEN a photo on a partner claim
    partner_claim = json.loads(client.http.post("/v1/claims", headers={**JSON, "x-api-key": ELEME}, body=json.dumps({
        "policy": {"number": "PA2026000124"}, "claimant": {"phone": "+8613600136000"},
        "loss": {"type": "food_safety", "occurred_at": yesterday_in_shanghai().isoformat(), "description": "x",
                 "location": {"region_code": "310115"}}, "amount": {"value": "60.00", "currency": "CNY"}})).body)
    upload(client, partner_claim["claim_id"], photo(3), headers={"x-api-key": ELEME})

    # WHEN the same picture, saved again as JPEG, is sent with a form claim
    answer = json.loads(submit(client).body)
    upload(client, answer["claim_id"], photo(3, fmt="JPEG"), "image/jpeg", {"x-status-token": answer["status_token"]})

    # THEN the form claim is flagged with the partner claim it was seen on
    claim = bootstrap.container().claims.get(answer["claim_id"])
    assert claim.reused_photo_claims == (partner_claim["claim_id"],)
    assert bootstrap.container().claims.events(answer["claim_id"])[-1].detail["seen_on_claims"] == [
        partner_claim["claim_id"]]


def partner_claim(client, **body) -> str:
    response = client.http.post("/v1/claims", headers={**JSON, "x-api-key": ELEME},
                                body=json.dumps(claim_body(**body), ensure_ascii=False))
    assert response.status_code == 202, response.body
    return json.loads(response.body)["claim_id"]


def test_a_reused_photo_after_an_automatic_approval_puts_the_claim_back_in_review_on_hold(client, pipeline, queues):
    # GIVEN a claim with a photo, and an 86.00 food-safety claim approved by the system a second after it came in
    other = partner_claim(client, amount="60.00", policy_number="PA2026000124", phone="+8613600136000")
    upload(client, other, photo(5), headers={"x-api-key": ELEME})
    claim_id = partner_claim(client, amount="86.00")
    pipeline.score_all()
    approved = bootstrap.container().claims.get(claim_id)
    assert (approved.status, approved.decision) == (ClaimStatus.APPROVED, "auto_approve")
    queues.receive_all(NOTIFY_QUEUE.name)

    # WHEN its photo, uploaded next, turns out to be the other claim's
    assert upload(client, claim_id, photo(5), headers={"x-api-key": ELEME}) == {"outcome": "recorded"}

    # THEN it is back in review with a hold, the approval gone; the timeline says why; the partner is told
    held = bootstrap.container().claims.get(claim_id)
    assert (held.status, held.hold, held.hold_reason, held.decision, held.approved_amount) == (
        ClaimStatus.IN_REVIEW, True, "photo_reused_after_auto_approval", None, None)
    last = bootstrap.container().claims.events(claim_id)[-1]
    assert (last.kind, last.status, last.detail["seen_on_claims"], last.detail["previous_decision"],
            last.detail["previous_approved_amount"]) == (
        "claim.held", ClaimStatus.IN_REVIEW, [other], "auto_approve", "86.00")
    assert [(b["claim_id"], b["status"]) for b in queues.bodies(NOTIFY_QUEUE.name)] == [(claim_id, "IN_REVIEW")]
    # AND an agent finds it in the queue, marked as held, and decides it
    queue = json.loads(client.http.get("/v1/agent/queue", headers=AGENT).body)["claims"]
    entry = next(c for c in queue if c["claim_id"] == claim_id)
    assert (entry["hold"], entry["hold_reason"], entry["segment"]) == (
        True, "photo_reused_after_auto_approval", "STANDARD_REVIEW")


def test_a_claim_expecting_a_photo_is_decided_when_the_photo_is_in(client, pipeline, queues):
    # GIVEN an 86.00 food-safety claim whose partner says one photo follows, scored before the photo came
    claim_id = partner_claim(client, amount="86.00", attachments_expected=1)
    pipeline.score_all()
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.AWAITING_PHOTOS
    # back when the window closes
    assert queues.attribute(SCORING_QUEUE.name, "ApproximateNumberOfMessagesDelayed") == 1

    # WHEN the photo is recorded
    upload(client, claim_id, photo(6), headers={"x-api-key": ELEME})

    # THEN the claim is decided at once (no wait for the window): approved by the system, as before
    pipeline.score_all()
    claim = bootstrap.container().claims.get(claim_id)
    assert (claim.status, claim.decision, str(claim.approved_amount)) == (ClaimStatus.APPROVED, "auto_approve", "86.00")
    kinds = [e.kind for e in bootstrap.container().claims.events(claim_id)]
    assert kinds[-3:] == ["claim.awaiting_photos", "claim.attachment_added", "claim.auto_approved"]


def test_an_oversize_or_wrong_type_photo_is_refused_before_any_upload(client):
    answer = json.loads(submit(client).body)
    token = {"x-status-token": answer["status_token"]}
    path = f"/v1/claims/{answer['claim_id']}/attachments"
    too_big = post(client, path, {"content_type": "image/png", "size": 10 * 1024 * 1024 + 1}, token)
    wrong = post(client, path, {"content_type": "application/pdf", "size": 1000}, token)
    assert (too_big.status_code, wrong.status_code) == (413, 415)


def test_the_presigned_post_lets_s3_enforce_type_and_size(client):
    answer = json.loads(submit(client).body)
    ticket = json.loads(post(client, f"/v1/claims/{answer['claim_id']}/attachments",
                             {"content_type": "image/heic", "size": 5000},
                             {"x-status-token": answer["status_token"]}).body)
    policy = json.loads(__import__("base64").b64decode(ticket["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"Content-Type": "image/heic"} in conditions
    assert ["content-length-range", 1, 10 * 1024 * 1024] in conditions
    assert ticket["upload"]["fields"]["key"].startswith(f"claims/{answer['claim_id']}/ATT-")


def test_only_the_claims_partner_or_claimant_may_add_photos(client):
    answer = json.loads(submit(client).body)
    path = f"/v1/claims/{answer['claim_id']}/attachments"
    body = {"content_type": "image/png", "size": 100}
    assert post(client, path, body).status_code == 401
    assert post(client, path, body, {"x-api-key": HELLOBIKE}).status_code == 404  # not hellobike's claim
    assert post(client, path, body, {"x-status-token": "abc"}).status_code == 404
    assert post(client, path, body, {"x-status-token": answer["status_token"]}).status_code == 201


def test_an_object_key_not_issued_by_the_service_is_ignored(client):
    boto3.client("s3").put_object(Bucket=ATTACHMENTS_BUCKET, Key="claims/not-a-claim/x", Body=b"hello")
    event = client.events.generate_s3_event(bucket=ATTACHMENTS_BUCKET, key="claims/not-a-claim/x")
    assert client.lambda_.invoke("record_attachment", event).payload == {"outcome": "ignored"}
