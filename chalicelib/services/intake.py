"""Intake: store a claim once, durably, then hand it to scoring."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from chalicelib.domain import claim as claim_domain
from chalicelib.domain.caller import Contact
from chalicelib.domain.claim import Claim, ClaimEvent, ClaimStatus, ClaimSubmission
from chalicelib.domain.errors import DomainError, IdempotencyConflict, NotFound
from chalicelib.domain.ids import new_claim_id
from chalicelib.observability import logger, traced
from chalicelib.services.ports import (
    ANY_CONTENT,
    ClaimQueue,
    ClaimRepository,
    IdempotencyRecord,
    NewClaim,
    Telemetry,
)


@dataclass(frozen=True)
class Accepted:
    claim_id: str
    status: ClaimStatus
    replayed: bool = False
    already_reported: bool = False  # answered by the duplicate guard: the same loss from another call


def _own_write(existing: IdempotencyRecord, new: NewClaim) -> bool:
    """The key names the very claim this request wrote: its transaction committed, but the answer was
    lost and the retried call found its own items. A new claim, then, not a replay: it still has to be
    queued for scoring (and answered as new)."""
    return existing.claim_id == new.claim.claim_id


@dataclass(frozen=True)
class IntakeRequest:
    owner: str
    submission: ClaimSubmission
    idempotency_key: str | None = None
    correlation_id: str | None = None
    # Owner-independent key of "this loss, already reported" (see NewClaim.duplicate_guard).
    duplicate_guard: str | None = None
    # True when the key names the report itself (a call's id): a retry answers the same claim even if
    # details differ (the time of the call, say), never 409.
    key_names_the_report: bool = False
    # The call's contact entry (its claim id is filled in here), stored with the claim.
    contact: Contact | None = None

    @property
    def scoped_key(self) -> str | None:
        key = self.idempotency_key or self._ref_key
        return f"{self.owner}#{key}" if key else None

    @property
    def scoped_ref(self) -> str | None:
        """The external_ref's own key when the Idempotency-Key is the request's key: a partner's
        external_ref names one claim whatever the key (a replay under another key, or a 409)."""
        return f"{self.owner}#{self._ref_key}" if self.idempotency_key and self._ref_key else None

    @property
    def _ref_key(self) -> str | None:
        return f"ext:{self.submission.external_ref}" if self.submission.external_ref else None


class IntakeService:
    """Accepts claims from every channel. Hot path: one DynamoDB write, one SQS send."""

    def __init__(self, claims: ClaimRepository, queue: ClaimQueue, telemetry: Telemetry,
                 new_id: Callable[[], str] = new_claim_id, clock=claim_domain.utc_now):
        self._claims = claims
        self._queue = queue
        self._telemetry = telemetry
        self._new_id = new_id
        self._clock = clock

    @traced
    def submit(self, request: IntakeRequest) -> Accepted:
        new = self._new_claim(request)
        existing = self._claims.add(new)
        if existing is not None and not _own_write(existing, new):
            return self._replay(existing, new)
        self._enqueue([new])
        self._telemetry.count("ClaimsReceived", 1, channel=request.submission.channel.value)
        logger.info("claim received", extra={"claim_id": new.claim.claim_id, "owner": request.owner,
                                             "channel": request.submission.channel.value})
        return Accepted(new.claim.claim_id, ClaimStatus.RECEIVED)

    @traced
    def submit_many(self, requests: list[IntakeRequest]) -> list[Accepted | DomainError]:
        """Each request on its own: a replay or a conflict in one never affects another."""
        news = [self._new_claim(r) for r in requests]
        seen: dict[str, tuple[int, IdempotencyRecord]] = {}  # key -> its first position and record
        repeats: dict[int, int] = {}  # position of a repeat -> position of its first occurrence
        answers: dict[int, Accepted | DomainError] = {}
        to_store: list[int] = []
        for i, new in enumerate(news):
            record = new.idempotency
            if record is not None and record.key in seen:  # the same key twice in one batch
                first, first_record = seen[record.key]
                conflict = self._same_batch_duplicate(first_record, record)
                if conflict is not None:
                    answers[i] = conflict
                else:
                    repeats[i] = first
                continue
            if record is not None:
                seen[record.key] = (i, record)
            to_store.append(i)
        outcomes = self._claims.add_many([news[i] for i in to_store]) if to_store else []
        stored: list[NewClaim] = []
        for i, existing in zip(to_store, outcomes, strict=True):
            if existing is None or _own_write(existing, news[i]):
                stored.append(news[i])
                answers[i] = Accepted(news[i].claim.claim_id, ClaimStatus.RECEIVED)
            else:
                try:
                    answers[i] = self._replay(existing, news[i])
                except DomainError as exc:
                    answers[i] = exc
        for i, first in repeats.items():  # a repeat is answered as its first occurrence was
            found = answers[first]
            answers[i] = found if isinstance(found, DomainError) else Accepted(found.claim_id, found.status, True)
        self._enqueue(stored)
        if stored:
            self._telemetry.count("ClaimsReceived", len(stored), channel=stored[0].claim.submission.channel.value)
        logger.info("claim batch received", extra={"stored": len(stored), "items": len(requests)})
        return [answers[i] for i in range(len(news))]

    @traced
    def submit_batch(self, owner: str, items: list[ClaimSubmission | DomainError],
                     correlation_id: str | None = None) -> list[Accepted | DomainError]:
        """A partner's batch, each claim answered at its own position: the claims that parsed are
        submitted together (see submit_many), one refused at parsing keeps its error. Each claim's
        external_ref is its key: a batch is not idempotent as a whole."""
        parsed = [(index, item) for index, item in enumerate(items) if isinstance(item, ClaimSubmission)]
        requests = [IntakeRequest(owner, submission, None, correlation_id=correlation_id) for _, submission in parsed]
        answers = self.submit_many(requests) if requests else []
        outcomes = dict(zip((index for index, _ in parsed), answers, strict=True))
        return [item if isinstance(item, DomainError) else outcomes[index] for index, item in enumerate(items)]

    def get_for_owner(self, owner: str, claim_id: str) -> Claim:
        claim = self._claims.get(claim_id)
        if claim is None or claim.owner != owner:
            raise NotFound("No such claim.")
        return claim

    def claim_with_events_for_owner(self, owner: str, claim_id: str) -> tuple[Claim, list[ClaimEvent]]:
        """The owner's claim and its timeline, oldest first; NotFound for anyone else's."""
        return self.get_for_owner(owner, claim_id), self._claims.events(claim_id)

    # -- internals ---------------------------------------------------------------------------

    def _new_claim(self, request: IntakeRequest) -> NewClaim:
        claim_id = self._new_id()
        claim, event = claim_domain.received(
            claim_id, request.owner, request.submission, idempotency_key=request.scoped_key,
            correlation_id=request.correlation_id, actor=f"{request.submission.channel.value}:{request.owner}",
            at=self._clock())
        key = request.scoped_key
        fingerprint = ANY_CONTENT if request.key_names_the_report else request.submission.fingerprint()
        record = IdempotencyRecord(key, claim_id, fingerprint) if key else None
        ref = IdempotencyRecord(request.scoped_ref, claim_id, fingerprint) if request.scoped_ref else None
        guard = IdempotencyRecord(request.duplicate_guard, claim_id, ANY_CONTENT) if request.duplicate_guard else None
        contact = replace(request.contact, claim_id=claim_id) if request.contact else None
        return NewClaim(claim, event, record, guard, contact, external_ref=ref)

    def _replay(self, existing: IdempotencyRecord, new: NewClaim) -> Accepted:
        if existing.fingerprint == ANY_CONTENT:
            claim = self._claims.get(existing.claim_id)
            status = claim.status if claim else ClaimStatus.RECEIVED
            same_report = new.idempotency is not None and existing.key == new.idempotency.key
            return Accepted(existing.claim_id, status, replayed=True, already_reported=not same_report)
        ours = new.idempotency.fingerprint if new.idempotency else None  # (a taken key implies one)
        if existing.fingerprint != ours:
            if new.external_ref is not None and existing.key == new.external_ref.key:
                raise IdempotencyConflict("This external_ref was already used for a different claim.")
            raise IdempotencyConflict("This idempotency key was already used for a different claim.")
        claim = self._claims.get(existing.claim_id)
        status = claim.status if claim else ClaimStatus.RECEIVED
        return Accepted(existing.claim_id, status, replayed=True)

    @staticmethod
    def _same_batch_duplicate(first: IdempotencyRecord, again: IdempotencyRecord) -> DomainError | None:
        if first.fingerprint != again.fingerprint:
            return IdempotencyConflict("This idempotency key was already used for a different claim.")
        return None

    def _enqueue(self, stored: list[NewClaim]) -> None:
        """Hand claims to scoring. A failure here loses nothing: the claim is stored as RECEIVED and
        the reconciler re-queues it, so the caller still gets its 202."""
        if not stored:
            return
        try:
            if len(stored) == 1:
                c = stored[0].claim
                self._queue.to_scoring(c.claim_id, c.correlation_id)
                failed = []
            else:
                failed = self._queue.many_to_scoring([(n.claim.claim_id, n.claim.correlation_id) for n in stored])
        except Exception:  # noqa: BLE001 - any send failure is recovered by the reconciler
            logger.exception("scoring enqueue failed; reconciler will re-queue")
            failed = [n.claim.claim_id for n in stored]
        if failed:
            self._telemetry.count("ScoringEnqueueFailed", len(failed))
            logger.warning("claims left for the reconciler", extra={"claim_ids": failed})
