"""In-memory fakes of every port, and builders of test data. The same contract tests run against
these fakes and against moto."""
from __future__ import annotations

import copy
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from chalicelib.domain.claim import Channel, Claim, ClaimEvent, ClaimStatus, ClaimSubmission, Location, received
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.ids import new_claim_id
from chalicelib.domain.policy import Policy
from chalicelib.domain.surveyor import Surveyor, SurveyorStatus
from chalicelib.services.ports import AssignOutcome, IdempotencyRecord, NewClaim, PartnerIdentity


class FakeClaimRepository:
    def __init__(self, surveyors: FakeSurveyorRepository | None = None):
        self.claims: dict[str, Claim] = {}
        self.timeline: dict[str, dict[int, ClaimEvent]] = defaultdict(dict)
        self.keys: dict[str, IdempotencyRecord] = {}
        self.contacts: list = []  # contact entries written with their claims
        self.surveyors = surveyors if surveyors is not None else FakeSurveyorRepository()
        self._lock = threading.Lock()

    def add(self, new: NewClaim) -> IdempotencyRecord | None:
        return self.add_many([new])[0]

    def add_many(self, items: list[NewClaim]) -> list[IdempotencyRecord | None]:
        out: list[IdempotencyRecord | None] = []
        with self._lock:
            for new in items:
                held = [self.keys[r.key] for r in new.key_records() if r.key in self.keys]
                if held:
                    out.append(held[0])
                    continue
                self.claims[new.claim.claim_id] = new.claim
                self.timeline[new.claim.claim_id][new.event.seq] = new.event
                for record in new.key_records():
                    self.keys[record.key] = record
                if new.contact:
                    self.contacts.append(new.contact)
                out.append(None)
        return out

    def get(self, claim_id: str) -> Claim | None:
        return self.claims.get(claim_id)

    def get_many(self, claim_ids: list[str]) -> dict[str, Claim]:
        return {cid: self.claims[cid] for cid in claim_ids if cid in self.claims}

    def events(self, claim_id: str) -> list[ClaimEvent]:
        return [self.timeline[claim_id][k] for k in sorted(self.timeline[claim_id])]

    def save(self, before: Claim, after: Claim, events: list[ClaimEvent]) -> None:
        with self._lock:
            stored = self.claims.get(before.claim_id)
            if stored is None or stored.version != before.version or \
                    any(e.seq in self.timeline[e.claim_id] for e in events):
                raise ConcurrentUpdate("The claim was changed by someone else.")
            self.claims[after.claim_id] = after
            for e in events:
                self.timeline[e.claim_id][e.seq] = e

    def assign_surveyor(self, surveyor: Surveyor, before: Claim, after: Claim, event: ClaimEvent) -> AssignOutcome:
        with self._lock:
            stored = self.claims.get(before.claim_id)
            if stored is None or stored.version != before.version:
                return AssignOutcome.CLAIM_CHANGED
            current = self.surveyors.by_id[surveyor.surveyor_id]
            if not current.has_room:
                return AssignOutcome.SURVEYOR_FULL
            self.surveyors.by_id[surveyor.surveyor_id] = replace(current, active_claims=current.active_claims + 1)
            self.claims[after.claim_id] = after
            self.timeline[event.claim_id][event.seq] = event
            return AssignOutcome.ASSIGNED

    def complete_survey(self, surveyor_id: str, before: Claim, after: Claim, events: list[ClaimEvent]) -> bool:
        with self._lock:
            stored = self.claims.get(before.claim_id)
            current = self.surveyors.by_id[surveyor_id]
            if stored is None or stored.version != before.version or current.active_claims < 1:
                return False
            self.surveyors.by_id[surveyor_id] = replace(current, active_claims=current.active_claims - 1)
            self.claims[after.claim_id] = after
            for e in events:
                self.timeline[e.claim_id][e.seq] = e
            return True

    # -- ClaimHistory and ReviewQueue, over the same claims ---------------------------------------------

    def on_policy(self, policy_number: str, loss_from: datetime, loss_to: datetime) -> list[tuple[str, datetime]]:
        return [(c.claim_id, c.submission.occurred_at) for c in self.claims.values()
                if c.policy_number == policy_number and loss_from <= c.submission.occurred_at <= loss_to]

    def on_plate(self, plate: str, loss_from: datetime, loss_to: datetime) -> list[tuple[str, datetime]]:
        from chalicelib.domain.identity import normalise_plate

        return [(c.claim_id, c.submission.occurred_at) for c in self.claims.values()
                if normalise_plate(c.submission.plate) == plate and loss_from <= c.submission.occurred_at <= loss_to]

    def from_phone_since(self, phone_e164: str, since: datetime) -> list[str]:
        from chalicelib.domain.identity import normalise_phone

        return [c.claim_id for c in self.claims.values()
                if normalise_phone(c.submission.claimant_phone) == phone_e164 and c.received_at >= since]

    def page(self, limit: int, cursor: str | None) -> tuple[list[Claim], str | None]:
        waiting = sorted((c for c in self.claims.values() if c.needs_a_person),
                         key=lambda c: (-c.priority, c.received_at, c.claim_id))
        start = int(cursor or 0)
        chunk = waiting[start:start + limit]
        return chunk, (str(start + limit) if start + limit < len(waiting) else None)

    def received_before(self, cutoff: datetime, limit: int) -> list[tuple[str, str | None]]:
        stuck = sorted((c.received_at, c.claim_id, c.correlation_id) for c in self.claims.values()
                       if c.status is ClaimStatus.RECEIVED and c.received_at < cutoff)
        return [(claim_id, correlation_id) for _, claim_id, correlation_id in stuck[:limit]]


class FakeSurveyorRepository:
    def __init__(self, surveyors: Iterable[Surveyor] = ()):
        self.by_id = {s.surveyor_id: s for s in surveyors}

    def add(self, surveyor_id: str, region: str, capacity: int, active: int = 0,
            status: SurveyorStatus = SurveyorStatus.AVAILABLE, lat: float | None = None,
            lon: float | None = None) -> None:
        self.by_id[surveyor_id] = Surveyor(surveyor_id, region, status, capacity, active, lat, lon)

    def in_region(self, region_code: str) -> list[Surveyor]:
        return [s for s in self.by_id.values() if s.region_code == region_code]

    def set_status(self, surveyor_id: str, status: SurveyorStatus) -> bool:
        if surveyor_id not in self.by_id:
            return False
        self.by_id[surveyor_id] = replace(self.by_id[surveyor_id], status=status)
        return True


class FakePartnerDirectory:
    def __init__(self, keys: dict[str, str] | None = None):
        self.by_hash = {h: PartnerIdentity(pid, h) for h, pid in (keys or {}).items()}
        self.lookups = 0

    def by_key_hash(self, key_hash: str) -> PartnerIdentity | None:
        self.lookups += 1
        return self.by_hash.get(key_hash)


@dataclass
class Sent:
    queue: str
    claim_id: str
    correlation_id: str | None
    attempt: int = 0
    delay_seconds: int = 0


@dataclass
class _Outbox:
    unsent: list[tuple[str, str]] = field(default_factory=list)


class FakeClaimQueue:
    def __init__(self, fail: bool = False):
        self.sent: list[Sent] = []
        self.notices: list[tuple] = []
        self.dead_letters: list[tuple] = []
        self.fail = fail
        self.backlog: int | None = None  # what scoring_backlog answers (None: unknown)

    def to_scoring(self, claim_id: str, correlation_id: str | None, delay_seconds: int = 0) -> None:
        if self.fail:
            raise ConnectionError("queue unavailable")
        self.sent.append(Sent("scoring", claim_id, correlation_id, 0, delay_seconds))

    def scoring_backlog(self) -> int | None:
        return self.backlog

    def many_to_scoring(self, claims: list[tuple[str, str | None]]) -> list[str]:
        if self.fail:
            return [claim_id for claim_id, _ in claims]
        self.sent += [Sent("scoring", cid, corr) for cid, corr in claims]
        return []

    def to_dispatch(self, claim_id: str, correlation_id: str | None, attempt: int = 0,
                    delay_seconds: int = 0) -> None:
        if self.fail:
            raise ConnectionError("queue unavailable")
        self.sent.append(Sent("dispatch", claim_id, correlation_id, attempt, delay_seconds))

    def to_notify(self, claim_id: str, event_seq: int, status: str, correlation_id: str | None, attempt: int = 0,
                  delay_seconds: int = 0, at: datetime | None = None) -> None:
        if self.fail:
            raise ConnectionError("queue unavailable")
        self.sent.append(Sent("notify", claim_id, correlation_id, attempt, delay_seconds))
        self.notices.append((claim_id, event_seq, status, attempt, delay_seconds))

    def to_notify_dead_letters(self, claim_id: str, event_seq: int, status: str, attempt: int,
                               correlation_id: str | None, at: datetime | None = None) -> None:
        self.dead_letters.append((claim_id, event_seq, status, attempt))

    @contextmanager
    def deferred(self):
        """Sends at once (the fakes keep order); ``fail`` inside a batch reports every message unsent."""
        outbox = _Outbox()
        failing, self.fail = self.fail, False
        before = len(self.sent)
        try:
            yield outbox
        finally:
            self.fail = failing
            if failing:
                outbox.unsent += [(s.queue, s.claim_id) for s in self.sent[before:]]
                del self.sent[before:]

    def on(self, queue: str) -> list[Sent]:
        return [s for s in self.sent if s.queue == queue]


class FakeTelemetry:
    def __init__(self):
        self.counts: dict[str, int] = defaultdict(int)

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        self.counts[name] += value


# -- test data builders -------------------------------------------------------------------------
# Shared by every tier, so a claim body looks the same in unit, contract and integration tests.

SHANGHAI = timezone(timedelta(hours=8))


def ms(ts: datetime) -> datetime:
    """Millisecond precision: what the claims table keeps of a timestamp."""
    return ts.replace(microsecond=ts.microsecond // 1000 * 1000)


def yesterday_in_shanghai() -> datetime:
    return (datetime.now(SHANGHAI) - timedelta(days=1)).replace(microsecond=0)


def unique_ref(prefix: str = "REF") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def claim_body(*, loss_type: str = "food_safety", region: str = "310115", amount: str = "35.50",
               external_ref: str | None | bool = True, plate: str | None = None,
               name: str = "张三", phone: str = "+8613800138000", policy_number: str = "PA2026000123",
               occurred_at: str | None = None, description: str = "午餐后腹泻，订单餐品变质",
               attachments_expected: int | None = None) -> dict:
    """A valid partner claim body (a fresh dict every call). ``external_ref=True`` makes a unique one."""
    body = {
        "policy": {"number": policy_number, "order_id": "E123456"},
        "claimant": {"name": name, "phone": phone},
        "loss": {"type": loss_type, "occurred_at": occurred_at or yesterday_in_shanghai().isoformat(),
                 "description": description,
                 "location": {"region_code": region, "address": "上海市浦东新区张杨路500号",
                              "lat": 31.22, "lon": 121.54}},
        "amount": {"value": amount, "currency": "CNY"},
    }
    if external_ref is True:
        body["external_ref"] = unique_ref()
    elif external_ref:
        body["external_ref"] = external_ref
    if plate:
        body["vehicle"] = {"plate": plate}
    if attachments_expected is not None:
        body["attachments_expected"] = attachments_expected
    return copy.deepcopy(body)


def motor_claim_body(*, region: str = "310115", plate: str = "沪A12345", **kwargs) -> dict:
    kwargs.setdefault("loss_type", "motor_collision")
    kwargs.setdefault("amount", "3200.00")
    kwargs.setdefault("name", "王五")
    kwargs.setdefault("phone", "+8613700137000")
    kwargs.setdefault("policy_number", "PM2026000789")
    kwargs.setdefault("description", "路口追尾，后保险杠受损")
    return claim_body(region=region, plate=plate, **kwargs)


def submission(*, loss_type: str = "food_safety", region: str = "310115", amount: str = "35.50",
               external_ref: str | None = None, occurred_at: datetime | None = None,
               plate: str | None = None, channel: Channel = Channel.PARTNER_API,
               description: str = "午餐后腹泻", policy_number: str | None = None,
               order_id: str | None = "E123456", phone: str | None = "+8613800138000") -> ClaimSubmission:
    """A submission naming a demo policy: the motor one for motor losses, the food-safety one otherwise."""
    if policy_number is None:
        policy_number = "PM2026000789" if loss_type.startswith("motor_") else "PA2026000123"
    return ClaimSubmission(
        channel=channel, loss_type=loss_type, occurred_at=occurred_at or yesterday_in_shanghai(),
        description=description, location=Location(region, "上海市浦东新区", 31.22, 121.54),
        amount=Decimal(amount), currency="CNY", claimant_name="张三", claimant_phone=phone,
        policy_number=policy_number or None, order_id=order_id, plate=plate, external_ref=external_ref)


def new_claim(*, owner: str = "eleme", key: str | None = None, sub: ClaimSubmission | None = None,
              at: datetime | None = None, claim_id: str | None = None) -> NewClaim:
    """A claim as intake hands it to the repository: claim, first event and (optional) key record."""
    sub = sub or submission()
    claim_id = claim_id or new_claim_id()
    scoped = f"{owner}#{key}" if key else None
    claim, event = received(claim_id, owner, sub, idempotency_key=scoped, correlation_id="corr-1",
                             actor=f"partner_api:{owner}", at=ms(at or datetime.now(UTC)))
    record = IdempotencyRecord(scoped, claim_id, sub.fingerprint()) if scoped else None
    return NewClaim(claim, event, record)


class Clock:
    """A settable clock for services that take ``clock=``; ``advance`` moves it forward."""

    def __init__(self, start: datetime | None = None):
        self.now = start or ms(datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class MonotonicClock:
    """Seconds, like ``time.monotonic``, for the API key cache."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakePolicyDirectory:
    """Policies in memory, looked up by the same normalised keys as the DynamoDB directory."""

    def __init__(self, policies: list[Policy] | None = None):
        self.policies = list(demo_policies() if policies is None else policies)
        self.lookups: dict[str, int] = defaultdict(int)

    def by_number(self, policy_number: str) -> Policy | None:
        self.lookups["number"] += 1
        return next((p for p in self.policies if p.policy_number == policy_number), None)

    def by_order_id(self, order_id: str) -> list[Policy]:
        self.lookups["order_id"] += 1
        return [p for p in self.policies if p.order_id == order_id]

    def by_phone(self, phone_e164: str) -> list[Policy]:
        self.lookups["phone"] += 1
        return [p for p in self.policies if p.holder_phone == phone_e164]

    def by_plate(self, plate: str) -> list[Policy]:
        self.lookups["plate"] += 1
        return [p for p in self.policies if p.plate == plate]


def policy(number: str, product: str, *, phone: str | None = None, plate: str | None = None,
           order_id: str | None = None, partner_id: str | None = None, starts: str = "2026-01-01",
           ends: str = "2030-12-31", status: str = "ACTIVE") -> Policy:
    return Policy(number, product, f"CUS-{number}", date.fromisoformat(starts), date.fromisoformat(ends),
                  status, partner_id, phone, plate, order_id)


def demo_policies() -> list[Policy]:
    """The seeded demo policies that tests' default submissions name."""
    return [policy("PA2026000123", "food_safety", phone="+8613800138000", order_id="E123456", partner_id="eleme"),
            policy("PM2026000789", "motor", phone="+8613700137000", plate="沪A12345", partner_id="motor-direct")]


def scoring_service(claims, queue, telemetry, clock, policies: FakePolicyDirectory | None = None,
                    notify_partners: bool = False, history=None):
    from chalicelib.domain.products import catalogue
    from chalicelib.services.partner_notices import QueueNotifier
    from chalicelib.services.resolve import PolicyResolver
    from chalicelib.services.scoring import ScoringService

    return ScoringService(claims, queue, telemetry, PolicyResolver(policies or FakePolicyDirectory(), catalogue()),
                          catalogue(), clock=clock, history=history or claims,
                          notifier=QueueNotifier(queue, telemetry) if notify_partners else None)


class FakeCallerDirectory:
    def __init__(self, customers: list | None = None, claims: dict | None = None):
        self.customers = list(customers or [])
        self.claims = dict(claims or {})  # phone -> list[CallerClaim], newest first
        self.contacts: list = []

    def customer_by_phone(self, phone_e164: str):
        return next((c for c in self.customers if c.phone == phone_e164), None)

    def claims_by_phone(self, phone_e164: str, limit: int):
        return self.claims.get(phone_e164, [])[:limit]

    def recent_contacts(self, phone_e164: str, limit: int):
        return sorted((c for c in self.contacts if c.phone == phone_e164), key=lambda c: c.at, reverse=True)[:limit]


class FakeContactLog:
    """Records straight into the directory's contacts, as the queue + consumer do eventually."""

    def __init__(self, directory: FakeCallerDirectory, fail: bool = False):
        self.directory = directory
        self.fail = fail
        self.recorded: list = []

    def record(self, contact) -> None:
        if self.fail:
            raise ConnectionError("queue unavailable")
        self.recorded.append(contact)
        if contact not in self.directory.contacts:  # the consumer's write: same entry, same key
            self.directory.contacts.append(contact)

    def write_many(self, contacts) -> None:  # the ContactStore side
        self.directory.contacts += [c for c in contacts if c not in self.directory.contacts]
