"""Dispatchers racing for the same surveyors and the same claims, as concurrent Lambda containers do.

Threads against a moto *server* (a separate process answering HTTP, as DynamoDB does), not in-process
``mock_aws``: every dispatcher reads surveyors and claims, picks one and writes, so the read-decide-write
windows of the threads really overlap. Capacity and "one surveyor per claim" must hold through the
store's conditional transaction alone (``DynamoClaimRepository.assign_surveyor``).

The server is the local stack's (infra/moto_server.py), which answers one request at a time. DynamoDB
runs each TransactWriteItems atomically; moto does not: its transaction checks and writes item by
item, and on a failed condition restores copies of the whole tables taken when it began, wiping out
whatever other requests wrote meanwhile. Under concurrent requests plain ``moto.server`` itself
commits more conditional increments than the condition allows, with no app code involved.
Serialising requests gives each call DynamoDB's atomicity and nothing more: the dispatchers' reads and
writes still interleave freely between calls, which is where races live."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.claims import DynamoClaimRepository
from chalicelib.adapters.models import ALL_MODELS, SurveyorModel
from chalicelib.adapters.surveyors import DynamoSurveyorRepository
from chalicelib.domain.claim import ClaimStatus
from chalicelib.services.dispatch import DispatchService
from chalicelib.services.intake import IntakeRequest
from chalicelib.services.ports import AssignOutcome
from devkit.moto import MotoServer
from infra.provision import create_all
from infra.seed import DEMO_SURVEYORS, seed
from tests.fakes import SHANGHAI, FakeTelemetry, submission

REGION = "ap-southeast-1"
CLAIMS = 20
DISPATCHERS = 6
# Every Shanghai surveyor is within two rings of Pudong (310115); Beijing's never is. 7 places in all.
LOW_CAPACITY = {"SV-SH-001": 2, "SV-SH-002": 1, "SV-SH-003": 1, "SV-SH-004": 1, "SV-SH-005": 1, "SV-SH-006": 1}
# The two demo motor policies, each with its own vehicle and holder's phone.
MOTOR_POLICIES = (("PM2026000789", "沪A12345", "+8613700137000"), ("PM2026000790", "沪AD12345", "+8618600186000"))


def _forget_connections() -> None:
    """PynamoDB keeps one connection per model, bound to the endpoint it was made for."""
    for model in ALL_MODELS:
        model._connection = None


@pytest.fixture
def moto_server(monkeypatch):
    """A fresh moto server with the app's tables and queues and the demo data; the environment points
    at it for the test only, and the server is always stopped."""
    server = MotoServer()
    try:
        server.start()
        for var in ("SCORING_QUEUE_URL", "DISPATCH_QUEUE_URL", "NOTIFY_QUEUE_URL", "CONTACTS_QUEUE_URL"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        _forget_connections()
        bootstrap.reset()
        create_all(boto3.client("sqs", region_name=REGION))
        seed()
        yield server
    finally:
        _forget_connections()  # the next test's connections must not reach a stopped server
        bootstrap.reset()
        server.stop()


def _loss(n: int) -> tuple[dict, datetime]:
    """Claim n's policy and loss time: the two vehicles alternate, each one's losses two days apart, so no
    claim looks like a duplicate of another and none is reported late (all within 30 days)."""
    policy_number, plate, phone = MOTOR_POLICIES[n % 2]
    at = (datetime.now(SHANGHAI) - timedelta(days=1 + 2 * (n // 2))).replace(microsecond=0)
    return {"policy_number": policy_number, "plate": plate, "phone": phone}, at


class _CountingClaimRepository(DynamoClaimRepository):
    """The real repository, counting what the store answered to each attempt to assign."""

    def __init__(self):
        super().__init__()
        self.outcomes: Counter = Counter()

    def assign_surveyor(self, surveyor, before, after, event) -> AssignOutcome:
        outcome = super().assign_surveyor(surveyor, before, after, event)
        self.outcomes[outcome] += 1
        return outcome


def _surveyors() -> dict[str, tuple[int, int]]:
    return {m.surveyor_id: (int(m.active_claims or 0), int(m.capacity))
            for m in SurveyorModel.scan(consistent_read=True)}


def test_racing_dispatchers_never_overfill_a_surveyor_nor_assign_a_claim_twice(moto_server):
    # GIVEN 20 scored motor claims in Pudong, all awaiting a surveyor
    c = bootstrap.container()
    ids = []
    for n in range(CLAIMS):
        who, at = _loss(n)
        accepted = c.intake.submit(IntakeRequest("motor-direct", submission(
            loss_type="motor_collision", amount="3200.00", region="310115", occurred_at=at, **who)))
        c.scoring.score(accepted.claim_id)
        ids.append(accepted.claim_id)
    assert {c.claims.get(i).status for i in ids} == {ClaimStatus.AWAITING_SURVEYOR}
    # ... and Shanghai's surveyors with 7 places between them
    for surveyor_id, capacity in LOW_CAPACITY.items():
        SurveyorModel(surveyor_id).update(actions=[SurveyorModel.capacity.set(capacity)])
    places = sum(LOW_CAPACITY.values())
    # ... and 6 dispatchers, each with its own repositories and connection, like separate Lambda containers
    telemetry = [FakeTelemetry() for _ in range(DISPATCHERS)]
    stores = [_CountingClaimRepository() for _ in range(DISPATCHERS)]
    services = [DispatchService(stores[k], DynamoSurveyorRepository(), c.queue, telemetry[k], notifier=c.notifier)
                for k in range(DISPATCHERS)]
    start = threading.Barrier(DISPATCHERS)
    done = threading.Event()
    errors: list[BaseException] = []
    overfilled: list[dict] = []
    samples = []

    def dispatcher(k: int) -> None:
        # half go front to back, half back to front: the same claim raced at once, and different claims
        # raced for the same surveyors
        order = ids if k % 2 == 0 else ids[::-1]
        try:
            start.wait(timeout=30)
            for claim_id in order:
                services[k].dispatch(claim_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def sampler() -> None:
        while not done.is_set():
            loads = _surveyors()
            samples.append(loads)
            if any(active > capacity for active, capacity in loads.values()):
                overfilled.append(loads)
            done.wait(0.05)  # sampling pace, so the watcher does not crowd out the dispatchers

    # WHEN they all dispatch every claim at the same time, while another thread watches surveyor loads
    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    threads = [threading.Thread(target=dispatcher, args=(k,), daemon=True) for k in range(DISPATCHERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    watcher.join(timeout=30)

    # THEN every dispatcher finished without an error, and the race was real: the store refused attempts
    # made on a stale read of the claim or of the surveyor
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    outcomes = sum((store.outcomes for store in stores), Counter())
    assert outcomes[AssignOutcome.ASSIGNED] == places
    assert outcomes[AssignOutcome.CLAIM_CHANGED] + outcomes[AssignOutcome.SURVEYOR_FULL] > 0
    # ... and no surveyor was ever over capacity
    assert samples and overfilled == []
    loads = _surveyors()
    assert {s: active for s, (active, _) in loads.items()} == {
        **{s.surveyor_id: 0 for s in DEMO_SURVEYORS}, **LOW_CAPACITY}
    # ... exactly as many claims are assigned as there are places, each once, each counted in one surveyor's load
    claims = [c.claims.get(i) for i in ids]
    assigned = [claim for claim in claims if claim.status is ClaimStatus.SURVEYOR_ASSIGNED]
    assert len(assigned) == places
    assert Counter(claim.surveyor_id for claim in assigned) == Counter(LOW_CAPACITY)
    for claim in assigned:
        assert [e.kind for e in c.claims.events(claim.claim_id)].count("claim.surveyor_assigned") == 1
    assert sum(active for active, _ in loads.values()) == len(assigned)
    assert sum(t.counts["ClaimsDispatched"] for t in telemetry) == places
    # ... and every other claim waits for a surveyor, none ever assigned
    waiting = [claim for claim in claims if claim.status is not ClaimStatus.SURVEYOR_ASSIGNED]
    assert {claim.status for claim in waiting} == {ClaimStatus.WAITING_FOR_SURVEYOR}
    assert all(claim.surveyor_id is None for claim in waiting)
    for claim in waiting:
        assert "claim.surveyor_assigned" not in [e.kind for e in c.claims.events(claim.claim_id)]
