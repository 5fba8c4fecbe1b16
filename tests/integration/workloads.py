"""Claims in bulk for the consumer tests: motor claims that need a surveyor, claims waiting in the
dispatch queue, contact messages, and a reconciler that sees the claims as old."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from chalicelib import bootstrap
from chalicelib.domain.claim import ClaimStatus, utc_now
from chalicelib.services.reconcile import Reconciler
from tests.fakes import SHANGHAI, FakeTelemetry, motor_claim_body
from tests.integration.conftest import MOTOR, post_claim


def later(seconds: int) -> Reconciler:
    c = bootstrap.container()
    now = utc_now()
    return Reconciler(c.claims, c.queue, FakeTelemetry(), c.settings.reconcile_after_seconds,
                      clock=lambda: now + timedelta(seconds=seconds))


# The two demo motor policies, each with its own vehicle and holder's phone.
MOTOR_POLICIES = (("PM2026000789", "沪A12345", "+8613700137000"), ("PM2026000790", "沪AD12345", "+8618600186000"))


def motor_claims(client, n: int) -> list[str]:
    """``n`` motor claims submitted: the two vehicles alternate, each one's losses two days apart, so none
    looks like a duplicate of another."""
    ids = []
    for i in range(n):
        policy_number, plate, phone = MOTOR_POLICIES[i % 2]
        at = (datetime.now(SHANGHAI) - timedelta(days=1 + 2 * (i // 2))).replace(microsecond=0)
        response = post_claim(client, motor_claim_body(policy_number=policy_number, plate=plate, phone=phone,
                                                       occurred_at=at.isoformat()), api_key=MOTOR)
        assert response.status_code == 202, response.body
        ids.append(response.json_body["claim_id"])
    return ids


def field_claims(client, pipeline, n: int) -> list[str]:
    """``n`` motor claims scored for a field survey, their messages on the dispatch queue."""
    ids = motor_claims(client, n)
    pipeline.score_all()
    claims = bootstrap.container().claims
    assert {claims.get(i).status for i in ids} == {ClaimStatus.AWAITING_SURVEYOR}
    return ids


def contact_message(n: int) -> str:
    return json.dumps({"v": 1, "type": "contact.recorded", "phone": f"+861380013800{n}",
                       "at": f"2026-11-25T09:30:0{n}+08:00", "channel": "ivr_webhook", "kind": "call_started",
                       "contact_id": f"call-{n}"})
