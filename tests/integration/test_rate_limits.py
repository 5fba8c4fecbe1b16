"""Per-partner rate limits: a token bucket per partner in the container's memory (services/auth.py
PartnerRateLimiter), the partner's own limit from its record, the defaults from settings, 429 with
``Retry-After`` in whole seconds, on every partner route, and no AWS call added to any request.

Time is an injected clock the tests move; nothing sleeps and nothing reads the wall clock.
"""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws
from pydantic import ValidationError

from app import app
from chalicelib import bootstrap
from chalicelib.adapters.models import ApiKeyModel, PartnerModel
from chalicelib.domain.errors import RateLimited
from chalicelib.services.auth import PartnerAuthenticator, PartnerRateLimiter, hash_api_key
from chalicelib.services.ports import PartnerIdentity
from chalicelib.settings import Settings
from devkit.aws_calls import app_clients, count_aws_calls
from infra.provision import create_all
from infra.seed import seed
from tests.fakes import MonotonicClock, claim_body
from tests.integration.conftest import ELEME, HELLOBIKE, post_claim

LIMITED_KEY = "key-of-a-limited-partner-0001"  # its record says 0.5 a second, bursts of 2
LIMITED_REVOKED_KEY = "revoked-key-of-the-limited-01"
PARTNER_ROUTES = sorted((method, path) for path, methods in app.routes.items() for method in methods
                        if path == "/v1/claims" or path.startswith("/v1/claims/"))


# -- the bucket on its own ----------------------------------------------------------------------------

def _partner(partner_id: str = "eleme", rate: float | None = None, burst: int | None = None) -> PartnerIdentity:
    return PartnerIdentity(partner_id, "0" * 64, rate, burst)


def _refusal(limiter: PartnerRateLimiter, partner: PartnerIdentity) -> RateLimited | None:
    try:
        limiter.admit(partner)
    except RateLimited as refused:
        return refused
    return None


def test_a_full_bucket_admits_a_burst_then_refuses_with_whole_seconds_to_wait():
    # GIVEN 2 requests a second, bursts of 5, at one instant
    clock = MonotonicClock()
    limiter = PartnerRateLimiter(2, 5, clock=clock)

    # WHEN a partner sends 6 requests at once
    refusals = [_refusal(limiter, _partner()) for _ in range(6)]

    # THEN the burst passes and the sixth waits half a second, told as one whole second
    assert refusals[:5] == [None] * 5
    assert refusals[5].code == "RATE_LIMITED"
    assert refusals[5].retry_after_seconds == 1


def test_the_bucket_refills_at_the_rate():
    # GIVEN one request every 4 seconds, bursts of 1, already spent
    clock = MonotonicClock()
    limiter = PartnerRateLimiter(0.25, 1, clock=clock)
    limiter.admit(_partner())

    # WHEN the partner asks again at once, after 3 seconds, then after 4
    at_once = _refusal(limiter, _partner())
    clock.advance(3)
    after_3 = _refusal(limiter, _partner())
    clock.advance(1)
    after_4 = _refusal(limiter, _partner())

    # THEN it is told to wait 4 seconds, then 1 more, then it is admitted
    assert at_once.retry_after_seconds == 4
    assert after_3.retry_after_seconds == 1
    assert after_4 is None


def test_a_long_pause_refills_no_more_than_the_burst():
    # GIVEN bursts of 3, unused for an hour
    clock = MonotonicClock()
    limiter = PartnerRateLimiter(10, 3, clock=clock)
    clock.advance(3600)

    # WHEN the partner sends 4 at once
    refusals = [_refusal(limiter, _partner()) for _ in range(4)]

    # THEN only the burst passes
    assert [r is None for r in refusals] == [True, True, True, False]


def test_each_partner_has_its_own_bucket():
    # GIVEN one partner that spent its burst
    clock = MonotonicClock()
    limiter = PartnerRateLimiter(1, 2, clock=clock)
    for _ in range(2):
        limiter.admit(_partner("eleme"))
    assert _refusal(limiter, _partner("eleme")) is not None

    # WHEN another partner sends a request
    # THEN it is admitted
    assert _refusal(limiter, _partner("hellobike")) is None


def test_a_partners_own_limit_wins_over_the_default():
    # GIVEN defaults of 100 a second, bursts of 200, and a partner whose record says 1 a second, bursts of 2
    clock = MonotonicClock()
    limiter = PartnerRateLimiter(100, 200, clock=clock)
    small = _partner("small-co", rate=1, burst=2)

    # WHEN it sends 3 at once
    refusals = [_refusal(limiter, small) for _ in range(3)]

    # THEN its own burst applies, and its own rate says when to come back
    assert [r is None for r in refusals] == [True, True, False]
    assert refusals[2].retry_after_seconds == 1


def test_concurrent_requests_never_pass_more_than_the_burst():
    # GIVEN bursts of 100 and a clock that does not move (no refill while the threads run)
    limiter = PartnerRateLimiter(1, 100, clock=MonotonicClock())
    admitted, lock = [], threading.Lock()
    start = threading.Barrier(8)

    def partner_thread():
        start.wait()
        for _ in range(50):
            ok = _refusal(limiter, _partner()) is None
            with lock:
                admitted.append(ok)

    # WHEN 8 threads send 50 requests each, all at once
    threads = [threading.Thread(target=partner_thread) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # THEN exactly the burst was admitted, not one more
    assert len(admitted) == 400
    assert admitted.count(True) == 100


@pytest.mark.parametrize("env", [{"PARTNER_RATE_LIMIT_PER_SECOND": "0"}, {"PARTNER_RATE_LIMIT_PER_SECOND": "-1"},
                                 {"PARTNER_RATE_BURST": "0"}, {"PARTNER_RATE_LIMIT_PER_SECOND": "fast"}])
def test_a_limit_that_would_stop_everyone_or_nobody_is_refused_at_start(env):
    with pytest.raises(ValidationError):
        Settings.from_env(env)


def test_settings_default_to_100_a_second_with_bursts_of_200():
    s = Settings.from_env({"PARTNER_RATE_LIMIT_PER_SECOND": "2.5", "PARTNER_RATE_BURST": "7"})
    assert (s.partner_rate_limit_per_second, s.partner_rate_burst) == (2.5, 7)
    d = Settings.from_env({})
    assert (d.partner_rate_limit_per_second, d.partner_rate_burst) == (100.0, 200)


# -- through the API ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stack():
    """One moto stack for the module: the demo partners, plus one whose record sets its own limit."""
    with mock_aws():
        bootstrap.reset()
        create_all(boto3.client("sqs"), boto3.client("s3"), "ap-southeast-1")
        seed()
        now = datetime.now(UTC)
        PartnerModel("limited-co", name="Limited partner", active=1, created_at=now,
                     rate_limit_per_second=0.5, rate_burst=2).save()
        ApiKeyModel(hash_api_key(LIMITED_KEY), partner_id="limited-co", active=1, created_at=now).save()
        ApiKeyModel(hash_api_key(LIMITED_REVOKED_KEY), partner_id="limited-co", active=0, created_at=now).save()
        with Client(app) as client:
            yield client
        bootstrap.reset()


@pytest.fixture
def clock(stack) -> MonotonicClock:
    """A fresh partner authenticator (empty cache, full buckets) on a clock the test moves."""
    c = bootstrap.container()
    original = c.auth
    moved = MonotonicClock()
    c.auth = PartnerAuthenticator(c.partners, c.settings.api_key_cache_seconds, clock=moved,
                                  limiter=PartnerRateLimiter(c.settings.partner_rate_limit_per_second,
                                                             c.settings.partner_rate_burst, clock=moved))
    try:
        yield moved
    finally:
        c.auth = original


def read(client, claim_id: str, api_key: str):
    return client.http.get(f"/v1/claims/{claim_id}", headers={"x-api-key": api_key})


def submitted(client, api_key: str) -> str:
    response = post_claim(client, claim_body(), api_key=api_key)
    assert response.status_code == 202, response.body
    return response.json_body["claim_id"]


def test_a_partner_over_the_limit_in_its_record_gets_429_with_retry_after(stack, clock):
    # GIVEN a partner whose record allows 0.5 requests a second in bursts of 2, its burst spent
    claim_id = submitted(stack, LIMITED_KEY)
    assert read(stack, claim_id, LIMITED_KEY).status_code == 200

    # WHEN it sends one more at the same instant
    refused = read(stack, claim_id, LIMITED_KEY)

    # THEN it is a 429 in the error envelope, told to come back in 2 whole seconds
    assert refused.status_code == 429
    assert json.loads(refused.body) == {"error": {"code": "RATE_LIMITED",
                                                  "message": "Too many requests; please retry later."}}
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["Content-Type"] == "application/json"

    # AND after 2 seconds it is served again
    clock.advance(2)
    assert read(stack, claim_id, LIMITED_KEY).status_code == 200


def test_one_partner_at_its_limit_does_not_slow_another(stack, clock):
    # GIVEN the limited partner refused
    claim_id = submitted(stack, LIMITED_KEY)
    read(stack, claim_id, LIMITED_KEY)
    assert read(stack, claim_id, LIMITED_KEY).status_code == 429

    # WHEN another partner posts at the same instant
    # THEN it is accepted
    assert post_claim(stack, claim_body(), api_key=HELLOBIKE).status_code == 202


@pytest.mark.parametrize("route", PARTNER_ROUTES, ids=" ".join)
def test_every_partner_route_is_limited_and_a_refusal_costs_no_aws_call(stack, clock, route):
    # GIVEN the limited partner with its burst spent on reads
    claim_id = submitted(stack, LIMITED_KEY)
    read(stack, claim_id, LIMITED_KEY)
    method, template = route
    path = template.replace("{claim_id}", claim_id)
    body = {"POST /v1/claims": claim_body(), "POST /v1/claims/batch": {"claims": [claim_body()]}}.get(
        f"{method} {template}", {"content_type": "image/png", "size": 100})

    # WHEN it calls the route
    with count_aws_calls(*app_clients()) as calls:
        response = stack.http.request(method, path, headers={"x-api-key": LIMITED_KEY,
                                                             "content-type": "application/json"},
                                      body=json.dumps(body, ensure_ascii=False))

    # THEN it is refused before anything is read or stored
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert calls.total() == 0


def test_requests_refused_for_their_key_spend_nothing_of_the_partners_limit(stack, clock):
    # GIVEN many requests with a revoked key of the limited partner
    claim_id = submitted(stack, LIMITED_KEY)
    for _ in range(5):
        assert read(stack, claim_id, LIMITED_REVOKED_KEY).status_code == 401

    # WHEN the partner uses its valid key
    # THEN what is left of its burst is still there
    assert read(stack, claim_id, LIMITED_KEY).status_code == 200


def test_the_limiter_adds_no_aws_call_to_a_warm_intake(stack, clock):
    # GIVEN a warm container (the partner and its limit cached)
    submitted(stack, ELEME)

    # WHEN another claim is posted
    with count_aws_calls(*app_clients()) as calls:
        response = post_claim(stack, claim_body(), api_key=ELEME)

    # THEN the intake is still one TransactWriteItems and one SendMessage
    assert response.status_code == 202
    assert calls == {"TransactWriteItems": 1, "SendMessage": 1}


def test_the_default_limit_comes_from_settings(stack, monkeypatch):
    # GIVEN a container built with a default of one request every 1000 seconds, bursts of 1
    monkeypatch.setenv("PARTNER_RATE_LIMIT_PER_SECOND", "0.001")
    monkeypatch.setenv("PARTNER_RATE_BURST", "1")
    bootstrap.reset()
    try:
        # WHEN a partner without a limit of its own sends two requests
        first = post_claim(stack, claim_body(), api_key=HELLOBIKE)
        second = post_claim(stack, claim_body(), api_key=HELLOBIKE)

        # THEN the first is accepted and the second told to wait about 1000 seconds (whole seconds)
        assert first.status_code == 202
        assert second.status_code == 429
        assert second.headers["Retry-After"].isdigit()
        assert 990 <= int(second.headers["Retry-After"]) <= 1000
    finally:
        monkeypatch.delenv("PARTNER_RATE_LIMIT_PER_SECOND")
        monkeypatch.delenv("PARTNER_RATE_BURST")
        bootstrap.reset()
