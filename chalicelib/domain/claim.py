"""The claim, the command that creates it, and the one status machine every change goes through."""
from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chalicelib.domain.errors import IllegalTransition


class Channel(str, enum.Enum):
    PARTNER_API = "partner_api"
    WEB_FORM = "web_form"
    IVR_CONNECT = "ivr_connect"
    IVR_TWILIO = "ivr_twilio"
    IVR_WEBHOOK = "ivr_webhook"


class ClaimStatus(str, enum.Enum):
    RECEIVED = "RECEIVED"
    SCORED = "SCORED"
    AWAITING_PHOTOS = "AWAITING_PHOTOS"  # would be approved by the system; its photos are still coming
    IN_REVIEW = "IN_REVIEW"
    AWAITING_SURVEYOR = "AWAITING_SURVEYOR"
    WAITING_FOR_SURVEYOR = "WAITING_FOR_SURVEYOR"
    SURVEYOR_ASSIGNED = "SURVEYOR_ASSIGNED"
    SURVEY_COMPLETED = "SURVEY_COMPLETED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CLOSED = "CLOSED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"  # a consumer gave up on it (its message was dead-lettered)


class Segment(str, enum.Enum):
    FAST_TRACK = "FAST_TRACK"
    STANDARD_REVIEW = "STANDARD_REVIEW"
    FIELD_SURVEY = "FIELD_SURVEY"
    SPECIAL_INVESTIGATION = "SPECIAL_INVESTIGATION"


S = ClaimStatus
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.RECEIVED: frozenset({S.SCORED, S.NEEDS_ATTENTION}),
    S.SCORED: frozenset({S.IN_REVIEW, S.AWAITING_SURVEYOR, S.APPROVED, S.AWAITING_PHOTOS}),
    S.AWAITING_PHOTOS: frozenset({S.APPROVED, S.IN_REVIEW, S.NEEDS_ATTENTION}),
    S.AWAITING_SURVEYOR: frozenset({S.SURVEYOR_ASSIGNED, S.WAITING_FOR_SURVEYOR, S.NEEDS_ATTENTION}),
    S.WAITING_FOR_SURVEYOR: frozenset({S.SURVEYOR_ASSIGNED, S.NEEDS_ATTENTION}),
    S.SURVEYOR_ASSIGNED: frozenset({S.SURVEY_COMPLETED, S.AWAITING_SURVEYOR}),
    S.SURVEY_COMPLETED: frozenset({S.IN_REVIEW}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.REJECTED}),
    S.APPROVED: frozenset({S.CLOSED, S.IN_REVIEW}),  # back to review: automatic approvals only (see below)
    S.REJECTED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    # A claim whose scoring or dispatch message kept failing until SQS dead-lettered it: a person decides.
    S.NEEDS_ATTENTION: frozenset({S.APPROVED, S.REJECTED}),
}


CLOSED_STATUSES = frozenset({S.APPROVED, S.REJECTED, S.CLOSED})  # decided: no longer "open"


AUTO_APPROVE = "auto_approve"  # the decision of an approval made by the system, not a person


def check_transition(current: ClaimStatus, target: ClaimStatus, decision: str | None = None) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"a claim cannot go from {current.value} to {target.value}")
    # A person's approval stands; only the system's own, not yet paid (CLOSED), can be taken back to
    # review when a signal arrives after it (a reused photo).
    if current is S.APPROVED and target is S.IN_REVIEW and decision != AUTO_APPROVE:
        raise IllegalTransition("only an automatic approval can go back to review")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Location:
    region_code: str
    address: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class ClaimSubmission:
    """What every channel's adapter turns its input into. Channel-neutral."""

    channel: Channel
    loss_type: str
    occurred_at: datetime
    description: str
    location: Location
    amount: Decimal
    currency: str
    claimant_name: str | None = None
    claimant_phone: str | None = None
    policy_number: str | None = None
    order_id: str | None = None
    plate: str | None = None
    external_ref: str | None = None
    attachments_expected: int | None = None  # photos the sender said will follow

    def fingerprint(self) -> str:
        """Stable hash of the content, used to tell a replay from a conflicting reuse of a key."""
        data = asdict(self)
        if data["attachments_expected"] is None:  # absent: the same hash as before the field existed
            del data["attachments_expected"]
        data["channel"] = self.channel.value
        data["occurred_at"] = iso(self.occurred_at)
        data["amount"] = str(self.amount.normalize())
        data["location"] = asdict(self.location)
        raw = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ClaimEvent:
    """One entry of a claim's append-only timeline."""

    claim_id: str
    seq: int
    at: datetime
    actor: str
    kind: str
    status: ClaimStatus
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    claim_id: str
    owner: str  # partner id for partner claims, or the channel's owner ("public", "ivr:<vendor>")
    submission: ClaimSubmission
    status: ClaimStatus
    received_at: datetime
    updated_at: datetime
    version: int = 1
    event_seq: int = 1
    idempotency_key: str | None = None
    correlation_id: str | None = None
    segment: Segment | None = None
    score: int | None = None
    score_reasons: tuple[str, ...] = ()
    surveyor_id: str | None = None
    # policy resolution and coverage (set by scoring)
    resolution: str | None = None  # ResolutionOutcome value
    matched_by: str | None = None  # MatchKey value
    policy_number: str | None = None  # the resolved policy
    product: str | None = None
    candidates: tuple[str, ...] = ()
    covered: bool | None = None
    coverage_reasons: tuple[str, ...] = ()
    payable: Decimal | None = None
    # photos (set as each upload is recorded)
    attachment_count: int = 0
    reused_photo_claims: tuple[str, ...] = ()  # other claims that already had one of its photos
    # triage (set by scoring) and the people's part
    priority: int = 0  # 0..100: how soon a person should look; orders the agent queue
    rules_version: str | None = None
    score_detail: tuple[dict, ...] = ()  # every reason: {"rule_id", "weight", "evidence"}
    waiting_since: datetime | None = None  # first time no surveyor was free
    escalated: bool = False  # waited past the dispatch SLA: a person is asked to help
    decision: str | None = None  # accept / override / reject / auto_approve
    approved_amount: Decimal | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    # the surveyor's assessment (agents only: the notes never reach partner views or logs)
    assessed_amount: Decimal | None = None
    survey_notes: str | None = None
    assessed_by: str | None = None
    assessed_at: datetime | None = None
    # payment held: a signal arrived after the system approved it (a person decides; the decision lifts it)
    hold: bool = False
    hold_reason: str | None = None
    reason_code: str | None = None  # a rejection's reason, from domain/outcome.py's list: what the customer reads

    @property
    def needs_a_person(self) -> bool:
        """In the agent queue: claims in review, claims a consumer gave up on, and field claims nobody
        could take in time."""
        return self.status in (ClaimStatus.IN_REVIEW, ClaimStatus.NEEDS_ATTENTION) or (
            self.status is ClaimStatus.WAITING_FOR_SURVEYOR and self.escalated)

    @property
    def photos_missing(self) -> int:
        """Photos the sender said will follow that are not recorded yet."""
        return max(0, (self.submission.attachments_expected or 0) - self.attachment_count)

    def photos_due_by(self, window_seconds: int) -> datetime | None:
        """Until when the claim waits for photos its sender said will follow: the product's window
        after receipt. None when none are missing."""
        if not self.photos_missing:
            return None
        return self.received_at + timedelta(seconds=window_seconds)

    def record(self, kind: str, *, actor: str, detail: dict, at: datetime | None = None,
               **changes) -> tuple[Claim, ClaimEvent]:
        """A timeline entry that is not a status change (for example the policy it was tied to)."""
        now = at or utc_now()
        seq = self.event_seq + 1
        updated = replace(self, updated_at=now, version=self.version + 1, event_seq=seq, **changes)
        return updated, ClaimEvent(self.claim_id, seq, now, actor, kind, self.status, detail)

    def transition(
        self, target: ClaimStatus, *, actor: str, kind: str, at: datetime | None = None, **changes
    ) -> tuple[Claim, ClaimEvent]:
        """Move to ``target`` through the status machine; returns the new claim and its event."""
        check_transition(self.status, target, self.decision)
        if self.hold and target in (S.APPROVED, S.REJECTED):  # a person decided the held claim
            changes = {"hold": False, **changes}
        now = at or utc_now()
        seq = self.event_seq + 1
        detail = {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in changes.items()
                  if k in _EVENT_DETAIL_FIELDS and v is not None}
        updated = replace(self, status=target, updated_at=now, version=self.version + 1,
                          event_seq=seq, **changes)
        event = ClaimEvent(self.claim_id, seq, now, actor, kind, target, detail)
        return updated, event


_EVENT_DETAIL_FIELDS = {"segment", "score", "surveyor_id", "priority", "decision", "decided_by", "reason_code"}


def received(claim_id: str, owner: str, submission: ClaimSubmission, *, idempotency_key: str | None,
             correlation_id: str | None, actor: str, at: datetime | None = None) -> tuple[Claim, ClaimEvent]:
    now = at or utc_now()
    claim = Claim(claim_id=claim_id, owner=owner, submission=submission, status=ClaimStatus.RECEIVED,
                  received_at=now, updated_at=now, idempotency_key=idempotency_key,
                  correlation_id=correlation_id)
    event = ClaimEvent(claim_id, 1, now, actor, "claim.received", ClaimStatus.RECEIVED,
                       {"channel": submission.channel.value})
    return claim, event
