"""In-memory fakes of every port. The same contract tests run against these and against moto."""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.surveyor import Surveyor, SurveyorStatus
from chalicelib.services.ports import AssignOutcome, IdempotencyRecord, NewClaim, PartnerIdentity


class FakeClaimRepository:
    def __init__(self, surveyors: "FakeSurveyorRepository | None" = None):
        self.claims: dict[str, Claim] = {}
        self.timeline: dict[str, dict[int, ClaimEvent]] = defaultdict(dict)
        self.keys: dict[str, IdempotencyRecord] = {}
        self.surveyors = surveyors
        self._lock = threading.Lock()

    def add(self, new: NewClaim) -> IdempotencyRecord | None:
        return self.add_many([new])[0]

    def add_many(self, items: list[NewClaim]) -> list[IdempotencyRecord | None]:
        out: list[IdempotencyRecord | None] = []
        with self._lock:
            for new in items:
                if new.idempotency and new.idempotency.key in self.keys:
                    out.append(self.keys[new.idempotency.key])
                    continue
                self.claims[new.claim.claim_id] = new.claim
                self.timeline[new.claim.claim_id][new.event.seq] = new.event
                if new.idempotency:
                    self.keys[new.idempotency.key] = new.idempotency
                out.append(None)
        return out

    def get(self, claim_id: str) -> Claim | None:
        return self.claims.get(claim_id)

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

    def received_before(self, cutoff: datetime, limit: int) -> list[str]:
        stuck = sorted((c.received_at, c.claim_id) for c in self.claims.values()
                       if c.status is ClaimStatus.RECEIVED and c.received_at < cutoff)
        return [claim_id for _, claim_id in stuck[:limit]]


class FakeSurveyorRepository:
    def __init__(self, surveyors: list[Surveyor] = ()):
        self.by_id = {s.surveyor_id: s for s in surveyors}

    def add(self, surveyor_id: str, region: str, capacity: int, active: int = 0,
            status: SurveyorStatus = SurveyorStatus.AVAILABLE) -> None:
        self.by_id[surveyor_id] = Surveyor(surveyor_id, region, status, capacity, active)

    def in_region(self, region_code: str) -> list[Surveyor]:
        return [s for s in self.by_id.values() if s.region_code == region_code]


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


class FakeClaimQueue:
    def __init__(self, fail: bool = False):
        self.sent: list[Sent] = []
        self.fail = fail

    def to_scoring(self, claim_id: str, correlation_id: str | None) -> None:
        if self.fail:
            raise ConnectionError("queue unavailable")
        self.sent.append(Sent("scoring", claim_id, correlation_id))

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

    def on(self, queue: str) -> list[Sent]:
        return [s for s in self.sent if s.queue == queue]


class FakeTelemetry:
    def __init__(self):
        self.counts: dict[str, int] = defaultdict(int)

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        self.counts[name] += value
