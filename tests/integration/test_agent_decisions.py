"""The agent queue and the agent's decision; surveyors' status and completed surveys (over HTTP)."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.models import SurveyorModel
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.outcome import rejection_message
from infra.seed import DEMO_AGENT_TOKEN, DEMO_SUPERVISOR_ID, DEMO_SUPERVISOR_TOKEN, DEMO_SURVEYOR_TOKENS
from tests.fakes import SHANGHAI, claim_body, motor_claim_body
from tests.integration.agents import AGENT, decide, surveyor_headers, version_of
from tests.integration.conftest import ELEME, HELLOBIKE, MOTOR, get_claim, post_claim, surveyor_load


def days_ago(days: int) -> str:
    return (datetime.now(SHANGHAI) - timedelta(days=days)).replace(microsecond=0).isoformat()


SUPERVISOR = {"authorization": f"Bearer {DEMO_SUPERVISOR_TOKEN}", "content-type": "application/json"}


def submitted(client, body, api_key=None) -> str:
    response = post_claim(client, body, **({"api_key": api_key} if api_key else {}))
    assert response.status_code == 202, response.body
    return json.loads(response.body)["claim_id"]


def in_review(client, pipeline, **body) -> str:
    """A food-safety claim scored into review (above what the product auto-approves)."""
    claim_id = submitted(client, claim_body(**{"amount": "135.50", **body}))
    pipeline.score_all()
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.IN_REVIEW
    return claim_id


# -- queue -------------------------------------------------------------------------------------------

def test_every_agent_route_needs_an_agent_token(client):
    for method, path in (("GET", "/v1/agent/queue"), ("GET", "/v1/agent/claims/CLM-01M8A1P34J1AJE7W80VGT69MC2"),
                         ("POST", "/v1/agent/claims/CLM-01M8A1P34J1AJE7W80VGT69MC2/decision")):
        for headers in ({}, {"authorization": "Bearer nope"}, {"x-api-key": MOTOR}):
            response = client.http.request(method, path, headers={**headers, "content-type": "application/json"},
                                           body=b"{}")
            assert response.status_code == 401, (method, path, headers)


def test_the_queue_lists_claims_needing_a_person_highest_priority_first_in_pages(client, pipeline):
    # GIVEN a plain claim in review, a larger one, and one whose description signals distress
    plain = in_review(client, pipeline, description="午餐后腹泻")
    larger = in_review(client, pipeline, amount="600.00", phone="+8613600136000", policy_number="PA2026000124",
                       occurred_at=days_ago(5))
    urgent = in_review(client, pipeline, description="急！孩子吃了外卖住院了，救命", phone="+8615800158000",
                       policy_number="PA2026000126", occurred_at=days_ago(4))
    claims = {c: bootstrap.container().claims.get(c) for c in (plain, larger, urgent)}

    # WHEN an agent reads the queue two at a time
    first = json.loads(client.http.get("/v1/agent/queue?limit=2", headers=AGENT).body)
    second = json.loads(client.http.get(f"/v1/agent/queue?limit=2&cursor={first['next_cursor']}", headers=AGENT).body)

    # THEN every claim appears once, by priority (distress first), with its reasons and suggestion
    order = [c["claim_id"] for c in first["claims"] + second["claims"]]
    assert sorted(order) == sorted(claims)
    assert order == sorted(claims, key=lambda c: (-claims[c].priority, claims[c].received_at))
    assert order[0] == urgent
    assert second["next_cursor"] is None
    top = first["claims"][0]
    assert any(r["rule_id"] == "sentiment.distress" for r in top["reasons"])
    assert top["suggested_payout"] and top["version"] == claims[urgent].version
    assert "急" not in json.dumps(top, ensure_ascii=False)  # reasons carry categories, not the words


def _cursor(**key: str) -> str:
    raw = json.dumps({name: {"S": value} for name, value in key.items()}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("query", [
    "limit=0", "limit=101", "limit=x", "cursor=not-a-cursor",
    # cursors of the right shape that this API never gives: another partition, empty or oversized keys
    f"cursor={_cursor(claim_id='CLM-X', review_queue='OTHER', review_rank='000#x')}",
    f"cursor={_cursor(claim_id='', review_queue='REVIEW', review_rank='000#x')}",
    f"cursor={_cursor(claim_id='CLM-X', review_queue='REVIEW', review_rank='9' * 2000)}",
])
def test_a_bad_page_request_is_a_400(client, query):
    response = client.http.get(f"/v1/agent/queue?{query}", headers=AGENT)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["code"] == "VALIDATION_FAILED"


def test_a_cursor_dynamodb_will_not_start_at_is_a_400_and_other_query_failures_are_not(client, monkeypatch):
    # GIVEN a query on the review index that DynamoDB refuses (as it does for a start key outside the
    # index's partition, which moto does not check)
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import QueryError

    from chalicelib.adapters.models import ClaimModel

    def refused(*args, **kwargs):
        raise QueryError("refused", ClientError({"Error": {"Code": "ValidationException", "Message": "no"}}, "Query"))
        yield  # pragma: no cover - a generator, as PynamoDB's result iterator is lazy

    cursor = _cursor(claim_id="CLM-X", review_queue="REVIEW", review_rank="000#x")
    monkeypatch.setattr(ClaimModel.review_index, "query", refused)
    # THEN a cursor it refuses is the caller's mistake
    response = client.http.get(f"/v1/agent/queue?cursor={cursor}", headers=AGENT)
    assert response.status_code == 400 and json.loads(response.body)["error"]["code"] == "VALIDATION_FAILED"
    # AND without a cursor the same refusal is the service's fault, not the caller's
    assert client.http.get("/v1/agent/queue", headers=AGENT).status_code == 500


# -- decisions ---------------------------------------------------------------------------------------

def test_accepting_the_suggestion_approves_the_suggested_payout_and_leaves_the_queue(client, pipeline):
    claim_id = in_review(client, pipeline)
    response = decide(client, claim_id, {"decision": "accept"}, version_of(client, claim_id))
    assert response.status_code == 200, response.body
    view = json.loads(response.body)
    assert (view["status"], view["decision"]["decision"], view["decision"]["approved_amount"],
            view["decision"]["decided_by"]) == ("APPROVED", "accept", "135.50", "agent-001")
    assert view["timeline"][-1]["actor"] == "agent:agent-001" and view["timeline"][-1]["kind"] == "claim.decided"
    queue = json.loads(client.http.get("/v1/agent/queue", headers=AGENT).body)["claims"]
    assert claim_id not in [c["claim_id"] for c in queue]


def test_override_needs_an_amount_and_a_reason(client, pipeline):
    claim_id = in_review(client, pipeline)
    version = version_of(client, claim_id)
    incomplete = decide(client, claim_id, {"decision": "override", "amount": "80.00"}, version)
    assert incomplete.status_code == 400
    assert [d["field"] for d in json.loads(incomplete.body)["error"]["details"]] == ["reason"]
    done = decide(client, claim_id, {"decision": "override", "amount": "80.00", "reason": "partial refund by shop"},
                  version)
    assert done.status_code == 200
    claim = bootstrap.container().claims.get(claim_id)
    assert (claim.status, str(claim.approved_amount), claim.decision_reason) == (
        ClaimStatus.APPROVED, "80.00", "partial refund by shop")


def test_an_override_above_the_covers_limit_is_refused_with_the_limit(client, pipeline):
    # GIVEN a food-safety claim of 135.50 in review; the product covers at most 500.00 a claim
    claim_id = in_review(client, pipeline)
    before = bootstrap.container().claims.get(claim_id)

    # WHEN an agent overrides it with 99,999.00, with a reason and a reason code
    response = decide(client, claim_id, {"decision": "override", "amount": "99999.00", "reason": "goodwill",
                                         "reason_code": "claimant_understated"}, before.version)

    # THEN 422 naming the amount and the limit, and the claim is untouched
    assert response.status_code == 422, response.body
    error = json.loads(response.body)["error"]
    assert [d["field"] for d in error["details"]] == ["amount"]
    assert "500.00" in error["details"][0]["problem"]
    assert bootstrap.container().claims.get(claim_id) == before


def test_an_override_above_the_claimed_amount_needs_a_reason_code_from_the_list(client, pipeline):
    # GIVEN a claim of 135.50 in review
    claim_id = in_review(client, pipeline)
    version = version_of(client, claim_id)
    body = {"decision": "override", "amount": "200.00", "reason": "receipt for the hospital visit came later"}

    # WHEN an agent overrides it above the claimed amount without a code, with one not on the list, then with one
    missing = decide(client, claim_id, body, version)
    unknown = decide(client, claim_id, {**body, "reason_code": "felt_generous"}, version)
    done = decide(client, claim_id, {**body, "reason_code": "additional_damage_documented"}, version)

    # THEN the first two are refused on reason_code, the last approves 200.00 and the code is on the timeline
    assert (missing.status_code, unknown.status_code, done.status_code) == (400, 400, 200)
    assert [d["field"] for d in json.loads(missing.body)["error"]["details"]] == ["reason_code"]
    assert [d["field"] for d in json.loads(unknown.body)["error"]["details"]] == ["reason_code"]
    assert str(bootstrap.container().claims.get(claim_id).approved_amount) == "200.00"
    decided = bootstrap.container().claims.events(claim_id)[-1]
    assert (decided.kind, decided.detail["reason_code"], decided.detail["claimed_amount"]) == (
        "claim.decided", "additional_damage_documented", "135.50")
    assert "limit_exceeded" not in decided.detail


def test_an_override_at_or_below_the_claimed_amount_needs_no_reason_code(client, pipeline):
    claim_id = in_review(client, pipeline)
    done = decide(client, claim_id, {"decision": "override", "amount": "135.50", "reason": "as claimed"},
                  version_of(client, claim_id))
    assert done.status_code == 200, done.body


def test_a_supervisor_exceeds_the_limit_only_by_saying_so_and_the_timeline_records_it(client, pipeline):
    # GIVEN a claim of 135.50 in review on a product whose limit is 500.00
    claim_id = in_review(client, pipeline)
    version = version_of(client, claim_id)
    body = {"decision": "override", "amount": "800.00", "reason": "court ruling",
            "reason_code": "statutory_requirement"}

    # WHEN a supervisor overrides above the limit without saying so, an agent says so, and the supervisor says so
    unsaid = decide(client, claim_id, body, version, as_=SUPERVISOR)
    by_agent = decide(client, claim_id, {**body, "exceeds_limit": True}, version)
    said = decide(client, claim_id, {**body, "exceeds_limit": True}, version, as_=SUPERVISOR)

    # THEN only the last is taken: 800.00 approved, and the timeline says the limit was exceeded, by whom, and the limit
    assert (unsaid.status_code, by_agent.status_code, said.status_code) == (422, 422, 200)
    assert "500.00" in json.loads(unsaid.body)["error"]["details"][0]["problem"]
    claim = bootstrap.container().claims.get(claim_id)
    assert (claim.status, str(claim.approved_amount), claim.decided_by) == (
        ClaimStatus.APPROVED, "800.00", DEMO_SUPERVISOR_ID)
    decided = bootstrap.container().claims.events(claim_id)[-1]
    assert decided.detail["limit_exceeded"] == {"limit": "500.00", "by": DEMO_SUPERVISOR_ID, "role": "supervisor"}
    assert decided.detail["reason_code"] == "statutory_requirement"
    # AND agents see it on the claim's timeline
    view = json.loads(client.http.get(f"/v1/agent/claims/{claim_id}", headers=AGENT).body)
    assert view["timeline"][-1]["detail"]["limit_exceeded"]["by"] == DEMO_SUPERVISOR_ID


def test_reject_needs_a_reason(client, pipeline):
    claim_id = in_review(client, pipeline)
    version = version_of(client, claim_id)
    assert decide(client, claim_id, {"decision": "reject"}, version).status_code == 400
    assert decide(client, claim_id, {"decision": "reject", "reason": "not a covered loss"}, version).status_code == 200
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.REJECTED


def partner_view(client, claim_id: str, api_key: str = ELEME) -> dict:
    response = client.http.get(f"/v1/claims/{claim_id}", headers={"x-api-key": api_key})
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def test_a_rejection_tells_the_partner_its_reason_in_plain_words_never_the_agents_note(client, pipeline):
    # GIVEN a claim in review, and an agent's internal note on it
    claim_id = in_review(client, pipeline)
    note = "internal: score 61, rule R7, looks like CLM-01M8A1P34J1AJE7W80VGT69MC2 again"

    # WHEN the agent rejects it with a reason code
    response = decide(client, claim_id, {"decision": "reject", "reason": note, "reason_code": "policy_not_in_force"},
                      version_of(client, claim_id))

    # THEN the code is stored with the decision and shown to agents beside their note
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["decision"]["reason_code"] == "policy_not_in_force"
    assert bootstrap.container().claims.get(claim_id).reason_code == "policy_not_in_force"
    # AND the partner reads the result and the customer's words for the code, in both languages
    view = partner_view(client, claim_id)
    assert view["outcome"] == {"result": "rejected", "reason_code": "policy_not_in_force",
                               "message": rejection_message("policy_not_in_force")}
    assert view["survey"] is None
    # AND never the agent's note, score or rules
    shown = json.dumps(view, ensure_ascii=False)
    assert "rule R7" not in shown and "score 61" not in shown and note not in shown


def test_a_rejection_without_a_code_gives_the_customer_a_generic_reason(client, pipeline):
    claim_id = in_review(client, pipeline)
    decide(client, claim_id, {"decision": "reject", "reason": "not a covered loss"}, version_of(client, claim_id))
    assert partner_view(client, claim_id)["outcome"] == {"result": "rejected", "reason_code": None,
                                                         "message": rejection_message(None)}


@pytest.mark.parametrize("body", [
    {"decision": "reject", "reason": "x", "reason_code": "fraud"},
    {"decision": "reject", "reason": "x", "reason_code": ""},
    {"decision": "accept", "reason_code": "not_covered"},
    {"decision": "override", "amount": "80.00", "reason": "x", "reason_code": "not_covered"},
], ids=["unknown code", "empty code", "code on an accept", "code on an override"])
def test_a_reason_code_not_on_the_list_or_not_on_a_rejection_is_a_400(client, pipeline, body):
    claim_id = in_review(client, pipeline)
    response = decide(client, claim_id, body, version_of(client, claim_id))
    assert response.status_code == 400, response.body
    assert [d["field"] for d in json.loads(response.body)["error"]["details"]] == ["reason_code"]
    assert bootstrap.container().claims.get(claim_id).status is ClaimStatus.IN_REVIEW


def test_a_decision_on_a_stale_version_fails_cleanly_and_changes_nothing(client, pipeline):
    # GIVEN two agents who opened the same claim, and the first decided
    claim_id = in_review(client, pipeline)
    seen = version_of(client, claim_id)
    assert decide(client, claim_id, {"decision": "accept"}, seen).status_code == 200
    after_first = bootstrap.container().claims.get(claim_id)

    # WHEN the second decides on the version they saw
    response = decide(client, claim_id, {"decision": "reject", "reason": "duplicate"}, seen)

    # THEN 409, and the first decision stands untouched
    assert response.status_code == 409
    assert json.loads(response.body)["error"]["code"] == "STALE_VERSION"
    assert bootstrap.container().claims.get(claim_id) == after_first


@pytest.mark.parametrize("if_match", [None, "", "abc", '"x"'])
def test_a_decision_without_a_usable_if_match_is_a_400(client, pipeline, if_match):
    claim_id = in_review(client, pipeline)
    response = decide(client, claim_id, {"decision": "accept"}, if_match)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["details"][0]["field"] == "If-Match"


@pytest.mark.parametrize("weak", ['W/"{version}"', 'w/"{version}"', 'W/{version}'])
def test_a_weak_entity_tag_never_matches_and_changes_nothing(client, pipeline, weak):
    # GIVEN a claim in review, and its current version as a weak entity tag
    claim_id = in_review(client, pipeline)
    before = bootstrap.container().claims.get(claim_id)

    # WHEN an agent decides with If-Match: W/"<current version>"
    response = decide(client, claim_id, {"decision": "accept"}, weak.format(version=before.version))

    # THEN it is a 400 saying that only a strong tag can match, and the claim is untouched
    assert response.status_code == 400, response.body
    assert json.loads(response.body)["error"]["code"] == "VALIDATION_FAILED"
    assert json.loads(response.body)["error"]["details"] == [
        {"field": "If-Match", "problem": "a strong entity tag is required; weak tags never match"}]
    assert bootstrap.container().claims.get(claim_id) == before


def test_accept_without_a_suggested_payout_is_422(client, pipeline):
    # GIVEN a claim that could not be tied to a policy (no suggestion)
    claim_id = submitted(client, claim_body(amount="135.50", policy_number="PX0000000000", phone="+8613100000000"),
                         api_key=HELLOBIKE)  # its order id is another partner's: nothing matches
    pipeline.score_all()
    response = decide(client, claim_id, {"decision": "accept"}, version_of(client, claim_id))
    assert response.status_code == 422


def test_a_claim_not_in_review_cannot_be_decided(client, pipeline):
    claim_id = submitted(client, claim_body(amount="35.50"))  # auto-approved by scoring
    pipeline.score_all()
    response = decide(client, claim_id, {"decision": "reject", "reason": "x"}, version_of(client, claim_id))
    assert response.status_code == 422


# -- surveyors ---------------------------------------------------------------------------------------


def test_a_surveyor_acts_only_as_themselves(client):
    body = json.dumps({"status": "OFF_DUTY"})
    assert client.http.post("/v1/surveyors/SV-SH-001/status", headers=surveyor_headers("SV-SH-002"),
                            body=body).status_code == 404
    assert client.http.post("/v1/surveyors/SV-SH-001/status", headers=AGENT, body=body).status_code == 401
    ok = client.http.post("/v1/surveyors/SV-SH-001/status", headers=surveyor_headers("SV-SH-001"), body=body)
    assert ok.status_code == 200
    assert SurveyorModel.get("SV-SH-001").status == "OFF_DUTY"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-surveyor-token", f"Bearer {DEMO_AGENT_TOKEN}"])
def test_a_surveyor_route_without_a_surveyors_token_asks_for_one(client, authorization):
    # GIVEN a request on a surveyor's route with no token, an unknown one, or an agent's
    headers = {"content-type": "application/json"}
    if authorization:
        headers["authorization"] = authorization

    # WHEN it is posted
    response = client.http.post("/v1/surveyors/SV-SH-001/status", headers=headers,
                                body=json.dumps({"status": "OFF_DUTY"}))

    # THEN the 401 asks for a surveyor's token, not an agent's
    assert response.status_code == 401
    assert json.loads(response.body)["error"] == {"code": "UNAUTHENTICATED",
                                                  "message": "A surveyor bearer token is required."}


def test_an_off_duty_surveyor_gets_no_claim(client, pipeline):
    for surveyor_id in ("SV-SH-001", "SV-SH-002"):
        client.http.post(f"/v1/surveyors/{surveyor_id}/status", headers=surveyor_headers(surveyor_id),
                         body=json.dumps({"status": "OFF_DUTY"}))
    claim_id = submitted(client, motor_claim_body(region="310115"), api_key=MOTOR)
    pipeline.score_all()
    pipeline.dispatch_all()
    assert bootstrap.container().claims.get(claim_id).surveyor_id not in ("SV-SH-001", "SV-SH-002")


def test_the_partner_is_told_when_a_surveyor_is_expected_and_when_one_is_assigned(client, pipeline):
    # GIVEN a motor claim scored into the field lane, waiting for a surveyor
    claim_id = submitted(client, motor_claim_body(region="310115"), api_key=MOTOR)
    pipeline.score_all()
    waiting = partner_view(client, claim_id, MOTOR)
    assert waiting["status"] == "AWAITING_SURVEYOR"
    started = next(e["at"] for e in waiting["timeline"] if e["status"] == "AWAITING_SURVEYOR")

    # THEN a surveyor is being found, expected within the dispatch SLA of the start of the wait
    sla = timedelta(seconds=bootstrap.container().settings.dispatch_escalate_after_seconds)
    assert waiting["survey"]["state"] == "finding_surveyor"
    assert datetime.fromisoformat(waiting["survey"]["expected_by"]) == datetime.fromisoformat(started) + sla
    assert set(waiting["survey"]["message"]) == {"zh-CN", "en"}
    assert waiting["outcome"] is None

    # WHEN a surveyor is assigned
    pipeline.dispatch_all()

    # THEN the partner reads that one is assigned, with no time promised
    assigned = partner_view(client, claim_id, MOTOR)
    assert assigned["status"] == "SURVEYOR_ASSIGNED"
    assert (assigned["survey"]["state"], assigned["survey"]["expected_by"]) == ("surveyor_assigned", None)


def test_completing_a_survey_frees_capacity_and_sends_the_claim_to_review_once(client, pipeline):
    # GIVEN a motor claim assigned to a Pudong surveyor
    claim_id = submitted(client, motor_claim_body(region="310115"), api_key=MOTOR)
    pipeline.score_all()
    pipeline.dispatch_all()
    claim = bootstrap.container().claims.get(claim_id)
    surveyor_id = claim.surveyor_id
    assert claim.status is ClaimStatus.SURVEYOR_ASSIGNED and surveyor_id in DEMO_SURVEYOR_TOKENS
    load = surveyor_load(surveyor_id)
    path = f"/v1/surveyors/{surveyor_id}/assignments/{claim_id}/complete"
    report = json.dumps({"assessed_amount": "2800.00", "notes": "rear bumper, lights"})

    # WHEN the surveyor reports the survey done, and the app retries the request
    first = client.http.post(path, headers=surveyor_headers(surveyor_id), body=report)
    again = client.http.post(path, headers=surveyor_headers(surveyor_id), body=report)

    # THEN the claim is back in review with the survey on its timeline, and capacity came back once
    assert (first.status_code, again.status_code) == (200, 200)
    assert json.loads(first.body)["status"] == json.loads(again.body)["status"] == "IN_REVIEW"
    assert surveyor_load(surveyor_id) == load - 1
    kinds = [e.kind for e in bootstrap.container().claims.events(claim_id)]
    assert kinds[-2:] == ["claim.survey_completed", "claim.routed"] and kinds.count("claim.survey_completed") == 1


def test_a_surveyors_assessment_is_shown_to_the_agent_and_the_suggestion_follows_it(client, pipeline, log_output):
    # GIVEN a motor claim of 3,200.00 (suggested 2,700.00 after the 500.00 deductible) assigned to a surveyor
    claim_id = submitted(client, motor_claim_body(region="310115"), api_key=MOTOR)
    pipeline.score_all()
    pipeline.dispatch_all()
    surveyor_id = bootstrap.container().claims.get(claim_id).surveyor_id
    assert str(bootstrap.container().claims.get(claim_id).payable) == "2700.00"
    notes = "后保险杠更换，左尾灯破裂 rear bumper replaced"

    # WHEN the surveyor completes it, assessing 2,800.00 with notes
    done = client.http.post(f"/v1/surveyors/{surveyor_id}/assignments/{claim_id}/complete",
                            headers=surveyor_headers(surveyor_id),
                            body=json.dumps({"assessed_amount": "2800.00", "notes": notes}))
    assert done.status_code == 200, done.body

    # THEN the agent's view shows the assessment, who made it and when, and the suggestion recomputed from it
    # with the same cover arithmetic (2,800.00 less the 500.00 deductible), previous and new on the timeline
    view = json.loads(client.http.get(f"/v1/agent/claims/{claim_id}", headers=AGENT).body)
    survey = view["survey"]
    assert (survey["assessed_amount"], survey["notes"], survey["assessed_by"]) == ("2800.00", notes, surveyor_id)
    assert survey["assessed_at"]
    assert view["triage"]["suggested_payout"] == "2300.00"
    completed = next(e for e in view["timeline"] if e["kind"] == "claim.survey_completed")
    assert completed["detail"]["suggested_payout"] == {"previous": "2700.00", "new": "2300.00"}
    # AND accepting the suggestion pays the assessed figure
    accepted = decide(client, claim_id, {"decision": "accept"}, view["version"])
    assert json.loads(accepted.body)["decision"]["approved_amount"] == "2300.00"
    # AND the notes reach neither the partner's view nor any log line
    partner_view = get_claim(client, claim_id, api_key=MOTOR)
    assert partner_view.status_code == 200 and notes not in partner_view.body.decode("utf-8")
    assert "rear bumper replaced" not in log_output()


def test_another_surveyor_cannot_complete_someone_elses_assignment(client, pipeline):
    claim_id = submitted(client, motor_claim_body(region="310115"), api_key=MOTOR)
    pipeline.score_all()
    pipeline.dispatch_all()
    assigned = bootstrap.container().claims.get(claim_id).surveyor_id
    other = next(s for s in DEMO_SURVEYOR_TOKENS if s != assigned)
    response = client.http.post(f"/v1/surveyors/{other}/assignments/{claim_id}/complete",
                                headers=surveyor_headers(other), body="{}")
    assert response.status_code == 404
