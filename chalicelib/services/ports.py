"""Ports: what services need from the outside world. Adapters implement them; tests pass fakes."""
from __future__ import annotations

import enum
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain.attachment import Attachment
from chalicelib.domain.caller import CallerClaim, Contact, CustomerRecord
from chalicelib.domain.claim import Claim, ClaimEvent
from chalicelib.domain.policy import Policy
from chalicelib.domain.surveyor import Surveyor, SurveyorStatus

ANY_CONTENT = "*"  # the fingerprint of a record that answers its claim whatever the new content


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str  # "<owner>#<key>"
    claim_id: str
    fingerprint: str  # of the claim's content, or ANY_CONTENT


@dataclass(frozen=True)
class NewClaim:
    claim: Claim
    event: ClaimEvent
    idempotency: IdempotencyRecord | None
    # A second key, written in the same transaction: the same loss reported again on another call
    # (a caller hanging up and calling back) answers the first claim instead of creating another.
    duplicate_guard: IdempotencyRecord | None = None
    # A phone claim's contact entry for the agent's screen pop, written in the same transaction (no
    # queue message of its own); not written when the claim is not (a replay).
    contact: Contact | None = None
    # The partner's external_ref when an Idempotency-Key is the idempotency record: a partner's
    # external_ref names one claim whatever the key (without a key it is the idempotency record).
    external_ref: IdempotencyRecord | None = None

    def key_records(self) -> tuple[IdempotencyRecord, ...]:
        """The records that must not exist yet, in the order a taken one answers: the request's own
        key, then the external_ref, then the duplicate guard."""
        return tuple(r for r in (self.idempotency, self.external_ref, self.duplicate_guard) if r)


class AssignOutcome(enum.Enum):
    ASSIGNED = "ASSIGNED"
    SURVEYOR_FULL = "SURVEYOR_FULL"
    CLAIM_CHANGED = "CLAIM_CHANGED"


class ClaimRepository(Protocol):
    def add(self, new: NewClaim) -> IdempotencyRecord | None:
        """Store claim, first event, idempotency record, external_ref record and duplicate guard in one
        write.

        Returns None when stored, or the first taken of ``new.key_records()`` (nothing stored).
        """

    def add_many(self, items: list[NewClaim]) -> list[IdempotencyRecord | None]:
        """``add`` for several claims in as few calls as possible; one result per item, in order."""

    def get(self, claim_id: str) -> Claim | None: ...

    def get_many(self, claim_ids: list[str]) -> dict[str, Claim]:
        """Strongly consistent reads of several claims in as few calls as possible; missing ones absent."""

    def events(self, claim_id: str) -> list[ClaimEvent]: ...

    def save(self, before: Claim, after: Claim, events: list[ClaimEvent]) -> None:
        """Write ``after`` if the stored claim is still at ``before.version``; else ConcurrentUpdate."""

    def assign_surveyor(self, surveyor: Surveyor, before: Claim, after: Claim,
                        event: ClaimEvent) -> AssignOutcome:
        """Take one unit of the surveyor's capacity and assign the claim, atomically."""

    def complete_survey(self, surveyor_id: str, before: Claim, after: Claim, events: list[ClaimEvent]) -> bool:
        """Give back one unit of the surveyor's capacity and move the claim on, atomically; False if
        the claim changed meanwhile (nothing written)."""

    def received_before(self, cutoff: datetime, limit: int) -> list[tuple[str, str | None]]:
        """(claim id, correlation id) of claims still RECEIVED, received before ``cutoff``, oldest first."""


class PolicyDirectory(Protocol):
    """Policy lookups by normalised key; each is one GetItem or one GSI query."""

    def by_number(self, policy_number: str) -> Policy | None: ...

    def by_order_id(self, order_id: str) -> list[Policy]: ...

    def by_phone(self, phone_e164: str) -> list[Policy]: ...

    def by_plate(self, plate: str) -> list[Policy]: ...


class SurveyorRepository(Protocol):
    def in_region(self, region_code: str) -> list[Surveyor]: ...

    def set_status(self, surveyor_id: str, status: SurveyorStatus) -> bool:
        """False if there is no such surveyor."""


@dataclass(frozen=True)
class PartnerIdentity:
    partner_id: str
    key_hash: str
    rate_limit_per_second: float | None = None  # None: the configured default
    rate_burst: int | None = None


class PartnerDirectory(Protocol):
    def by_key_hash(self, key_hash: str) -> PartnerIdentity | None: ...


class DeferredSends(Protocol):
    def deferred(self) -> AbstractContextManager[Outbox]:
        """Within it (this thread), messages are held and sent together on exit; the outbox's
        ``unsent`` then lists (kind, claim id) of those not taken: ``scoring``, ``dispatch``, ``notify``,
        ``notify-dlq``."""


class NotifyQueue(DeferredSends, Protocol):
    """The partner-notice queue and its dead-letter queue."""

    def to_notify(self, claim_id: str, event_seq: int, status: str, correlation_id: str | None, attempt: int = 0,
                  delay_seconds: int = 0, at: datetime | None = None) -> None: ...

    def to_notify_dead_letters(self, claim_id: str, event_seq: int, status: str, attempt: int,
                               correlation_id: str | None, at: datetime | None = None) -> None: ...


class ClaimQueue(NotifyQueue, Protocol):
    """Every queue a claim moves through: scoring, dispatch, and the partner notices."""

    def to_scoring(self, claim_id: str, correlation_id: str | None, delay_seconds: int = 0) -> None: ...

    def many_to_scoring(self, claims: list[tuple[str, str | None]]) -> list[str]:
        """Send several; returns the ids that could not be sent."""

    def scoring_backlog(self) -> int | None:
        """Messages on the scoring queue, waiting or being processed (approximate); None if unknown."""

    def to_dispatch(self, claim_id: str, correlation_id: str | None, attempt: int = 0,
                    delay_seconds: int = 0) -> None: ...


class Outbox(Protocol):
    unsent: list[tuple[str, str]]


class Telemetry(Protocol):
    def count(self, name: str, value: int = 1, **dimensions: str) -> None: ...


class CallerDirectory(Protocol):
    """What the agent's screen pop reads about a phone number (E.164); one query each."""

    def customer_by_phone(self, phone_e164: str) -> CustomerRecord | None: ...

    def claims_by_phone(self, phone_e164: str, limit: int) -> list[CallerClaim]:
        """Newest first."""

    def recent_contacts(self, phone_e164: str, limit: int) -> list[Contact]:
        """Newest first."""


class ContactLog(Protocol):
    """Where IVR calls record their contact entries: behind a queue, so a call never waits on it."""

    def record(self, contact: Contact) -> None: ...


class ContactStore(Protocol):
    def write_many(self, contacts: list[Contact]) -> None:
        """Idempotent: a contact written twice is one entry."""


class RateLimiter(Protocol):
    def hit(self, keys: list[tuple[str, int]], window_seconds: int) -> None:
        """Count one request against each (key, limit) in the current window, all or none; raises
        RateLimited (with the seconds until the window ends) when any key is at its limit."""


class AttachmentStore(Protocol):
    """The photo bucket."""

    def presign_upload(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict:
        """A presigned POST ``{"url", "fields"}`` limited to ``content_type`` and 1..max_bytes bytes."""

    def read(self, key: str, max_bytes: int) -> bytes | None:
        """The object's bytes; None if it is missing or larger than ``max_bytes``."""


class AttachmentIndex(Protocol):
    def claims_with(self, sha256: str, phash: str | None) -> set[str]:
        """Claims holding a photo with this SHA-256 or this perceptual hash (one query each)."""

    def record(self, attachment: Attachment, before: Claim, after: Claim, events: list[ClaimEvent]) -> bool:
        """Attachment, claim and timeline events in one transaction. False if this attachment was
        already recorded (nothing written); ConcurrentUpdate if the claim changed meanwhile."""


class ClaimHistory(Protocol):
    """Other claims that say something about this one; one indexed query each."""

    def on_policy(self, policy_number: str, loss_from: datetime, loss_to: datetime) -> list[tuple[str, datetime]]:
        """(id, loss time) of claims tied to the policy whose loss falls in [loss_from, loss_to]."""

    def on_plate(self, plate: str, loss_from: datetime, loss_to: datetime) -> list[tuple[str, datetime]]:
        """(id, loss time) of claims on the (normalised) plate whose loss falls in [loss_from, loss_to]."""

    def from_phone_since(self, phone_e164: str, since: datetime) -> list[str]:
        """Ids of claims from the phone received since ``since``."""


class ReviewQueue(Protocol):
    def page(self, limit: int, cursor: str | None) -> tuple[list[Claim], str | None]:
        """Claims needing a person, highest priority first then oldest; the cursor of the next page."""


class Notifier(Protocol):
    """What a status change tells the claim's partner (through the notify queue)."""

    def status_changed(self, claim: Claim) -> None: ...


# -- partner notices (services/partner_notices.py) -------------------------------------------------

class PartnerCallbacks(Protocol):
    def callback_url(self, partner_id: str) -> str | None: ...


class DeliveryLog(Protocol):
    def delivered(self, claim_id: str, event_seq: int) -> bool: ...

    def record(self, claim_id: str, event_seq: int, partner_id: str, status: str, attempts: int) -> None: ...

    def delivered_many(self, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of (claim id, event seq) are already delivered, in as few calls as possible."""

    def record_many(self, deliveries: list[Delivery]) -> None:
        """Several deliveries in as few calls as possible (rewriting one changes nothing)."""


@dataclass(frozen=True)
class Delivery:
    claim_id: str
    event_seq: int
    partner_id: str
    status: str
    attempts: int


class CallbackSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """The HTTP status; raises on a network failure or timeout."""
